package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// TestGitHubSign runs the binary as the runner runs the container action,
// for each signature format, and checks the outputs, the summary, the
// secrets and what the real cosign CLIs say of the signatures.
func TestGitHubSign(t *testing.T) {
	for _, tc := range []struct {
		format, signingConfig string
		sigs                  int // signatures written per image
		// cosign is the CLI that must accept the format, and its flags.
		cosigns []cosignCheck
	}{
		{"bundle", stk.SigningConfig, 1, []cosignCheck{{stk.CosignV3, nil}}},
		{"legacy", stk.SigningConfigV1, 1, []cosignCheck{{stk.CosignV2, nil}, {stk.CosignV3, []string{"--new-bundle-format=false"}}}},
		// cosign v2.6 prefers a bundle when one is attached, and needs
		// --use-signed-timestamps for a Rekor v2 bundle.
		{"both", stk.SigningConfigAll, 2, []cosignCheck{{stk.CosignV3, nil}, {stk.CosignV2, []string{"--use-signed-timestamps"}}}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			img := pushImage(t)
			// The stack's registry needs no credentials; they are given to
			// show they never leak.
			const password = "registry-secret-3f9c2a7d"
			r := runKeyless(t, githubEnv(merge(trustInputs(tc.signingConfig), map[string]string{
				"images": img, "signature-format": tc.format,
				"registry-username": "ci-bot", "registry-password": password,
			})))
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			want := map[string]string{
				"digests":                 img,
				"certificate-identity":    githubIdentity,
				"certificate-oidc-issuer": stk.Issuer("github"),
				"verified":                "true",
			}
			got := map[string]string{}
			for k := range want {
				got[k] = r.outputs[k]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("outputs mismatch (-want +got):\n%s", diff)
			}
			nsig := len(strings.Split(r.outputs["signatures"], "\n"))
			if wantSig := tc.sigs; nsig != wantSig {
				t.Errorf("signatures output has %d lines, want %d:\n%s", nsig, wantSig, r.outputs["signatures"])
			}
			if r.outputs["rekor-log-indexes"] == "" || r.files["workspace/keyless-report.json"] == "" || r.outputs["report"] != "keyless-report.json" {
				t.Errorf("missing log indexes or report: %v", r.outputs)
			}
			for _, s := range []string{"✅", img[strings.Index(img, "@")+1:][:19], githubIdentity, "cosign verify", "How to verify"} {
				if !strings.Contains(r.summary, s) {
					t.Errorf("summary lacks %q:\n%s", s, r.summary)
				}
			}
			for _, out := range []string{"kyverno-policy", "cluster-image-policy"} {
				pol := r.files["workspace/"+r.outputs[out]]
				if !strings.Contains(pol, githubIdentity) || !strings.Contains(pol, stk.Issuer("github")) {
					t.Errorf("%s output %q: policy lacks the signing identity:\n%s", out, r.outputs[out], pol)
				}
			}
			if !strings.Contains(r.summary, "Admission policies") {
				t.Errorf("summary lacks the admission policies")
			}
			assertNoToken(t, r, password)
			assertMasked(t, r, password)
			if !regexp.MustCompile(`(?m)^::add-mask::` + jwtPattern.String() + `$`).MatchString(r.stdout) {
				t.Errorf("the runner's token was not masked:\n%s", r.stdout)
			}
			for _, c := range tc.cosigns {
				c.accepts(t, img, r.outputs["certificate-identity"], r.outputs["certificate-oidc-issuer"])
				c.rejects(t, img, githubIdentity+"x", r.outputs["certificate-oidc-issuer"])
				c.rejects(t, img, r.outputs["certificate-identity"], r.outputs["certificate-oidc-issuer"]+"/")
			}
			// A second run on the same digest succeeds.
			again := runKeyless(t, githubEnv(merge(trustInputs(tc.signingConfig), map[string]string{
				"images": img, "signature-format": tc.format,
			})))
			if again.code != 0 || again.outputs["verified"] != "true" {
				t.Fatalf("second run: exit %d\n%s", again.code, again.stderr)
			}
			// ... and reuses the signatures instead of piling up new ones.
			if diff := cmp.Diff(r.outputs["signatures"], again.outputs["signatures"]); diff != "" {
				t.Errorf("second run signed again (-first +second):\n%s", diff)
			}
			if !strings.Contains(again.summary, "already signed") {
				t.Errorf("second run's summary does not say the digest was already signed:\n%s", again.summary)
			}
		})
	}
}

