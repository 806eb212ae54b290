package report_test

import (
	"fmt"

	"github.com/keyless-dev/keyless/internal/report"
	"github.com/keyless-dev/keyless/internal/sign"
)

func ExampleRun_VerifyCommands() {
	r := &report.Run{
		Identity: report.Identity{
			SAN:    "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
			Issuer: "https://token.actions.githubusercontent.com",
		},
		Formats: []sign.Format{sign.Legacy},
	}
	for _, c := range r.VerifyCommands("ghcr.io/octo/app@sha256:0123", "") {
		fmt.Printf("# %s\n%s\n", c.Title, c.Line)
	}
	// Output:
	// # cosign v2 (legacy .sig format)
	// cosign verify \
	//   --certificate-identity 'https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main' \
	//   --certificate-oidc-issuer 'https://token.actions.githubusercontent.com' \
	//   'ghcr.io/octo/app@sha256:0123'
	// # cosign v3 (legacy .sig format)
	// cosign verify --new-bundle-format=false \
	//   --certificate-identity 'https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main' \
	//   --certificate-oidc-issuer 'https://token.actions.githubusercontent.com' \
	//   'ghcr.io/octo/app@sha256:0123'
}

func ExampleEntryURL() {
	fmt.Println(report.EntryURL("https://rekor.sigstore.dev", 42))
	fmt.Println(report.EntryURL("https://rekor.internal", 42))
	// Output:
	// https://search.sigstore.dev/?logIndex=42
	// https://rekor.internal/api/v1/log/entries?logIndex=42
}
