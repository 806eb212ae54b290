package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/trust"
)

// Cases laid out as the conformance suite's bundle-verify cases are: a
// directory per case under testdata/cases, holding bundle.sigstore.json,
// trusted_root.json and a README that says how the case was made; the
// artifact is testdata/a.txt and the identity testdata/identity. A case
// whose name ends in _fail must fail, by path and by digest, saying why.
var caseReasons = map[string]string{
	multipleTimestampsCase: "RFC 3161 timestamp 2 of 2",
}

// multipleTimestampsCase is the suite's case of the same name: two valid
// RFC 3161 timestamps of one authority over the signature, the second
// outside the certificate's validity.
const multipleTimestampsCase = "rekor2-multiple-timestamps-one-outside-cert-validity_fail"

func TestConformanceCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/cases/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != len(caseReasons) {
		t.Fatalf("testdata/cases holds %d cases, want %d", len(dirs), len(caseReasons))
	}
	id, iss := fixtureIdentity(t)
	for _, dir := range dirs {
		name := filepath.Base(dir)
		for _, in := range []struct{ name, input string }{{"path", "testdata/a.txt"}, {"digest", sha256Of(t, "testdata/a.txt")}} {
			input := in.input
			t.Run(name+"/"+in.name, func(t *testing.T) {
				code, stdout, stderr := invoke(t, nil, "verify-bundle", "--bundle", filepath.Join(dir, "bundle.sigstore.json"),
					"--certificate-identity", id, "--certificate-oidc-issuer", iss, "--trusted-root", filepath.Join(dir, "trusted_root.json"), input)
				if !strings.HasSuffix(name, "_fail") {
					if code != exitOK {
						t.Fatalf("exit %d, want 0\n%s", code, stderr)
					}
					return
				}
				if code != exitFailed {
					t.Fatalf("exit %d, want %d\nstdout: %s", code, exitFailed, stdout)
				}
				if want := caseReasons[name]; !strings.Contains(stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr)
				}
			})
		}
	}
}

// TestMultipleTimestampsCase: without the timestamp outside the
// certificate's validity the case's bundle verifies, so the case fails for
// that timestamp alone; and that timestamp is outside it.
func TestMultipleTimestampsCase(t *testing.T) {
	dir := filepath.Join("testdata/cases", multipleTimestampsCase)
	raw, err := os.ReadFile(filepath.Join(dir, "bundle.sigstore.json"))
	must(t, err)
	for _, keep := range []int{0, 1} {
		b := readBundle(t, raw)
		stamps := b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()
		if len(stamps) != 2 {
			t.Fatalf("the case's bundle has %d timestamps, want 2", len(stamps))
		}
		b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps = stamps[keep : keep+1]
		out := filepath.Join(t.TempDir(), "bundle.sigstore.json")
		edited, err := protojson.Marshal(b)
		must(t, err)
		must(t, os.WriteFile(out, edited, 0o644))
		id, iss := fixtureIdentity(t)
		code, _, stderr := invoke(t, nil, "verify-bundle", "--bundle", out, "--certificate-identity", id, "--certificate-oidc-issuer", iss,
			"--trusted-root", filepath.Join(dir, "trusted_root.json"), "testdata/a.txt")
		switch {
		case keep == 0 && code != exitOK:
			t.Errorf("with only the timestamp inside the validity: exit %d, want 0\n%s", code, stderr)
		case keep == 1 && (code != exitFailed || !strings.Contains(stderr, "certificate")):
			// sigstore-go refuses this one itself: it is the only
			// timestamp, so it checks the certificate at its time.
			t.Errorf("with only the timestamp outside the validity: exit %d, want 1\n%s", code, stderr)
		}
	}
}

func readBundle(t *testing.T, raw []byte) *protobundle.Bundle {
	t.Helper()
	var b protobundle.Bundle
	must(t, protojson.Unmarshal(raw, &b))
	return &b
}

// cachedKeypair signs the artifact with a signature made beforehand, so
// that an authority can stamp it before the certificate exists.
type cachedKeypair struct {
	*sgsign.EphemeralKeypair
	data, sig, digest []byte
}

func (k *cachedKeypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	if bytes.Equal(data, k.data) {
		return k.sig, k.digest, nil
	}
	return k.EphemeralKeypair.SignData(ctx, data)
}

// generateMultipleTimestampsCase makes the case against the local stack,
// as the suite's README for it says, with one difference: the stack's
// Fulcio certificates live ten minutes, so the timestamp outside the
// validity is one the authority made before the certificate was issued,
// rather than after it expired. keyless checks both ends alike.
func generateMultipleTimestampsCase(t *testing.T, s stack, tok string) {
	t.Helper()
	material, err := trust.Load(trust.Config{TrustedRoot: s.TrustedRoot, SigningConfig: s.SigningConfig}, true)
	must(t, err)
	svc, err := material.Select(time.Now(), 2)
	must(t, err)
	if len(svc.TSAs) == 0 {
		t.Fatal("the stack's signing config names no timestamp authority")
	}
	ctx := context.Background()
	data, err := os.ReadFile("testdata/a.txt")
	must(t, err)
	eph, err := sgsign.NewEphemeralKeypair(nil)
	must(t, err)
	sig, digest, err := eph.SignData(ctx, data)
	must(t, err)
	kp := &cachedKeypair{EphemeralKeypair: eph, data: data, sig: sig, digest: digest}
	tsa := sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: svc.TSAs[0], Timeout: 30 * time.Second})
	early, err := tsa.GetTimestamp(ctx, sig)
	must(t, err)
	earlyTS, err := timestamp.ParseResponse(early)
	must(t, err)
	// Certificate times are whole seconds: be a clear second later.
	time.Sleep(time.Until(earlyTS.Time.Add(2 * time.Second)))
	pb, err := sgsign.Bundle(&sgsign.PlainData{Data: data}, kp, sgsign.BundleOptions{
		Context:                    ctx,
		CertificateProvider:        sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: svc.Fulcio, Timeout: 30 * time.Second}),
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: tok},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: svc.Rekor, Version: svc.RekorVersion, Timeout: 30 * time.Second})},
		TimestampAuthorities:       []*sgsign.TimestampAuthority{tsa},
	})
	must(t, err)
	td := pb.GetVerificationMaterial().GetTimestampVerificationData()
	if td == nil || len(td.GetRfc3161Timestamps()) != 1 {
		t.Fatalf("the bundle has timestamps %v, want one", td)
	}
	td.Rfc3161Timestamps = append(td.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: early})
	raw, err := protojson.Marshal(pb)
	must(t, err)
	dir := filepath.Join("testdata/cases", multipleTimestampsCase)
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "bundle.sigstore.json"), raw, 0o644))
	copyFile(t, s.TrustedRoot, filepath.Join(dir, "trusted_root.json"))
}
