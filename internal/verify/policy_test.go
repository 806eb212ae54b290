package verify_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/verify"
)

func TestPolicyCheck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		p         verify.Policy
		wantInput string // "" for a valid policy
		wantErr   string
	}{
		{"exact", verify.Policy{Identity: demoIdentity, Issuer: githubIssuer}, "", ""},
		{"patterns", verify.Policy{IdentityRegexp: `https://github\.com/keyless-dev/.*`, IssuerRegexp: `https://token\.actions\..*`}, "", ""},
		{"no issuer", verify.Policy{Identity: demoIdentity}, "certificate-oidc-issuer", "required"},
		{"nothing", verify.Policy{}, "certificate-oidc-issuer", "required"},
		{"both issuer forms", verify.Policy{Identity: demoIdentity, Issuer: githubIssuer, IssuerRegexp: ".*"}, "certificate-oidc-issuer-regexp", "not both"},
		{"no identity", verify.Policy{Issuer: githubIssuer}, "certificate-identity", "required"},
		{"extensions without identity", verify.Policy{Issuer: githubIssuer, SourceRepository: "https://github.com/keyless-dev/demo"}, "certificate-identity", "required"},
		{"both identity forms", verify.Policy{Identity: demoIdentity, IdentityRegexp: ".*", Issuer: githubIssuer}, "certificate-identity-regexp", "not both"},
		{"bad identity pattern", verify.Policy{IdentityRegexp: `https://(github`, Issuer: githubIssuer}, "certificate-identity-regexp", "not a valid regular expression"},
		{"bad issuer pattern", verify.Policy{Identity: demoIdentity, IssuerRegexp: `[`}, "certificate-oidc-issuer-regexp", "not a valid regular expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check()
			if tc.wantInput == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var pe *verify.PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Check: %v (%T), want a *PolicyError", err, err)
			}
			if diff := cmp.Diff(tc.wantInput, pe.Input); diff != "" {
				t.Errorf("input (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(err.Error(), tc.wantInput+": ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want %q: …%s…", err, tc.wantInput, tc.wantErr)
			}
			if errors.Unwrap(err) == nil {
				t.Error("PolicyError does not unwrap")
			}
		})
	}
}

// TestVerifierNeedsAValidPolicy: New refuses what Check refuses.
func TestVerifierNeedsAValidPolicy(t *testing.T) {
	f := newFake(t)
	_, err := verify.New(f.trust(), verify.Policy{Identity: demoIdentity})
	var pe *verify.PolicyError
	if !errors.As(err, &pe) || pe.Input != "certificate-oidc-issuer" {
		t.Fatalf("New: %v, want a certificate-oidc-issuer PolicyError", err)
	}
}

