package main

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/report"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// TestTrustedRootReadOnce runs a verify with a private trusted root and
// builds its admission policies as publish does: the file is read once,
// by the job, and the policies come from the root the run carries, the
// same as from the file's bytes.
func TestTrustedRootReadOnce(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	tag, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	rootJSON, err := os.ReadFile("../conformance/testdata/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(path, rootJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	reads := 0
	cfg := job.Config{
		Images: []string{tag.String()},
		Policy: verify.Policy{Identity: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com"},
		Trust: trust.Config{TrustedRoot: path, ReadFile: func(name string) ([]byte, error) {
			reads++
			return os.ReadFile(name)
		}},
	}
	res, err := job.Verify(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// From here on the file is gone: nothing may read it again.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	// The image carries no signature; the policies are built for a run
	// whose every format verified.
	r := report.New(res)
	for i := range r.Subjects {
		for j := range r.Subjects[i].Verifications {
			r.Subjects[i].Verifications[j].Verified = true
		}
	}
	r.Verified = true
	got, err := admissionPolicies(r, res.TrustedRoot, cfg.Trust, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if reads != 1 {
		t.Errorf("the trusted root was read %d times, want 1", reads)
	}
	want, err := policy.Manifests(r.PolicyInput(), policy.Options{TrustedRootJSON: rootJSON})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d policies, want 2 (the ImageValidatingPolicy and the ClusterImagePolicy)", len(got))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("policies from the run's root differ from the file's (-want +got):\n%s", diff)
	}
}
