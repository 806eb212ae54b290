package trust

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const trustedRoot = "testdata/trusted_root.json"

// writeSigningConfig writes a signing config with the given Rekor major versions
// and TSA count, and returns its path.
func writeSigningConfig(t *testing.T, rekorVersions []int, tsas int) string {
	t.Helper()
	var rekors, tsa []string
	for i, v := range rekorVersions {
		rekors = append(rekors, `{"url":"http://rekor`+string(rune('a'+i))+`.test","majorApiVersion":`+string(rune('0'+v))+`,"validFor":{"start":"2020-01-01T00:00:00Z"},"operator":"op`+string(rune('a'+i))+`"}`)
	}
	for i := range tsas {
		tsa = append(tsa, `{"url":"http://tsa`+string(rune('a'+i))+`.test/api/v1/timestamp","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"},"operator":"tsa`+string(rune('a'+i))+`"}`)
	}
	js := `{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
"caUrls":[{"url":"http://fulcio.test","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"}}],
"rekorTlogUrls":[` + strings.Join(rekors, ",") + `],"rekorTlogConfig":{"selector":"ANY"},
"tsaUrls":[` + strings.Join(tsa, ",") + `],"tsaConfig":{"selector":"ANY"}}`
	p := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(p, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		c         Config
		wantInput string // "" means valid
	}{
		{"public good", Config{}, ""},
		{"files", Config{TrustedRoot: trustedRoot}, ""},
		{"missing trusted root", Config{TrustedRoot: "testdata/missing.json"}, "trusted-root"},
		{"missing signing config", Config{TrustedRoot: trustedRoot, SigningConfig: "nope.json"}, "signing-config"},
		{"fulcio URL without scheme", Config{TrustedRoot: trustedRoot, FulcioURL: "fulcio.test"}, "fulcio-url"},
		{"rekor URL of another scheme", Config{TrustedRoot: trustedRoot, RekorURL: "ftp://rekor.test"}, "rekor-url"},
		{"tsa URL without host", Config{TrustedRoot: trustedRoot, TSAURL: "https://"}, "tsa-url"},
		{"URLs without a trusted root", Config{FulcioURL: "https://fulcio.test"}, "trusted-root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check()
			var ie *InputError
			switch {
			case tc.wantInput == "" && err != nil:
				t.Fatalf("Check() = %v, want nil", err)
			case tc.wantInput != "" && !errors.As(err, &ie):
				t.Fatalf("Check() = %v, want an *InputError", err)
			case tc.wantInput != "" && ie.Input != tc.wantInput:
				t.Errorf("Check() names input %q, want %q", ie.Input, tc.wantInput)
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	m, err := Load(Config{TrustedRoot: trustedRoot, SigningConfig: writeSigningConfig(t, []int{1, 2}, 1)}, true)
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != trustedRoot || len(m.Root.FulcioCertificateAuthorities()) == 0 {
		t.Errorf("Load: source %q, %d CAs", m.Source, len(m.Root.FulcioCertificateAuthorities()))
	}
	if _, err := Load(Config{TrustedRoot: "testdata/trusted_root.json"}, false); err != nil {
		t.Errorf("Load without signing: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"mediaType":"nope"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var ie *InputError
	if _, err := Load(Config{TrustedRoot: bad}, false); !errors.As(err, &ie) || ie.Input != "trusted-root" {
		t.Errorf("Load(malformed root) = %v, want an InputError for trusted-root", err)
	}
	if _, err := Load(Config{TrustedRoot: trustedRoot}, true); !errors.As(err, &ie) || ie.Input != "signing-config" {
		t.Errorf("Load(no signing config) = %v, want an InputError for signing-config", err)
	}
}

func TestSelect(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		c        func(t *testing.T) Config
		versions []uint32
		want     Services
		wantErr  string
	}{
		{"highest Rekor version", func(t *testing.T) Config {
			return Config{TrustedRoot: trustedRoot, SigningConfig: writeSigningConfig(t, []int{1, 2}, 1)}
		}, []uint32{1, 2}, Services{Fulcio: "http://fulcio.test", Rekor: "http://rekorb.test", RekorVersion: 2, TSAs: []string{"http://tsaa.test/api/v1/timestamp"}}, ""},
		{"Rekor v1 only for legacy", func(t *testing.T) Config {
			return Config{TrustedRoot: trustedRoot, SigningConfig: writeSigningConfig(t, []int{1, 2}, 1)}
		}, []uint32{1}, Services{Fulcio: "http://fulcio.test", Rekor: "http://rekora.test", RekorVersion: 1, TSAs: []string{"http://tsaa.test/api/v1/timestamp"}}, ""},
		{"no Rekor v1", func(t *testing.T) Config {
			return Config{TrustedRoot: trustedRoot, SigningConfig: writeSigningConfig(t, []int{2}, 1)}
		}, []uint32{1}, Services{}, "Rekor log"},
		{"Rekor v2 needs a TSA", func(t *testing.T) Config {
			return Config{TrustedRoot: trustedRoot, SigningConfig: writeSigningConfig(t, []int{2}, 0)}
		}, []uint32{1, 2}, Services{}, "timestamp authority"},
		{"URLs override the signing config", func(t *testing.T) Config {
			return Config{TrustedRoot: trustedRoot, SigningConfig: writeSigningConfig(t, []int{2}, 1), FulcioURL: "https://f.example", RekorURL: "https://r.example", TSAURL: "https://t.example/ts"}
		}, []uint32{1, 2}, Services{Fulcio: "https://f.example", Rekor: "https://r.example", RekorVersion: 1, TSAs: []string{"https://t.example/ts"}}, ""},
		{"URLs alone", func(t *testing.T) Config {
			return Config{TrustedRoot: trustedRoot, FulcioURL: "https://f.example", RekorURL: "https://r.example"}
		}, []uint32{1}, Services{Fulcio: "https://f.example", Rekor: "https://r.example", RekorVersion: 1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.c(t), true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Select(now, tc.versions...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Select() error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Select() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// roundTripFunc adapts a function to an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestLoadTUFUsesTransport shows the public-good TUF requests go through
// the given transport (which retries within the run's budget).
func TestLoadTUFUsesTransport(t *testing.T) {
	var hosts []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hosts = append(hosts, r.URL.Host)
		return nil, errors.New("offline")
	})
	_, err := Load(Config{TUFCache: t.TempDir(), Transport: rt}, false)
	if err == nil {
		t.Fatal("Load succeeded with an offline transport")
	}
	if len(hosts) == 0 || hosts[0] != "tuf-repo-cdn.sigstore.dev" {
		t.Errorf("TUF requests went to %v, want tuf-repo-cdn.sigstore.dev through the transport", hosts)
	}
}
