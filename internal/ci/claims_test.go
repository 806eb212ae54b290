package ci

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/input"
	"github.com/keyless-dev/keyless/internal/oidc"
)

// fixture returns the named platform's builder, a copy of its
// environment and its token.
func fixture(t *testing.T, name string) (build func(Env) Builder, env map[string]string, tok *oidc.Token) {
	t.Helper()
	for _, f := range fixtures {
		if f.name == name {
			return f.make, maps.Clone(f.env), token(t, f.claims)
		}
	}
	t.Fatalf("no fixture %s", name)
	return nil, nil, nil
}

// TestProvenanceOverridden: a platform variable that a step's env: or a
// pipeline variable set to something other than what the token's claim
// says (and the certificate certifies) is refused as bad input, naming
// the variable and the claim; it never reaches the provenance.
func TestProvenanceOverridden(t *testing.T) {
	for _, tc := range []struct {
		platform, variable, value string
		want                      string
	}{
		{"github", "GITHUB_SHA", strings.Repeat("2", 40), `GITHUB_SHA="2222222222222222222222222222222222222222" but the token's sha claim is "0123456789abcdef0123456789abcdef01234567"`},
		{"github", "GITHUB_REF", "refs/heads/main", `GITHUB_REF="refs/heads/main" but the token's ref claim is "refs/tags/v1.2.0"`},
		{"github", "GITHUB_REPOSITORY", "octo/other", `GITHUB_REPOSITORY="octo/other" but the token's repository claim is "octo/app"`},
		{"github", "GITHUB_WORKFLOW_REF", "octo/app/.github/workflows/other.yml@refs/tags/v1.2.0", `GITHUB_WORKFLOW_REF="octo/app/.github/workflows/other.yml@refs/tags/v1.2.0" but the token's workflow_ref claim is`},
		{"github", "GITHUB_EVENT_NAME", "workflow_dispatch", `GITHUB_EVENT_NAME="workflow_dispatch" but the token's event_name claim is "push"`},
		{"github", "GITHUB_REPOSITORY_ID", "999", `GITHUB_REPOSITORY_ID="999" but the token's repository_id claim is "123"`},
		{"github", "GITHUB_REPOSITORY_OWNER_ID", "999", `GITHUB_REPOSITORY_OWNER_ID="999" but the token's repository_owner_id claim is "456"`},
		{"github", "GITHUB_RUN_ID", "1", `GITHUB_RUN_ID="1" but the token's run_id claim is "789"`},
		{"github", "GITHUB_RUN_ATTEMPT", "1", `GITHUB_RUN_ATTEMPT="1" but the token's run_attempt claim is "2"`},
		{"github", "RUNNER_ENVIRONMENT", "self-hosted", `RUNNER_ENVIRONMENT="self-hosted" but the token's runner_environment claim is "github-hosted"`},
		{"github", "GITHUB_SERVER_URL", "https://ghe.example.com", `GITHUB_SERVER_URL="https://ghe.example.com" but Fulcio certifies GitHub repositories under "https://github.com"`},
		{"gitlab", "CI_COMMIT_SHA", strings.Repeat("2", 40), `CI_COMMIT_SHA="2222222222222222222222222222222222222222" but the token's sha claim is "89abcdef0123456789abcdef0123456789abcdef"`},
		{"gitlab", "CI_COMMIT_REF_NAME", "main", `CI_COMMIT_REF_NAME="main" but the token's ref claim is "v1.0"`},
		{"gitlab", "CI_COMMIT_TAG", "v2.0", `CI_COMMIT_TAG="v2.0" but the token's ref claim is "v1.0"`},
		{"gitlab", "CI_PROJECT_URL", "https://gitlab.com/grp/other", `CI_PROJECT_URL="https://gitlab.com/grp/other" but the token's project_path claim is "grp/app", which makes it "https://gitlab.com/grp/app"`},
		{"gitlab", "CI_CONFIG_PATH", "other.yml", `CI_CONFIG_PATH="other.yml" but the token's ci_config_ref_uri claim is "gitlab.com/grp/app//.gitlab-ci.yml@refs/tags/v1.0", which makes it ".gitlab-ci.yml"`},
		{"gitlab", "CI_JOB_URL", "https://gitlab.com/grp/app/-/jobs/1", `CI_JOB_URL="https://gitlab.com/grp/app/-/jobs/1" but the token's job_id claim is "44", which makes it "https://gitlab.com/grp/app/-/jobs/44"`},
		{"gitlab", "CI_PIPELINE_SOURCE", "web", `CI_PIPELINE_SOURCE="web" but the token's pipeline_source claim is "push"`},
		{"gitlab", "CI_PROJECT_ID", "1", `CI_PROJECT_ID="1" but the token's project_id claim is "11"`},
		{"gitlab", "CI_PROJECT_NAMESPACE_ID", "1", `CI_PROJECT_NAMESPACE_ID="1" but the token's namespace_id claim is "22"`},
		{"gitlab", "CI_PIPELINE_ID", "1", `CI_PIPELINE_ID="1" but the token's pipeline_id claim is "33"`},
		{"gitlab", "CI_JOB_ID", "1", `CI_JOB_ID="1" but the token's job_id claim is "44"`},
		{"tekton", "KEYLESS_TASKRUN_NAMESPACE", "prod", `KEYLESS_TASKRUN_NAMESPACE="prod" but the token's kubernetes.io namespace claim is "ci"`},
	} {
		t.Run(tc.variable, func(t *testing.T) {
			build, e, tok := fixture(t, tc.platform)
			e[tc.variable] = tc.value
			p, err := build(Env{Getenv: env(e)}).Provenance(tok)
			var ie *input.Error
			if !errors.As(err, &ie) || ie.Input != "provenance" || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "remove the override") {
				t.Fatalf("Provenance = %v (provenance %+v), want an input error on provenance with %q", err, p, tc.want)
			}
		})
	}
}

