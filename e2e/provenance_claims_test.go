package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestGitHubProvenanceOverride runs the action as the runner runs it, with
// provenance, while the step's env: sets GITHUB_SHA to another commit than
// the runner token's sha claim, which Fulcio certifies: the run exits 2
// naming the variable and the claim, and the registry holds nothing new.
// With GITHUB_SHA agreeing, the same step signs a provenance naming the
// token's commit.
func TestGitHubProvenanceOverride(t *testing.T) {
	img := pushImage(t)
	before := tags(t, img)
	env := githubJobEnv(t, merge(trustInputs(stk.SigningConfigAll), map[string]string{
		"images": img, "signature-format": "both", "provenance": "true",
	}))
	sha := env["GITHUB_SHA"] // the token's sha claim
	other := strings.Repeat("2", 40)
	env["GITHUB_SHA"] = other
	r := runKeyless(t, env)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if want := `GITHUB_SHA="` + other + `" but the token's sha claim is "` + sha + `": remove the override`; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if after := tags(t, img); !slices.Equal(before, after) {
		t.Errorf("the refused run wrote to the registry: tags %v, then %v", before, after)
	}
	d, _ := name.NewDigest(img)
	ix, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := ix.IndexManifest(); len(m.Manifests) != 0 {
		t.Errorf("the refused run wrote %d referrers", len(m.Manifests))
	}

	env["GITHUB_SHA"] = sha
	if r := runKeyless(t, env); r.code != 0 {
		t.Fatalf("with GITHUB_SHA agreeing: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	stmt := statementOf(t, mustCosign(t, stk.CosignV3, verifyAttestationV3("slsaprovenance1", githubIdentity, img)...))
	if !strings.Contains(stmt, `"gitCommit":"`+sha+`"`) {
		t.Errorf("the provenance does not name the token's commit %s:\n%s", sha, stmt)
	}
}
