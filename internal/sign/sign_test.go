package sign

import (
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/keyless-dev/keyless/internal/registry"
)

const testDigest = "registry.example.com/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseFormats(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []Format
		wantErr bool
	}{
		{"", []Format{Bundle}, false},
		{"bundle", []Format{Bundle}, false},
		{" Legacy ", []Format{Legacy}, false},
		{"both", []Format{Bundle, Legacy}, false},
		{"cosign", nil, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFormats(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseFormats(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseFormats(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestStatement(t *testing.T) {
	d := name.MustParseReference(testDigest).(name.Digest)
	b, err := Statement(d, map[string]string{"team": "a"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"predicateType": "https://sigstore.dev/cosign/sign/v1",
		"predicate":     map[string]any{},
		"subject": []any{map[string]any{
			"digest":      map[string]any{"sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
			"annotations": map[string]any{"team": "a"},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statement mismatch (-want +got):\n%s", diff)
	}
}

func TestSimpleSigningPayload(t *testing.T) {
	d := name.MustParseReference(testDigest).(name.Digest)
	b, err := SimpleSigningPayload(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"critical":{"identity":{"docker-reference":"registry.example.com/team/app"},"image":{"docker-manifest-digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},"type":"cosign container image signature"},"optional":null}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("payload mismatch (-want +got):\n%s", diff)
	}
}

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
				CanonicalizedBody: []byte(`{"kind":"hashedrekord"}`),
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
	for _, k := range []string{registry.AnnotationSignature, registry.AnnotationCertificate, registry.AnnotationBundle, registry.AnnotationTimestamp} {
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
		registry.AnnotationSignature:   "c2ln",
		registry.AnnotationCertificate: "-----BEGIN CERTIFICATE-----\nYWJj\n-----END CERTIFICATE-----\n",
		registry.AnnotationBundle:      `{"SignedEntryTimestamp":"c2V0","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"abcd"}}`,
	}
	if _, err := BundleFromLegacy([]byte("p"), good); err != nil {
		t.Fatalf("good annotations rejected: %v", err)
	}
	for _, tc := range []struct{ name, key, value string }{
		{"no signature", registry.AnnotationSignature, ""},
		{"key-based (no certificate)", registry.AnnotationCertificate, ""},
		{"not logged", registry.AnnotationBundle, ""},
		{"bad log ID", registry.AnnotationBundle, `{"SignedEntryTimestamp":"c2V0","Payload":{"body":"e30=","logID":"zz"}}`},
		{"bad timestamp", registry.AnnotationTimestamp, "{"},
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
