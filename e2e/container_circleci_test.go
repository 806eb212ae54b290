package e2e

import (
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/e2e/manifests"
	"github.com/keyless-dev/keyless/e2e/oidcissuer"
	"github.com/keyless-dev/keyless/e2e/stack"
)

// circleciJobEnv are the variables CircleCI gives a job of the default
// CircleCI token's pipeline, holding what its claims hold.
func circleciJobEnv() map[string]string {
	return map[string]string{
		"CIRCLECI": "true", "CI": "true", "HOME": "/root", "CIRCLE_WORKING_DIRECTORY": "~/project",
		"CIRCLE_JOB": "keyless/sign", "CIRCLE_SHA1": oidcissuer.DefaultSHA, "CIRCLE_BRANCH": "main",
		"CIRCLE_PIPELINE_ID": oidcissuer.DefaultCircleCIPipeline, "CIRCLE_WORKFLOW_ID": oidcissuer.DefaultCircleCIWorkflow,
		"CIRCLE_WORKFLOW_JOB_ID": oidcissuer.DefaultCircleCIJob, "CIRCLE_REPOSITORY_URL": "git@github.com:keyless-dev/demo.git",
		"CIRCLE_PROJECT_USERNAME": "keyless-dev", "CIRCLE_PROJECT_REPONAME": "demo",
	}
}

// orbStep is the run step of an orb command, with the parameters a job
// gives it and the defaults for the rest substituted, as CircleCI compiles
// the configuration.
type orbStep struct {
	env     map[string]string
	command string
}

var orbParameter = regexp.MustCompile(`<<\s*parameters\.([a-z0-9-]+)\s*>>`)

func renderOrbCommand(t *testing.T, name string, given map[string]any) orbStep {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(manifests.RepoRoot(), "orb", "src", "commands", name+".yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Parameters map[string]struct{ Default any }
		Steps      []struct {
			Run struct {
				Environment map[string]string
				Command     string
			}
		}
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for k := range given {
		if _, ok := c.Parameters[k]; !ok {
			t.Fatalf("the %s command has no parameter %s", name, k)
		}
	}
	value := func(p string) string {
		if v, ok := given[p]; ok {
			return fmt.Sprint(v)
		}
		return fmt.Sprint(c.Parameters[p].Default)
	}
	sub := func(s string) string {
		return orbParameter.ReplaceAllStringFunc(s, func(m string) string { return value(orbParameter.FindStringSubmatch(m)[1]) })
	}
	run := c.Steps[0].Run
	step := orbStep{env: map[string]string{}, command: sub(run.Command)}
	for k, v := range run.Environment {
		step.env[k] = sub(v)
	}
	return step
}

// runCircleCIStep runs an orb command's step as CircleCI's Docker executor
// runs a step in the primary container: the image's entrypoint ignored, the
// executor's shell (/busybox/sh -eo pipefail) running the command, in the
// working directory ~/project (the project directory, mounted), with the
// job's variables and the step's environment, and circleci, the agent's
// CLI, on PATH (a fake that answers run oidc get with the stack's token).
func runCircleCIStep(t *testing.T, image, project, cli string, job map[string]string, step orbStep) (int, string, string) {
	t.Helper()
	args := []string{"-i", "--entrypoint", "/busybox/sh", "-w", "/root/project", "-v", project + ":/root/project",
		"-v", cli + ":/usr/local/bin/circleci:ro"}
	env := merge(job, step.env)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		args = append(args, "-e", k+"="+env[k])
	}
	args = append(args, image, "-eo", "pipefail", "-c", step.command)
	return timedRun(t, "circleci step", nil, "", args...)
}

