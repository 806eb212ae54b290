package job

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

func TestClassify(t *testing.T) {
	res := func(f sign.Format, c verify.Cause) verify.Result {
		return verify.Result{Format: f, Verified: c == "", Cause: c, Reasons: []string{string(f) + " " + string(c)}}
	}
	ok := func(f sign.Format) verify.Result { return verify.Result{Format: f, Verified: true} }
	att := func(f sign.Format, c verify.Cause) verify.Result {
		r := res(f, c)
		r.PredicateType = payload.ProvenanceType
		return r
	}
	both := []sign.Format{sign.Bundle, sign.Legacy}
	bundle, legacy := []sign.Format{sign.Bundle}, []sign.Format{sign.Legacy}
	for _, tc := range []struct {
		name   string
		gate   []sign.Format
		vs     []verify.Result
		probed map[sign.Format]verify.Cause // nil: probing fails the test
		want   Reason
		detail string
	}{
		{"nothing in either format", both, []verify.Result{res(sign.Bundle, verify.Absent), res(sign.Legacy, verify.Absent)}, nil, Unsigned, "bundle absent; legacy absent"},
		{"nothing in the gate's format nor the other", bundle, []verify.Result{res(sign.Bundle, verify.Absent)}, map[sign.Format]verify.Cause{sign.Legacy: verify.Absent}, Unsigned, "bundle absent"},
		{"another identity", both, []verify.Result{res(sign.Bundle, verify.OtherIdentity), res(sign.Legacy, verify.Absent)}, nil, OtherIdentity, "bundle identity"},
		{"the .sig tag lost, the bundle verified", both, []verify.Result{ok(sign.Bundle), res(sign.Legacy, verify.Absent)}, nil, Retention,
			"legacy absent; a bundle signature is stored: the other format's was deleted, or never written"},
		{"the .sig tag lost, the bundle stored", legacy, []verify.Result{res(sign.Legacy, verify.Absent)}, map[sign.Format]verify.Cause{sign.Bundle: verify.Invalid}, Retention,
			"legacy absent; a bundle signature is stored: the other format's was deleted, or never written"},
		{"no bundle, a legacy signature by another identity", bundle, []verify.Result{res(sign.Bundle, verify.Absent)}, map[sign.Format]verify.Cause{sign.Legacy: verify.OtherIdentity}, OtherIdentity,
			"bundle absent; the legacy signature is by another identity: legacy identity"},
		{"no bundle, the legacy signature unreadable", bundle, []verify.Result{res(sign.Bundle, verify.Absent)}, map[sign.Format]verify.Cause{sign.Legacy: verify.Unreadable}, Unreadable,
			"bundle absent; reading the legacy signature: legacy unreadable"},
		{"a referrer whose manifest is gone", bundle, []verify.Result{res(sign.Bundle, verify.Dangling)}, nil, Retention, "bundle dangling"},
		{"a dangling signature before another identity", both, []verify.Result{res(sign.Bundle, verify.OtherIdentity), res(sign.Legacy, verify.Dangling)}, nil, Retention, "legacy dangling"},
		{"an invalid signature", both, []verify.Result{res(sign.Bundle, verify.Invalid), res(sign.Legacy, verify.Absent)}, nil, InvalidSignature, "bundle invalid"},
		{"a failure without a cause is invalid", bundle, []verify.Result{{Format: sign.Bundle, Reasons: []string{"x"}}}, nil, InvalidSignature, "x"},
		{"the registry failed", both, []verify.Result{res(sign.Bundle, verify.Unreadable), res(sign.Legacy, verify.Absent)}, nil, Unreadable, "bundle unreadable"},
		{"a missing attestation", both, []verify.Result{ok(sign.Bundle), ok(sign.Legacy), att(sign.Bundle, verify.Absent), att(sign.Legacy, verify.Absent)}, nil, NoAttestation,
			"no " + payload.ProvenanceType + " attestation verifies: bundle absent"},
		{"an unsigned image lacks its attestation too: unsigned", both, []verify.Result{res(sign.Bundle, verify.Absent), res(sign.Legacy, verify.Absent), att(sign.Bundle, verify.Absent)}, nil, Unsigned, "bundle absent; legacy absent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probe := func(f sign.Format) verify.Result {
				c, ok := tc.probed[f]
				if !ok {
					t.Fatalf("probed %s, which the case does not expect", f)
				}
				return res(f, c)
			}
			reason, detail := classify(tc.gate, tc.vs, probe)
			if diff := cmp.Diff([2]string{string(tc.want), tc.detail}, [2]string{string(reason), detail}); diff != "" {
				t.Errorf("classify (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	long := ""
	for len(long) < 2*maxDetail {
		long += "é "
	}
	got := oneLine(long)
	if len(got) > maxDetail+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("oneLine cut to %d bytes, ending %q", len(got), got[len(got)-4:])
	}
	if got := oneLine("a\nb\r\n\tc"); got != "a b c" {
		t.Errorf("oneLine = %q, want one line", got)
	}
}
