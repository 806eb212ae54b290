package payload

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// VSAType is the predicate type of a SLSA verification summary
// attestation (https://slsa.dev/spec/v1.0/verification_summary).
const VSAType = "https://slsa.dev/verification_summary/v1"

// VerifierID is the verifier.id of the verification summaries keyless
// signs: keyless, its version in verifier.version.
const VerifierID = "https://github.com/keyless-dev/keyless"

// The levels a summary states in verifiedLevels: keyless verified SLSA
// provenance of the digest (build level 1: provenance exists, signed by
// the identity the policy names), or only a signature (level 0). Which
// build platform an identity stands for, and so any higher level, is the
// policy's reader's to judge.
const (
	BuildLevel0 = "SLSA_BUILD_LEVEL_0"
	BuildLevel1 = "SLSA_BUILD_LEVEL_1"
)

// VSA is a verification summary of one digest that passed: keyless (of
// Version) verified it at Time against Policy, reading the attestations
// of Inputs. Its statement's resourceUri is the digest as a purl
// (pkg:oci/NAME@sha256%3A…?repository_url=REGISTRY/REPOSITORY), its
// policy the policy's JSON as a data: URI with its SHA-256 digest, so that
// a reader can check the exact policy without fetching anything.
type VSA struct {
	// Version is keyless's version.
	Version string
	// Time is when the digest was verified.
	Time time.Time
	// Policy is the policy checked, as JSON.
	Policy json.RawMessage
	// Inputs are the signatures and attestations that verified.
	Inputs []VSAInput
	// Levels are the SLSA levels verified (verifiedLevels).
	Levels []string
}

// VSAInput is one attestation a verification read: where it is stored,
// and the digest of what is stored there.
type VSAInput struct {
	// URI is where it is stored: a referrer manifest or a tag.
	URI string
	// Digest is the stored blob's digest, algorithm:hex.
	Digest string
}

var _ Kind = VSA{}

// PredicateType is VSAType.
func (VSA) PredicateType() string { return VSAType }

// Statement returns the summary's statement about d.
func (v VSA) Statement(d name.Digest) ([]byte, error) {
	pred, err := v.Predicate(d)
	if err != nil {
		return nil, err
	}
	return newSubjectStatement(d.Context().Name(), d, VSAType, pred, nil)
}

// vsaPredicate is the predicate of https://slsa.dev/verification_summary/v1.
type vsaPredicate struct {
	Verifier struct {
		ID      string            `json:"id"`
		Version map[string]string `json:"version,omitempty"`
	} `json:"verifier"`
	TimeVerified       string     `json:"timeVerified"`
	ResourceURI        string     `json:"resourceUri"`
	Policy             resource   `json:"policy"`
	InputAttestations  []resource `json:"inputAttestations,omitempty"`
	VerificationResult string     `json:"verificationResult"`
	VerifiedLevels     []string   `json:"verifiedLevels"`
	SLSAVersion        string     `json:"slsaVersion"`
}

// resource is an in-toto ResourceDescriptor with a URI and a digest.
type resource struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest,omitempty"`
}

// Predicate returns the summary's predicate about d, as JSON.
func (v VSA) Predicate(d name.Digest) (json.RawMessage, error) {
	if len(v.Policy) == 0 || !json.Valid(v.Policy) {
		return nil, fmt.Errorf("verification summary of %s: the policy is not JSON", d)
	}
	var p vsaPredicate
	p.Verifier.ID = VerifierID
	if v.Version != "" {
		p.Verifier.Version = map[string]string{"keyless": v.Version}
	}
	p.TimeVerified = v.Time.UTC().Format(time.RFC3339)
	p.ResourceURI = OCIPurl(d)
	p.Policy = resource{
		URI:    "data:application/json;base64," + base64.StdEncoding.EncodeToString(v.Policy),
		Digest: map[string]string{"sha256": PolicyDigest(v.Policy)},
	}
	for _, in := range v.Inputs {
		alg, h, ok := strings.Cut(in.Digest, ":")
		if !ok {
			return nil, fmt.Errorf("verification summary of %s: input %s has no digest", d, in.URI)
		}
		p.InputAttestations = append(p.InputAttestations, resource{URI: in.URI, Digest: map[string]string{alg: h}})
	}
	p.VerificationResult = "PASSED"
	p.VerifiedLevels = v.Levels
	if len(p.VerifiedLevels) == 0 {
		p.VerifiedLevels = []string{BuildLevel0}
	}
	p.SLSAVersion = "1.0"
	return json.Marshal(p)
}

// VSASummary is what a verification summary says of the digest it is
// about, as read back: enough to tell whether it summarises the same
// verification.
type VSASummary struct {
	ResourceURI, PolicyDigest, Result string
	Levels                            []string
}

// ReadVSA reads the fields of a verified summary's predicate that say
// what it summarises.
func ReadVSA(predicate json.RawMessage) (VSASummary, error) {
	var p vsaPredicate
	if err := json.Unmarshal(predicate, &p); err != nil {
		return VSASummary{}, fmt.Errorf("parsing verification summary: %w", err)
	}
	return VSASummary{ResourceURI: p.ResourceURI, PolicyDigest: p.Policy.Digest["sha256"], Result: p.VerificationResult, Levels: p.VerifiedLevels}, nil
}

// PolicyDigest is the sha256 hex digest a summary records of policy.
func PolicyDigest(policy json.RawMessage) string {
	sum := sha256.Sum256(policy)
	return hex.EncodeToString(sum[:])
}

// OCIPurl is d as a package URL of type oci: the repository's last path
// element as the name, the digest as the version, and the whole
// repository in repository_url.
func OCIPurl(d name.Digest) string {
	repo := d.Context()
	return "pkg:oci/" + purlEscape(path.Base(repo.RepositoryStr())) + "@" + purlEscape(d.DigestStr()) +
		"?repository_url=" + purlEscape(repo.Name())
}

// purlEscape percent-encodes s for a purl, keeping letters, digits,
// ".-_~" and "/" as they are.
func purlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte(".-_~/", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
