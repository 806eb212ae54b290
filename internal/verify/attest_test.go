package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/verify"
)

// customKind is an attestation kind of the tests.
type customKind struct {
	predicateType, predicate string
}

func (k customKind) PredicateType() string { return k.predicateType }

func (k customKind) Statement(d name.Digest) ([]byte, error) {
	alg, hx, _ := strings.Cut(d.DigestStr(), ":")
	return json.Marshal(map[string]any{
		"_type": payload.StatementType, "predicateType": k.predicateType,
		"subject":   []any{map[string]any{"digest": map[string]string{alg: hx}}},
		"predicate": json.RawMessage(k.predicate),
	})
}

// protoNameKind writes its predicate type under the protobuf field name,
// predicate_type, which sigstore-go reads and JSON readers do not.
type protoNameKind struct{ customKind }

func (k protoNameKind) Statement(d name.Digest) ([]byte, error) {
	b, err := k.customKind.Statement(d)
	return bytes.Replace(b, []byte(`"predicateType"`), []byte(`"predicate_type"`), 1), err
}

const testPredicateType = "https://example.com/build/v1"

var buildKind = customKind{testPredicateType, `{"builder":{"id":"https://example.com/ci"},"n":1}`}

// storeAttestation signs stmt with the fake Sigstore (change, when set,
// alters it after signing) and stores it for subj in format f, labelled
// with k's predicate type, the way keyless writes it.
func storeAttestation(t *testing.T, f *fake, subj registry.Subject, format sign.Format, k payload.Kind, stmt []byte, change func(t *testing.T, s *signed)) {
	t.Helper()
	s := f.attest(t, f.signer(), stmt)
	if change != nil {
		change(t, &s)
	}
	b := &protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: s.verificationMaterial(),
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: s.msg, PayloadType: payload.InTotoPayloadType, Signatures: []*protodsse.Signature{{Sig: s.sig}},
		}},
	}
	st, err := store.New(format)
	if err != nil {
		t.Fatal(err)
	}
	c := store.Content{Data: s.msg, DSSE: true}
	// cosign's .att layer is stamped over its envelope, not the signature.
	if sp, ok := st.(interface {
		Stamped(store.Content, *protobundle.Bundle) ([]byte, error)
	}); ok && s.tsr != nil && !s.keepStamp {
		data, err := sp.Stamped(c, b)
		if err != nil {
			t.Fatal(err)
		}
		b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps[0].SignedTimestamp = f.timestamp(t, data)
	}
	if _, err := st.Write(context.Background(), subj, k, c, b); err != nil {
		t.Fatalf("writing the attestation: %v", err)
	}
}

// TestVerifyAttestation: an attestation verifies for its kind in both
// stores, and its predicate is returned; what is tampered with, about
// another image, or of another predicate type is rejected.
func TestVerifyAttestation(t *testing.T) {
	f := newFake(t)
	const otherDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	for _, format := range []sign.Format{sign.Bundle, sign.Legacy} {
		t.Run(string(format), func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				signed  payload.Kind // the kind of the stored statement
				digest  string       // the statement's subject; the image's when empty
				change  func(t *testing.T, s *signed)
				wantErr string // in the reasons; verified when empty
				// legacyErr is wantErr in the legacy store, when it differs.
				legacyErr string
			}{
				{name: "accepted", signed: buildKind},
				{
					name: "tampered: the payload changed after signing, and the changed one logged", signed: buildKind,
					change: func(t *testing.T, s *signed) {
						s.msg = []byte(strings.Replace(string(s.msg), `"n":1`, `"n":2`, 1))
						s.entry = f.logDSSE(t, s.cert, s.msg, s.sig, time.Unix(s.entry.GetIntegratedTime(), 0))
					},
					wantErr: "could not verify envelope",
				},
				{
					name: "a timestamp of other bytes", signed: buildKind,
					change: func(t *testing.T, s *signed) {
						s.tsr, s.keepStamp = f.timestamp(t, []byte("other bytes")), true
					},
					wantErr:   "RFC 3161 timestamp 1 of 1 does not verify",
					legacyErr: "the layer's RFC 3161 timestamp does not verify",
				},
				{
					// cosign v2 verifies an .att layer's timestamp over the
					// whole envelope, and refuses this one.
					name: "a timestamp of the signature, as a bundle has it", signed: buildKind,
					change:    func(t *testing.T, s *signed) { s.keepStamp = true },
					legacyErr: "the layer's RFC 3161 timestamp does not verify",
				},
				{name: "wrong subject: a statement about another image", signed: buildKind, digest: otherDigest, wantErr: "does not match any digest in statement"},
				{name: "wrong predicate type", signed: customKind{"https://example.com/other/v1", `{}`}, wantErr: `predicate type is "https://example.com/other/v1", not "` + testPredicateType + `"`},
				{name: "an image signature is no attestation", signed: customKind{payload.SignPredicateType, `{}`}, wantErr: "predicate type is"},
				{name: "predicate type under its protobuf name", signed: protoNameKind{buildKind}, wantErr: `in-toto statement refused: its predicateType reads as "" and as "` + testPredicateType + `"`},
				{name: "keys that differ only in case", signed: customKind{testPredicateType, `{"builder":{"id":"https://example.com/evil"},"Builder":{"id":"https://example.com/ci"},"n":1}`}, wantErr: `in-toto statement refused: key predicate.Builder differs only in case from "builder"`},
			} {
				t.Run(tc.name, func(t *testing.T) {
					subj := f.subject(t)
					d := subj.Digest
					if tc.digest != "" {
						d = subj.Digest.Context().Digest(tc.digest)
					}
					stmt, err := tc.signed.Statement(d)
					if err != nil {
						t.Fatal(err)
					}
					// Labelled as the kind asked for: the label is no proof.
					storeAttestation(t, f, subj, format, buildKind, stmt, tc.change)
					v, err := verify.New(f.trust(), demoPolicy)
					if err != nil {
						t.Fatal(err)
					}
					res, err := v.Verify(context.Background(), subj, buildKind, format)
					if err != nil {
						t.Fatal(err)
					}
					if format == sign.Legacy && tc.legacyErr != "" {
						tc.wantErr = tc.legacyErr
					}
					if tc.wantErr != "" {
						if res.Verified || !strings.Contains(strings.Join(res.Reasons, "; "), tc.wantErr) {
							t.Errorf("Verify = verified %v, reasons %q; want rejected with %q", res.Verified, res.Reasons, tc.wantErr)
						}
						return
					}
					if !res.Verified {
						t.Fatalf("Verify: not verified: %q", res.Reasons)
					}
					got := []string{res.PredicateType, string(res.Predicate)}
					if diff := cmp.Diff([]string{testPredicateType, buildKind.predicate}, got); diff != "" {
						t.Errorf("verified [predicate type, predicate] (-want +got):\n%s", diff)
					}
					// The signature kind does not take the attestation for a
					// signature.
					if sres, err := v.Verify(context.Background(), subj, payload.Signature{}, format); err != nil || sres.Verified {
						t.Errorf("Verify(signature) = %+v, %v; want not verified", sres, err)
					}
				})
			}
		})
	}
}

