package ci

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// adapterEnv is one environment that every platform reads from.
var adapterEnv = map[string]string{
	"GITHUB_TOKEN": "ght", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "rt",
	"CI_JOB_TOKEN": "jt", "CI_REGISTRY_PASSWORD": "rp", "CI_REGISTRY": "registry.gitlab.example.com", "CI_REGISTRY_USER": "gitlab-ci-token",
	"SIGSTORE_ID_TOKEN": "st", "GITHUB_OUTPUT": "/gh/out", "GITHUB_STEP_SUMMARY": "/gh/summary", "GITHUB_WORKSPACE": "/gh/ws",
	"KEYLESS_RESULTS_DIR": "/tekton/r", "BUILDKITE_AGENT_ACCESS_TOKEN": "bat", "CIRCLE_OIDC_TOKEN": "cot", "CIRCLE_OIDC_TOKEN_V2": "cot2",
}

// platforms makes each adapter with stdout and stderr to buffers.
func platforms(getenv func(string) string) (map[string]Platform, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	e := Env{Getenv: getenv, Stdout: &stdout, Stderr: &stderr}
	return map[string]Platform{"github": NewGitHub(e), "gitlab": NewGitLab(e), "tekton": NewTekton(e), "cli": NewCLI(e),
		"buildkite": NewBuildkite(e), "circleci": NewCircleCI(e)}, &stdout, &stderr
}

// TestLogStream checks which stream each platform's job log is: the CLI
// keeps standard output for the JSON report.
func TestLogStream(t *testing.T) {
	ps, stdout, stderr := platforms(env(nil))
	for name, want := range map[string]*bytes.Buffer{"github": stdout, "gitlab": stdout, "tekton": stdout, "cli": stderr, "buildkite": stdout, "circleci": stdout} {
		if got := ps[name].Writer(); got != want {
			t.Errorf("%s logs to the wrong stream", name)
		}
	}
}

func TestAnnotateOnlyOnGitHub(t *testing.T) {
	// Buildkite annotates with its agent, which is not on this PATH.
	for name, want := range map[string]string{"github": "::error title=keyless::boom\n", "gitlab": "", "tekton": "", "cli": "", "buildkite": "", "circleci": ""} {
		ps, stdout, stderr := platforms(env(nil))
		ps[name].Annotate("boom")
		if diff := cmp.Diff(want, stdout.String()+stderr.String()); diff != "" {
			t.Errorf("%s: Annotate output mismatch (-want +got):\n%s", name, diff)
		}
	}
}

func TestSecrets(t *testing.T) {
	ps, _, _ := platforms(env(adapterEnv))
	want := map[string][]string{"github": {"ght", "rt"}, "gitlab": {"jt", "rp", "st"}, "tekton": nil, "cli": {"st"}, "buildkite": {"bat"}, "circleci": {"cot", "cot2"}}
	for name, p := range ps {
		if diff := cmp.Diff(want[name], p.Secrets()); diff != "" {
			t.Errorf("%s: Secrets mismatch (-want +got):\n%s", name, diff)
		}
	}
}

func TestRegistryLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]Login
	}{
		{"GitLab registry user and password", adapterEnv, map[string]Login{
			"gitlab": {Username: "gitlab-ci-token", Password: "rp", Registries: []string{"registry.gitlab.example.com"}}}},
		{"GitLab job token", map[string]string{"CI_REGISTRY": "r.example", "CI_JOB_TOKEN": "jt"}, map[string]Login{
			"gitlab": {Username: "gitlab-ci-token", Password: "jt", Registries: []string{"r.example"}}}},
		{"no GitLab registry", map[string]string{"CI_JOB_TOKEN": "jt"}, map[string]Login{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, _, _ := platforms(env(tc.env))
			got := map[string]Login{}
			for name, p := range ps {
				if l, ok := p.RegistryLogin(); ok {
					got[name] = l
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("RegistryLogin mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenSource(t *testing.T) {
	ps, _, _ := platforms(env(map[string]string{"SIGSTORE_ID_TOKEN": "st"}))
	for _, name := range []string{"gitlab", "cli"} {
		src, err := ps[name].TokenSource(http.DefaultClient)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tok, err := src.Token(context.Background()); tok != "st" || err != nil {
			t.Errorf("%s: Token() = %q, %v; want SIGSTORE_ID_TOKEN", name, tok, err)
		}
	}
	// Tekton reads the projected token file, GitHub asks the runner: here
	// neither is there.
	if _, err := mustSource(t, ps["tekton"]).Token(context.Background()); err == nil || !strings.Contains(err.Error(), defaultTokenFile) {
		t.Errorf("tekton token error = %v, want one naming %s", err, defaultTokenFile)
	}
	if _, err := mustSource(t, ps["github"]).Token(context.Background()); err == nil || !strings.Contains(err.Error(), "ACTIONS_ID_TOKEN_REQUEST_URL") {
		t.Errorf("github token error = %v, want the missing permission", err)
	}

	ps, _, _ = platforms(env(nil))
	for name, want := range map[string]string{"gitlab": "id_tokens", "cli": "--identity-token-file",
		"buildkite": "buildkite-agent is not on PATH", "circleci": "no CIRCLE_OIDC_TOKEN_V2 and circleci is not on PATH"} {
		_, err := ps[name].TokenSource(http.DefaultClient)
		var bad interface{ BadInput() bool }
		if !errors.As(err, &bad) || !strings.Contains(err.Error(), "identity-token: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s without a token: %v, want an identity-token input error naming %s", name, err, want)
		}
	}
}

func mustSource(t *testing.T, p Platform) interface {
	Token(context.Context) (string, error)
} {
	t.Helper()
	src, err := p.TokenSource(http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestDestinations(t *testing.T) {
	for _, tc := range []struct {
		name, outputDir string
		summary         bool
		want            map[string][]string // platform → name=path (dir/)
	}{
		{"defaults", "", true, map[string][]string{
			"github":    {"GITHUB_OUTPUT=/gh/out", "GITHUB_STEP_SUMMARY=/gh/summary", "output-dir=/gh/ws/"},
			"gitlab":    {"output-dir=keyless/"},
			"tekton":    {"results=/tekton/r/"},
			"cli":       nil,
			"buildkite": {"buildkite-agent=buildkite-agent", "output-dir=keyless/"},
			"circleci":  {"output-dir=keyless/"},
		}},
		{"output-dir, no summary", "out", false, map[string][]string{
			"github":    {"GITHUB_OUTPUT=/gh/out", "output-dir=out/"},
			"gitlab":    {"output-dir=out/"},
			"tekton":    {"results=/tekton/r/", "output-dir=out/"},
			"cli":       {"output-dir=out/"},
			"buildkite": {"buildkite-agent=buildkite-agent", "output-dir=out/"},
			"circleci":  {"output-dir=out/"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, _, _ := platforms(env(adapterEnv))
			got := map[string][]string{}
			for name, p := range ps {
				got[name] = nil
				for _, d := range p.Destinations(tc.outputDir, tc.summary) {
					s := d.Name + "=" + d.Path
					if d.Dir {
						s += "/"
					}
					if d.Fix == "" {
						t.Errorf("%s: destination %s has no fix", name, d.Name)
					}
					got[name] = append(got[name], s)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Destinations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
