package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// TestEveryTimestampInsideValidity: a bundle that carries several RFC 3161
// timestamps fails when one of them is outside the certificate's validity
// or does not verify, though sigstore-go passes it on the others (it skips
// a second timestamp from an authority that already stamped), as the
// conformance suite's rekor2-multiple-timestamps-one-outside-cert-validity_fail
// case has it. Both a blob's bundle and an image's are checked.
func TestEveryTimestampInsideValidity(t *testing.T) {
	f := newFake(t)
	now := time.Now()
	s := f.signer() // a certificate valid from now-1m to now+9m
	for _, tc := range []struct {
		name  string
		extra func(sig []byte) []byte // the second timestamp
		want  string                  // "" verifies
	}{
		{"two timestamps inside the validity", func(sig []byte) []byte { return f.tsa.timestampAt(t, sig, now.Add(time.Minute)) }, ""},
		{"the second after the certificate expired", func(sig []byte) []byte { return f.tsa.timestampAt(t, sig, now.Add(20*time.Minute)) },
			"RFC 3161 timestamp 2 of 2 (" + now.Add(20*time.Minute).UTC().Format(time.RFC3339) + ") is outside the certificate's validity"},
		{"the second before the certificate was valid", func(sig []byte) []byte { return f.tsa.timestampAt(t, sig, now.Add(-5*time.Minute)) },
			"RFC 3161 timestamp 2 of 2 (" + now.Add(-5*time.Minute).UTC().Format(time.RFC3339) + ") is outside the certificate's validity"},
		{"the second of other bytes", func([]byte) []byte { return f.tsa.timestamp(t, []byte("other bytes")) }, "RFC 3161 timestamp 2 of 2 does not verify"},
	} {
		t.Run(tc.name+"/blob", func(t *testing.T) {
			artifact := []byte("artifact " + tc.name)
			cert, key := s.ca.leaf(t, s.identity, s.issuer, s.notBefore)
			sig := ecSign(t, key, artifact)
			sd := signed{cert: cert, msg: artifact, sig: sig, entry: f.logHashedRekord(t, cert, artifact, sig, s.logTime), tsr: f.timestamp(t, sig)}
			vm := withStamp(sd.verificationMaterial(), tc.extra(sig))
			h := sha256.Sum256(artifact)
			b, err := bundle.NewBundle(&protobundle.Bundle{
				MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", VerificationMaterial: vm,
				Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
					MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: h[:]}, Signature: sig,
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			v, err := verify.New(f.trust(), demoPolicy)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.VerifyBlob(b, bytes.NewReader(artifact))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("VerifyBlob: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("VerifyBlob = %v, want an error saying %q", err, tc.want)
			}
		})
		t.Run(tc.name+"/image", func(t *testing.T) {
			subj := f.subject(t)
			sd := f.attest(t, s, statement(t, subj.Digest.DigestStr(), payload.SignPredicateType))
			raw, err := protojson.Marshal(&protobundle.Bundle{
				MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", VerificationMaterial: withStamp(sd.verificationMaterial(), tc.extra(sd.sig)),
				Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
					Payload: sd.msg, PayloadType: payload.InTotoPayloadType, Signatures: []*protodsse.Signature{{Sig: sd.sig}},
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			storeBundle(t, subj, raw)
			v, err := verify.New(f.trust(), demoPolicy)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(context.Background(), subj, payload.Signature{}, sign.Bundle)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !res.Verified {
					t.Fatalf("not verified: %q", res.Reasons)
				}
				return
			}
			if res.Verified || !strings.Contains(strings.Join(res.Reasons, "; "), tc.want) {
				t.Errorf("Verify = verified %v, reasons %q; want rejected with %q", res.Verified, res.Reasons, tc.want)
			}
		})
	}
}

// withStamp adds an RFC 3161 timestamp to vm.
func withStamp(vm *protobundle.VerificationMaterial, stamp []byte) *protobundle.VerificationMaterial {
	td := vm.TimestampVerificationData
	td.Rfc3161Timestamps = append(td.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: stamp})
	return vm
}