// TestVerifyAttestationExact: for reuse, a stored attestation counts only
// when its predicate is the one this run would sign, as canonical JSON.
func TestVerifyAttestationExact(t *testing.T) {
	f := newFake(t)
	for _, format := range []sign.Format{sign.Bundle, sign.Legacy} {
		t.Run(string(format), func(t *testing.T) {
			subj := f.subject(t)
			stmt, err := buildKind.Statement(subj.Digest)
			if err != nil {
				t.Fatal(err)
			}
			storeAttestation(t, f, subj, format, buildKind, stmt, nil)
			v, err := verify.New(f.trust(), demoPolicy)
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name      string
				predicate string
				want      bool
			}{
				{"the same predicate", buildKind.predicate, true},
				{"the same, keys in another order and spaced", `{ "n": 1, "builder": {"id": "https://example.com/ci"} }`, true},
				{"another predicate", `{"builder":{"id":"https://example.com/ci"},"n":2}`, false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					res, err := v.Exact().Verify(context.Background(), subj, customKind{testPredicateType, tc.predicate}, format)
					if err != nil {
						t.Fatal(err)
					}
					if res.Verified != tc.want {
						t.Errorf("verified = %v, want %v (reasons %q)", res.Verified, tc.want, res.Reasons)
					}
					if !tc.want && !strings.Contains(strings.Join(res.Reasons, "; "), "predicate is not the one this run signs") {
						t.Errorf("reasons %q do not say the predicate differs", res.Reasons)
					}
				})
			}
		})
	}
}

// TestVerifyAccepting: of two verified attestations, Verify returns the
// first that the Accept accepts, and says why the others were refused.
func TestVerifyAccepting(t *testing.T) {
	f := newFake(t)
	for _, format := range []sign.Format{sign.Bundle, sign.Legacy} {
		t.Run(string(format), func(t *testing.T) {
			subj := f.subject(t)
			for _, n := range []string{"1", "2"} {
				k := customKind{testPredicateType, `{"n":` + n + `}`}
				stmt, err := k.Statement(subj.Digest)
				if err != nil {
					t.Fatal(err)
				}
				storeAttestation(t, f, subj, format, k, stmt, nil)
			}
			v, err := verify.New(f.trust(), demoPolicy)
			if err != nil {
				t.Fatal(err)
			}
			want := func(n string) verify.Accept {
				return func(d name.Digest, predicateType string, predicate json.RawMessage) error {
					if d != subj.Digest || predicateType != testPredicateType || string(predicate) != `{"n":`+n+`}` {
						return errors.New("not the one looked for")
					}
					return nil
				}
			}
			for _, n := range []string{"1", "2"} {
				res, err := v.Accepting(want(n)).Verify(context.Background(), subj, buildKind, format)
				if err != nil {
					t.Fatal(err)
				}
				if !res.Verified || string(res.Predicate) != `{"n":`+n+`}` {
					t.Errorf("accepting n=%s: verified %v, predicate %s, reasons %q", n, res.Verified, res.Predicate, res.Reasons)
				}
			}
			res, err := v.Accepting(want("3")).Verify(context.Background(), subj, buildKind, format)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verified || len(res.Reasons) != 2 || !strings.Contains(res.Reasons[0], "not the one looked for") {
				t.Errorf("accepting neither: verified %v, reasons %q; want two refusals", res.Verified, res.Reasons)
			}
		})
	}
}
