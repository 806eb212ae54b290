package ci_test

import (
	"fmt"

	"github.com/keyless-dev/keyless/internal/ci"
)

func ExampleDotenv() {
	fmt.Print(ci.Dotenv([][2]string{
		{"digests", "registry.gitlab.com/g/app@sha256:aa\nregistry.gitlab.com/g/app@sha256:bb"},
		{"certificate-oidc-issuer", "https://gitlab.com"},
		{"verified", "true"},
	}))
	// Output:
	// KEYLESS_DIGESTS=registry.gitlab.com/g/app@sha256:aa,registry.gitlab.com/g/app@sha256:bb
	// KEYLESS_SIGNED_OIDC_ISSUER=https://gitlab.com
	// KEYLESS_VERIFIED=true
}

func ExampleDetect() {
	env := map[string]string{"GITLAB_CI": "true"}
	p, err := ci.Detect(ci.Env{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%T\n", p)
	// Output: *ci.GitLab
}
