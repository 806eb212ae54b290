package oidc_test

import (
	"encoding/base64"
	"fmt"

	"github.com/keyless-dev/keyless/internal/oidc"
)

func ExampleParse() {
	enc := base64.RawURLEncoding.EncodeToString
	raw := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{
		"iss": "https://token.actions.githubusercontent.com",
		"sub": "repo:octo/app:ref:refs/heads/main",
		"aud": "sigstore",
		"job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main"
	}`)) + ".signature"

	tok, err := oidc.Parse(raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	id, err := tok.Identity()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok)
	fmt.Println(id.Kind)
	fmt.Println(id.Issuer)
	fmt.Println(id.SAN)
	// Output:
	// token(iss=https://token.actions.githubusercontent.com sub=repo:octo/app:ref:refs/heads/main)
	// github
	// https://token.actions.githubusercontent.com
	// https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main
}

func ExampleToken_Identity_gitLab() {
	enc := base64.RawURLEncoding.EncodeToString
	raw := "e30." + enc([]byte(`{
		"iss": "https://gitlab.com",
		"sub": "project_path:grp/app:ref_type:branch:ref:main",
		"project_path": "grp/app",
		"pipeline_source": "parent_pipeline",
		"ci_config_ref_uri": null
	}`)) + ".sig"

	tok, _ := oidc.Parse(raw)
	_, err := tok.Identity()
	fmt.Println(err.(*oidc.PreflightError).Reason)
	// Output:
	// GitLab token has a null or missing ci_config_ref_uri claim, which Fulcio needs for the certificate identity
}