// cosignCheck is one cosign CLI verifying one format.
type cosignCheck struct {
	bin   string
	extra []string
}

func (c cosignCheck) args(img, identity, issuer string) []string {
	args := []string{"verify", "--trusted-root", stk.TrustedRoot,
		"--certificate-identity", identity, "--certificate-oidc-issuer", issuer}
	args = append(args, registryFlags[:1]...)
	if c.bin == stk.CosignV2 {
		args = append(args, "--insecure-ignore-sct=false")
	}
	return append(append(args, c.extra...), img)
}

func (c cosignCheck) accepts(t *testing.T, img, identity, issuer string) {
	t.Helper()
	mustCosign(t, c.bin, c.args(img, identity, issuer)...)
}

func (c cosignCheck) rejects(t *testing.T, img, identity, issuer string) {
	t.Helper()
	mustFailCosign(t, c.bin, c.args(img, identity, issuer)...)
}

// TestGitHubSeveralImages signs two images and a duplicate of one (by tag
// and by digest): each digest is signed once.
func TestGitHubSeveralImages(t *testing.T) {
	a, b := pushImage(t), pushImage(t)
	b2, err := stk.PushRandomImage(context.Background(), "e2e/several-other", "v1")
	if err != nil {
		t.Fatal(err)
	}
	tag := strings.Replace(b2, "@"+b2[strings.Index(b2, "@")+1:], ":v1", 1)
	r := runKeyless(t, githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{
		"images": a + "\n" + b + ", " + a + "\n" + tag + "\n" + b2,
	})))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	want := []string{a, b, b2}
	if diff := cmp.Diff(want, strings.Split(r.outputs["digests"], "\n")); diff != "" {
		t.Errorf("digests mismatch (-want +got):\n%s", diff)
	}
	if n := len(strings.Split(r.outputs["signatures"], "\n")); n != 3 {
		t.Errorf("%d signatures, want 3", n)
	}
	for _, img := range want {
		cosignCheck{stk.CosignV3, nil}.accepts(t, img, githubIdentity, stk.Issuer("github"))
	}
}

// TestGitHubIndexRecursive signs a two-platform index and its manifests.
func TestGitHubIndexRecursive(t *testing.T) {
	for _, tc := range []struct {
		format, signingConfig string
		cosign                cosignCheck
	}{
		{"bundle", stk.SigningConfig, cosignCheck{stk.CosignV3, nil}},
		{"legacy", stk.SigningConfigV1, cosignCheck{stk.CosignV2, nil}},
		{"both", stk.SigningConfigAll, cosignCheck{stk.CosignV2, []string{"--use-signed-timestamps"}}},
	} {
		format, sc, cos := tc.format, tc.signingConfig, tc.cosign
		t.Run(format, func(t *testing.T) {
			idx, err := stk.PushPlatformIndex(context.Background(), "e2e/index-"+format, "v1")
			if err != nil {
				t.Fatal(err)
			}
			r := runKeyless(t, githubEnv(merge(trustInputs(sc), map[string]string{
				"images": idx, "recursive": "true", "signature-format": format,
			})))
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			digests := strings.Split(r.outputs["digests"], "\n")
			if len(digests) != 3 || digests[0] != idx {
				t.Fatalf("digests = %q, want the index and its 2 manifests", digests)
			}
			if !strings.Contains(r.summary, "linux/amd64") || !strings.Contains(r.summary, "linux/arm64") {
				t.Errorf("summary lacks the platform rows:\n%s", r.summary)
			}
			for _, d := range digests {
				cos.accepts(t, d, githubIdentity, stk.Issuer("github"))
			}
		})
	}
}

