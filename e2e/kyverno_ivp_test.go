package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// kyverno119 is the Kyverno CLI that runs ImageValidatingPolicies (the
// 1.18.2 one, kubectl-kyverno, runs the ClusterPolicies).
func kyverno119(t *testing.T) string {
	t.Helper()
	cli := filepath.Join(stk.Tools, "kubectl-kyverno-1.19")
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("kubectl-kyverno-1.19 not built (run e2e/tools/build.sh): %v", err)
	}
	return cli
}

// ivpInputs are the inputs that point a sign run's ImageValidatingPolicy
// at the test's TUF repository.
func ivpInputs(t *testing.T) map[string]string {
	repo := kyvernoTUFRepository(t)
	return map[string]string{"tuf-mirror": repo.mirror, "tuf-root": repo.root}
}

// kyvernoCounts are the counts the Kyverno CLI ends apply with.
type kyvernoCounts struct{ pass, fail, warn, error, skip int }

var kyvernoCountsLine = regexp.MustCompile(`(?m)^pass: (\d+), fail: (\d+), warn: (\d+), error: (\d+), skip: (\d+)`)

// admitted is true when every policy passed.
func (c kyvernoCounts) admitted() bool {
	return c.pass > 0 && c.fail == 0 && c.warn == 0 && c.error == 0 && c.skip == 0
}

// podManifest is a Pod running image; deploymentManifest a Deployment.
func podManifest(image string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: default\nspec:\n  containers:\n  - name: app\n    image: %s\n", image)
}

