package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
)

// Result is the verification of one subject in one format.
type Result struct {
	// Format is the storage format checked.
	Format sign.Format `json:"format"`
	// Verified is true when a signature passed every check.
	Verified bool `json:"verified"`
	// Location is where the verified signature was read from.
	Location string `json:"location,omitempty"`
	// Certificate summarises the verified signature's certificate.
	Certificate *certificate.Summary `json:"certificate,omitempty"`
	// LogURL is the base URL of the transparency log that holds the
	// verified signature's entry, as the trusted root names it.
	LogURL string `json:"logUrl,omitempty"`
	// LogIndex is the verified signature's transparency-log index.
	LogIndex int64 `json:"logIndex"`
	// SignedAt is the earliest verified timestamp.
	SignedAt time.Time `json:"signedAt,omitzero"`
	// Annotations are the annotations signed into the verified payload.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Reasons say why each signature that was found failed, or that none was.
	Reasons []string `json:"reasons,omitempty"`
}

// Verifier verifies stored signatures against a trusted root and a policy.
type Verifier struct {
	v        *sgverify.Verifier
	identity sgverify.CertificateIdentity
	remote   []remote.Option
	sct      *sctMemo // nil without CT logs
	// logs maps a transparency log's hex ID to its base URL.
	logs map[string]string
	// exact requires the signed annotations to equal annotations.
	exact       bool
	annotations map[string]string
}

// WithAnnotations returns a copy of v that accepts a signature only when
// the annotations signed into its payload are exactly want (none, when want
// is empty): a signature made for env=staging is no signature for env=prod.
func (v *Verifier) WithAnnotations(want map[string]string) *Verifier {
	c := *v
	c.exact, c.annotations = true, want
	return &c
}

// New returns a Verifier. It requires a transparency-log entry, a verified
// signing time (log-integrated or RFC 3161), and an SCT whenever the trusted
// root lists CT logs.
func New(tr root.TrustedMaterial, p Policy, remoteOpts ...remote.Option) (*Verifier, error) {
	id, err := p.identity()
	if err != nil {
		return nil, err
	}
	opts := []sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1)}
	out := &Verifier{identity: id, remote: remoteOpts}
	if len(tr.CTLogs()) > 0 {
		noSCT, err := sgverify.NewVerifier(tr, opts...)
		if err != nil {
			return nil, fmt.Errorf("building verifier: %w", err)
		}
		out.sct = &sctMemo{noSCT: noSCT}
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	v, err := sgverify.NewVerifier(tr, opts...)
	if err != nil {
		return nil, fmt.Errorf("building verifier: %w", err)
	}
	out.v = v
	out.logs = map[string]string{}
	for id, l := range tr.RekorLogs() {
		out.logs[id] = l.BaseURL
	}
	return out, nil
}

// Verify reads subject's signatures in format f from the registry and
// verifies them. Registry errors are returned; failed checks are in Result.
func (v *Verifier) Verify(ctx context.Context, subject registry.Subject, f sign.Format) (Result, error) {
	res := Result{Format: f, LogIndex: -1}
	var stored []registry.Stored
	var err error
	switch f {
	case sign.Bundle:
		stored, err = registry.ReadBundles(ctx, subject.Digest, v.remote...)
	case sign.Legacy:
		stored, err = registry.ReadLegacy(ctx, subject.Digest, v.remote...)
	default:
		return res, fmt.Errorf("unknown format %q", f)
	}
	if err != nil {
		return res, err
	}
	if len(stored) == 0 {
		res.Reasons = []string{fmt.Sprintf("no %s signature found for %s", f, subject.Digest.DigestStr())}
		return res, nil
	}
	for _, s := range stored {
		vr, b, ann, err := v.one(subject, f, s)
		if err == nil && v.exact && !maps.Equal(ann, v.annotations) {
			err = fmt.Errorf("signed annotations %s, not the requested %s", annotationList(ann), annotationList(v.annotations))
		}
		if err != nil {
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s: %v", s.Location, err))
			continue
		}
		res.Verified, res.Location, res.Reasons, res.Annotations = true, s.Location, nil, ann
		if vr.Signature != nil {
			res.Certificate = vr.Signature.Certificate
		}
		for _, t := range vr.VerifiedTimestamps {
			if res.SignedAt.IsZero() || t.Timestamp.Before(res.SignedAt) {
				res.SignedAt = t.Timestamp
			}
		}
		if es := b.GetVerificationMaterial().GetTlogEntries(); len(es) > 0 {
			res.LogIndex = es[0].GetLogIndex()
			res.LogURL = v.logs[hex.EncodeToString(es[0].GetLogId().GetKeyId())]
		}
		return res, nil
	}
	return res, nil
}

