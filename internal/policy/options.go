package policy

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// Mode is what a generated policy does with an image it does not admit.
type Mode int

const (
	// Enforce refuses the workload: Kyverno denies it, policy-controller
	// rejects it.
	Enforce Mode = iota
	// Audit admits the workload and reports the violation: Kyverno records
	// it in its policy reports, policy-controller answers with a warning.
	Audit
)

// ParseMode reads the policy-mode input: enforce or audit.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "enforce":
		return Enforce, nil
	case "audit":
		return Audit, nil
	}
	return Enforce, fmt.Errorf("%q is not a policy mode: use enforce (refuse what does not verify) or audit (admit it and report it)", s)
}

// String is the input's spelling of m.
func (m Mode) String() string {
	if m == Audit {
		return "audit"
	}
	return "enforce"
}

// KyvernoKinds are the kinds of Kyverno policy to write.
type KyvernoKinds int

const (
	// ImageValidating writes a policies.kyverno.io/v1 ImageValidatingPolicy
	// (Kyverno 1.17 and later), the default.
	ImageValidating KyvernoKinds = iota
	// ClusterPolicyKind writes a kyverno.io/v1 ClusterPolicy with
	// verifyImages, for clusters on older Kyverno releases.
	ClusterPolicyKind
	// BothKinds writes both.
	BothKinds
)

// ParseKyvernoKinds reads the kyverno-policy input: image-validating,
// cluster-policy or both.
func ParseKyvernoKinds(s string) (KyvernoKinds, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "image-validating":
		return ImageValidating, nil
	case "cluster-policy":
		return ClusterPolicyKind, nil
	case "both":
		return BothKinds, nil
	}
	return ImageValidating, fmt.Errorf("%q is not a Kyverno policy kind: use image-validating (ImageValidatingPolicy, Kyverno 1.17+), cluster-policy (ClusterPolicy, older Kyverno) or both", s)
}

// TUF is a private Sigstore's TUF repository, as cosign initialize takes
// it: the repository's URL and its initial root.json.
type TUF struct {
	// Mirror is the repository's base URL.
	Mirror string
	// Root is the root.json that the client trusts first.
	Root []byte
}

// MaxTUFRoot bounds a root.json: real ones are a few kilobytes.
const MaxTUFRoot = 256 << 10

// Check refuses a TUF repository that a policy cannot carry.
func (t TUF) Check() error {
	if err := CheckTUFMirror(t.Mirror); err != nil {
		return err
	}
	return CheckTUFRoot(t.Root)
}

// CheckTUFMirror refuses a TUF mirror that is not an absolute http(s) URL
// without credentials, spaces or control characters.
func CheckTUFMirror(mirror string) error {
	if strings.ContainsFunc(mirror, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' }) {
		return fmt.Errorf("TUF mirror %q holds spaces or control characters: want an http(s) URL", mirror)
	}
	u, err := url.Parse(mirror)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("TUF mirror %q: want an http(s) URL without credentials, e.g. https://tuf.example.com", mirror)
	}
	return nil
}

// CheckTUFRoot refuses a TUF root that is not a signed root.json.
func CheckTUFRoot(root []byte) error {
	if len(root) == 0 {
		return errors.New("the TUF root is empty: give the TUF repository's root.json")
	}
	if len(root) > MaxTUFRoot {
		return fmt.Errorf("the TUF root is %d bytes: a root.json is at most %d", len(root), MaxTUFRoot)
	}
	var r struct {
		Signed struct {
			Type string `json:"_type"`
		} `json:"signed"`
		Signatures []json.RawMessage `json:"signatures"`
	}
	if err := json.Unmarshal(root, &r); err != nil {
		return fmt.Errorf("the TUF root is not JSON: %w", err)
	}
	if r.Signed.Type != "root" || len(r.Signatures) == 0 {
		return errors.New("the TUF root is not a signed TUF root.json (signed._type \"root\", with signatures)")
	}
	return nil
}

// rootData is the root as Kyverno's tuf.root.data takes it: base64.
func (t TUF) rootData() string { return base64.StdEncoding.EncodeToString(t.Root) }

// Options configure the admission policies.
type Options struct {
	// Name is the policy's metadata.name (and the TrustRoot's, for a
	// private Sigstore); "keyless-signed-images" when empty.
	Name string
	// TrustedRootJSON is the private Sigstore's trusted_root.json; nil for
	// the public-good instance, whose keys the controllers already have.
	TrustedRootJSON []byte
	// TrustedRoot is the private Sigstore's trusted root, already parsed;
	// when set, TrustedRootJSON is not read.
	TrustedRoot *root.TrustedRoot
	// RekorURL is the transparency log the signatures were written to. When
	// empty it is taken from the Input's signatures, else the public-good log.
	RekorURL string
	// WebhookTimeoutSeconds bounds Kyverno's admission webhook, which must
	// fetch signatures from the registry; 30 when zero (Kyverno allows 1–30).
	WebhookTimeoutSeconds int
	// Mode is what the policies do with an image they do not admit.
	Mode Mode
	// Kyverno is which Kyverno policies Manifests writes.
	Kyverno KyvernoKinds
	// TUF is the private Sigstore's TUF repository, which Kyverno's
	// ImageValidatingPolicy reads; nil when there is none.
	TUF *TUF
}
