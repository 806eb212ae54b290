package payload

import (
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// SignPredicateType is the in-toto predicate type cosign signs for an image
// signature (cosign sign --new-bundle-format): an empty predicate, with the
// signature's annotations on the subject.
const SignPredicateType = "https://sigstore.dev/cosign/sign/v1"

// Signature is the image-signature kind: who pushed a digest, with
// annotations. In the bundle format it is cosign's sign statement; in
// cosign's legacy .sig tag, the simple-signing payload.
type Signature struct {
	// Annotations are signed with the digest (the statement's subject
	// annotations; the simple-signing payload's optional section).
	Annotations map[string]string
}

var _ Kind = Signature{}

// PredicateType returns SignPredicateType.
func (Signature) PredicateType() string { return SignPredicateType }

// Statement returns cosign's sign statement for d.
func (s Signature) Statement(d name.Digest) ([]byte, error) {
	return newStatement(d, SignPredicateType, json.RawMessage(`{}`), s.Annotations)
}

// SimpleSigning returns cosign's legacy payload for d, which the .sig tag
// stores and which is signed as a message.
func (s Signature) SimpleSigning(d name.Digest) ([]byte, error) {
	var p SimpleSigning
	p.Critical.Identity.DockerReference = d.Context().Name()
	p.Critical.Image.DockerManifestDigest = d.DigestStr()
	p.Critical.Type = SimpleSigningType
	if len(s.Annotations) > 0 {
		p.Optional = s.Annotations
	}
	return json.Marshal(p)
}

// SimpleSigning is cosign's legacy payload: the "cosign container image
// signature" that names the repository and the manifest digest.
type SimpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]string `json:"optional"`
}

// SimpleSigningType is the critical.type of a cosign image signature.
const SimpleSigningType = "cosign container image signature"

// ParseSimpleSigning parses a signed simple-signing payload and checks
// that it is a cosign image signature for d; it returns the payload's
// annotations. Keys are read exactly, and a payload with a key twice in
// one object, or two keys equal except for case, is refused (CheckKeys).
func ParseSimpleSigning(b []byte, d name.Digest) (map[string]string, error) {
	if err := CheckKeys(b, ""); err != nil {
		return nil, fmt.Errorf("simple-signing payload refused: %w", err)
	}
	var p SimpleSigning
	if err := decodeExact(b, &p, "", false); err != nil {
		return nil, fmt.Errorf("parsing simple-signing payload: %w", err)
	}
	if p.Critical.Type != SimpleSigningType {
		return nil, fmt.Errorf("payload type is %q, not %q", p.Critical.Type, SimpleSigningType)
	}
	if got := p.Critical.Image.DockerManifestDigest; got != d.DigestStr() {
		return nil, fmt.Errorf("signature is for digest %s, not %s", got, d.DigestStr())
	}
	return p.Optional, nil
}
