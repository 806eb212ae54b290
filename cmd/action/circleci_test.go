package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// orbSecrets are the inputs the orb takes as the name of a variable that
// holds them (type env_var_name), so that a context's secret reaches
// keyless without being written in the configuration.
var orbSecrets = []string{"registry-password", "identity-token"}

// orbParameter is one parameter of an orb command or job.
type orbParameter struct {
	Type        string `json:"type"`
	Default     any    `json:"default"`
	Description string `json:"description"`
	Enum        []string
}

// orbFile is a command or job of the orb.
type orbFile struct {
	Parameters map[string]orbParameter `json:"parameters"`
	Steps      []map[string]any        `json:"steps"`
}

func readOrbFile(t *testing.T, path string) orbFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f orbFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// TestOrbInputs checks that the orb's sign and verify commands take
// exactly the inputs of keyless sign and verify (but Tekton's
// chains-type-hints), with the same defaults (output-dir's is the
// CircleCI adapter's, keyless), each described, and hand every one to
// keyless: as KEYLESS_<NAME> in the run step's environment, which no
// earlier step or project variable can override, or, for a secret, from
// the variable its parameter names. The jobs take the same parameters and
// pass each on.
func TestOrbInputs(t *testing.T) {
	for _, cmd := range []string{"sign", "verify"} {
		t.Run(cmd, func(t *testing.T) {
			c := readOrbFile(t, "../../orb/src/commands/"+cmd+".yml")
			want := map[string]string{}
			for _, in := range inputs {
				if in.applies(cmd) && in.name != "chains-type-hints" {
					want[in.name] = in.def
				}
			}
			want["output-dir"] = "keyless"
			got := map[string]string{}
			env := map[string]any{}
			for name, p := range c.Parameters {
				got[name] = fmt.Sprint(p.Default)
				if p.Description == "" {
					t.Errorf("parameter %s has no description", name)
				}
				if slices.Contains(orbSecrets, name) {
					if p.Type != "env_var_name" {
						t.Errorf("secret %s is of type %s, want env_var_name", name, p.Type)
					}
					got[name] = want[name]
					continue
				}
				env[envVar(name)] = "<< parameters." + name + " >>"
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("parameters and defaults mismatch (-want +got):\n%s", diff)
			}
			run, _ := c.Steps[0]["run"].(map[string]any)
			if diff := cmp.Diff(env, run["environment"]); diff != "" {
				t.Errorf("run step environment mismatch (-want +got):\n%s", diff)
			}
			command, _ := run["command"].(string)
			for _, s := range orbSecrets {
				if _, ok := c.Parameters[s]; ok && !strings.Contains(command, envVar(s)+`="${<< parameters.`+s+` >>:-}"`) {
					t.Errorf("the command does not read %s from the variable its parameter names: %q", s, command)
				}
			}
			if !strings.HasSuffix(strings.TrimSpace(command), "exec /keyless "+cmd) {
				t.Errorf("the command does not run keyless %s: %q", cmd, command)
			}

			j := readOrbFile(t, "../../orb/src/jobs/"+cmd+".yml")
			for name, p := range c.Parameters {
				if diff := cmp.Diff(p, j.Parameters[name]); diff != "" {
					t.Errorf("job parameter %s differs from the command's (-want +got):\n%s", name, diff)
				}
			}
			var passed map[string]any
			for _, s := range j.Steps {
				if m, ok := s[cmd].(map[string]any); ok {
					passed = m
				}
			}
			for name := range c.Parameters {
				if passed[name] != "<< parameters."+name+" >>" {
					t.Errorf("the job does not pass %s on: %v", name, passed[name])
				}
			}
		})
	}
}

// envVar is the KEYLESS_<NAME> variable of input name.
func envVar(name string) string {
	return "KEYLESS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}
