package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// verifyRun runs keyless verify on the CLI with the stack's trust and
// returns its result and the JSON report it printed.
func verifyRun(t *testing.T, flags ...string) (result, map[string]any) {
	t.Helper()
	return verifyWith(t, stk.TrustedRoot, flags...)
}

// verifyWith is verifyRun against another trusted root.
func verifyWith(t *testing.T, trustedRoot string, flags ...string) (result, map[string]any) {
	t.Helper()
	args := append([]string{"verify", "--trusted-root", trustedRoot}, flags...)
	r := runKeyless(t, map[string]string{"KEYLESS_PLATFORM": "cli"}, args...)
	var rep map[string]any
	if r.code != 2 {
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("verify printed no JSON report: %v\n%s\n%s", err, r.stdout, r.stderr)
		}
	}
	return r, rep
}

// keylessSign signs refs with keyless as a GitHub job would, with a token
// minted with opts, and fails the test unless it verified.
func keylessSign(t *testing.T, format string, recursive bool, ref string, opts ...stack.MintOption) {
	t.Helper()
	sc := map[string]string{"bundle": stk.SigningConfig, "legacy": stk.SigningConfigV1, "both": stk.SigningConfigAll}[format]
	inputs := merge(trustInputs(sc), map[string]string{"images": ref, "signature-format": format, "recursive": map[bool]string{true: "true", false: "false"}[recursive]})
	if len(opts) > 0 {
		inputs["identity-token"] = mint(t, "github", opts...)
	}
	r := runKeyless(t, githubEnv(inputs))
	if r.code != 0 {
		t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
	}
}

// TestVerifyAccepts verifies images signed by keyless and by the cosign
// CLIs, in both formats, with exact and pattern policies.
func TestVerifyAccepts(t *testing.T) {
	byKeyless, byV2, byV3 := pushImage(t), pushImage(t), pushImage(t)
	keylessSign(t, "both", false, byKeyless)
	signV2Legacy(t, byV2, "github")
	signV3(t, byV3, "github")
	exact := []string{"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github")}
	for _, tc := range []struct {
		name  string
		img   string
		flags []string
	}{
		{"keyless, any format", byKeyless, exact},
		{"keyless, both formats required", byKeyless, append([]string{"--signature-format", "both"}, exact...)},
		{"cosign v2 legacy", byV2, append([]string{"--signature-format", "legacy"}, exact...)},
		{"cosign v3 bundle", byV3, append([]string{"--signature-format", "bundle"}, exact...)},
		{"cosign v3, any format", byV3, exact},
		{"identity pattern", byV3, []string{"--certificate-identity-regexp", `https://github\.com/keyless-dev/demo/\.github/workflows/.*@refs/heads/main`, "--certificate-oidc-issuer", stk.Issuer("github")}},
		{"extension constraints", byKeyless, append([]string{
			"--source-repository", "https://github.com/keyless-dev/demo", "--source-ref", "refs/heads/main",
			"--workflow-trigger", "push", "--runner-environment", "github-hosted",
		}, exact...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, rep := verifyRun(t, append(tc.flags, tc.img)...)
			if r.code != 0 || rep["verified"] != true {
				t.Fatalf("exit %d, verified %v\n%s", r.code, rep["verified"], r.stderr)
			}
		})
	}
}

// TestVerifyRejects shows each failing case is rejected (exit 1) with its
// reason.
func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	signed := pushImage(t)
	keylessSign(t, "both", false, signed)
	evil := pushImage(t)
	keylessSign(t, "bundle", false, evil, stack.WithClaims(map[string]any{"repository": "keyless-dev/demo-evil"}))
	unsigned := pushImage(t)
	idx, err := stk.PushPlatformIndex(ctx, "e2e/verify-index", "v1")
	if err != nil {
		t.Fatal(err)
	}
	keylessSign(t, "bundle", false, idx) // the index only, not its platforms
	copied := copiedSignatures(t, signed)

	issuer := stk.Issuer("github")
	for _, tc := range []struct {
		name  string
		flags []string
		want  []string // in stderr
	}{
		{"another identity", []string{"--certificate-identity", strings.Replace(githubIdentity, "demo", "other", 1), "--certificate-oidc-issuer", issuer, signed},
			[]string{"https://github.com/keyless-dev/other/", githubIdentity}},
		{"another issuer", []string{"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("gitlab"), signed},
			[]string{stk.Issuer("gitlab"), issuer}},
		{"issuer with a trailing slash", []string{"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer + "/", signed},
			[]string{issuer + "/"}},
		{"look-alike identity, exact", []string{"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer, evil},
			[]string{"keyless-dev/demo-evil"}},
		{"look-alike identity, prefix pattern", []string{"--certificate-identity-regexp", `https://github.com/keyless-dev/demo`, "--certificate-oidc-issuer", issuer, evil},
			[]string{"keyless-dev/demo-evil"}},
		{"self-hosted runners refused", []string{"--runner-environment", "self-hosted", "--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer, signed},
			[]string{"self-hosted", "github-hosted"}},
		{"unsigned image", []string{"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer, unsigned},
			[]string{"no bundle signature found", "no legacy signature found"}},
		{"unsigned platform under a signed index", []string{"--recursive", "true", "--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer, idx},
			[]string{"no bundle signature found"}},
		{"legacy signature for another digest", []string{"--signature-format", "legacy", "--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer, copied},
			[]string{"signature is for digest " + signed[strings.Index(signed, "@")+1:]}},
		{"bundle referrer of another digest", []string{"--signature-format", "bundle", "--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer, copied},
			[]string{"no bundle signature found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, rep := verifyRun(t, tc.flags...)
			if r.code != 1 || rep["verified"] != false {
				t.Fatalf("exit %d, verified %v; want exit 1, not verified\n%s", r.code, rep["verified"], r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
	t.Run("the index itself verifies", func(t *testing.T) {
		r, _ := verifyRun(t, "--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer, idx)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	})
}

// copiedSignatures pushes a new image into signed's repository and copies
// signed's .sig image and referrers fallback index under the new digest's
// tags: signatures for another digest, where a verifier looks for this one's.
func copiedSignatures(t *testing.T, signed string) string {
	t.Helper()
	src, err := name.NewDigest(signed)
	if err != nil {
		t.Fatal(err)
	}
	repo := src.Context().RepositoryStr()
	dst, err := stk.PushRandomImage(context.Background(), repo, "victim")
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{".sig", ""} {
		from := src.Context().Tag(strings.Replace(src.DigestStr(), ":", "-", 1) + suffix)
		to := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + suffix)
		desc, err := remote.Get(from)
		if err != nil {
			t.Fatalf("reading %s: %v", from, err)
		}
		if err := remote.Put(to, desc); err != nil {
			t.Fatalf("copying %s to %s: %v", from, to, err)
		}
	}
	return dst
}

// TestVerifyGitHubAction runs verify as the verify/action.yml step.
func TestVerifyGitHubAction(t *testing.T) {
	img := pushImage(t)
	signV3(t, img, "github")
	r := runKeyless(t, githubEnv(map[string]string{
		"images": img, "trusted-root": stk.TrustedRoot,
		"certificate-identity": githubIdentity, "certificate-oidc-issuer": stk.Issuer("github"),
	}), "verify")
	if r.code != 0 || r.outputs["verified"] != "true" || r.outputs["digests"] != img {
		t.Fatalf("exit %d, outputs %v\n%s", r.code, r.outputs, r.stderr)
	}
	if !strings.Contains(r.summary, "keyless verify — ✅ verified") {
		t.Errorf("summary:\n%s", r.summary)
	}
}
