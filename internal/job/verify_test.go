package job

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// trustedRoot is a parseable trusted root whose keys signed nothing the
// tests store, so every signature check against it must fail.
const trustedRoot = "../trust/testdata/trusted_root.json"

var testPolicy = verify.Policy{
	Identity: "https://github.com/keyless-dev/demo/.github/workflows/release.yml@refs/heads/main",
	Issuer:   "https://token.actions.githubusercontent.com",
}

// memRegistry serves ggcr's in-memory registry and returns its host.
func memRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// pushImage writes a random image to host/repo:tag and returns its digest.
func pushImage(t *testing.T, host, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

// pushIndex writes a random index of n images and returns its digest and
// the digests of its manifests, in order.
func pushIndex(t *testing.T, host, repo string, n int) (name.Digest, []string) {
	t.Helper()
	idx, err := random.Index(64, 1, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + repo + ":multi")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var children []string
	for _, d := range m.Manifests {
		children = append(children, ref.Context().Digest(d.Digest.String()).String())
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String()), children
}

func TestVerifyUnsignedFailsClosed(t *testing.T) {
	host := memRegistry(t)
	d := pushImage(t, host, "demo/app")
	for _, tc := range []struct {
		name      string
		formats   []sign.Format
		anyFormat bool
		want      []sign.Format
	}{
		{"bundle", []sign.Format{sign.Bundle}, false, []sign.Format{sign.Bundle}},
		{"legacy", []sign.Format{sign.Legacy}, false, []sign.Format{sign.Legacy}},
		{"both", []sign.Format{sign.Bundle, sign.Legacy}, false, []sign.Format{sign.Bundle, sign.Legacy}},
		{"any format keeps every failure", []sign.Format{sign.Bundle, sign.Legacy}, true, []sign.Format{sign.Bundle, sign.Legacy}},
		{"no format means bundle", nil, false, []sign.Format{sign.Bundle}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := Verify(context.Background(), Config{
				Images: []string{host + "/demo/app:v1"}, Formats: tc.formats, AnyFormat: tc.anyFormat,
				Policy: testPolicy, Trust: trust.Config{TrustedRoot: trustedRoot},
			})
			if err != nil {
				t.Fatalf("Verify() error = %v, want a failed run", err)
			}
			if run.Verified || run.Certificate != nil {
				t.Errorf("Verify() Verified = %v, Certificate = %v; want false, nil", run.Verified, run.Certificate)
			}
			if len(run.Subjects) != 1 {
				t.Fatalf("Verify() subjects = %d, want 1", len(run.Subjects))
			}
			s := run.Subjects[0]
			if diff := cmp.Diff(d.String(), s.Digest); diff != "" {
				t.Errorf("subject digest (-want +got):\n%s", diff)
			}
			var got []sign.Format
			for _, v := range s.Verifications {
				got = append(got, v.Format)
				if v.Verified || len(v.Reasons) == 0 {
					t.Errorf("%s: Verified = %v, Reasons = %q; want false with a reason", v.Format, v.Verified, v.Reasons)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("formats checked (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyRecursiveIndex(t *testing.T) {
	host := memRegistry(t)
	idx, children := pushIndex(t, host, "demo/multi", 3)
	for _, tc := range []struct {
		name      string
		recursive bool
		want      []string
	}{
		{"index only", false, []string{idx.String()}},
		{"index then its manifests", true, append([]string{idx.String()}, children...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := Verify(context.Background(), Config{
				Images: []string{host + "/demo/multi:multi"}, Recursive: tc.recursive,
				Policy: testPolicy, Trust: trust.Config{TrustedRoot: trustedRoot}, Concurrency: 2,
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range run.Subjects {
				got = append(got, s.Digest)
				if len(s.Verifications) != 1 || s.Verifications[0].Verified {
					t.Errorf("%s: verifications = %+v, want one failure", s.Digest, s.Verifications)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("subjects (-want +got):\n%s", diff)
			}
			if run.Verified {
				t.Error("Verify() of unsigned manifests passed")
			}
		})
	}
}

func TestVerifyRefusesBadInputFirst(t *testing.T) {
	host := memRegistry(t)
	pushImage(t, host, "demo/app")
	image := host + "/demo/app:v1"
	for _, tc := range []struct {
		name    string
		c       Config
		input   bool
		wantErr string
	}{
		{"policy without identity", Config{Images: []string{image}, Policy: verify.Policy{Issuer: testPolicy.Issuer}, Trust: trust.Config{TrustedRoot: trustedRoot}}, true, "identity"},
		{"missing trusted root", Config{Images: []string{image}, Policy: testPolicy, Trust: trust.Config{TrustedRoot: "no/such/root.json"}}, true, "no/such/root.json"},
		{"trusted root is not JSON", Config{Images: []string{image}, Policy: testPolicy, Trust: trust.Config{TrustedRoot: "verify_test.go"}}, true, "trusted-root"},
		{"bad reference", Config{Images: []string{"UPPER/case::x"}, Policy: testPolicy, Trust: trust.Config{TrustedRoot: trustedRoot}}, true, "UPPER/case::x"},
		{"missing tag", Config{Images: []string{host + "/demo/app:nope"}, Policy: testPolicy, Trust: trust.Config{TrustedRoot: trustedRoot}}, true, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := Verify(context.Background(), tc.c)
			if err == nil {
				t.Fatalf("Verify() = %+v, want an error", run)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Verify() error = %q, want it to contain %q", err, tc.wantErr)
			}
			if got := IsInput(err); got != tc.input {
				t.Errorf("IsInput(%q) = %v, want %v", err, got, tc.input)
			}
		})
	}
}

func TestAnyVerified(t *testing.T) {
	okBundle := verify.Result{Format: sign.Bundle, Verified: true}
	badBundle := verify.Result{Format: sign.Bundle, Reasons: []string{"no signature"}}
	okLegacy := verify.Result{Format: sign.Legacy, Verified: true}
	badLegacy := verify.Result{Format: sign.Legacy, Reasons: []string{"wrong identity"}}
	for _, tc := range []struct {
		name string
		in   []verify.Result
		want []verify.Result
	}{
		{"one verified drops the failures", []verify.Result{badBundle, okLegacy}, []verify.Result{okLegacy}},
		{"both verified stay", []verify.Result{okBundle, okLegacy}, []verify.Result{okBundle, okLegacy}},
		{"none verified keeps every reason", []verify.Result{badBundle, badLegacy}, []verify.Result{badBundle, badLegacy}},
		{"nothing", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, anyVerified(tc.in)); diff != "" {
				t.Errorf("anyVerified() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyAttestationTypeFailsClosed(t *testing.T) {
	host := memRegistry(t)
	pushImage(t, host, "demo/app")
	run, err := Verify(context.Background(), Config{
		Images: []string{host + "/demo/app:v1"}, Formats: []sign.Format{sign.Bundle, sign.Legacy}, AnyFormat: true,
		Policy: testPolicy, Trust: trust.Config{TrustedRoot: trustedRoot},
		AttestationTypes: []string{payload.ProvenanceType, payload.SPDXType},
	})
	if err != nil {
		t.Fatalf("Verify() error = %v, want a failed run", err)
	}
	if run.Verified {
		t.Errorf("Verify() Verified = true for an image with no attestation")
	}
	// The gate's policies are written from the run: they must require
	// what the gate required.
	if diff := cmp.Diff([]string{payload.ProvenanceType, payload.SPDXType}, run.Attestations); diff != "" {
		t.Errorf("Attestations: the types the gate required (-want +got):\n%s", diff)
	}
	type check struct {
		Format        sign.Format
		PredicateType string
	}
	var got []check
	for _, v := range run.Subjects[0].Verifications {
		got = append(got, check{v.Format, v.PredicateType})
		if v.Verified || len(v.Reasons) == 0 || v.Predicate != nil {
			t.Errorf("%s %s: Verified = %v, Reasons = %q, Predicate = %s; want a failure with a reason", v.Format, v.PredicateType, v.Verified, v.Reasons, v.Predicate)
		}
	}
	want := []check{
		{sign.Bundle, ""}, {sign.Legacy, ""},
		{sign.Bundle, payload.ProvenanceType}, {sign.Legacy, payload.ProvenanceType},
		{sign.Bundle, payload.SPDXType}, {sign.Legacy, payload.SPDXType},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checks: the signature, then each attestation type, in each format (-want +got):\n%s", diff)
	}
}
