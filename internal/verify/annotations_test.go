package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// TestVerifyAnnotations: a verifier asked for exact annotations accepts
// only a signature whose payload carries them, in either format, and finds
// it among others; without the request any annotations pass.
func TestVerifyAnnotations(t *testing.T) {
	f := newFake(t)
	staging, prod := map[string]string{"env": "staging"}, map[string]string{"env": "prod"}
	store := func(t *testing.T, subj registry.Subject, format sign.Format, ann map[string]string) {
		t.Helper()
		if format == sign.Bundle {
			stmt, err := sign.Statement(subj.Digest, ann)
			if err != nil {
				t.Fatal(err)
			}
			storeBundle(t, subj, f.attest(t, f.signer(), stmt).bundleJSON(t))
			return
		}
		payload, err := sign.SimpleSigningPayload(subj.Digest, ann)
		if err != nil {
			t.Fatal(err)
		}
		s := f.signLegacy(t, f.signer(), payload)
		storeLegacy(t, subj, payload, s.legacyAnnotations(t))
	}
	for _, format := range []sign.Format{sign.Bundle, sign.Legacy} {
		t.Run(string(format), func(t *testing.T) {
			subj := f.subject(t)
			store(t, subj, format, staging)
			v, err := verify.New(f.trust(), demoPolicy)
			if err != nil {
				t.Fatal(err)
			}
			check := func(name string, v *verify.Verifier, wantVerified bool, wantAnn map[string]string) {
				t.Helper()
				res, err := v.Verify(context.Background(), subj, format)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if res.Verified != wantVerified {
					t.Fatalf("%s: verified %v, want %v (reasons %q)", name, res.Verified, wantVerified, res.Reasons)
				}
				if !wantVerified && !strings.Contains(strings.Join(res.Reasons, "; "), `signed annotations "env"="staging", not the requested`) {
					t.Errorf("%s: reasons %q do not name the signed annotations", name, res.Reasons)
				}
				if diff := cmp.Diff(wantAnn, res.Annotations); diff != "" {
					t.Errorf("%s: annotations (-want +got):\n%s", name, diff)
				}
			}
			check("no request", v, true, staging)
			check("the same annotations", v.WithAnnotations(map[string]string{"env": "staging"}), true, staging)
			check("other annotations", v.WithAnnotations(prod), false, nil)
			check("none requested", v.WithAnnotations(nil), false, nil)
			check("more requested", v.WithAnnotations(map[string]string{"env": "staging", "team": "a"}), false, nil)
			store(t, subj, format, prod)
			check("found among others", v.WithAnnotations(prod), true, prod)
		})
	}
}
