package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/input"
)

// pagedTags serves the tag list of one repository, n tags a page with a
// Link header to the next page as distribution's registry does, and
// counts the pages served.
func pagedTags(t *testing.T, tags []string, pages *int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/":
			return
		case "/v2/team/app/tags/list":
		default:
			http.NotFound(w, r)
			return
		}
		*pages++
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		start := 0
		if last := r.URL.Query().Get("last"); last != "" {
			for i, tag := range tags {
				if tag == last {
					start = i + 1
				}
			}
		}
		end := min(start+n, len(tags))
		if n == 0 {
			end = len(tags)
		}
		if end < len(tags) {
			w.Header().Set("Link", fmt.Sprintf(`</v2/team/app/tags/list?n=%d&last=%s>; rel="next"`, n, url.QueryEscape(tags[end-1])))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "team/app", "tags": tags[start:end]})
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestTagsFollowsPages(t *testing.T) {
	var tags []string
	for i := range 2500 {
		tags = append(tags, fmt.Sprintf("v%04d", i))
	}
	pages := 0
	repo, err := name.NewRepository(pagedTags(t, tags, &pages) + "/team/app")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Tags(context.Background(), repo, remoteOpts()...)
	if err != nil {
		t.Fatalf("Tags() error = %v", err)
	}
	if diff := cmp.Diff(tags, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("read %d pages, want 3 of 1000 tags", pages)
	}
}

func TestTagsBounded(t *testing.T) {
	var tags []string
	for i := range MaxTags + 1 {
		tags = append(tags, strconv.Itoa(i))
	}
	pages := 0
	repo, _ := name.NewRepository(pagedTags(t, tags, &pages) + "/team/app")
	_, err := Tags(context.Background(), repo, remoteOpts()...)
	if err == nil || !input.Is(err) || !strings.Contains(err.Error(), "more than 100000 tags") {
		t.Fatalf("Tags() error = %v, want the limit of tags as bad input", err)
	}

	t.Run("a page over the limit", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/team/app/tags/list" {
				fmt.Fprintf(w, `{"name":"team/app","tags":["%s"]}`, strings.Repeat("a", MaxTagListSize))
			}
		}))
		defer srv.Close()
		repo, _ := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/team/app")
		_, err := Tags(context.Background(), repo, remoteOpts()...)
		if err == nil || !strings.Contains(err.Error(), "limit of 16777216 bytes for a page of tags") {
			t.Fatalf("Tags() error = %v, want the page refused", err)
		}
	})

	t.Run("no such repository", func(t *testing.T) {
		repo, _ := name.NewRepository(pagedTags(t, nil, &pages) + "/team/other")
		_, err := Tags(context.Background(), repo, remoteOpts()...)
		if err == nil || !input.Is(err) || !strings.Contains(err.Error(), "no such repository") {
			t.Fatalf("Tags() error = %v, want bad input naming the repository", err)
		}
	})
}

func TestIsSignatureTag(t *testing.T) {
	hex := strings.Repeat("0a", 32)
	for tag, want := range map[string]bool{
		"sha256-" + hex:                       true, // referrers tag schema
		"sha256-" + hex + ".sig":              true,
		"sha256-" + hex + ".att":              true,
		"sha256-" + hex + ".sbom":             true,
		"sha512-" + strings.Repeat("0a", 64):  true,
		"v1":                                  false,
		"latest":                              false,
		"sha256-" + hex[:63] + ".sig":         false, // too short: a name
		"sha256-" + strings.ToUpper(hex):      false,
		"sha256-" + hex + ".sig.old":          false,
		"release-sha256-" + hex:               false,
		"sha256-" + hex + "-" + "patched.sig": false,
	} {
		if got := IsSignatureTag(tag); got != want {
			t.Errorf("IsSignatureTag(%q) = %v, want %v", tag, got, want)
		}
	}
}

// remoteOpts are the options a run reads with: every response capped.
func remoteOpts() []remote.Option {
	return []remote.Option{remote.WithTransport(LimitTransport(nil))}
}
