package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
	if strings.Contains(policy+dir, ",") {
		t.Fatalf("the Kyverno CLI splits paths at commas: %s, %s", policy, dir)
	}
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
		// No result at all is no refusal: the policy or the resource did
		// not load.
		t.Fatalf("%s apply gave no result:\n%s", filepath.Base(cli), out)
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
			t.Run("kyverno test", func(t *testing.T) {
				kyvernoTestSuite(t, cli, policy, map[string]string{"signed": signed}, map[string]string{"unsigned": unsigned, "other": other})
			})
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
				{"Pod naming the repository without a tag", podManifest(stk.Registry + "/" + repo), false},
			} {
				t.Run(row.name, func(t *testing.T) {
					c, out := kyvernoRun(t, cli, policyFile, row.manifest, nil)
					t.Logf("kubectl-kyverno-1.19 apply:\n%s", out)
					if c.admitted() != row.admit {
						t.Errorf("admitted=%v (%+v), want %v\npolicy:\n%s\noutput:\n%s", c.admitted(), c, row.admit, policy, out)
					}
				})
			}
		})
	}
}

// kyvernoTestSuite runs the Kyverno CLI's test command on a suite of the
// policy and one Pod per image: those of pass must pass, those of fail
// fail.
func kyvernoTestSuite(t *testing.T, cli, policy string, pass, fail map[string]string) {
	t.Helper()
	dir := t.TempDir()
	var resources strings.Builder
	for name, img := range merge(pass, fail) {
		resources.WriteString(strings.Replace(podManifest(img), "name: app\n  namespace", "name: "+name+"\n  namespace", 1) + "---\n")
	}
	names := func(m map[string]string) string { return strings.Join(slices.Sorted(maps.Keys(m)), ", ") }
	suite := fmt.Sprintf(`apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata:
  name: keyless
policies: [policy.yaml]
resources: [resources.yaml]
results:
- {isImageValidatingPolicy: true, kind: Pod, policy: keyless-signed-images, resources: [%s], result: pass}
- {isImageValidatingPolicy: true, kind: Pod, policy: keyless-signed-images, resources: [%s], result: fail}
`, names(pass), names(fail))
	for name, content := range map[string]string{"policy.yaml": policy, "resources.yaml": resources.String(), "kyverno-test.yaml": suite} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "test", dir, "--registry", "--remove-color", "--require-tests")
	home := filepath.Join(t.TempDir(), "home")
	cmd.Env = []string{"HOME=" + home, "DOCKER_CONFIG=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"), "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 tests failed") {
		t.Errorf("kubectl-kyverno-1.19 test: %v\n%s\nsuite:\n%s", err, out, suite)
	}
}
