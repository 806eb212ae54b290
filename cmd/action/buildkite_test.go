package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// pluginHookOptions are the plugin's options that hooks/command reads
// itself; every other option is an input of keyless.
var pluginHookOptions = []string{"image", "mode", "runtime", "token"}

// TestPluginInputs checks that plugin.yml's configuration declares
// exactly the inputs of keyless sign and verify (but Tekton's
// chains-type-hints) and the hook's options, each described, booleans as
// booleans, and refuses any other option.
func TestPluginInputs(t *testing.T) {
	b, err := os.ReadFile("../../plugin.yml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Configuration struct {
			Properties map[string]struct {
				Type        any
				Description string
			}
			AdditionalProperties *bool `json:"additionalProperties"`
		}
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(pluginHookOptions)
	types := map[string]string{}
	for _, in := range inputs {
		// The plugin runs sign and verify; promote's and audit's own inputs are not its.
		if in.name != "chains-type-hints" && in.only != "promote" && in.only != "audit" && !slices.Contains(want, in.name) {
			want = append(want, in.name)
		}
		if in.def == "true" || in.def == "false" {
			types[in.name] = "boolean"
		}
	}
	var got []string
	for name, prop := range p.Configuration.Properties {
		got = append(got, name)
		if prop.Description == "" {
			t.Errorf("option %s has no description", name)
		}
		if w := types[name]; w != "" && prop.Type != w {
			t.Errorf("option %s is of type %v, want %s", name, prop.Type, w)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options mismatch (-want +got):\n%s", diff)
	}
	if a := p.Configuration.AdditionalProperties; a == nil || *a {
		t.Error("the configuration must refuse other options (additionalProperties: false)")
	}
}

// hookBin writes the fake commands the hook finds on PATH: a runtime that
// records its arguments and the variables it was given, and the agent.
func hookBin(t *testing.T, runtime string, runtimeExit int) (bin, record string) {
	t.Helper()
	bin = t.TempDir()
	record = filepath.Join(bin, "record")
	scripts := map[string]string{
		runtime: fmt.Sprintf(`#!/bin/sh
if [ "$1" = info ]; then echo false; exit 0; fi
for a in "$@"; do printf 'arg %%s\n' "$a"; done > %[1]s
env | grep -E '^(KEYLESS_|BUILDKITE_AGENT_ACCESS_TOKEN=)' | sort | sed 's/^/env /' >> %[1]s
if [ -n "$KEYLESS_BUILDKITE_TOKEN_FILE" ]; then
  dir=$(printf '%%s\n' "$@" | sed -n 's|:/run/keyless/token:ro$||p')
  printf 'token %%s %%s\n' "$(cat "$dir/token")" "$(stat -c %%a "$dir/token")" >> %[1]s
  echo "$dir" > %[1]s.tokendir
fi
exit %[2]d
`, record, runtimeExit),
		"buildkite-agent": "#!/bin/sh\necho \"agent $*\" >> " + record + ".agent\necho HOOKTOKEN\n",
	}
	for name, s := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin, record
}

// runHook runs hooks/command in a checkout directory with the agent's
// variables and the plugin's options, and returns its exit status and
// output.
func runHook(t *testing.T, bin, checkout string, env map[string]string) (int, string) {
	t.Helper()
	hook, err := filepath.Abs("../../hooks/command")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(hook)
	cmd.Dir = checkout
	cmd.Env = []string{"PATH=" + bin + ":" + systemBin(t), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// agentEnv is a job's variables, as the agent sets them for a plugin's
// hook.
func agentEnv(config string, kv ...string) map[string]string {
	e := map[string]string{
		"BUILDKITE": "true", "BUILDKITE_AGENT_ACCESS_TOKEN": "agent-secret", "BUILDKITE_JOB_ID": "job-1",
		"BUILDKITE_ORGANIZATION_SLUG": "acme", "BUILDKITE_PIPELINE_SLUG": "app", "BUILDKITE_REPO": "git@github.com:acme/app.git",
		"BUILDKITE_PLUGIN_NAME": "KEYLESS", "BUILDKITE_PLUGIN_CONFIGURATION": config,
	}
	for i := 0; i < len(kv); i += 2 {
		e[kv[i]] = kv[i+1]
	}
	return e
}

// TestPluginHook runs the hook as the agent does: it runs the image with
// the checkout mounted as the working directory, as the agent's user,
// with the agent's binary, the job's variables by name (the access token
// never on the command line) and the plugin's configuration, and exits
// with the container's status.
func TestPluginHook(t *testing.T) {
	checkout := t.TempDir()
	bin, record := hookBin(t, "docker", 0)
	config := `{"images-from":["metadata.json"],"signature-format":"both","mode":"verify"}`
	code, out := runHook(t, bin, checkout, agentEnv(config, "BUILDKITE_PLUGIN_KEYLESS_MODE", "verify", "BUILDKITE_PLUGIN_KEYLESS_IMAGE", "registry.example/keyless@sha256:0123"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	uid := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	want := []string{
		"arg run", "arg --rm", "arg --volume", "arg " + checkout + ":/workdir", "arg --workdir", "arg /workdir",
		"arg --volume", "arg " + filepath.Join(bin, "buildkite-agent") + ":/usr/local/bin/buildkite-agent:ro",
		"arg --env", "arg HOME=/tmp", "arg --env", "arg KEYLESS_PLUGIN_CONFIGURATION", "arg --user", "arg " + uid,
		"arg --env", "arg BUILDKITE", "arg --env", "arg BUILDKITE_AGENT_ACCESS_TOKEN", "arg --env", "arg BUILDKITE_JOB_ID",
		"arg --env", "arg BUILDKITE_ORGANIZATION_SLUG", "arg --env", "arg BUILDKITE_PIPELINE_SLUG", "arg --env", "arg BUILDKITE_REPO",
		"arg registry.example/keyless@sha256:0123", "arg verify",
		"env BUILDKITE_AGENT_ACCESS_TOKEN=agent-secret", "env KEYLESS_PLUGIN_CONFIGURATION=" + config,
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(readRecord(t, record)), "\n")); diff != "" {
		t.Errorf("runtime call mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, "--- keyless verify (registry.example/keyless@sha256:0123, docker)") {
		t.Errorf("the log has no group for the run:\n%s", out)
	}
}

// TestPluginHookToken: with token: hook, the hook requests the token
// with the sigstore audience before the container starts, hands it over
// in a file only the agent's user can read, and removes it afterwards.
func TestPluginHookToken(t *testing.T) {
	bin, record := hookBin(t, "podman", 0)
	code, out := runHook(t, bin, t.TempDir(), agentEnv(`{}`, "BUILDKITE_PLUGIN_KEYLESS_TOKEN", "hook", "BUILDKITE_PLUGIN_KEYLESS_RUNTIME", "podman"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	got := readRecord(t, record)
	for _, want := range []string{"arg sign\n", "env KEYLESS_BUILDKITE_TOKEN_FILE=/run/keyless/token/token\n", "token HOOKTOKEN 600\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("runtime call lacks %q:\n%s", want, got)
		}
	}
	if agent := readRecord(t, record+".agent"); agent != "agent oidc request-token --audience sigstore\n" {
		t.Errorf("agent calls = %q", agent)
	}
	if _, err := os.Stat(strings.TrimSpace(readRecord(t, record+".tokendir"))); !os.IsNotExist(err) {
		t.Errorf("the token's directory is left behind: %v", err)
	}
}

// TestPluginHookRefuses: bad options exit 2 before anything runs, and the
// container's failure is the hook's.
func TestPluginHookRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		runtime string
		exit    int
		env     []string
		code    int
		want    string
	}{
		{"bad mode", "docker", 0, []string{"BUILDKITE_PLUGIN_KEYLESS_MODE", "attest"}, 2, `mode: "attest" is neither sign nor verify`},
		{"bad token", "docker", 0, []string{"BUILDKITE_PLUGIN_KEYLESS_TOKEN", "env"}, 2, `token: "env" is neither keyless nor hook`},
		{"runtime not installed", "docker", 0, []string{"BUILDKITE_PLUGIN_KEYLESS_RUNTIME", "podman"}, 2, "runtime: podman is not on the agent's PATH"},
		{"no runtime at all", "", 0, nil, 2, "neither docker nor podman is on the agent's PATH"},
		{"keyless failed", "docker", 1, nil, 1, ""},
		{"bad input", "docker", 2, nil, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime := tc.runtime
			if runtime == "" {
				runtime = "none"
			}
			bin, record := hookBin(t, runtime, tc.exit)
			code, out := runHook(t, bin, t.TempDir(), agentEnv(`{}`, tc.env...))
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, out)
			}
			if _, err := os.Stat(record); tc.code == 2 && tc.exit == 0 && !os.IsNotExist(err) {
				t.Errorf("the image ran despite the bad option")
			}
		})
	}
}

// systemBin is a directory of the system's tools that the hook and the
// fakes use, and no container runtime or agent.
func systemBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"bash", "sh", "env", "id", "readlink", "mktemp", "rm", "cat", "stat", "sed", "grep", "sort"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("the hook needs %s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readRecord(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
