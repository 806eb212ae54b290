package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/image"
	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{"two arches", []string{"-binary", "amd64=a,arm64=b", "-push", "r/k:v"}, map[string]string{"amd64": "a", "arm64": "b"}, ""},
		{"no push", []string{"-binary", "amd64=a"}, nil, "-push is required"},
		{"bad pair", []string{"-binary", "amd64", "-push", "r/k:v"}, nil, `-binary "amd64": want arch=path`},
		{"empty path", []string{"-busybox", "arm64=", "-push", "r/k:v"}, nil, `-busybox "arm64=": want arch=path`},
		{"SBOM references without SBOMs", []string{"-binary", "amd64=a", "-push", "r/k:v", "-sbom-refs", "f"}, nil, "-sbom-refs needs -sbom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parse(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, f.binaries); diff != "" {
				t.Errorf("binaries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaseNeedsDigest(t *testing.T) {
	_, err := base(flags{base: "gcr.io/distroless/static-debian12:latest"}, time.Unix(0, 0), nil)
	if err == nil || !strings.Contains(err.Error(), "by digest") {
		t.Errorf("a base by tag: err = %v, want a request for a digest", err)
	}
}

// TestRunSBOMRefs checks that -sbom-refs lists every SBOM attached, by
// digest, for the release to sign: one per platform, each an SPDX
// referrer of its platform's manifest.
func TestRunSBOMRefs(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certs := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(certs, []byte("certificates"), 0o644); err != nil {
		t.Fatal(err)
	}
	refsFile := filepath.Join(dir, "sboms")
	host := registrytest.New(t, true)
	var stdout bytes.Buffer
	err = run(context.Background(), []string{
		"-binary", "amd64=" + exe + ",arm64=" + exe, "-base", "local", "-cacerts", certs,
		"-version", "v1.2.3", "-push", host + "/keyless:v1.2.3", "-insecure", "-sbom", "-sbom-refs", refsFile,
	}, &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(registrytest.Ref(t, strings.TrimSpace(stdout.String())))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range im.Manifests {
		refs, err := remote.Referrers(registrytest.Ref(t, host+"/keyless@"+m.Digest.String()).(name.Digest))
		if err != nil {
			t.Fatal(err)
		}
		rm, err := refs.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rm.Manifests {
			if r.ArtifactType == image.SPDXMediaType {
				want = append(want, host+"/keyless@"+r.Digest.String())
			}
		}
	}
	b, err := os.ReadFile(refsFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, strings.Fields(string(b))); diff != "" || len(want) != len(im.Manifests) {
		t.Errorf("-sbom-refs of %d platforms (-want +got):\n%s", len(im.Manifests), diff)
	}
}