// TestContainerCircleCI runs the orb's sign command as CircleCI runs it in
// the orb's executor, against the local stack: the output directory, its
// env file and JUnit results are checked, the signatures verify with cosign
// v3 and v2, and the orb's verify command checks the provenance against the
// certificate.
func TestContainerCircleCI(t *testing.T) {
	_, debug := images(t)
	pull(t, debug)
	img := pushImage(t)
	project := t.TempDir()
	for _, f := range []string{stk.TrustedRoot, stk.SigningConfigAll} {
		copyFile(t, f, project)
	}
	if err := os.WriteFile(filepath.Join(project, ".token"), []byte(mint(t, "circleci")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(t.TempDir(), "circleci")
	if err := os.WriteFile(cli, []byte("#!/busybox/sh\necho \"$*\" >> /root/project/.circleci-calls\ncat /root/project/.token\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	job := circleciJobEnv()
	// CircleCI's own token, of the organization's audience, which Fulcio
	// refuses: keyless asks circleci for one of audience sigstore.
	job["CIRCLE_OIDC_TOKEN_V2"] = mint(t, "circleci", stack.WithAudience(oidcissuer.DefaultCircleCIOrg))
	sign := renderOrbCommand(t, "sign", map[string]any{
		"images": img, "signature-format": "both", "provenance": true,
		"trusted-root": filepath.Base(stk.TrustedRoot), "signing-config": filepath.Base(stk.SigningConfigAll),
	})
	code, stdout, stderr := runCircleCIStep(t, byDigest(debug), project, cli, job, sign)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if calls, err := os.ReadFile(filepath.Join(project, ".circleci-calls")); err != nil || string(calls) != `run oidc get --claims {"aud":"sigstore"}`+"\n" {
		t.Errorf("circleci calls = %q, %v", calls, err)
	}
	dir := filepath.Join(project, "keyless")
	for _, f := range []string{"report.json", "summary.md", "kyverno-policy.yaml", "cluster-image-policy.yaml", "keyless.env", "test-results/keyless/results.xml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the step left no %s: %v", f, err)
		}
	}
	code, env, errOut := podman(t, nil, "", "run", "--rm", "-v", project+":/root/project", "-w", "/root/project", "--entrypoint", "/busybox/sh",
		byDigest(debug), "-c", `. keyless/keyless.env && printf '%s|%s|%s|%s' "$KEYLESS_DIGESTS" "$KEYLESS_SIGNED_IDENTITY" "$KEYLESS_SIGNED_OIDC_ISSUER" "$KEYLESS_VERIFIED"`)
	if want := img + "|" + circleciIdentity + "|" + stk.Issuer("circleci") + "|true"; code != 0 || env != want {
		t.Errorf("keyless.env read back as %q (exit %d, %s), want %q", env, code, errOut, want)
	}
	var junit struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suite    struct {
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "test-results", "keyless", "results.xml"))
	if err := xml.Unmarshal(b, &junit); err != nil || junit.Tests != 1 || junit.Failures != 0 || junit.Suite.Cases[0].Name != img {
		t.Errorf("JUnit results %+v (%v):\n%s", junit, err, b)
	}
	assertNoToken(t, result{stdout: stdout, stderr: stderr}, job["CIRCLE_OIDC_TOKEN_V2"])
	for _, c := range []cosignCheck{{stk.CosignV3, nil}, {stk.CosignV2, []string{"--use-signed-timestamps"}}} {
		c.accepts(t, img, circleciIdentity, stk.Issuer("circleci"))
	}

	for _, tc := range []struct {
		name, identity string
		code           int
	}{
		{"the pipeline definition", circleciIdentity, 0},
		{"another pipeline definition", "https://circleci.com/api/v2/projects/" + oidcissuer.DefaultCircleCIProject + "/pipeline-definitions/00000000-0000-4000-8000-000000000000", 1},
	} {
		t.Run("verify as "+tc.name, func(t *testing.T) {
			verify := renderOrbCommand(t, "verify", map[string]any{
				"images": img, "signature-format": "both", "certificate-identity": tc.identity,
				"certificate-oidc-issuer": stk.Issuer("circleci"), "attestation-type": "slsaprovenance1",
				"trusted-root": filepath.Base(stk.TrustedRoot), "output-dir": "keyless-verify",
			})
			if code, stdout, stderr := runCircleCIStep(t, byDigest(debug), project, cli, job, verify); code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
		})
	}
}
