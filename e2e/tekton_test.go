package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/keyless-dev/keyless/e2e/manifests"
	"github.com/keyless-dev/keyless/e2e/stack"
)

// taskStep turns a Task's step into the environment and arguments the
// step's container gets: params substituted (defaults unless given),
// workspaces by path ("" when unbound), the results directory and the
// projected token file moved under work.
func taskStep(t *testing.T, task *v1.Task, work string, params map[string]string, arrays map[string][]string, workspaces map[string]string) (map[string]string, []string) {
	t.Helper()
	values := map[string]string{}
	for _, p := range task.Spec.Params {
		if p.Default != nil {
			values[p.Name] = p.Default.StringVal
		}
	}
	for k, v := range params {
		values[k] = v
	}
	ref := regexp.MustCompile(`\$\((params|workspaces)\.([A-Za-z0-9_-]+)(?:\.(path|bound))?\)`)
	subst := func(s string) string {
		return ref.ReplaceAllStringFunc(s, func(m string) string {
			g := ref.FindStringSubmatch(m)
			if g[1] == "params" {
				return values[g[2]]
			}
			if g[3] == "bound" {
				return map[bool]string{true: "true", false: "false"}[workspaces[g[2]] != ""]
			}
			return workspaces[g[2]]
		})
	}
	step := task.Spec.Steps[0]
	env := map[string]string{}
	for _, e := range step.Env {
		env[e.Name] = tektonContext.Replace(subst(e.Value))
	}
	env["KEYLESS_RESULTS_DIR"] = filepath.Join(work, "results")
	if _, ok := env["KEYLESS_IDENTITY_TOKEN_FILE"]; ok {
		env["KEYLESS_IDENTITY_TOKEN_FILE"] = filepath.Join(work, "oidc-token")
	}
	env["HOME"] = work
	var args []string
	for _, a := range step.Args {
		if m := regexp.MustCompile(`^\$\(params\.([A-Za-z0-9_-]+)\[\*\]\)$`).FindStringSubmatch(a); m != nil {
			args = append(args, arrays[m[1]]...)
			continue
		}
		args = append(args, subst(a))
	}
	return env, args
}

// tektonContext stands in for Tekton's substitution of its context
// variables, as for a TaskRun of its own (no PipelineRun labels).
var tektonContext = strings.NewReplacer(
	"$(context.taskRun.name)", "build-sign-run",
	"$(context.taskRun.namespace)", "keyless",
	"$(context.taskRun.uid)", "6f1c4a52-3b2e-4f0a-9d61-0c7e8a9b5d21",
)

