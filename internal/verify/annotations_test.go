package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/payload"
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
	put := func(t *testing.T, subj registry.Subject, format sign.Format, ann map[string]string) {
		t.Helper()
		if format == sign.Bundle {
			stmt, err := payload.Signature{Annotations: ann}.Statement(subj.Digest)
			if err != nil {
				t.Fatal(err)
			}
			storeBundle(t, subj, f.attest(t, f.signer(), stmt).bundleJSON(t))
			return
		}
		msg, err := payload.Signature{Annotations: ann}.SimpleSigning(subj.Digest)
		if err != nil {
			t.Fatal(err)
		}
		s := f.signLegacy(t, f.signer(), msg)
		storeLegacy(t, subj, msg, s.legacyAnnotations(t))
	}
	for _, format := range []sign.Format{sign.Bundle, sign.Legacy} {
		t.Run(string(format), func(t *testing.T) {
			subj := f.subject(t)
			put(t, subj, format, staging)
			v, err := verify.New(f.trust(), demoPolicy)
			if err != nil {
				t.Fatal(err)
			}
			// check verifies with the kind asking for ask (exactly, unless
			// ask is nil and exact false).
			check := func(name string, v *verify.Verifier, ask map[string]string, wantVerified bool, wantAnn map[string]string) {
				t.Helper()
				res, err := v.Verify(context.Background(), subj, payload.Signature{Annotations: ask}, format)
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
			check("no request", v, nil, true, staging)
			check("the same annotations", v.Exact(), map[string]string{"env": "staging"}, true, staging)
			check("other annotations", v.Exact(), prod, false, nil)
			check("none requested", v.Exact(), nil, false, nil)
			check("more requested", v.Exact(), map[string]string{"env": "staging", "team": "a"}, false, nil)
			put(t, subj, format, prod)
			check("found among others", v.Exact(), prod, true, prod)
		})
	}
}
