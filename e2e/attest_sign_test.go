package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/oidc"
)

const (
	slsaType = "https://slsa.dev/provenance/v1"
	spdxType = "https://spdx.dev/Document"
	// otherIdentity is a workflow that did not sign.
	otherIdentity = "https://github.com/keyless-dev/other/.github/workflows/release.yml@refs/heads/main"
)

// githubJobEnv is githubEnv plus the variables the runner sets in every
// job step and provenance states, agreeing with the runner's token.
func githubJobEnv(t *testing.T, inputs map[string]string) map[string]string {
	t.Helper()
	tok, err := oidc.Parse(mint(t, "github"))
	if err != nil {
		t.Fatal(err)
	}
	claim := func(n string) string { v, _ := tok.Claim(n); return v }
	return merge(githubEnv(inputs), runnerEnv("github", claim))
}

// writeSBOM writes a small SPDX 2.3 JSON document and returns its path.
func writeSBOM(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sbom.spdx.json")
	doc := `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"app",` +
		`"documentNamespace":"https://example.com/spdx/app","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: e2e"]},` +
		`"packages":[{"name":"app","SPDXID":"SPDXRef-app","downloadLocation":"NOASSERTION"}]}`
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// verifyAttestationV3 is cosign v3 verify-attestation of the bundle
// referrers of img.
func verifyAttestationV3(typ, identity, img string) []string {
	return slices.Concat([]string{"verify-attestation", "--new-bundle-format", "--type=" + typ,
		"--trusted-root=" + stk.TrustedRoot,
		"--certificate-identity=" + identity,
		"--certificate-oidc-issuer=" + stk.Issuer("github"),
	}, registryFlags, []string{img})
}

// TestGitHubSignAttestations signs a two-platform index, recursively, in
// both formats, with provenance and an SBOM: every digest gets a
// signature and both attestations in both stores, read back and verified,
// and cosign v3 accepts them for this identity only.
func TestGitHubSignAttestations(t *testing.T) {
	idx, err := stk.PushPlatformIndex(context.Background(), "e2e/attest-both", "v1")
	if err != nil {
		t.Fatal(err)
	}
	r := runKeyless(t, githubJobEnv(t, merge(trustInputs(stk.SigningConfigAll), map[string]string{
		"images": idx, "recursive": "true", "signature-format": "both",
		"provenance": "true", "sbom": writeSBOM(t),
	})))
	if r.code != 0 || r.outputs["verified"] != "true" {
		t.Fatalf("exit %d, verified %q\nstdout:\n%s\nstderr:\n%s", r.code, r.outputs["verified"], r.stdout, r.stderr)
	}
	digests := strings.Split(r.outputs["digests"], "\n")
	if len(digests) != 3 || digests[0] != idx {
		t.Fatalf("digests = %q, want the index and its 2 manifests", digests)
	}
	// 3 digests × 2 kinds × 2 formats; the signatures output keeps its
	// 3 × 2 signatures.
	atts := strings.Split(r.outputs["attestations"], "\n")
	if len(atts) != 12 {
		t.Errorf("attestations output has %d lines, want 12:\n%s", len(atts), r.outputs["attestations"])
	}
	for _, typ := range []string{slsaType, spdxType} {
		if n := strings.Count(r.outputs["attestations"], typ+" "); n != 6 {
			t.Errorf("%d attestations of %s, want 6", n, typ)
		}
	}
	if n := len(strings.Split(r.outputs["signatures"], "\n")); n != 6 {
		t.Errorf("signatures output has %d lines, want 6", n)
	}
	for _, s := range []string{"### Attestations", "`" + slsaType + "`", "`" + spdxType + "`"} {
		if !strings.Contains(r.summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, r.summary)
		}
	}
	// 3 digests × 2 formats, signed and verified.
	if n := strings.Count(r.files["workspace/keyless-report.json"], `"predicateType": "`+slsaType+`"`); n != 12 {
		t.Errorf("report holds %d provenance entries, want 12", n)
	}
	for i, d := range []string{idx, digests[2]} {
		out := mustCosign(t, stk.CosignV3, verifyAttestationV3("slsaprovenance1", githubIdentity, d)...)
		// The provenance states the workflow run, as actions/attest does.
		if stmt := statementOf(t, out); i == 0 && (!strings.Contains(stmt, "https://actions.github.io/buildtypes/workflow/v1") || !strings.Contains(stmt, "keyless-dev/demo")) {
			t.Errorf("the provenance does not state the workflow run:\n%s", stmt)
		}
		mustFailCosign(t, stk.CosignV3, verifyAttestationV3("slsaprovenance1", otherIdentity, d)...)
	}
	mustCosign(t, stk.CosignV3, verifyAttestationV3("spdxjson", githubIdentity, digests[1])...)

	// A second run reuses every signature and attestation.
	again := runKeyless(t, githubJobEnv(t, merge(trustInputs(stk.SigningConfigAll), map[string]string{
		"images": idx, "recursive": "true", "signature-format": "both",
		"provenance": "true", "sbom": writeSBOM(t),
	})))
	if again.code != 0 || again.outputs["attestations"] != r.outputs["attestations"] {
		t.Errorf("second run: exit %d, attestations\n%s\nwant\n%s\n%s", again.code, again.outputs["attestations"], r.outputs["attestations"], again.stderr)
	}
}