// results reads the files a step wrote into its results directory.
func results(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// TestTektonSign runs the binary as the keyless-sign Task's step runs it,
// with a Kubernetes-shaped projected token, and checks the results and the
// service-account identity with cosign.
func TestTektonSign(t *testing.T) {
	task, err := manifests.LoadTask("tekton/keyless-sign/0.1/keyless-sign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		params map[string]string
		images func(img string) []string
		hints  bool
	}{
		{"images param", nil, func(img string) []string { return []string{img} }, false},
		{"IMAGE_URL and IMAGE_DIGEST from a build Task", map[string]string{"chains-type-hints": "true"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := pushImage(t)
			work := t.TempDir()
			params := merge(map[string]string{"trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig}, tc.params)
			var images []string
			if tc.images != nil {
				images = tc.images(img)
			} else {
				at := strings.Index(img, "@")
				params["IMAGE_URL"], params["IMAGE_DIGEST"] = img[:at]+":latest", img[at+1:]
			}
			env, args := taskStep(t, task, work, params, map[string][]string{"images": images}, map[string]string{"output": filepath.Join(work, "output")})
			token := mint(t, "kubernetes")
			if err := os.WriteFile(env["KEYLESS_IDENTITY_TOKEN_FILE"], []byte(token), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runKeyless(t, env, args...)
			if r.code != 0 {
				t.Fatalf("exit %d\nargs %q\nstdout:\n%s\nstderr:\n%s", r.code, args, r.stdout, r.stderr)
			}
			got := budgetedResults(t, env["KEYLESS_RESULTS_DIR"])
			want := map[string]string{
				"digests":                 img,
				"certificate-identity":    kubernetesIdentity,
				"certificate-oidc-issuer": stk.Issuer("kubernetes"),
				"verified":                "true",
			}
			if tc.hints {
				want["IMAGES"] = img
			}
			for k := range got {
				if _, ok := want[k]; !ok && k != "signatures" && k != "rekor-log-indexes" {
					want[k] = "(unexpected result)"
				}
			}
			cmpGot := map[string]string{}
			for k := range want {
				cmpGot[k] = got[k]
			}
			if diff := cmp.Diff(want, cmpGot); diff != "" {
				t.Errorf("results mismatch (-want +got):\n%s", diff)
			}
			if !strings.Contains(got["signatures"], img[:strings.Index(img, "@")]+"@sha256:") {
				t.Errorf("signatures result = %q, want a referrer in the image's repository", got["signatures"])
			}
			for _, f := range []string{"report.json", "summary.md"} {
				b, err := os.ReadFile(filepath.Join(work, "output", f))
				if err != nil || len(b) == 0 {
					t.Errorf("%s not written to the output workspace: %v", f, err)
				}
				if strings.Contains(string(b), token) {
					t.Errorf("the token leaked into %s", f)
				}
			}
			assertNoToken(t, r, token)
			c := cosignCheck{stk.CosignV3, nil}
			c.accepts(t, img, kubernetesIdentity, stk.Issuer("kubernetes"))
			c.rejects(t, img, "https://kubernetes.io/namespaces/keyless/serviceaccounts/other", stk.Issuer("kubernetes"))
		})
	}
}

// TestTektonUntrustedIssuer shows that a token from an issuer Fulcio does
// not trust fails before anything is written, naming the issuer.
func TestTektonUntrustedIssuer(t *testing.T) {
	task, err := manifests.LoadTask("tekton/keyless-sign/0.1/keyless-sign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	img := pushImage(t)
	before := tags(t, img)
	work := t.TempDir()
	env, args := taskStep(t, task, work, map[string]string{"trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig}, map[string][]string{"images": {img}}, nil)
	token := mint(t, "kubernetes", stack.WithIssuer("https://oidc.eks.example.com/id/CLUSTER"))
	if err := os.WriteFile(env["KEYLESS_IDENTITY_TOKEN_FILE"], []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runKeyless(t, env, args...)
	if r.code != 2 || !strings.Contains(r.stderr, "https://oidc.eks.example.com/id/CLUSTER") {
		t.Fatalf("exit %d, want 2 naming the issuer\n%s", r.code, r.stderr)
	}
	assertNoToken(t, r, token)
	if after := tags(t, img); !cmp.Equal(before, after) {
		t.Errorf("registry changed: %v → %v", before, after)
	}
}

// TestTektonVerifyFlagInjection gives the keyless-verify Task, with its
// args as written in the YAML, an images element that is a flag: were it
// parsed as one, "--certificate-identity-regexp=.*" and its companions
// would turn the Task's policy into "anyone", and an image signed by
// another identity would pass. It must be refused as an image (exit 2).
func TestTektonVerifyFlagInjection(t *testing.T) {
	task, err := manifests.LoadTask("tekton/keyless-verify/0.1/keyless-verify.yaml")
	if err != nil {
		t.Fatal(err)
	}
	img := pushImage(t)
	keylessSign(t, "bundle", false, img) // signed by the GitHub workflow, not the Tekton service account
	params := map[string]string{
		"trusted-root":            stk.TrustedRoot,
		"certificate-identity":    kubernetesIdentity,
		"certificate-oidc-issuer": stk.Issuer("kubernetes"),
	}
	run := func(t *testing.T, images ...string) result {
		work := t.TempDir()
		env, args := taskStep(t, task, work, params, map[string][]string{"images": images}, nil)
		return runKeyless(t, env, args...)
	}
	t.Run("the policy holds without the injection", func(t *testing.T) {
		if r := run(t, img); r.code != 1 {
			t.Fatalf("exit %d, want 1: the image was signed by another identity\n%s", r.code, r.stderr)
		}
	})
	t.Run("a control character in a policy param", func(t *testing.T) {
		work := t.TempDir()
		p := merge(params, map[string]string{"certificate-identity": kubernetesIdentity + "\n```\n## injected"})
		env, args := taskStep(t, task, work, p, map[string][]string{"images": {img}}, map[string]string{"output": filepath.Join(work, "output")})
		r := runKeyless(t, env, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "certificate-identity") || !strings.Contains(r.stderr, "control character") {
			t.Fatalf("exit %d, want 2 naming certificate-identity\nstderr:\n%s", r.code, r.stderr)
		}
		if b, err := os.ReadFile(filepath.Join(work, "output", "summary.md")); err == nil && strings.Contains(string(b), "\n## injected") {
			t.Errorf("the summary holds the injected heading:\n%s", b)
		}
	})
	for _, injected := range [][]string{
		{"--certificate-identity-regexp=.*", "--certificate-identity=", "--certificate-oidc-issuer-regexp=.*", "--certificate-oidc-issuer="},
		{"-certificate-identity=" + githubIdentity, "-certificate-oidc-issuer=" + stk.Issuer("github")},
	} {
		t.Run(injected[0], func(t *testing.T) {
			r := run(t, append(injected, img)...)
			if r.code != 2 || !strings.Contains(r.stderr, "images") || !strings.Contains(r.stderr, "starts with -") {
				t.Fatalf("exit %d, want 2 refusing the images element that starts with -\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestTektonSignRefusesControlCharacters gives the keyless-sign Task an
// identity override holding a newline and a code fence: it is refused (exit
// 2, naming the param) before anything is written to the registry.
func TestTektonSignRefusesControlCharacters(t *testing.T) {
	task, err := manifests.LoadTask("tekton/keyless-sign/0.1/keyless-sign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	img := pushImage(t)
	before := tags(t, img)
	work := t.TempDir()
	params := map[string]string{"trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig,
		"certificate-identity": kubernetesIdentity + "\n```\n## injected"}
	env, args := taskStep(t, task, work, params, map[string][]string{"images": {img}}, nil)
	token := mint(t, "kubernetes")
	if err := os.WriteFile(env["KEYLESS_IDENTITY_TOKEN_FILE"], []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runKeyless(t, env, args...)
	if r.code != 2 || !strings.Contains(r.stderr, "certificate-identity") || !strings.Contains(r.stderr, "control character") {
		t.Fatalf("exit %d, want 2 naming certificate-identity\n%s", r.code, r.stderr)
	}
	if after := tags(t, img); !cmp.Equal(before, after) {
		t.Errorf("registry changed: %v → %v", before, after)
	}
}

// budgetedResults is results, checked to fit the 4 KiB termination
// message with Tekton's framing.
func budgetedResults(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := results(t, dir)
	total := 0
	for _, v := range got {
		total += len(v)
	}
	if total > 3*1024 {
		t.Errorf("results take %d bytes, more than fits the 4 KiB termination message with Tekton's framing", total)
	}
	return got
}
