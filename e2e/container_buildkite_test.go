package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/e2e/manifests"
	"github.com/keyless-dev/keyless/e2e/oidcissuer"
)

// The identities Fulcio certifies for the default Buildkite and CircleCI
// tokens, with the stack's copy of public-good's ci-provider templates.
const (
	buildkiteIdentity = "https://buildkite.com/" + oidcissuer.DefaultBuildkiteOrg + "/" + oidcissuer.DefaultBuildkitePipe
	circleciIdentity  = "https://circleci.com/api/v2/projects/" + oidcissuer.DefaultCircleCIProject + "/pipeline-definitions/" + oidcissuer.DefaultCircleCIDef
)

// buildkiteJobEnv are the variables the agent gives a job of the default
// Buildkite token's build, holding what its claims hold.
func buildkiteJobEnv() map[string]string {
	return map[string]string{
		"BUILDKITE": "true", "BUILDKITE_AGENT_ACCESS_TOKEN": "bkaa_agent-secret-e2e", "BUILDKITE_AGENT_ENDPOINT": "https://agent.buildkite.com/v3",
		"BUILDKITE_JOB_ID": oidcissuer.DefaultBuildkiteJob, "BUILDKITE_AGENT_ID": oidcissuer.DefaultBuildkiteAgent,
		"BUILDKITE_BUILD_ID": "0190a2b4-0000-4000-8000-000000000001", "BUILDKITE_BUILD_NUMBER": "42",
		"BUILDKITE_ORGANIZATION_SLUG": oidcissuer.DefaultBuildkiteOrg, "BUILDKITE_PIPELINE_SLUG": oidcissuer.DefaultBuildkitePipe,
		"BUILDKITE_BRANCH": "main", "BUILDKITE_COMMIT": oidcissuer.DefaultSHA, "BUILDKITE_REPO": "git@github.com:keyless-dev/demo.git",
		"BUILDKITE_SOURCE": "webhook", "BUILDKITE_STEP_KEY": "sign", "BUILDKITE_STEP_ID": "0190a2b4-0000-4000-8000-000000000002",
	}
}

// pluginEnv is a plugin's configuration as the agent hands it to the
// plugin's hooks: BUILDKITE_PLUGIN_CONFIGURATION, and each option as
// BUILDKITE_PLUGIN_KEYLESS_<OPTION> (a list item as _<N>).
func pluginEnv(t *testing.T, config map[string]any) map[string]string {
	t.Helper()
	b, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BUILDKITE_PLUGIN_NAME": "KEYLESS", "BUILDKITE_PLUGIN_CONFIGURATION": string(b)}
	for k, v := range config {
		name := "BUILDKITE_PLUGIN_KEYLESS_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		if list, ok := v.([]string); ok {
			for i, item := range list {
				env[fmt.Sprintf("%s_%d", name, i)] = item
			}
			continue
		}
		env[name] = fmt.Sprint(v)
	}
	return env
}