func deploymentManifest(image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: default
spec:
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: app
        image: %s
`, image)
}

// kyvernoRun runs the Kyverno CLI cli's apply of policy (a file) on
// manifest, with the extra flags, in a fresh home and TUF cache: all it
// knows of a private Sigstore comes from the policy. env adds variables.
func kyvernoRun(t *testing.T, cli, policy, manifest string, flags []string, env ...string) (kyvernoCounts, string) {
	t.Helper()
	dir := t.TempDir()
	res := filepath.Join(dir, "resource.yaml")
	if err := os.WriteFile(res, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	args := append([]string{"apply", policy, "--resource", res, "--registry", "--remove-color"}, flags...)
	cmd := exec.CommandContext(ctx, cli, args...)
	home := filepath.Join(dir, "home")
	cmd.Env = append([]string{"HOME=" + home, "DOCKER_CONFIG=" + home, "TUF_ROOT=" + filepath.Join(dir, "tuf"), "PATH=/usr/bin:/bin"}, env...)
	out, _ := cmd.CombinedOutput()
	var c kyvernoCounts
	m := kyvernoCountsLine.FindStringSubmatch(string(out))
	if m == nil {
		return kyvernoCounts{error: -1}, string(out)
	}
	for i, p := range []*int{&c.pass, &c.fail, &c.warn, &c.error, &c.skip} {
		*p, _ = strconv.Atoi(m[i+1])
	}
	return c, string(out)
}

// writeFile writes content into a new file of the test and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// editPolicy rewrites the YAML policy with edit.
func editPolicy(t *testing.T, policy string, edit func(map[string]any)) string {
	t.Helper()
	var p map[string]any
	if err := yaml.Unmarshal([]byte(policy), &p); err != nil {
		t.Fatal(err)
	}
	edit(p)
	b, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cosignAttestor is the ImageValidatingPolicy's cosign attestor in p.
func cosignAttestor(t *testing.T, p map[string]any) map[string]any {
	t.Helper()
	a, ok := p["spec"].(map[string]any)["attestors"].([]any)[0].(map[string]any)["cosign"].(map[string]any)
	if !ok {
		t.Fatalf("no cosign attestor in %v", p)
	}
	return a
}

// signIVP signs a fresh image in format as a GitHub job, with the inputs
// of the test's TUF repository and extra, and returns the image and the
// run.
func signIVP(t *testing.T, format string, extra map[string]string) (string, result) {
	t.Helper()
	sc := map[string]string{"bundle": stk.SigningConfig, "legacy": stk.SigningConfigV1, "both": stk.SigningConfigAll}[format]
	img := pushImage(t)
	r := runKeyless(t, githubEnv(merge(trustInputs(sc), ivpInputs(t), map[string]string{"images": img, "signature-format": format}, extra)))
	if r.code != 0 {
		t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
	}
	return img, r
}

// repoOf is the repository of a digest reference, without the registry.
func repoOf(ref string) string {
	return strings.TrimPrefix(ref[:strings.Index(ref, "@")], stk.Registry+"/")
}

// TestKyvernoImageValidating applies the ImageValidatingPolicy keyless
// wrote, with the real Kyverno 1.19 CLI, to Pods and Deployments of the
// signed image, an unsigned one and one signed by another identity, in the
// same repository, in every signature format. Kyverno's home and TUF cache
// are fresh: it knows the private Sigstore only from the policy, whose tuf
// points at the test's TUF repository on 127.0.0.1.
//
// A tag instead of a digest is refused: the CLI does not run the policy's
// mutateDigest, which at admission pins a tag to its digest first, and
// verifyDigest refuses a reference without one.
func TestKyvernoImageValidating(t *testing.T) {
	cli := kyverno119(t)
	for _, format := range []string{"legacy", "bundle", "both"} {
		t.Run(format, func(t *testing.T) {
			signed, r := signIVP(t, format, nil)
			policy := r.files["workspace/"+r.outputs["kyverno-policy"]]
			for _, want := range []string{"kind: ImageValidatingPolicy", "mirror: " + kyvernoTUFRepository(t).mirror, "trustedRoot:"} {
				if !strings.Contains(policy, want) {
					t.Fatalf("kyverno-policy lacks %q:\n%s", want, policy)
				}
			}
			policyFile := writeFile(t, "policy.yaml", policy)
			repo := repoOf(signed)
			unsigned, err := stk.PushRandomImage(t.Context(), repo, "unsigned")
			if err != nil {
				t.Fatal(err)
			}
			other, err := stk.PushRandomImage(t.Context(), repo, "other")
			if err != nil {
				t.Fatal(err)
			}
			keylessSign(t, format, false, other, stack.WithClaims(map[string]any{"repository": "keyless-dev/other"}))
			for _, row := range []struct {
				name, manifest string
				admit          bool
			}{
				{"Pod signed by this identity", podManifest(signed), true},
				{"Deployment signed by this identity", deploymentManifest(signed), true},
				{"Pod unsigned", podManifest(unsigned), false},
				{"Deployment unsigned", deploymentManifest(unsigned), false},
				{"Pod signed by another identity", podManifest(other), false},
				{"Pod naming the signed image by tag", podManifest(stk.Registry + "/" + repo + ":latest"), false},
			} {
				t.Run(row.name, func(t *testing.T) {
					c, out := kyvernoRun(t, cli, policyFile, row.manifest, nil)
					if c.admitted() != row.admit {
						t.Errorf("admitted=%v (%+v), want %v\npolicy:\n%s\noutput:\n%s", c.admitted(), c, row.admit, policy, out)
					}
				})
			}
		})
	}
}

// TestKyvernoImageValidatingTrust proves that Kyverno checks the policy's
// trust material: the same policy holding the public-good Sigstore's
// trusted root, Fulcio roots and log keys refuses the image it admitted.
// And it pins what Kyverno 1.19.1 does that the policy's header says:
//   - without tuf, Kyverno goes to the public-good TUF repository for
//     every keyless check, and where it cannot reach it (here a proxy that
//     answers nothing) nothing verifies;
//   - keyless.additionalExtensions is not checked: a policy that demands
//     another repository's extension still admits the image. A release
//     that checks it fails this row.
func TestKyvernoImageValidatingTrust(t *testing.T) {
	cli := kyverno119(t)
	public := publicGoodMaterial(t)
	offline := []string{"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost"}
	for _, format := range []string{"legacy", "bundle"} {
		t.Run(format, func(t *testing.T) {
			signed, r := signIVP(t, format, nil)
			policy := r.files["workspace/"+r.outputs["kyverno-policy"]]
			for _, row := range []struct {
				name  string
				edit  func(c map[string]any)
				env   []string
				admit bool
			}{
				{"as written", nil, nil, true},
				{"as written, offline", nil, offline, true},
				{"another trusted root", func(c map[string]any) {
					c["trustedRoot"] = map[string]any{"value": public.json}
					c["keyless"].(map[string]any)["roots"] = public.fulcio
					ctlog := c["ctlog"].(map[string]any)
					ctlog["rekorPubKey"], ctlog["ctLogPubKey"] = public.rekor, public.ctlog
				}, nil, false},
				{"no TUF repository, offline", func(c map[string]any) { delete(c, "tuf") }, offline, false},
				{"additionalExtensions of another repository", func(c map[string]any) {
					c["keyless"].(map[string]any)["additionalExtensions"] = map[string]any{"githubWorkflowRepository": "keyless-dev/other"}
				}, nil, true},
			} {
				t.Run(row.name, func(t *testing.T) {
					p := policy
					if row.edit != nil {
						p = editPolicy(t, policy, func(m map[string]any) { row.edit(cosignAttestor(t, m)) })
					}
					c, out := kyvernoRun(t, cli, writeFile(t, "policy.yaml", p), podManifest(signed), nil, row.env...)
					if c.admitted() != row.admit {
						t.Errorf("admitted=%v (%+v), want %v\npolicy:\n%s\noutput:\n%s", c.admitted(), c, row.admit, p, out)
					}
				})
			}
		})
	}
}

// publicGood is the public-good Sigstore's trust material, as an
// ImageValidatingPolicy holds it.
type publicGood struct {
	json, fulcio, rekor, ctlog string
}

func publicGoodMaterial(t *testing.T) publicGood {
	t.Helper()
	b, err := os.ReadFile("testdata/public-good-trusted-root.json")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	p := publicGood{json: string(b)}
	for _, ca := range tr.FulcioCertificateAuthorities() {
		f := ca.(*root.FulcioCertificateAuthority)
		for _, c := range append(f.Intermediates, f.Root) {
			p.fulcio += string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
		}
	}
	key := func(logs map[string]*root.TransparencyLog) string {
		for _, l := range logs {
			der, err := x509.MarshalPKIXPublicKey(l.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		}
		t.Fatal("no log in the public-good trusted root")
		return ""
	}
	p.rekor, p.ctlog = key(tr.RekorLogs()), key(tr.CTLogs())
	return p
}