// annotationList writes annotations as sorted key=value pairs.
func annotationList(a map[string]string) string {
	if len(a) == 0 {
		return "(none)"
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		kv = append(kv, strconv.Quote(k)+"="+strconv.Quote(a[k]))
	}
	return strings.Join(kv, ", ")
}

// one verifies one stored signature and returns the result, the bundle it
// verified (for a legacy signature, the bundle rebuilt from it) and the
// annotations signed into its payload.
func (v *Verifier) one(subject registry.Subject, f sign.Format, s registry.Stored) (*sgverify.VerificationResult, *bundle.Bundle, map[string]string, error) {
	if f == sign.Legacy {
		return v.legacy(subject, s)
	}
	alg, hexDigest, _ := strings.Cut(subject.Digest.DigestStr(), ":")
	if alg != "sha256" {
		return nil, nil, nil, fmt.Errorf("unsupported digest algorithm %s", alg)
	}
	want, err := hex.DecodeString(hexDigest)
	if err != nil {
		return nil, nil, nil, err
	}
	b := &bundle.Bundle{Bundle: new(protobundle.Bundle)}
	if err := b.UnmarshalJSON(s.Blob); err != nil {
		return nil, nil, nil, fmt.Errorf("parsing bundle: %w", err)
	}
	if b.GetDsseEnvelope() == nil {
		return nil, nil, nil, errors.New("bundle holds no DSSE envelope: not a cosign image signature")
	}
	vr, err := v.verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", want), sgverify.WithCertificateIdentity(v.identity)))
	if err != nil {
		return nil, nil, nil, err
	}
	if vr.Statement == nil || vr.Statement.GetPredicateType() != registry.SignPredicateType {
		return nil, nil, nil, fmt.Errorf("bundle is an attestation, not a signature (predicate type is not %s)", registry.SignPredicateType)
	}
	ann, err := sign.StatementAnnotations(b.GetDsseEnvelope().GetPayload())
	if err != nil {
		return nil, nil, nil, err
	}
	return vr, b, ann, nil
}

func (v *Verifier) legacy(subject registry.Subject, s registry.Stored) (*sgverify.VerificationResult, *bundle.Bundle, map[string]string, error) {
	pb, err := sign.BundleFromLegacy(s.Blob, s.Annotations)
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("rebuilding bundle: %w", err)
	}
	vr, err := v.verify(b, sgverify.NewPolicy(sgverify.WithArtifact(bytes.NewReader(s.Blob)), sgverify.WithCertificateIdentity(v.identity)))
	if err != nil {
		return nil, nil, nil, err
	}
	var p sign.SimpleSigning
	if err := json.Unmarshal(s.Blob, &p); err != nil {
		return nil, nil, nil, fmt.Errorf("parsing simple-signing payload: %w", err)
	}
	if p.Critical.Type != sign.SimpleSigningType {
		return nil, nil, nil, fmt.Errorf("payload type is %q, not %q", p.Critical.Type, sign.SimpleSigningType)
	}
	if got := p.Critical.Image.DockerManifestDigest; got != subject.Digest.DigestStr() {
		return nil, nil, nil, fmt.Errorf("signature is for digest %s, not %s", got, subject.Digest.DigestStr())
	}
	return vr, b, p.Optional, nil
}
