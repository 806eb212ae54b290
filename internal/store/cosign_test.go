package store

import (
	"crypto/sha256"
	"testing"

	"github.com/google/go-cmp/cmp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/testing/protocmp"
)

// TestLegacyRoundTrip converts a Rekor v1 message-signature bundle to
// cosign's annotations and back, and gets the same verification material.
func TestLegacyRoundTrip(t *testing.T) {
	payload := []byte(`{"critical":{}}`)
	digest := sha256.Sum256(payload)
	in := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: []byte("not-a-real-cert")}},
			TlogEntries: []*protorekor.TransparencyLogEntry{{
				LogIndex:          7,
				LogId:             &protocommon.LogId{KeyId: []byte{0xab, 0xcd}},
				KindVersion:       &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.1"},
				IntegratedTime:    1700000000,
				InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: []byte("set")},
				CanonicalizedBody: []byte(`{"apiVersion":"0.0.1","kind":"hashedrekord"}`),
			}},
			TimestampVerificationData: &protobundle.TimestampVerificationData{
				Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: []byte("tsr")}},
			},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     []byte("sig"),
		}},
	}
	ann, err := LegacyAnnotations(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{AnnotationSignature, AnnotationCertificate, AnnotationBundle, AnnotationTimestamp} {
		if ann[k] == "" {
			t.Errorf("annotation %s missing", k)
		}
	}
	out, err := BundleFromLegacy(payload, ann)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in.GetVerificationMaterial().GetTlogEntries(), out.GetVerificationMaterial().GetTlogEntries(), protocmp.Transform()); diff != "" {
		t.Errorf("tlog entries mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(in.GetMessageSignature(), out.GetMessageSignature(), protocmp.Transform()); diff != "" {
		t.Errorf("message signature mismatch (-want +got):\n%s", diff)
	}
	if got := out.GetVerificationMaterial().GetX509CertificateChain().GetCertificates()[0].GetRawBytes(); string(got) != "not-a-real-cert" {
		t.Errorf("certificate = %q", got)
	}
	if got := out.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()[0].GetSignedTimestamp(); string(got) != "tsr" {
		t.Errorf("timestamp = %q", got)
	}
}

func TestBundleFromLegacyRejects(t *testing.T) {
	good := map[string]string{
		AnnotationSignature:   "c2ln",
		AnnotationCertificate: "-----BEGIN CERTIFICATE-----\nYWJj\n-----END CERTIFICATE-----\n",
		AnnotationBundle:      `{"SignedEntryTimestamp":"c2V0","Payload":{"body":"eyJraW5kIjoiaGFzaGVkcmVrb3JkIiwiYXBpVmVyc2lvbiI6IjAuMC4xIn0=","integratedTime":1,"logIndex":1,"logID":"abcd"}}`,
	}
	if _, err := BundleFromLegacy([]byte("p"), good); err != nil {
		t.Fatalf("good annotations rejected: %v", err)
	}
	for _, tc := range []struct{ name, key, value string }{
		{"no signature", AnnotationSignature, ""},
		{"key-based (no certificate)", AnnotationCertificate, ""},
		{"not logged", AnnotationBundle, ""},
		{"bad log ID", AnnotationBundle, `{"SignedEntryTimestamp":"c2V0","Payload":{"body":"e30=","logID":"zz"}}`},
		{"bad timestamp", AnnotationTimestamp, "{"},
		{"log entry of no kind", AnnotationBundle, `{"SignedEntryTimestamp":"c2V0","Payload":{"body":"e30=","logID":"abcd"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ann := map[string]string{}
			for k, v := range good {
				ann[k] = v
			}
			ann[tc.key] = tc.value
			if _, err := BundleFromLegacy([]byte("p"), ann); err == nil {
				t.Errorf("BundleFromLegacy accepted %s", tc.name)
			}
		})
	}
}
