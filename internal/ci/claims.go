package ci

import (
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/keyless-dev/keyless/internal/oidc"
)

// certified returns the identity and what the certificate issued for tok
// will certify (oidc.Token.Certified), or an input error: a token of
// another kind than the platform's is refused, as its certificate would
// not assert the facts the provenance states.
func certified(tok *oidc.Token, want oidc.Kind, fix string) (oidc.Identity, certificate.Summary, error) {
	signer, err := tok.Identity()
	if err != nil {
		return signer, certificate.Summary{}, err
	}
	if signer.Kind != want {
		return signer, certificate.Summary{}, &InputError{Input: "provenance", Err: fmt.Errorf("the identity token is of kind %q, not the platform's %q, so its certificate cannot assert the build: %s", signer.Kind, want, fix)}
	}
	cert, err := tok.Certified()
	return signer, cert, err
}

// claimed is a platform variable that holds a fact the identity token's
// claims also state. The certificate certifies the claim, so provenance
// states the claim; a step's env: or a pipeline variable can change the
// variable, never the claim, so the variable may only agree with it.
type claimed struct {
	// variable is the platform's variable, e.g. GITHUB_SHA.
	variable string
	// want is what the variable holds when it agrees with the token.
	want string
	// from says where want comes from, e.g. the token's sha claim is "…".
	from string
}

// claim is a variable that holds the value of the token's claim name.
func claim(variable string, tok *oidc.Token, name string) claimed {
	v, _ := tok.Claim(name)
	return claimed{variable, v, fmt.Sprintf("the token's %s claim is %q", name, v)}
}

// derived is a variable that holds want, which the token's claim name
// makes of its value.
func derived(variable string, tok *oidc.Token, name, want string) claimed {
	v, _ := tok.Claim(name)
	return claimed{variable, want, fmt.Sprintf("the token's %s claim is %q, which makes it %q", name, v, want)}
}

// overridden returns an input error naming every variable that is set to
// something other than what the token says, or nil.
func overridden(getenv func(string) string, vars []claimed) error {
	var errs []error
	for _, v := range vars {
		if got := getenv(v.variable); got != "" && got != v.want {
			errs = append(errs, fmt.Errorf("%s=%q but %s: remove the override (the certificate certifies the token's claims, so the provenance states them)", v.variable, got, v.from))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &InputError{Input: "provenance", Err: errors.Join(errs...)}
}
