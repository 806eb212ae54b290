package store

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
)

// Layer annotations of cosign's legacy tags: how cosign v2 records the
// certificate, log entry and timestamp next to a signed payload.
const (
	// AnnotationSignature is the base64 message signature (empty on an
	// attestation, whose signature is in its DSSE envelope).
	AnnotationSignature   = "dev.cosignproject.cosign/signature"
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	AnnotationChain       = "dev.sigstore.cosign/chain"
	// AnnotationBundle is a Rekor v1 entry with its signed entry timestamp.
	AnnotationBundle    = "dev.sigstore.cosign/bundle"
	AnnotationTimestamp = "dev.sigstore.cosign/rfc3161timestamp"
	// AnnotationPredicate labels an .att layer with its statement's
	// predicate type, as cosign attest does (unsigned: a filter only).
	AnnotationPredicate = "predicateType"
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

// cosignAnnotations converts the verification material of a bundle made
// with Rekor v1 into cosign's layer annotations; sig is the message
// signature, nil for an attestation.
func cosignAnnotations(b *protobundle.Bundle, sig []byte, tr root.TrustedMaterial) (map[string]string, error) {
	vm := b.GetVerificationMaterial()
	if vm.GetCertificate() == nil || len(vm.GetTlogEntries()) == 0 {
		return nil, errors.New("legacy format needs a certificate and a Rekor entry")
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
		AnnotationSignature:   base64.StdEncoding.EncodeToString(sig),
		AnnotationCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		AnnotationBundle:      string(rbJSON),
	}
	if chain := chainPEM(der, tr); chain != "" {
		ann[AnnotationChain] = chain
	}
	if ts := vm.GetTimestampVerificationData().GetRfc3161Timestamps(); len(ts) > 0 {
		tsJSON, err := json.Marshal(timestampAnnotation{SignedRFC3161Timestamp: ts[0].GetSignedTimestamp()})
		if err != nil {
			return nil, err
		}
		ann[AnnotationTimestamp] = string(tsJSON)
	}
	return ann, nil
}

// chainPEM returns the trusted root's chain (intermediates, then root) for
// the CA that issued the leaf, which older verifiers read from the
// annotation. It returns "" when no CA in the trusted root issued it.
func chainPEM(leafDER []byte, tr root.TrustedMaterial) string {
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil || tr == nil {
		return ""
	}
	for _, ca := range tr.FulcioCertificateAuthorities() {
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

// materialFromCosign rebuilds a bundle's verification material
// (certificate, Rekor v1 entry with its promise, RFC 3161 timestamp) from
// cosign's layer annotations, so that one verifier checks every format.
func materialFromCosign(ann map[string]string) (*protobundle.VerificationMaterial, error) {
	block, _ := pem.Decode([]byte(ann[AnnotationCertificate]))
	if block == nil {
		return nil, errors.New("legacy signature has no certificate: keyless verifies keyless signatures only")
	}
	var rb rekorBundle
	if err := json.Unmarshal([]byte(ann[AnnotationBundle]), &rb); err != nil || len(rb.SignedEntryTimestamp) == 0 {
		return nil, errors.New("legacy signature has no Rekor bundle annotation: it was not logged in a transparency log")
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("decoding Rekor entry body: %w", err)
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kind); err != nil || kind.Kind == "" || kind.APIVersion == "" {
		return nil, errors.New("Rekor entry body names no kind and version")
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("decoding Rekor log ID: %w", err)
	}
	vm := &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
			Certificates: []*protocommon.X509Certificate{{RawBytes: block.Bytes}},
		}},
		TlogEntries: []*protorekor.TransparencyLogEntry{{
			LogIndex:          rb.Payload.LogIndex,
			LogId:             &protocommon.LogId{KeyId: logID},
			KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
			IntegratedTime:    rb.Payload.IntegratedTime,
			InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
			CanonicalizedBody: body,
		}},
	}
	if raw := ann[AnnotationTimestamp]; raw != "" {
		var ts timestampAnnotation
		if err := json.Unmarshal([]byte(raw), &ts); err != nil {
			return nil, fmt.Errorf("decoding RFC 3161 timestamp annotation: %w", err)
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts.SignedRFC3161Timestamp}},
		}
	}
	return vm, nil
}

// legacyBundleMediaType is the bundle version a legacy layer is rebuilt
// as: v0.1 carries a Rekor v1 promise without an inclusion proof.
const legacyBundleMediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// BundleFromLegacy rebuilds a bundle (certificate, message signature,
// Rekor v1 entry with its promise) from a legacy .sig layer: payload is
// the signed simple-signing payload, ann the layer's annotations.
func BundleFromLegacy(payload []byte, ann map[string]string) (*protobundle.Bundle, error) {
	sig, err := base64.StdEncoding.DecodeString(ann[AnnotationSignature])
	if err != nil || len(sig) == 0 {
		return nil, errors.New("legacy signature has no valid signature annotation")
	}
	vm, err := materialFromCosign(ann)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(payload)
	return &protobundle.Bundle{
		MediaType:            legacyBundleMediaType,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}},
	}, nil
}

// LegacyAnnotations converts a message-signature bundle made with Rekor v1
// into the annotations of a .sig layer.
func LegacyAnnotations(b *protobundle.Bundle, tr root.TrustedMaterial) (map[string]string, error) {
	ms := b.GetMessageSignature()
	if ms == nil {
		return nil, errors.New("legacy format needs a message signature, a certificate and a Rekor entry")
	}
	return cosignAnnotations(b, ms.GetSignature(), tr)
}