// TestGitHubBadInput checks that bad input and a missing permission exit 2
// with a message naming the fix, and write nothing to the registry.
func TestGitHubBadInput(t *testing.T) {
	img := pushImage(t)
	before := tags(t, img)
	noPerm := githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img}))
	delete(noPerm, "ACTIONS_ID_TOKEN_REQUEST_URL")
	delete(noPerm, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	repo := img[:strings.Index(img, "@")]
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"missing id-token permission", noPerm, "id-token: write"},
		{"unknown format", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "signature-format": "cosign"})), "signature-format"},
		{"no images", githubEnv(trustInputs(stk.SigningConfig)), "images"},
		{"tag-less reference", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": repo})), "tag or digest"},
		{"image not pushed", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": repo + ":missing"})), "not found"},
		{"missing trusted root", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "trusted-root": "/nonexistent.json"})), "trusted-root"},
		{"legacy without Rekor v1", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "signature-format": "legacy"})), "Rekor v1"},
		{"bad boolean", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "recursive": "yes please"})), "recursive"},
		{"bad annotation", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "annotations": "novalue"})), "annotations"},
		{"expired token", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "identity-token": mint(t, "github", stack.WithTTL(-60))})), "expired"},
		{"identity override that the certificate does not carry", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "certificate-identity": githubIdentity + "-other"})), "certificate-identity"},
		{"verify-only input", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "certificate-identity-regexp": ".*"})), "certificate-identity-regexp"},
		{"wrong audience", githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "identity-token": mint(t, "github", stack.WithAudience("other"))})), "audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runKeyless(t, tc.env)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
			if !strings.Contains(r.stdout, "::error") {
				t.Errorf("no ::error annotation on stdout:\n%s", r.stdout)
			}
			assertNoToken(t, r, tc.env["INPUT_IDENTITY-TOKEN"])
			assertMasked(t, r, tc.env["INPUT_IDENTITY-TOKEN"])
		})
	}
	if after := tags(t, img); !slices.Equal(before, after) {
		t.Errorf("bad input wrote to the registry: tags %v, then %v", before, after)
	}
	d, _ := name.NewDigest(img)
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := idx.IndexManifest(); len(m.Manifests) != 0 {
		t.Errorf("bad input wrote %d referrers", len(m.Manifests))
	}
}

// TestGitHubTokenEndpointFailure shows that a failing runner endpoint fails
// the run (exit 1) and names the service.
func TestGitHubTokenEndpointFailure(t *testing.T) {
	img := pushImage(t)
	env := githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img}))
	env["ACTIONS_ID_TOKEN_REQUEST_URL"] += "&fail=500"
	r := runKeyless(t, env)
	if r.code != 1 || !strings.Contains(r.stderr, "GitHub OIDC token endpoint") {
		t.Fatalf("exit %d, want 1 naming the token endpoint\n%s", r.code, r.stderr)
	}
}