// TestGitHubSignAttestationsLegacy signs provenance in the legacy format
// alone (cosign v2.6.5 reads bundle referrers instead of the .att when
// there are any): cosign v2 verify-attestation, given the timestamp
// authority's chain so that it checks the layer's RFC 3161 timestamp,
// accepts the .att for this identity only.
func TestGitHubSignAttestationsLegacy(t *testing.T) {
	img := pushImage(t)
	r := runKeyless(t, githubJobEnv(t, merge(trustInputs(stk.SigningConfigV1), map[string]string{
		"images": img, "signature-format": "legacy", "provenance": "true",
	})))
	if r.code != 0 || r.outputs["verified"] != "true" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasSuffix(r.outputs["attestations"], ".att "+strings.Fields(r.outputs["attestations"])[2]) ||
		!strings.HasPrefix(r.outputs["attestations"], slsaType+" ") {
		t.Errorf("attestations output = %q, want the provenance in the .att tag", r.outputs["attestations"])
	}
	verifyProvenance(t, "legacy", stk.Issuer("github"), githubIdentity, otherIdentity, img)
}

// TestGitHubSignAttestationsBadInput: a bad SBOM or predicate exits 2,
// names the input, and writes nothing to the registry.
func TestGitHubSignAttestationsBadInput(t *testing.T) {
	img := pushImage(t)
	before := tags(t, img)
	dir := t.TempDir()
	xml := filepath.Join(dir, "bom.xml")
	if err := os.WriteFile(xml, []byte(`<bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>`), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.spdx.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(16<<20 + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		set    map[string]string // runner variables a step's env: sets
		want   string
	}{
		{"unknown SBOM format", map[string]string{"sbom": xml}, nil, "sbom"},
		{"SBOM over 16 MB", map[string]string{"sbom": big}, nil, "sbom"},
		{"unreadable predicate", map[string]string{"predicate-type": "https://example.com/test/v1", "predicate": filepath.Join(dir, "missing.json")}, nil, "predicate"},
		{"predicate-type without predicate", map[string]string{"predicate-type": "https://example.com/test/v1"}, nil, "predicate"},
		{"provenance of a run the token contradicts", nil, map[string]string{"GITHUB_RUN_ID": "1"}, `provenance: GITHUB_RUN_ID="1" but the token's run_id claim is`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := merge(githubJobEnv(t, merge(trustInputs(stk.SigningConfigAll), map[string]string{
				"images": img, "signature-format": "both", "provenance": "true",
			}, tc.inputs)), tc.set)
			r := runKeyless(t, env)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
		})
	}
	if after := tags(t, img); !slices.Equal(before, after) {
		t.Errorf("bad input wrote to the registry: tags %v, then %v", before, after)
	}
	d, _ := name.NewDigest(img)
	ix, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := ix.IndexManifest(); len(m.Manifests) != 0 {
		t.Errorf("bad input wrote %d referrers", len(m.Manifests))
	}
}

// statementOf is the in-toto statement of the first DSSE envelope that
// cosign verify-attestation printed.
func statementOf(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		var env struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal([]byte(line), &env) == nil && env.Payload != "" {
			b, err := base64.StdEncoding.DecodeString(env.Payload)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatalf("cosign printed no envelope:\n%s", out)
	return ""
}
