package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkSign times one whole keyless sign run (process start, token,
// Fulcio, Rekor, TSA, registry writes, read-back verification) on fresh
// digests, as a GitHub job runs it: go test -bench Sign -run ^$ ./e2e
func BenchmarkSign(b *testing.B) {
	for _, bc := range []struct {
		format string
		images int
	}{{"bundle", 1}, {"bundle", 8}, {"legacy", 1}, {"both", 8}} {
		b.Run(fmt.Sprintf("%s/%d-images", bc.format, bc.images), func(b *testing.B) {
			sc := map[string]string{"bundle": stk.SigningConfig, "legacy": stk.SigningConfigV1, "both": stk.SigningConfigAll}[bc.format]
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				var refs []string
				for j := range bc.images {
					ref, err := stk.PushRandomImage(context.Background(), "bench/"+bc.format, fmt.Sprintf("%d-%d", i, j))
					if err != nil {
						b.Fatal(err)
					}
					refs = append(refs, ref)
				}
				env := githubEnv(merge(trustInputs(sc), map[string]string{"images": strings.Join(refs, "\n"), "signature-format": bc.format}))
				b.StartTimer()
				if r := runKeyless(b, env); r.code != 0 {
					b.Fatalf("exit %d\n%s", r.code, r.stderr)
				}
			}
			b.ReportMetric(float64(bc.images), "digests/op")
		})
	}
}

// BenchmarkVerify times keyless verify of an already signed digest.
func BenchmarkVerify(b *testing.B) {
	ref, err := stk.PushRandomImage(context.Background(), "bench/verify", "v1")
	if err != nil {
		b.Fatal(err)
	}
	if r := runKeyless(b, githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": ref}))); r.code != 0 {
		b.Fatalf("signing: exit %d\n%s", r.code, r.stderr)
	}
	for b.Loop() {
		r := runKeyless(b, map[string]string{"KEYLESS_PLATFORM": "cli"}, "verify", "--trusted-root", stk.TrustedRoot,
			"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github"), ref)
		if r.code != 0 {
			b.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	}
}