func TestAnchor(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a", "^(?:a)$"},
		{"^a$", "^(?:a)$"},
		{"^a", "^(?:a)$"},
		{"a$", "^(?:a)$"},
		{"a|b", "^(?:a|b)$"},
		{`https://github\.com/org/.*`, `^(?:https://github\.com/org/.*)$`},
	} {
		if diff := cmp.Diff(tc.want, verify.Anchor(tc.in)); diff != "" {
			t.Errorf("Anchor(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// TestAnchorMatchesWholeValues: an anchored pattern never admits a value
// that merely contains a match.
func TestAnchorMatchesWholeValues(t *testing.T) {
	for _, tc := range []struct {
		re    string
		value string
		want  bool
	}{
		{`https://github\.com/keyless-dev/demo`, "https://github.com/keyless-dev/demo", true},
		{`https://github\.com/keyless-dev/demo`, "https://github.com/keyless-dev/demo-evil", false},
		{`https://github\.com/keyless-dev/demo`, evilIdentity, false},
		{`https://github\.com/keyless-dev/demo`, "https://evil.example/https://github.com/keyless-dev/demo", false},
		{`https://github\.com/keyless-dev/demo/.*`, demoIdentity, true},
		{`https://github\.com/keyless-dev/demo/.*`, evilIdentity, false},
		{`a|b`, "a", true},
		{`a|b`, "ab", false},
		{`a|b`, "xb", false},
		{`^https://token\.actions\.githubusercontent\.com$`, githubIssuer, true},
		{`^https://token\.actions\.githubusercontent\.com$`, githubIssuer + "/", false},
	} {
		got := regexp.MustCompile(verify.Anchor(tc.re)).MatchString(tc.value)
		if got != tc.want {
			t.Errorf("Anchor(%q) matches %q: %v, want %v", tc.re, tc.value, got, tc.want)
		}
	}
}

// TestAnchorEscapedDollar keeps a pattern's escaped final dollar: only an
// anchoring $ may be replaced.
func TestAnchorEscapedDollar(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`price\$`, `^(?:price\$)$`},
		{`price\\$`, `^(?:price\\)$`},
		{`^a$`, `^(?:a)$`},
	} {
		if got := verify.Anchor(tc.in); got != tc.want {
			t.Errorf("Anchor(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, err := regexp.Compile(verify.Anchor(tc.in)); err != nil {
			t.Errorf("Anchor(%q) does not compile: %v", tc.in, err)
		}
	}
}

// TestPolicyRejectsAnEscapingPattern refuses a pattern that is not a regular
// expression on its own but would become one, matching anything, once
// anchored.
func TestPolicyRejectsAnEscapingPattern(t *testing.T) {
	p := verify.Policy{Issuer: "https://issuer.example", IdentityRegexp: "https://github.com/org/app)|(.*"}
	if err := p.Check(); err == nil {
		t.Fatalf("Check() accepted %q, whose anchored form matches any identity", p.IdentityRegexp)
	}
}

// TestPolicyRefusesControlCharacters refuses identity, issuer and extension
// values that could break out of a line where they are written: the summary's
// code blocks, the cosign commands and the policies' YAML.
func TestPolicyRefusesControlCharacters(t *testing.T) {
	fence := "x\n```\n# injected"
	for _, tc := range []struct {
		name      string
		p         verify.Policy
		wantInput string
	}{
		{"identity with a newline and a fence", verify.Policy{Identity: demoIdentity + fence, Issuer: githubIssuer}, "certificate-identity"},
		{"identity regexp with a newline", verify.Policy{IdentityRegexp: ".*\n```", Issuer: githubIssuer}, "certificate-identity-regexp"},
		{"issuer with a carriage return", verify.Policy{Identity: demoIdentity, Issuer: githubIssuer + "\r"}, "certificate-oidc-issuer"},
		{"issuer regexp with an escape", verify.Policy{Identity: demoIdentity, IssuerRegexp: "\x1b[2J.*"}, "certificate-oidc-issuer-regexp"},
		{"source repository", verify.Policy{Identity: demoIdentity, Issuer: githubIssuer, SourceRepository: "https://github.com/o/r\n---"}, "source-repository"},
		{"source ref", verify.Policy{Identity: demoIdentity, Issuer: githubIssuer, SourceRef: "refs/heads/main\x00"}, "source-ref"},
		{"workflow trigger", verify.Policy{Identity: demoIdentity, Issuer: githubIssuer, WorkflowTrigger: "push\u2028x"}, "workflow-trigger"},
		{"build signer digest", verify.Policy{Identity: demoIdentity, Issuer: githubIssuer, BuildSignerDigest: "ab\u0085"}, "build-signer-digest"},
		{"runner environment", verify.Policy{Identity: demoIdentity, Issuer: githubIssuer, RunnerEnvironment: "github-hosted\xff"}, "runner-environment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, check := range []func() error{tc.p.CheckText, tc.p.Check} {
				err := check()
				var pe *verify.PolicyError
				if !errors.As(err, &pe) || pe.Input != tc.wantInput || !strings.Contains(err.Error(), "control character") {
					t.Fatalf("got %v, want a %s PolicyError about a control character", err, tc.wantInput)
				}
				if strings.ContainsAny(err.Error(), "\n\r\x1b\x00") {
					t.Errorf("the error repeats the control character: %q", err)
				}
			}
		})
	}
	ok := verify.Policy{Identity: "dev@example.com", Issuer: githubIssuer, SourceRef: "refs/heads/é-ü"}
	if err := ok.CheckText(); err != nil {
		t.Errorf("CheckText refused printable Unicode: %v", err)
	}
}