// fakeBuildkiteAgent writes the agent the hook mounts into the container:
// a busybox script (the image is the -debug variant, whose shell runs it)
// that answers oidc request-token with the token in the checkout's .agent
// directory and records every other call, "dir|args|stdin", there.
func fakeBuildkiteAgent(t *testing.T, bin string) {
	t.Helper()
	script := `#!/busybox/sh
case "$1 $2" in
  "oidc request-token") echo "oidc $*" >> /workdir/.agent/calls; cat /workdir/.agent/token ;;
  *) { printf '%s|%s|' "$PWD" "$*"; cat; printf '\n'; } >> /workdir/.agent/calls ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "buildkite-agent"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// podmanWrapper puts a podman on the hook's PATH that adds what this
// machine needs of every podman run (runc, the host's network for the
// stack on 127.0.0.1, ulimits left to the host) to the hook's arguments.
func podmanWrapper(t *testing.T, bin string) {
	t.Helper()
	real, err := exec.LookPath("podman")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(bin, "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`#!/bin/sh
export CONTAINERS_CONF=%s
if [ "$1" = run ]; then shift; exec %s --runtime runc run --network host "$@"; fi
exec %s "$@"
`, conf, real, real)
	if err := os.WriteFile(filepath.Join(bin, "podman"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// runBuildkiteHook runs hooks/command as the agent runs a plugin's command
// hook, in checkout, with env, and returns its exit status and output.
func runBuildkiteHook(t *testing.T, bin, checkout string, env map[string]string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(manifests.RepoRoot(), "hooks", "command"))
	cmd.Dir = checkout
	cmd.Env = []string{"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + t.TempDir()}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestContainerBuildkite runs the plugin as the Buildkite agent runs it: its
// command hook in the job's checkout with the job's variables and the
// plugin's configuration, podman as the runtime, and a fake agent, which
// the hook mounts into the container, answering keyless's token request
// with a token of the stack's Buildkite issuer and recording the meta-data,
// annotation and artifact upload. The signatures then verify with cosign v3
// and v2, and a verify step checks the provenance against the certificate.
func TestContainerBuildkite(t *testing.T) {
	_, debug := images(t)
	pull(t, debug)
	img := pushImage(t)
	checkout, bin := t.TempDir(), t.TempDir()
	for _, f := range []string{stk.TrustedRoot, stk.SigningConfigAll} {
		copyFile(t, f, checkout)
	}
	agentDir := filepath.Join(checkout, ".agent")
	if err := os.MkdirAll(agentDir, 0o755); err != nil {
		t.Fatal(err)
	}
	token := mint(t, "buildkite")
	if err := os.WriteFile(filepath.Join(agentDir, "token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fakeBuildkiteAgent(t, bin)
	podmanWrapper(t, bin)
	job := buildkiteJobEnv()
	sign := map[string]any{
		"image": byDigest(debug), "runtime": "podman", "images": img, "signature-format": "both", "provenance": true,
		"trusted-root": filepath.Base(stk.TrustedRoot), "signing-config": filepath.Base(stk.SigningConfigAll),
	}
	code, out := runBuildkiteHook(t, bin, checkout, merge(job, pluginEnv(t, sign)))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, f := range []string{"report.json", "summary.md", "kyverno-policy.yaml", "cluster-image-policy.yaml"} {
		if _, err := os.Stat(filepath.Join(checkout, "keyless", f)); err != nil {
			t.Errorf("the job left no %s: %v", f, err)
		}
	}
	calls := readCalls(t, filepath.Join(agentDir, "calls"))
	for _, want := range []string{
		"oidc oidc request-token --audience sigstore\n",
		"/workdir/keyless|artifact upload cluster-image-policy.yaml;kyverno-policy.yaml;report.json;summary.md|\n",
		"/workdir|meta-data set keyless-digests|" + img + "\n",
		"/workdir|meta-data set keyless-certificate-identity|" + buildkiteIdentity + "\n",
		"/workdir|meta-data set keyless-certificate-oidc-issuer|" + stk.Issuer("buildkite") + "\n",
		"/workdir|meta-data set keyless-verified|true\n",
		"/workdir|annotate --style success --context keyless-sign|",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("the agent was not called with %q:\n%.3000s", want, calls)
		}
	}
	if strings.Contains(calls, token) || strings.Contains(out, token) || strings.Contains(out+calls, job["BUILDKITE_AGENT_ACCESS_TOKEN"]) {
		t.Error("a token reached the log, the meta-data or the annotation")
	}
	assertNoToken(t, result{stdout: out}, job["BUILDKITE_AGENT_ACCESS_TOKEN"])
	for _, c := range []cosignCheck{{stk.CosignV3, nil}, {stk.CosignV2, []string{"--use-signed-timestamps"}}} {
		c.accepts(t, img, buildkiteIdentity, stk.Issuer("buildkite"))
	}

	// A later step verifies, requiring the provenance, whose every
	// certified field the gate checks against the certificate.
	for _, tc := range []struct {
		name, identity string
		code           int
	}{
		{"the pipeline", buildkiteIdentity, 0},
		{"another pipeline", "https://buildkite.com/keyless-dev/other", 1},
	} {
		t.Run("verify as "+tc.name, func(t *testing.T) {
			verify := map[string]any{
				"image": byDigest(debug), "runtime": "podman", "mode": "verify", "images": []string{img}, "signature-format": "both",
				"certificate-identity": tc.identity, "certificate-oidc-issuer": stk.Issuer("buildkite"),
				"attestation-type": "slsaprovenance1", "trusted-root": filepath.Base(stk.TrustedRoot), "output-dir": "keyless-verify",
			}
			env := merge(job, pluginEnv(t, verify), map[string]string{"BUILDKITE_STEP_KEY": "verify"})
			if code, out := runBuildkiteHook(t, bin, checkout, env); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, out)
			}
		})
	}
	calls = readCalls(t, filepath.Join(agentDir, "calls"))
	for _, want := range []string{"|annotate --style success --context keyless-verify|", "|annotate --style error --context keyless-verify|"} {
		if !strings.Contains(calls, want) {
			t.Errorf("the verify steps did not annotate %q", want)
		}
	}
}

func readCalls(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the agent was never called: %v", err)
	}
	return string(b)
}