// TestProvenanceOverriddenAll: every variable that contradicts its claim
// is named at once, not only the first checked.
func TestProvenanceOverriddenAll(t *testing.T) {
	build, e, tok := fixture(t, "github")
	e["GITHUB_SHA"], e["GITHUB_REF"] = strings.Repeat("2", 40), "refs/heads/evil"
	_, err := build(Env{Getenv: env(e)}).Provenance(tok)
	for _, v := range []string{"GITHUB_SHA=", "GITHUB_REF="} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("Provenance = %v, want it to name %s", err, v)
		}
	}
}

// TestProvenanceFromClaims: the facts the certificate certifies come from
// the token, so a job whose variables are unset states the same
// provenance as one whose variables agree with the token.
func TestProvenanceFromClaims(t *testing.T) {
	for _, tc := range []struct {
		platform string
		unset    []string
	}{
		{"github", []string{"GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_WORKFLOW_REF", "GITHUB_REF", "GITHUB_SHA", "GITHUB_EVENT_NAME",
			"GITHUB_REPOSITORY_ID", "GITHUB_REPOSITORY_OWNER_ID", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "RUNNER_ENVIRONMENT"}},
		{"gitlab", []string{"CI_PROJECT_URL", "CI_COMMIT_REF_NAME", "CI_COMMIT_TAG", "CI_COMMIT_SHA", "CI_CONFIG_PATH", "CI_JOB_URL",
			"CI_PIPELINE_SOURCE", "CI_PROJECT_ID", "CI_PROJECT_NAMESPACE_ID", "CI_PIPELINE_ID", "CI_JOB_ID"}},
		{"tekton", []string{"KEYLESS_TASKRUN_NAMESPACE"}},
	} {
		t.Run(tc.platform, func(t *testing.T) {
			build, e, tok := fixture(t, tc.platform)
			want, err := build(Env{Getenv: env(e)}).Provenance(tok)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tc.unset {
				delete(e, v)
			}
			got, err := build(Env{Getenv: env(e)}).Provenance(tok)
			if err != nil {
				t.Fatalf("Provenance without the variables: %v", err)
			}
			_, wantPred := statement(t, want)
			_, gotPred := statement(t, got)
			if diff := cmp.Diff(jsonValue(t, wantPred), jsonValue(t, gotPred)); diff != "" {
				t.Errorf("provenance without the variables differs (-want +got):\n%s", diff)
			}
		})
	}
}
