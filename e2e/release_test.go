package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/e2e/manifests"
)

// copyTree copies the files a release rewrites into a new directory.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	root := manifests.RepoRoot()
	for _, pattern := range []string{"action.yml", "verify/action.yml", "promote/action.yml", "tekton/*/*/*.yaml", "gitlab/templates/*.yml", "hooks/command", "orb/src/executors/*.yml", "orb/src/jobs/*.yml"} {
		files, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v", pattern, err)
		}
		for _, f := range files {
			rel, _ := filepath.Rel(root, f)
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
				t.Fatal(err)
			}
			copyFile(t, f, filepath.Dir(filepath.Join(dst, rel)))
		}
	}
	return dst
}

// TestRelease runs scripts/release as the release workflow does, against
// the local stack: build and push both variants, sign them with the keyless
// binary just built (as a GitHub job step), verify them, attach SBOMs and
// pin a copy of action.yml, the Tasks and the component by digest. Then
// cosign verifies the release, a second build gives the same digests, and
// the pinned action.yml runs through the GitHub runner simulation.
func TestRelease(t *testing.T) {
	tree := copyTree(t)
	work := t.TempDir()
	env := []string{
		"KEYLESS_VERSION=v0.0.0-e2e", "KEYLESS_IMAGE_REPO=" + stk.Registry + "/release",
		"KEYLESS_RELEASE_ISSUER=" + stk.Issuer("github"),
		"INPUT_TRUSTED-ROOT=" + stk.TrustedRoot, "INPUT_SIGNING-CONFIG=" + stk.SigningConfigAll,
	}
	for k, v := range stk.GitHubActionEnv(work, nil) {
		env = append(env, k+"="+v)
	}
	lines, err := scriptLines(context.Background(), env, "../scripts/release", tree)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 2 {
		t.Fatalf("scripts/release printed %q, want the debug and the static image", lines)
	}
	debug, static := lines[len(lines)-2], lines[len(lines)-1]
	if !strings.HasPrefix(static, stk.Registry+"/release:v0.0.0-e2e@sha256:") || !strings.HasPrefix(debug, stk.Registry+"/release:v0.0.0-e2e-debug@sha256:") {
		t.Fatalf("references %q, %q", debug, static)
	}

	for file, want := range map[string]string{
		"action.yml":         "  image: docker://" + static + "\n",
		"verify/action.yml":  "  image: docker://" + static + "\n",
		"promote/action.yml": "  image: docker://" + static + "\n",
		"tekton/keyless-sign/0.1/keyless-sign.yaml":       "default: " + static + "\n",
		"tekton/keyless-verify/0.1/keyless-verify.yaml":   "default: " + static + "\n",
		"tekton/keyless-promote/0.1/keyless-promote.yaml": "default: " + static + "\n",
		"gitlab/templates/sign.yml":                       "default: " + debug + "\n",
		"gitlab/templates/verify.yml":                     "default: " + debug + "\n",
		"gitlab/templates/promote.yml":                    "default: " + debug + "\n",
		"hooks/command":                                   "default_image=\"" + static + "\"\n",
		"orb/src/executors/default.yml":                   "    default: " + debug + "\n",
		"orb/src/jobs/sign.yml":                           "    default: " + debug + "\n",
		"orb/src/jobs/verify.yml":                         "    default: " + debug + "\n",
	} {
		b, err := os.ReadFile(filepath.Join(tree, file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s is not pinned: want %q (%v)", file, want, err)
		}
	}

	for _, ref := range []string{static, debug} {
		for _, c := range []cosignCheck{{stk.CosignV3, nil}, {stk.CosignV2, []string{"--use-signed-timestamps"}}} {
			c.accepts(t, byDigest(ref), githubIdentity, stk.Issuer("github"))
		}
		assertSBOMs(t, ref)
	}

	again, err := scriptLines(context.Background(), []string{"KEYLESS_VERSION=v0.0.0-e2e", "KEYLESS_IMAGE_REPO=" + stk.Registry + "/release-again"}, "../scripts/image")
	if err != nil {
		t.Fatal(err)
	}
	for i, ref := range []string{debug, static} {
		if d := again[len(again)-2+i]; d[strings.Index(d, "@"):] != ref[strings.Index(ref, "@"):] {
			t.Errorf("a second build of the same commit differs: %s, then %s", ref, d)
		}
	}

	img := pushImage(t)
	r := runAction(t, filepath.Join(tree, "action.yml"), "", map[string]string{
		"images": img, "trusted-root": "/github/workspace/" + filepath.Base(stk.TrustedRoot),
		"signing-config": "/github/workspace/" + filepath.Base(stk.SigningConfig),
	}, []string{stk.TrustedRoot, stk.SigningConfig}, "")
	checkGitHubSign(t, r, img)
	cosignCheck{stk.CosignV3, nil}.accepts(t, img, githubIdentity, stk.Issuer("github"))
}

// assertSBOMs checks that each platform manifest of ref has an SPDX SBOM
// referrer listing the modules the binary links, signed in both formats
// with the release's identity, as the image is.
func assertSBOMs(t *testing.T, ref string) {
	t.Helper()
	d, _, im := imageIndex(t, ref)
	for _, m := range im.Manifests {
		refs, err := remote.Referrers(d.Context().Digest(m.Digest.String()), remote.WithFilter("artifactType", "application/spdx+json"))
		if err != nil {
			t.Fatal(err)
		}
		rm, err := refs.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(rm.Manifests) != 1 {
			t.Errorf("%s %s: %d SBOM referrers, want 1", ref, m.Platform, len(rm.Manifests))
			continue
		}
		sbom := d.Context().Digest(rm.Manifests[0].Digest.String())
		for _, c := range []cosignCheck{{stk.CosignV3, nil}, {stk.CosignV2, []string{"--use-signed-timestamps"}}} {
			c.accepts(t, sbom.String(), githubIdentity, stk.Issuer("github"))
		}
		sb, err := remote.Image(sbom)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := sb.Layers()
		if err != nil || len(ls) != 1 {
			t.Fatalf("SBOM layers: %v", err)
		}
		rc, err := ls[0].Compressed()
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			SPDXVersion string `json:"spdxVersion"`
			Packages    []struct {
				Name string `json:"name"`
			} `json:"packages"`
		}
		err = json.NewDecoder(rc).Decode(&doc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range doc.Packages {
			names = append(names, p.Name)
		}
		all := strings.Join(names, " ")
		if doc.SPDXVersion != "SPDX-2.3" || !strings.Contains(all, "github.com/keyless-dev/keyless") || !strings.Contains(all, "github.com/sigstore/sigstore-go") {
			t.Errorf("%s %s: SBOM %s lacks the main module or its dependencies: %s", ref, m.Platform, doc.SPDXVersion, all)
		}
	}
}
