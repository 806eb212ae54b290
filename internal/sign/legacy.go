package sign

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/trust"
)

// rekorBundle is the dev.sigstore.cosign/bundle annotation: a Rekor v1
// entry with its signed entry timestamp.
type rekorBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

// timestampAnnotation is the dev.sigstore.cosign/rfc3161timestamp annotation.
type timestampAnnotation struct {
	SignedRFC3161Timestamp []byte `json:"SignedRFC3161Timestamp"`
}

// LegacyAnnotations converts a message-signature bundle made with Rekor v1
// into cosign's legacy layer annotations.
func LegacyAnnotations(b *protobundle.Bundle, material *trust.Material) (map[string]string, error) {
	ms := b.GetMessageSignature()
	vm := b.GetVerificationMaterial()
	if ms == nil || vm.GetCertificate() == nil || len(vm.GetTlogEntries()) == 0 {
		return nil, errors.New("legacy format needs a message signature, a certificate and a Rekor entry")
	}
	e := vm.GetTlogEntries()[0]
	if e.GetInclusionPromise() == nil {
		return nil, errors.New("legacy format needs a Rekor v1 entry with a signed entry timestamp")
	}
	der := vm.GetCertificate().GetRawBytes()
	var rb rekorBundle
	rb.SignedEntryTimestamp = e.GetInclusionPromise().GetSignedEntryTimestamp()
	rb.Payload.Body = base64.StdEncoding.EncodeToString(e.GetCanonicalizedBody())
	rb.Payload.IntegratedTime = e.GetIntegratedTime()
	rb.Payload.LogIndex = e.GetLogIndex()
	rb.Payload.LogID = hex.EncodeToString(e.GetLogId().GetKeyId())
	rbJSON, err := json.Marshal(rb)
	if err != nil {
		return nil, err
	}
	ann := map[string]string{
		registry.AnnotationSignature:   base64.StdEncoding.EncodeToString(ms.GetSignature()),
		registry.AnnotationCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		registry.AnnotationBundle:      string(rbJSON),
	}
	if chain := chainPEM(der, material); chain != "" {
		ann[registry.AnnotationChain] = chain
	}
	if ts := vm.GetTimestampVerificationData().GetRfc3161Timestamps(); len(ts) > 0 {
		tsJSON, err := json.Marshal(timestampAnnotation{SignedRFC3161Timestamp: ts[0].GetSignedTimestamp()})
		if err != nil {
			return nil, err
		}
		ann[registry.AnnotationTimestamp] = string(tsJSON)
	}
	return ann, nil
}

// chainPEM returns the trusted root's chain (intermediates, then root) for
// the CA that issued the leaf, which older verifiers read from the
// annotation. It returns "" when no CA in the trusted root issued it.
func chainPEM(leafDER []byte, material *trust.Material) string {
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil || material == nil || material.Root == nil {
		return ""
	}
	for _, ca := range material.Root.FulcioCertificateAuthorities() {
		fca, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok || fca.Root == nil {
			continue
		}
		chain := append(append([]*x509.Certificate{}, fca.Intermediates...), fca.Root)
		if leaf.CheckSignatureFrom(chain[0]) != nil {
			continue
		}
		var buf bytes.Buffer
		for _, c := range chain {
			_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		return buf.String()
	}
	return ""
}

// BundleFromLegacy rebuilds a Sigstore bundle (v0.1: certificate, message
// signature, Rekor v1 entry with its promise) from a legacy signature layer,
// so that one verifier checks both formats.
func BundleFromLegacy(payload []byte, ann map[string]string) (*protobundle.Bundle, error) {
	sig, err := base64.StdEncoding.DecodeString(ann[registry.AnnotationSignature])
	if err != nil || len(sig) == 0 {
		return nil, errors.New("legacy signature has no valid signature annotation")
	}
	block, _ := pem.Decode([]byte(ann[registry.AnnotationCertificate]))
	if block == nil {
		return nil, errors.New("legacy signature has no certificate: keyless verifies keyless signatures only")
	}
	var rb rekorBundle
	if err := json.Unmarshal([]byte(ann[registry.AnnotationBundle]), &rb); err != nil || len(rb.SignedEntryTimestamp) == 0 {
		return nil, errors.New("legacy signature has no Rekor bundle annotation: it was not logged in a transparency log")
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("decoding Rekor entry body: %w", err)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("decoding Rekor log ID: %w", err)
	}
	digest := sha256.Sum256(payload)
	vm := &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
			Certificates: []*protocommon.X509Certificate{{RawBytes: block.Bytes}},
		}},
		TlogEntries: []*protorekor.TransparencyLogEntry{{
			LogIndex:          rb.Payload.LogIndex,
			LogId:             &protocommon.LogId{KeyId: logID},
			KindVersion:       &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.1"},
			IntegratedTime:    rb.Payload.IntegratedTime,
			InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
			CanonicalizedBody: body,
		}},
	}
	if raw := ann[registry.AnnotationTimestamp]; raw != "" {
		var ts timestampAnnotation
		if err := json.Unmarshal([]byte(raw), &ts); err != nil {
			return nil, fmt.Errorf("decoding RFC 3161 timestamp annotation: %w", err)
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts.SignedRFC3161Timestamp}},
		}
	}
	return &protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}},
	}, nil
}
