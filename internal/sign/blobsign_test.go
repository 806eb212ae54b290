package sign_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
)

const testStatement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a.txt","digest":{"sha256":"00"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`

func TestSignBlobAndStatement(t *testing.T) {
	blob := []byte("release notes\n")
	sum := sha256.Sum256(blob)
	for _, tc := range []struct {
		name string
		sign func(*sign.Signer) (*protobundle.Bundle, error)
		// check returns what was signed: the digest or the DSSE payload.
		check func(*protobundle.Bundle) string
		want  string
	}{
		{"blob as a message signature", func(s *sign.Signer) (*protobundle.Bundle, error) {
			return s.SignBlob(context.Background(), blob)
		}, func(b *protobundle.Bundle) string {
			return string(b.GetMessageSignature().GetMessageDigest().GetDigest())
		}, string(sum[:])},
		{"statement as a DSSE envelope", func(s *sign.Signer) (*protobundle.Bundle, error) {
			return s.SignStatement(context.Background(), []byte(testStatement))
		}, func(b *protobundle.Bundle) string {
			return b.GetDsseEnvelope().GetPayloadType() + " " + string(b.GetDsseEnvelope().GetPayload())
		}, payload.InTotoPayloadType + " " + testStatement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sigstoretest.New(t)
			b, err := tc.sign(newSigner(t, st, token(t)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.check(b)); diff != "" {
				t.Errorf("signed content (-want +got):\n%s", diff)
			}
			vm := b.GetVerificationMaterial()
			got := []int{len(vm.GetTlogEntries()), len(vm.GetTimestampVerificationData().GetRfc3161Timestamps()), st.Entries, len(st.Certificates)}
			if diff := cmp.Diff([]int{1, 1, 1, 1}, got); diff != "" {
				t.Errorf("[log entries, timestamps, Rekor entries, certificates] (-want +got):\n%s", diff)
			}
			if string(vm.GetCertificate().GetRawBytes()) != string(st.Certificates[0].Raw) {
				t.Error("the bundle does not hold the certificate Fulcio issued")
			}
		})
	}
}

func TestSignStatementRefusesBeforeAnyService(t *testing.T) {
	st := sigstoretest.New(t)
	s := newSigner(t, st, token(t))
	for _, tc := range []struct{ name, stmt, wantErr string }{
		{"not JSON", "nope", "parsing in-toto statement"},
		{"no subject digest", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}],"predicateType":"p"}`, "subject 0 has no digest"},
		{"no predicate type", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"}}]}`, "no predicateType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.SignStatement(context.Background(), []byte(tc.stmt)); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SignStatement() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	if diff := cmp.Diff(map[string]int{}, st.Calls); diff != "" {
		t.Errorf("services called for refused statements (-want +got):\n%s", diff)
	}
}

func TestSignRetriesTransientRekorV2(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		times      int // 0: once
		retryAfter string
		wantCalls  int // to Rekor
		wantStamps int // from the TSA, one per signature made
		wantErr    string
	}{
		{"503 once: signed again", 503, 0, "", 2, 2, ""},
		{"409 once (a retried POST): signed again", 409, 0, "", 2, 2, ""},
		{"400: permanent", 400, 0, "", 1, 1, "rekor says no"},
		{"429 with Retry-After, 12 times: the same entry sent again when asked", 429, 12, "0", 13, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sigstoretest.New(t)
			st.Refuse["rekor"], st.RefuseTimes["rekor"], st.RetryAfter = tc.status, max(tc.times, 1), tc.retryAfter
			b, err := newSigner(t, st, token(t)).SignBlob(context.Background(), []byte("x"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("SignBlob() error = %v, want one containing %q", err, tc.wantErr)
				}
			} else if err != nil || b.GetVerificationMaterial().GetTlogEntries()[0].GetLogIndex() != sigstoretest.LogIndex {
				t.Errorf("SignBlob() = %v, %v; want the first entry added", b, err)
			}
			if st.Calls["rekor"] != tc.wantCalls || len(st.Certificates) != 1 {
				t.Errorf("Rekor calls = %d, certificates = %d; want %d and 1 (the certificate is kept)", st.Calls["rekor"], len(st.Certificates), tc.wantCalls)
			}
			if st.Calls["tsa"] != tc.wantStamps {
				t.Errorf("TSA calls = %d, want %d", st.Calls["tsa"], tc.wantStamps)
			}
		})
	}
}
