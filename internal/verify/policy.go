// Package verify reads signatures back from the registry and verifies them
// against a trusted root and an exact identity policy. It fails closed: a
// subject is verified only when a signature was found and every check passed.
package verify

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// Policy is what a signature's certificate must show.
type Policy struct {
	// Issuer or IssuerRegexp must match the OIDC issuer.
	Issuer       string `json:"issuer,omitempty"`
	IssuerRegexp string `json:"issuerRegexp,omitempty"`
	// Identity or IdentityRegexp must match the subject alternative name.
	Identity       string `json:"identity,omitempty"`
	IdentityRegexp string `json:"identityRegexp,omitempty"`
	// Optional exact constraints on Fulcio certificate extensions.
	SourceRepository  string `json:"sourceRepository,omitempty"`
	SourceRef         string `json:"sourceRef,omitempty"`
	WorkflowTrigger   string `json:"workflowTrigger,omitempty"`
	BuildSignerDigest string `json:"buildSignerDigest,omitempty"`
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
}

// PolicyError is a policy that cannot be used; Input names the input.
type PolicyError struct {
	Input string
	Err   error
}

// Error returns the message.
func (e *PolicyError) Error() string { return fmt.Sprintf("%s: %v", e.Input, e.Err) }

// Unwrap returns the underlying error.
func (e *PolicyError) Unwrap() error { return e.Err }

// BadInput reports that the user must fix the input: exit status 2.
func (e *PolicyError) BadInput() bool { return true }

// Anchor makes a regular expression match whole values only, so that
// "https://github.com/org/app" never admits ".../app-evil".
func Anchor(re string) string {
	if re == "" {
		return ""
	}
	re = strings.TrimPrefix(re, "^")
	if strings.HasSuffix(re, "$") && !escaped(re, len(re)-1) {
		re = re[:len(re)-1]
	}
	return "^(?:" + re + ")$"
}

// escaped reports whether the byte at i is escaped: preceded by an odd
// number of backslashes.
func escaped(s string, i int) bool {
	n := 0
	for i--; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// CheckText refuses a policy value that holds a control character (a
// newline, a carriage return, an escape…), a line or paragraph separator, or
// invalid UTF-8. No certificate identity, issuer or extension holds one, and
// these values are written into summaries, commands and policies, where a
// newline could end a code block or a YAML comment.
func (p Policy) CheckText() error {
	for _, f := range []struct{ input, value string }{
		{"certificate-identity", p.Identity}, {"certificate-identity-regexp", p.IdentityRegexp},
		{"certificate-oidc-issuer", p.Issuer}, {"certificate-oidc-issuer-regexp", p.IssuerRegexp},
		{"source-repository", p.SourceRepository}, {"source-ref", p.SourceRef},
		{"workflow-trigger", p.WorkflowTrigger}, {"build-signer-digest", p.BuildSignerDigest},
		{"runner-environment", p.RunnerEnvironment},
	} {
		if i := unprintable(f.value); i >= 0 {
			return &PolicyError{f.input, fmt.Errorf("holds a control character at byte %d (%+q): give the value on one line, without control characters", i, f.value)}
		}
	}
	return nil
}

// unprintable returns the byte offset of the first control character, line
// or paragraph separator or invalid UTF-8 sequence in s, or -1.
func unprintable(s string) int {
	for i, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return i
		}
	}
	return -1
}

// identity checks p and builds the sigstore-go certificate identity.
func (p Policy) identity() (sgverify.CertificateIdentity, error) {
	var zero sgverify.CertificateIdentity
	if err := p.CheckText(); err != nil {
		return zero, err
	}
	switch {
	case p.Issuer == "" && p.IssuerRegexp == "":
		return zero, &PolicyError{"certificate-oidc-issuer", errors.New("required: the OIDC issuer that signed, e.g. https://token.actions.githubusercontent.com")}
	case p.Issuer != "" && p.IssuerRegexp != "":
		return zero, &PolicyError{"certificate-oidc-issuer-regexp", errors.New("give certificate-oidc-issuer or certificate-oidc-issuer-regexp, not both")}
	case p.Identity == "" && p.IdentityRegexp == "":
		return zero, &PolicyError{"certificate-identity", errors.New("required: the certificate identity, e.g. https://github.com/ORG/REPO/.github/workflows/release.yml@refs/heads/main")}
	case p.Identity != "" && p.IdentityRegexp != "":
		return zero, &PolicyError{"certificate-identity-regexp", errors.New("give certificate-identity or certificate-identity-regexp, not both")}
	}
	for _, r := range []struct{ input, re string }{{"certificate-identity-regexp", p.IdentityRegexp}, {"certificate-oidc-issuer-regexp", p.IssuerRegexp}} {
		// The pattern must stand on its own: wrapping "a)|(.*" would
		// otherwise compile to "^(?:a)|(.*)$", which matches anything.
		if _, err := regexp.Compile(r.re); err != nil {
			return zero, &PolicyError{r.input, fmt.Errorf("not a valid regular expression: %w", err)}
		}
	}
	san, err := sgverify.NewSANMatcher(p.Identity, Anchor(p.IdentityRegexp))
	if err != nil {
		return zero, &PolicyError{"certificate-identity", err}
	}
	iss, err := sgverify.NewIssuerMatcher(p.Issuer, Anchor(p.IssuerRegexp))
	if err != nil {
		return zero, &PolicyError{"certificate-oidc-issuer", err}
	}
	return sgverify.NewCertificateIdentity(san, iss, certificate.Extensions{
		SourceRepositoryURI: p.SourceRepository,
		SourceRepositoryRef: p.SourceRef,
		BuildTrigger:        p.WorkflowTrigger,
		BuildSignerDigest:   p.BuildSignerDigest,
		RunnerEnvironment:   p.RunnerEnvironment,
	})
}

// Check validates p without verifying anything.
func (p Policy) Check() error {
	_, err := p.identity()
	return err
}
