package registry

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

func TestSplitRefs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"only blanks", " \n\n ,, \t\n", nil},
		{"one", "ghcr.io/o/app:v1", []string{"ghcr.io/o/app:v1"}},
		{"newlines", "ghcr.io/o/a:v1\nghcr.io/o/b:v2\n", []string{"ghcr.io/o/a:v1", "ghcr.io/o/b:v2"}},
		{"commas with spaces", "ghcr.io/o/a:v1, ghcr.io/o/b:v2 ,ghcr.io/o/c:v3", []string{"ghcr.io/o/a:v1", "ghcr.io/o/b:v2", "ghcr.io/o/c:v3"}},
		{"CRLF", "ghcr.io/o/a:v1\r\nghcr.io/o/b:v2\r\n", []string{"ghcr.io/o/a:v1", "ghcr.io/o/b:v2"}},
		{"comments and blanks", "# images to sign\n\nghcr.io/o/a:v1\n  # ghcr.io/o/skipped:v1\n\t\nghcr.io/o/b@sha256:" + strings.Repeat("a", 64) + "\n", []string{"ghcr.io/o/a:v1", "ghcr.io/o/b@sha256:" + strings.Repeat("a", 64)}},
		{"mixed separators keep order", "b:1\na:2,c:3\r\nb:1", []string{"b:1", "a:2", "c:3", "b:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, SplitRefs(tt.in)); diff != "" {
				t.Errorf("SplitRefs(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		refs    []string
		want    []string
		wantErr string
		wantRef string
	}{
		{name: "tag", refs: []string{"ghcr.io/o/app:v1"}, want: []string{"ghcr.io/o/app:v1"}},
		{name: "digest", refs: []string{"ghcr.io/o/app@" + digest}, want: []string{"ghcr.io/o/app@" + digest}},
		{name: "registry with port", refs: []string{"localhost:5000/app:v1", "ghcr.io/o/app@" + digest}, want: []string{"localhost:5000/app:v1", "ghcr.io/o/app@" + digest}},
		{name: "none", refs: nil, wantErr: "no image given"},
		{name: "no tag", refs: []string{"ghcr.io/o/app:v1", "ghcr.io/o/app"}, wantErr: "no tag or digest", wantRef: "ghcr.io/o/app"},
		{name: "bad ref", refs: []string{"ghcr.io/o/APP:v1"}, wantErr: "could not parse reference", wantRef: "ghcr.io/o/APP:v1"},
		{name: "bad digest", refs: []string{"ghcr.io/o/app@sha256:123"}, wantErr: "could not parse reference", wantRef: "ghcr.io/o/app@sha256:123"},
		// A reference that looks like a flag is refused: a CI system that
		// passes images as arguments must never turn one into an option.
		{name: "leading dash", refs: []string{"-app:v1"}, wantErr: "starts with -", wantRef: "-app:v1"},
		{name: "leading dash with digest", refs: []string{"ghcr.io/o/app:v1", "-ghcr.io/o/app@" + digest}, wantErr: "starts with -", wantRef: "-ghcr.io/o/app@" + digest},
		{name: "flag", refs: []string{"--certificate-identity-regexp=.*"}, wantErr: "starts with -", wantRef: "--certificate-identity-regexp=.*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.refs)
			if tt.wantErr != "" {
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Fatalf("Parse(%q) = %v, %v; want *InputError", tt.refs, got, err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				if ie.Ref != tt.wantRef {
					t.Errorf("InputError.Ref = %q, want %q", ie.Ref, tt.wantRef)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range got {
				names = append(names, r.String())
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInputErrorUnwrap(t *testing.T) {
	inner := errors.New("boom")
	err := error(&InputError{Ref: "r:1", Err: inner})
	if !errors.Is(err, inner) {
		t.Errorf("errors.Is(%v, inner) = false", err)
	}
	if diff := cmp.Diff(`image "r:1": boom`, err.Error()); diff != "" {
		t.Errorf("Error() mismatch (-want +got):\n%s", diff)
	}
}

// subjectView is what the tests compare of a Subject.
type subjectView struct {
	Digest, Input, Platform string
	MediaType               types.MediaType
	DescDigest              string
}

func view(ss []Subject) []subjectView {
	var out []subjectView
	for _, s := range ss {
		out = append(out, subjectView{
			Digest: s.Digest.String(), Input: s.Input, Platform: s.Platform,
			MediaType: s.Descriptor.MediaType, DescDigest: s.Descriptor.Digest.String(),
		})
	}
	return out
}

// pushIndex pushes an index of two platform images to ref and returns the
// index digest and the children's digests.
func pushIndex(t *testing.T, ref string) (v1.Hash, []v1.Hash) {
	t.Helper()
	var adds []mutate.IndexAddendum
	var children []v1.Hash
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}} {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, d)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := remote.WriteIndex(registrytest.Ref(t, ref), idx); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d, children
}

func TestResolve(t *testing.T) {
	host := registrytest.New(t, true)
	app := registrytest.PushImage(t, host+"/app:v1")
	other := registrytest.PushImage(t, host+"/other:v2")
	idx, children := pushIndex(t, host+"/multi:v1")
	ctx := context.Background()

	tests := []struct {
		name      string
		refs      []string
		recursive bool
		want      []subjectView
	}{
		{
			name: "tag resolves to digest",
			refs: []string{host + "/app:v1"},
			want: []subjectView{{Digest: host + "/app@" + app.String(), Input: host + "/app:v1", MediaType: types.DockerManifestSchema2, DescDigest: app.String()}},
		},
		{
			name: "same digest by tag and by digest appears once, in input order",
			refs: []string{host + "/app:v1", host + "/other:v2", host + "/app@" + app.String()},
			want: []subjectView{
				{Digest: host + "/app@" + app.String(), Input: host + "/app:v1", MediaType: types.DockerManifestSchema2, DescDigest: app.String()},
				{Digest: host + "/other@" + other.String(), Input: host + "/other:v2", MediaType: types.DockerManifestSchema2, DescDigest: other.String()},
			},
		},
		{
			name:      "recursive index yields the index and each child",
			refs:      []string{host + "/multi:v1"},
			recursive: true,
			want: []subjectView{
				{Digest: host + "/multi@" + idx.String(), Input: host + "/multi:v1", MediaType: types.OCIImageIndex, DescDigest: idx.String()},
				{Digest: host + "/multi@" + children[0].String(), Input: host + "/multi:v1", Platform: "linux/amd64", MediaType: types.DockerManifestSchema2, DescDigest: children[0].String()},
				{Digest: host + "/multi@" + children[1].String(), Input: host + "/multi:v1", Platform: "linux/arm64/v8", MediaType: types.DockerManifestSchema2, DescDigest: children[1].String()},
			},
		},
		{
			name: "non-recursive index yields only the index",
			refs: []string{host + "/multi:v1"},
			want: []subjectView{{Digest: host + "/multi@" + idx.String(), Input: host + "/multi:v1", MediaType: types.OCIImageIndex, DescDigest: idx.String()}},
		},
		{
			name:      "recursive on a plain image yields the image",
			refs:      []string{host + "/app:v1"},
			recursive: true,
			want:      []subjectView{{Digest: host + "/app@" + app.String(), Input: host + "/app:v1", MediaType: types.DockerManifestSchema2, DescDigest: app.String()}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(ctx, tt.refs, tt.recursive)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, view(got)); diff != "" {
				t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	host := registrytest.New(t, true)
	registrytest.PushImage(t, host+"/app:v1")
	missingDigest := "sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		name    string
		refs    []string
		wantRef string
		wantErr string
	}{
		{"missing tag", []string{host + "/app:v1", host + "/app:nope"}, host + "/app:nope", "not found"},
		{"missing repository", []string{host + "/ghost:v1"}, host + "/ghost:v1", "not found"},
		{"missing digest", []string{host + "/app@" + missingDigest}, host + "/app@" + missingDigest, "not found"},
		{"no tag", []string{host + "/app"}, host + "/app", "no tag or digest"},
		{"nothing", nil, "", "no image given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), tt.refs, true)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Resolve(%q) = %v, %v; want *InputError", tt.refs, got, err)
			}
			if ie.Ref != tt.wantRef {
				t.Errorf("InputError.Ref = %q, want %q", ie.Ref, tt.wantRef)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestResolveCanceled(t *testing.T) {
	host := registrytest.New(t, true)
	registrytest.PushImage(t, host+"/app:v1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Resolve(ctx, []string{host + "/app:v1"}, false)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve with a canceled context = %v, want context.Canceled", err)
	}
	var ie *InputError
	if errors.As(err, &ie) {
		t.Errorf("a network failure was reported as an input error: %v", err)
	}
}
