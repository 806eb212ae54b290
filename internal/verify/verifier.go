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

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/store"
)

// Result is the verification of one subject in one format.
type Result struct {
	// Format is the storage format checked.
	Format store.Format `json:"format"`
	// Verified is true when a signature passed every check.
	Verified bool `json:"verified"`
	// Location is where the verified signature was read from.
	Location string `json:"location,omitempty"`
	// Digest is the digest of the verified signature's stored blob (the
	// bundle, or the legacy layer): sha256:….
	Digest string `json:"digest,omitempty"`
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
	// PredicateType and Predicate are the verified attestation's (empty
	// for an image signature), for the report and the gate.
	PredicateType string          `json:"predicateType,omitempty"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
	// Reasons say why each signature that was found failed, or that none was.
	Reasons []string `json:"reasons,omitempty"`
	// Cause classifies the failure (an audit's reason); empty when
	// verified.
	Cause Cause `json:"-"`
}

// Reader reads the signatures stored for a subject, unverified: the
// registry's half of a Verifier, which needs neither trusted root nor
// policy, so that a run can read while its certificate is issued.
type Reader struct {
	stores map[store.Format]store.Store
}

// NewReader returns a Reader that reads through the registry options.
func NewReader(remoteOpts ...remote.Option) *Reader {
	ro := store.WithRemote(remoteOpts...)
	return &Reader{stores: map[store.Format]store.Store{store.Bundle: store.NewReferrer(ro), store.Legacy: store.NewTag(ro)}}
}

// Read returns what is stored for subject in format f that may be of
// kind k (the store filters by its unsigned labels), for Check.
func (r *Reader) Read(ctx context.Context, subject name.Digest, k payload.Kind, f store.Format) ([]store.Item, error) {
	st, ok := r.stores[f]
	if !ok {
		return nil, fmt.Errorf("unknown format %q", f)
	}
	return st.Read(ctx, subject, k)
}

// Verifier verifies stored signatures against a trusted root and a policy.
type Verifier struct {
	*Reader
	v        *sgverify.Verifier
	identity sgverify.CertificateIdentity
	tsas     []root.TimestampingAuthority
	sct      *sctMemo // nil without CT logs
	// logs maps a transparency log's hex ID to its base URL.
	logs map[string]string
	// exact requires the stored payload to sign what the kind signs now.
	exact bool
	// accept, when set, must accept the verified payload.
	accept Accept
}

// Accept judges a verified payload about subject by its predicate type
// and predicate: a non-nil error refuses it, and is its failure reason.
type Accept func(subject name.Digest, predicateType string, predicate json.RawMessage) error

// Accepting returns a copy of v that accepts a stored payload only when
// accept does, so that Verify finds the first payload of several that
// both verifies and says what the caller looks for.
func (v *Verifier) Accepting(accept Accept) *Verifier {
	c := *v
	c.accept = accept
	return &c
}

// Exact returns a copy of v that accepts a stored payload only when it
// signs exactly what the kind asked for would sign now: the same
// annotations for an image signature (none, when none are asked for), the
// same predicate (as canonical JSON) for an attestation. A signature made
// for env=staging is no signature for env=prod; a re-run reuses only an
// attestation of the same content.
func (v *Verifier) Exact() *Verifier {
	c := *v
	c.exact = true
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
	out := &Verifier{Reader: NewReader(remoteOpts...), identity: id, tsas: tr.TimestampingAuthorities()}
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

// Verify reads what is stored for subject in format f that may be of kind
// k, and verifies it: the identity policy, the binding of the signed
// payload to subject's digest, and k's predicate type; with Exact, also
// that it signs what k would sign now. Registry errors are returned;
// failed checks are in Result.
func (v *Verifier) Verify(ctx context.Context, subject registry.Subject, k payload.Kind, f store.Format) (Result, error) {
	items, err := v.Read(ctx, subject.Digest, k, f)
	if err != nil {
		return Result{Format: f, LogIndex: -1, Cause: readCause(err)}, err
	}
	return v.Check(subject, k, f, items)
}

// Check verifies items, read for subject in format f (Read), as Verify
// does; an error says that k could not be built for subject.
func (v *Verifier) Check(subject registry.Subject, k payload.Kind, f store.Format, items []store.Item) (Result, error) {
	res := Result{Format: f, LogIndex: -1}
	var want *payload.Decoded
	if v.exact {
		var err error
		if want, err = expected(k, subject); err != nil {
			return res, err
		}
	}
	if len(items) == 0 {
		res.Cause = Absent
		what := "signature"
		if !isSignature(k) {
			what = k.PredicateType() + " attestation"
		}
		res.Reasons = []string{fmt.Sprintf("no %s %s found for %s", f, what, subject.Digest.DigestStr())}
		return res, nil
	}
	for _, it := range items {
		vr, got, err := v.one(subject, k, it)
		if err == nil {
			err = checkStamps(v.tsas, it, vr)
		}
		if err == nil && want != nil {
			err = same(want, got)
		}
		if err == nil && v.accept != nil {
			err = v.accept(subject.Digest, got.PredicateType, got.Predicate)
		}
		if err != nil {
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s: %v", it.Location, err))
			// One signature by another identity says who signed.
			if c := itemCause(err); res.Cause != OtherIdentity {
				res.Cause = c
			}
			continue
		}
		res.Verified, res.Location, res.Digest, res.Reasons, res.Cause = true, it.Location, it.Digest, nil, ""
		if isSignature(k) {
			res.Annotations = got.Annotations
		} else {
			res.PredicateType, res.Predicate = got.PredicateType, got.Predicate
		}
		if vr.Signature != nil {
			res.Certificate = vr.Signature.Certificate
		}
		for _, t := range vr.VerifiedTimestamps {
			if res.SignedAt.IsZero() || t.Timestamp.Before(res.SignedAt) {
				res.SignedAt = t.Timestamp
			}
		}
		if es := it.Bundle.GetVerificationMaterial().GetTlogEntries(); len(es) > 0 {
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

// one verifies one stored item and returns the result and the payload it
// signs.
func (v *Verifier) one(subject registry.Subject, k payload.Kind, it store.Item) (*sgverify.VerificationResult, *payload.Decoded, error) {
	if it.Err != nil {
		return nil, nil, it.Err
	}
	b, err := bundle.NewBundle(it.Bundle)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing bundle: %w", err)
	}
	if it.Blob != nil {
		return v.simpleSigning(subject, k, b, it.Blob)
	}
	if b.GetDsseEnvelope() == nil {
		return nil, nil, errors.New("bundle holds no DSSE envelope: not a cosign image signature or attestation")
	}
	alg, hexDigest, _ := strings.Cut(subject.Digest.DigestStr(), ":")
	if alg != "sha256" {
		return nil, nil, fmt.Errorf("unsupported digest algorithm %s", alg)
	}
	digest, err := hex.DecodeString(hexDigest)
	if err != nil {
		return nil, nil, err
	}
	// sigstore-go checks that the statement names the digest as a subject.
	vr, err := v.verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(alg, digest), sgverify.WithCertificateIdentity(v.identity)))
	if err != nil {
		return nil, nil, err
	}
	if vr.Statement == nil {
		return nil, nil, errors.New("bundle's DSSE envelope holds no in-toto statement")
	}
	if t := vr.Statement.GetType(); t != payload.StatementType && t != sign.InTotoStatementV01 {
		return nil, nil, fmt.Errorf("in-toto statement has unknown _type %q", t)
	}
	if got := vr.Statement.GetPredicateType(); got != k.PredicateType() {
		if isSignature(k) {
			return nil, nil, fmt.Errorf("bundle is an attestation, not a signature (predicate type is not %s)", payload.SignPredicateType)
		}
		return nil, nil, fmt.Errorf("predicate type is %q, not %q", got, k.PredicateType())
	}
	d, err := payload.Decode(b.GetDsseEnvelope().GetPayload())
	if err != nil {
		return nil, nil, err
	}
	if d.PredicateType != vr.Statement.GetPredicateType() {
		return nil, nil, fmt.Errorf("in-toto statement refused: its predicateType reads as %q and as %q", d.PredicateType, vr.Statement.GetPredicateType())
	}
	if d.Digest[alg] != hexDigest {
		return nil, nil, fmt.Errorf("in-toto statement is about %s:%s, not %s", alg, d.Digest[alg], subject.Digest.DigestStr())
	}
	return vr, d, nil
}

// simpleSigning verifies a message signature over cosign's simple-signing
// payload, which only the image-signature kind signs.
func (v *Verifier) simpleSigning(subject registry.Subject, k payload.Kind, b *bundle.Bundle, blob []byte) (*sgverify.VerificationResult, *payload.Decoded, error) {
	if !isSignature(k) {
		return nil, nil, fmt.Errorf("a simple-signing payload is an image signature, not a %s attestation", k.PredicateType())
	}
	vr, err := v.verify(b, sgverify.NewPolicy(sgverify.WithArtifact(bytes.NewReader(blob)), sgverify.WithCertificateIdentity(v.identity)))
	if err != nil {
		return nil, nil, err
	}
	ann, err := payload.ParseSimpleSigning(blob, subject.Digest)
	if err != nil {
		return nil, nil, err
	}
	return vr, &payload.Decoded{PredicateType: payload.SignPredicateType, Predicate: json.RawMessage(`{}`), Annotations: ann}, nil
}

// expected is what kind k signs for subject now, as a verifier reads it.
func expected(k payload.Kind, subject registry.Subject) (*payload.Decoded, error) {
	stmt, err := k.Statement(subject.Digest)
	if err != nil {
		return nil, fmt.Errorf("building the %s statement for %s: %w", k.PredicateType(), subject.Digest, err)
	}
	return payload.Decode(stmt)
}

// same reports whether got signs what want does: the same annotations and
// the same predicate, compared as canonical JSON.
func same(want, got *payload.Decoded) error {
	if !maps.Equal(got.Annotations, want.Annotations) {
		return fmt.Errorf("signed annotations %s, not the requested %s", annotationList(got.Annotations), annotationList(want.Annotations))
	}
	w, err := payload.Canonical(want.Predicate)
	if err != nil {
		return err
	}
	g, err := payload.Canonical(got.Predicate)
	if err != nil {
		return err
	}
	if !bytes.Equal(w, g) {
		return fmt.Errorf("signed %s predicate is not the one this run signs", got.PredicateType)
	}
	return nil
}

func isSignature(k payload.Kind) bool { return k.PredicateType() == payload.SignPredicateType }