// TestGitHubDryRun resolves and checks push access, signs nothing, and
// says so, and which attestations it would make.
func TestGitHubDryRun(t *testing.T) {
	img := pushImage(t)
	before := tags(t, img)
	r := runKeyless(t, githubJobEnv(t, merge(trustInputs(stk.SigningConfig), map[string]string{
		"images": img, "dry-run": "true", "provenance": "true", "sbom": writeSBOM(t),
	})))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if r.outputs["digests"] != img || r.outputs["signatures"] != "" {
		t.Errorf("outputs = %v, want the digest and no signatures", r.outputs)
	}
	if !strings.Contains(r.summary, "dry run: nothing was signed") {
		t.Errorf("summary does not say it was a dry run:\n%s", r.summary)
	}
	if want := "Would attest, for each manifest: `" + slsaType + "`, `" + spdxType + "`."; !strings.Contains(r.summary, want) {
		t.Errorf("summary lacks %q:\n%s", want, r.summary)
	}
	if rep := r.files["workspace/keyless-report.json"]; !strings.Contains(rep, `"attestationTypes"`) || !strings.Contains(rep, slsaType) {
		t.Errorf("report does not name the attestations a run would make:\n%s", rep)
	}
	if after := tags(t, img); !slices.Equal(before, after) {
		t.Errorf("dry run wrote to the registry: tags %v, then %v", before, after)
	}
}

// TestGitHubNoVerify signs without reading back: exit 0, and the outputs
// do not claim a verification that did not happen.
func TestGitHubNoVerify(t *testing.T) {
	img := pushImage(t)
	r := runKeyless(t, githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images": img, "verify": "false"})))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if r.outputs["verified"] != "false" || r.outputs["signatures"] == "" {
		t.Errorf("outputs = %v, want a signature and verified=false", r.outputs)
	}
	if !strings.Contains(r.summary, "not verified") {
		t.Errorf("summary does not say verification was skipped:\n%s", r.summary)
	}
	cosignCheck{stk.CosignV3, nil}.accepts(t, img, githubIdentity, stk.Issuer("github"))
}

// TestGitHubServiceURLs signs with a private Sigstore named by URLs instead
// of a signing config.
func TestGitHubServiceURLs(t *testing.T) {
	img := pushImage(t)
	r := runKeyless(t, githubEnv(map[string]string{
		"images": img, "signature-format": "legacy", "trusted-root": stk.TrustedRoot,
		"fulcio-url": stk.FulcioURL, "rekor-url": stk.RekorV1URL, "tsa-url": stk.TSAURL,
	}))
	if r.code != 0 || r.outputs["verified"] != "true" {
		t.Fatalf("exit %d, outputs %v\n%s", r.code, r.outputs, r.stderr)
	}
	cosignCheck{stk.CosignV2, nil}.accepts(t, img, githubIdentity, stk.Issuer("github"))
}

// TestGitHubAnnotations signs annotations into both formats: cosign v2
// checks them in the legacy payload (-a), and the bundle's in-toto
// statement carries them on its subject.
func TestGitHubAnnotations(t *testing.T) {
	legacy, img := pushImage(t), pushImage(t)
	for ref, format := range map[string]string{legacy: "legacy", img: "bundle"} {
		sc := map[string]string{"legacy": stk.SigningConfigV1, "bundle": stk.SigningConfig}[format]
		r := runKeyless(t, githubEnv(merge(trustInputs(sc), map[string]string{
			"images": ref, "signature-format": format, "annotations": "team=platform\nrelease=v1.2.3",
		})))
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", format, r.code, r.stderr)
		}
	}
	cosignCheck{stk.CosignV2, []string{"-a", "team=platform", "-a", "release=v1.2.3"}}.accepts(t, legacy, githubIdentity, stk.Issuer("github"))
	cosignCheck{stk.CosignV2, []string{"-a", "team=other"}}.rejects(t, legacy, githubIdentity, stk.Issuer("github"))

	bundles, err := stk.Bundles(t.Context(), img)
	if err != nil || len(bundles) != 1 {
		t.Fatalf("bundles: %d, %v", len(bundles), err)
	}
	var b struct {
		DSSEEnvelope struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	var stmt struct {
		Subject []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(bundles[0], &b); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.DSSEEnvelope.Payload, &stmt); err != nil || len(stmt.Subject) != 1 {
		t.Fatalf("statement: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"team": "platform", "release": "v1.2.3"}, stmt.Subject[0].Annotations); diff != "" {
		t.Errorf("statement annotations mismatch (-want +got):\n%s", diff)
	}
}
