package ci

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ggcrname "github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/keyless-dev/keyless/internal/input"
	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// token is an unsigned identity token with claims: nothing here checks
// its signature.
func token(t *testing.T, claims map[string]any) *oidc.Token {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	tok, err := oidc.Parse(enc([]byte(`{"alg":"none"}`)) + "." + enc(b) + "." + enc([]byte("sig")))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// The tokens of the fixtures' runs: the claims hold the same facts as the
// platform's variables.
var (
	githubClaims = map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "aud": "sigstore", "sub": "repo:octo/app:ref:refs/tags/v1.2.0",
		"job_workflow_ref": "octo/shared/.github/workflows/build.yml@refs/tags/v3", "job_workflow_sha": "fedcba9876543210fedcba9876543210fedcba98",
		"repository": "octo/app", "repository_owner": "octo", "repository_id": "123", "repository_owner_id": "456",
		"workflow_ref": "octo/app/.github/workflows/release.yml@refs/tags/v1.2.0", "workflow_sha": "0123456789abcdef0123456789abcdef01234567",
		"ref": "refs/tags/v1.2.0", "sha": "0123456789abcdef0123456789abcdef01234567", "event_name": "push",
		"run_id": "789", "run_attempt": "2", "runner_environment": "github-hosted", "repository_visibility": "public", "workflow": "release",
	}
	gitlabClaims = map[string]any{
		"iss": "https://gitlab.com", "aud": "sigstore", "sub": "project_path:grp/app:ref_type:tag:ref:v1.0",
		"project_path": "grp/app", "namespace_path": "grp", "project_id": "11", "namespace_id": "22",
		"ref": "v1.0", "ref_type": "tag", "sha": "89abcdef0123456789abcdef0123456789abcdef",
		"ci_config_ref_uri": "gitlab.com/grp/app//.gitlab-ci.yml@refs/tags/v1.0", "ci_config_sha": "89abcdef0123456789abcdef0123456789abcdef",
		"pipeline_source": "push", "pipeline_id": "33", "job_id": "44", "runner_environment": "gitlab-hosted", "runner_id": 7,
		"project_visibility": "public",
	}
	tektonClaims = map[string]any{
		"iss": "https://kubernetes.default.svc", "aud": "sigstore", "sub": "system:serviceaccount:ci:signer",
		"kubernetes.io": map[string]any{"namespace": "ci", "serviceaccount": map[string]any{"name": "signer", "uid": "sa-uid"}},
	}
)

// githubEnv is a runner's environment for a tag push whose job calls a
// reusable workflow: job_workflow_ref (the signer) differs from
// GITHUB_WORKFLOW_REF.
var githubEnv = map[string]string{
	"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "octo/app",
	"GITHUB_WORKFLOW_REF": "octo/app/.github/workflows/release.yml@refs/tags/v1.2.0", "GITHUB_REF": "refs/tags/v1.2.0",
	"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_EVENT_NAME": "push",
	"GITHUB_REPOSITORY_ID": "123", "GITHUB_REPOSITORY_OWNER_ID": "456", "GITHUB_RUN_ID": "789", "GITHUB_RUN_ATTEMPT": "2",
	"RUNNER_ENVIRONMENT": "github-hosted", "GITHUB_TOKEN": "secret-token",
}

var githubSigner = oidc.Identity{Kind: oidc.GitHub, Issuer: "https://token.actions.githubusercontent.com",
	SAN: "https://github.com/octo/shared/.github/workflows/build.yml@refs/tags/v3"}

// githubPredicate is what @actions/attest writes for the same run.
const githubPredicate = `{
  "buildDefinition": {
    "buildType": "https://actions.github.io/buildtypes/workflow/v1",
    "externalParameters": {"workflow": {"ref": "refs/tags/v1.2.0", "repository": "https://github.com/octo/app", "path": ".github/workflows/release.yml"}},
    "internalParameters": {"github": {"event_name": "push", "repository_id": "123", "repository_owner_id": "456", "runner_environment": "github-hosted"}},
    "resolvedDependencies": [{"uri": "git+https://github.com/octo/app@refs/tags/v1.2.0", "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}}]
  },
  "runDetails": {
    "builder": {"id": "https://github.com/octo/shared/.github/workflows/build.yml@refs/tags/v3"},
    "metadata": {"invocationId": "https://github.com/octo/app/actions/runs/789/attempts/2"}
  }
}`

// githubCert is what Fulcio's github-workflow issuer certifies for the run.
var githubCert = certificate.Summary{SubjectAlternativeName: githubSigner.SAN, Extensions: certificate.Extensions{
	BuildSignerURI: githubSigner.SAN, BuildConfigURI: "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.0",
	RunnerEnvironment: "github-hosted", SourceRepositoryURI: "https://github.com/octo/app", SourceRepositoryDigest: "0123456789abcdef0123456789abcdef01234567",
	SourceRepositoryRef: "refs/tags/v1.2.0", SourceRepositoryIdentifier: "123", SourceRepositoryOwnerIdentifier: "456", BuildTrigger: "push",
	RunInvocationURI: "https://github.com/octo/app/actions/runs/789/attempts/2",
}}

var gitlabEnv = map[string]string{
	"GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.com/grp/app", "CI_COMMIT_REF_NAME": "v1.0", "CI_COMMIT_TAG": "v1.0",
	"CI_COMMIT_SHA": "89abcdef0123456789abcdef0123456789abcdef", "CI_CONFIG_PATH": ".gitlab-ci.yml", "CI_JOB_NAME": "sign",
	"CI_JOB_URL": "https://gitlab.com/grp/app/-/jobs/44", "CI_PIPELINE_SOURCE": "push", "CI_PROJECT_ID": "11",
	"CI_PROJECT_NAMESPACE_ID": "22", "CI_PIPELINE_ID": "33", "CI_JOB_ID": "44", "CI_JOB_STARTED_AT": "2025-01-02T04:04:05+01:00",
	"CI_JOB_TOKEN": "secret-token",
}

var gitlabSigner = oidc.Identity{Kind: oidc.GitLab, Issuer: "https://gitlab.com", SAN: "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/tags/v1.0"}

const gitlabPredicate = `{
  "buildDefinition": {
    "buildType": "https://github.com/keyless-dev/keyless/buildtypes/gitlab/v1",
    "externalParameters": {"source": "https://gitlab.com/grp/app", "ref": "refs/tags/v1.0", "configPath": ".gitlab-ci.yml", "entryPoint": "sign"},
    "internalParameters": {"gitlab": {"pipeline_source": "push", "project_id": "11", "namespace_id": "22", "pipeline_id": "33", "job_id": "44"}},
    "resolvedDependencies": [{"uri": "git+https://gitlab.com/grp/app@refs/tags/v1.0", "digest": {"gitCommit": "89abcdef0123456789abcdef0123456789abcdef"}}]
  },
  "runDetails": {
    "builder": {"id": "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/tags/v1.0"},
    "metadata": {"invocationId": "https://gitlab.com/grp/app/-/jobs/44", "startedOn": "2025-01-02T03:04:05Z"}
  }
}`

var gitlabCert = certificate.Summary{SubjectAlternativeName: gitlabSigner.SAN, Extensions: certificate.Extensions{
	BuildSignerURI: gitlabSigner.SAN, BuildConfigURI: gitlabSigner.SAN, RunnerEnvironment: "gitlab-hosted",
	SourceRepositoryURI: "https://gitlab.com/grp/app", SourceRepositoryDigest: "89abcdef0123456789abcdef0123456789abcdef",
	SourceRepositoryRef: "refs/tags/v1.0", SourceRepositoryIdentifier: "11", SourceRepositoryOwnerIdentifier: "22",
	BuildTrigger: "push", RunInvocationURI: "https://gitlab.com/grp/app/-/jobs/44",
}}

var tektonEnv = map[string]string{
	"KEYLESS_RESULTS_DIR": "/tekton/results", "KEYLESS_TASKRUN_NAME": "build-x7k-sign", "KEYLESS_TASKRUN_NAMESPACE": "ci",
	"KEYLESS_TASKRUN_UID": "0b5d…-uid-1", "KEYLESS_PIPELINERUN_NAME": "build-x7k", "KEYLESS_PIPELINERUN_UID": "uid-2",
	"KEYLESS_SOURCE_URL": "https://github.com/octo/app.git", "KEYLESS_SOURCE_COMMIT": "0123456789abcdef0123456789abcdef01234567",
}

var tektonSigner = oidc.Identity{Kind: oidc.Kubernetes, Issuer: "https://kubernetes.default.svc", SAN: "https://kubernetes.io/namespaces/ci/serviceaccounts/signer"}

const tektonPredicate = `{
  "buildDefinition": {
    "buildType": "https://github.com/keyless-dev/keyless/buildtypes/tekton/v1",
    "externalParameters": {"namespace": "ci", "taskRun": "build-x7k-sign", "pipelineRun": "build-x7k"},
    "internalParameters": {"tekton": {"taskrun_uid": "0b5d…-uid-1", "pipelinerun_uid": "uid-2"}},
    "resolvedDependencies": [{"uri": "git+https://github.com/octo/app.git", "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}, "name": "source"}]
  },
  "runDetails": {
    "builder": {"id": "https://kubernetes.io/namespaces/ci/serviceaccounts/signer"},
    "metadata": {"invocationId": "0b5d…-uid-1"}
  }
}`

var tektonCert = certificate.Summary{SubjectAlternativeName: tektonSigner.SAN}

// A Buildkite job of build 1234567, whose number Fulcio writes in float
// notation; BUILDKITE_COMMIT is still HEAD, as before the checkout.
var (
	buildkiteClaimsFixture = map[string]any{
		"iss": "https://agent.buildkite.com", "aud": "sigstore", "sub": "organization:acme:pipeline:app:ref:refs/heads/main:commit:9f3182061f1e2cca4702c368cbc039b7dc9d4485:step:sign",
		"organization_slug": "acme", "pipeline_slug": "app", "build_number": 1234567, "build_branch": "main", "build_tag": nil,
		"build_commit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485", "step_key": "sign", "job_id": "job-1", "agent_id": "agent-1",
		"build_source": "webhook", "runner_environment": "buildkite-hosted",
	}
	buildkiteEnv = map[string]string{
		"BUILDKITE": "true", "BUILDKITE_ORGANIZATION_SLUG": "acme", "BUILDKITE_PIPELINE_SLUG": "app", "BUILDKITE_BUILD_NUMBER": "1234567",
		"BUILDKITE_JOB_ID": "job-1", "BUILDKITE_BRANCH": "main", "BUILDKITE_COMMIT": "HEAD", "BUILDKITE_STEP_KEY": "sign", "BUILDKITE_AGENT_ID": "agent-1",
		"BUILDKITE_SOURCE": "webhook", "BUILDKITE_REPO": "git@github.com:acme/app.git", "BUILDKITE_AGENT_ACCESS_TOKEN": "secret-token",
	}
	buildkiteSigner = oidc.Identity{Kind: oidc.Buildkite, Issuer: "https://agent.buildkite.com", SAN: "https://buildkite.com/acme/app"}
	buildkiteCert   = certificate.Summary{SubjectAlternativeName: buildkiteSigner.SAN, Extensions: certificate.Extensions{
		RunInvocationURI: "https://buildkite.com/acme/app/builds/1.234567e+06#job-1", RunnerEnvironment: "buildkite-hosted",
		SourceRepositoryDigest: "9f3182061f1e2cca4702c368cbc039b7dc9d4485", BuildTrigger: "webhook",
	}}
)

const buildkitePredicate = `{
  "buildDefinition": {
    "buildType": "https://github.com/keyless-dev/keyless/buildtypes/buildkite/v1",
    "externalParameters": {"organization": "acme", "pipeline": "app", "branch": "main", "step": "sign"},
    "internalParameters": {"buildkite": {"build_number": "1234567", "job_id": "job-1", "agent_id": "agent-1", "build_source": "webhook", "runner_environment": "buildkite-hosted"}},
    "resolvedDependencies": [{"uri": "git+ssh://git@github.com/acme/app.git@refs/heads/main", "digest": {"gitCommit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485"}}]
  },
  "runDetails": {
    "builder": {"id": "https://buildkite.com/acme/app"},
    "metadata": {"invocationId": "https://buildkite.com/acme/app/builds/1.234567e+06#job-1"}
  }
}`

// A CircleCI job of a branch pipeline.
var (
	circleciClaimsFixture = map[string]any{
		"iss": "https://oidc.circleci.com/org/o-1", "aud": "sigstore", "sub": "org/o-1/project/p-1/user/u-1",
		"oidc.circleci.com/project-id": "p-1", "oidc.circleci.com/pipeline-definition-id": "d-1", "oidc.circleci.com/pipeline-id": "pl-1",
		"oidc.circleci.com/workflow-id": "w-1", "oidc.circleci.com/job-id": "j-1", "oidc.circleci.com/vcs-origin": "github.com/acme/app",
		"oidc.circleci.com/vcs-ref": "refs/heads/main", "oidc.circleci.com/ssh-rerun": false,
	}
	circleciEnvFixture = map[string]string{
		"CIRCLECI": "true", "CIRCLE_JOB": "sign", "CIRCLE_SHA1": "9f3182061f1e2cca4702c368cbc039b7dc9d4485", "CIRCLE_PIPELINE_ID": "pl-1",
		"CIRCLE_WORKFLOW_ID": "w-1", "CIRCLE_WORKFLOW_JOB_ID": "j-1", "CIRCLE_BRANCH": "main", "CIRCLE_OIDC_TOKEN": "secret-token",
	}
	circleciSigner = oidc.Identity{Kind: oidc.CircleCI, Issuer: "https://oidc.circleci.com/org/o-1", SAN: "https://circleci.com/api/v2/projects/p-1/pipeline-definitions/d-1"}
	circleciCert   = certificate.Summary{SubjectAlternativeName: circleciSigner.SAN, Extensions: certificate.Extensions{
		BuildSignerURI: circleciSigner.SAN, BuildConfigURI: "https://circleci.com/api/v2/pipeline/pl-1/config",
		RunInvocationURI: "https://app.circleci.com//workflow/w-1/job/j-1", RunnerEnvironment: `""`,
		SourceRepositoryURI: "github.com/acme/app", SourceRepositoryRef: "refs/heads/main",
	}}
)

const circleciPredicate = `{
  "buildDefinition": {
    "buildType": "https://github.com/keyless-dev/keyless/buildtypes/circleci/v1",
    "externalParameters": {"project": "p-1", "pipelineDefinition": "d-1", "ref": "refs/heads/main", "job": "sign"},
    "internalParameters": {"circleci": {"pipeline_id": "pl-1", "workflow_id": "w-1", "job_id": "j-1"}},
    "resolvedDependencies": [{"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"gitCommit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485"}}]
  },
  "runDetails": {
    "builder": {"id": "https://circleci.com/api/v2/projects/p-1/pipeline-definitions/d-1"},
    "metadata": {"invocationId": "https://app.circleci.com//workflow/w-1/job/j-1"}
  }
}`

// fixtures are each platform's environment, token claims, provenance and
// certificate, for one run, and the variables that no claim holds.
var fixtures = []struct {
	name      string
	make      func(Env) Builder
	env       map[string]string
	claims    map[string]any
	predicate string
	cert      certificate.Summary
	required  []string
}{
	{"github", func(e Env) Builder { return NewGitHub(e) }, githubEnv, githubClaims, githubPredicate, githubCert, nil},
	{"gitlab", func(e Env) Builder { return NewGitLab(e) }, gitlabEnv, gitlabClaims, gitlabPredicate, gitlabCert, gitlabFacts},
	{"tekton", func(e Env) Builder { return NewTekton(e) }, tektonEnv, tektonClaims, tektonPredicate, tektonCert, tektonFacts},
	{"buildkite", func(e Env) Builder { return NewBuildkite(e) }, buildkiteEnv, buildkiteClaimsFixture, buildkitePredicate, buildkiteCert, []string{"BUILDKITE_REPO"}},
	{"circleci", func(e Env) Builder { return NewCircleCI(e) }, circleciEnvFixture, circleciClaimsFixture, circleciPredicate, circleciCert, []string{"CIRCLE_JOB", "CIRCLE_SHA1"}},
}

// with returns base with the claims in kv set, or removed where nil.
func with(base map[string]any, kv map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range kv {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// statement states p about a digest and returns its predicate type and
// predicate, as a verifier reads them back.
func statement(t *testing.T, p payload.Provenance) (string, json.RawMessage) {
	t.Helper()
	d, err := ggcrname.NewDigest("registry.example.com/app@sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Statement(d)
	if err != nil {
		t.Fatalf("Statement: %v", err)
	}
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("statement: %v", err)
	}
	return st.PredicateType, st.Predicate
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// TestProvenance: each platform states exactly the fixture's provenance
// (for GitHub, field for field what actions/attest writes), which passes
// the verify gate's check against the certificate Fulcio issues for the
// same run, and against what the token's claims make of it, and holds
// none of the job's secrets.
func TestProvenance(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			tok := token(t, f.claims)
			p, err := f.make(Env{Getenv: env(f.env)}).Provenance(tok)
			if err != nil {
				t.Fatalf("Provenance: %v", err)
			}
			typ, pred := statement(t, p)
			if diff := cmp.Diff(jsonValue(t, []byte(f.predicate)), jsonValue(t, pred)); diff != "" {
				t.Errorf("predicate mismatch (-want +got):\n%s", diff)
			}
			if err := payload.CheckPredicate(payload.ProvenanceType, typ, pred, f.cert); err != nil {
				t.Errorf("the verify gate refuses the platform's own provenance: %v", err)
			}
			cert, err := tok.Certified()
			if err != nil {
				t.Fatal(err)
			}
			if err := payload.CheckPredicate(payload.ProvenanceType, typ, pred, cert); err != nil {
				t.Errorf("the provenance disagrees with what the token's claims certify: %v", err)
			}
			if strings.Contains(string(pred), "secret-token") {
				t.Error("provenance holds a secret")
			}
		})
	}
}

// TestProvenanceMissing: every fact the platform sets and no claim holds
// is required, and its absence is an input error naming the variable.
func TestProvenanceMissing(t *testing.T) {
	for _, f := range fixtures {
		for _, v := range f.required {
			t.Run(f.name+"/"+v, func(t *testing.T) {
				e := maps.Clone(f.env)
				delete(e, v)
				_, err := f.make(Env{Getenv: env(e)}).Provenance(token(t, f.claims))
				if err == nil || !input.Is(err) || !strings.Contains(err.Error(), v+" is not set") {
					t.Errorf("Provenance = %v, want an input error naming %s", err, v)
				}
			})
		}
	}
}

// TestProvenanceOtherSigner: a token of another kind than the platform's
// cannot assert its build, and is refused before anything is signed.
func TestProvenanceOtherSigner(t *testing.T) {
	other := token(t, map[string]any{"iss": "https://accounts.example.com", "aud": "sigstore", "email": "someone@example.com"})
	for _, f := range fixtures {
		_, err := f.make(Env{Getenv: env(f.env)}).Provenance(other)
		if err == nil || !input.Is(err) || !strings.Contains(err.Error(), `kind "generic"`) {
			t.Errorf("%s: Provenance = %v, want an input error on the signer", f.name, err)
		}
	}
}

func TestProvenanceCLIRefused(t *testing.T) {
	_, err := NewCLI(Env{Getenv: env(githubEnv)}).Provenance(token(t, githubClaims))
	var ie *input.Error
	if !errors.As(err, &ie) || ie.Input != "provenance" || !strings.Contains(err.Error(), "--predicate-type https://slsa.dev/provenance/v1 --predicate <file>") {
		t.Errorf("CLI Provenance = %v, want an input error pointing at a custom predicate", err)
	}
}

// TestProvenanceVariants covers the facts that change the statement's
// shape: branches, tags with @, no PipelineRun, no source, bad params.
func TestProvenanceVariants(t *testing.T) {
	setenv := func(base map[string]string, kv ...string) map[string]string {
		e := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(e, kv[i])
			} else {
				e[kv[i]] = kv[i+1]
			}
		}
		return e
	}
	gitlabBranch := map[string]any{"ref": "main", "ref_type": "branch", "ci_config_ref_uri": "gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main"}
	for _, tc := range []struct {
		name   string
		make   func(Env) Builder
		env    map[string]string
		claims map[string]any
		path   []string // into the predicate
		want   any
		err    string
	}{
		{"github tag with @", func(e Env) Builder { return NewGitHub(e) },
			setenv(githubEnv, "GITHUB_WORKFLOW_REF", "", "GITHUB_REF", ""),
			with(githubClaims, map[string]any{"workflow_ref": "octo/app/.github/workflows/release.yml@refs/tags/pkg@1.0", "ref": "refs/tags/pkg@1.0"}),
			[]string{"buildDefinition", "externalParameters", "workflow", "ref"}, "refs/tags/pkg@1.0", ""},
		{"github self-hosted runner", func(e Env) Builder { return NewGitHub(e) },
			setenv(githubEnv, "RUNNER_ENVIRONMENT", ""), with(githubClaims, map[string]any{"runner_environment": "self-hosted"}),
			[]string{"buildDefinition", "internalParameters", "github"}, map[string]any{"event_name": "push", "repository_id": "123", "repository_owner_id": "456", "runner_environment": "self-hosted"}, ""},
		{"github workflow ref of another repository", func(e Env) Builder { return NewGitHub(e) },
			setenv(githubEnv, "GITHUB_WORKFLOW_REF", ""), with(githubClaims, map[string]any{"workflow_ref": "octo/app/release.yml"}), nil, nil, "workflow_ref claim"},
		{"github token without a sha claim", func(e Env) Builder { return NewGitHub(e) },
			githubEnv, with(githubClaims, map[string]any{"sha": nil}), nil, nil, "GitHub token has no sha claim"},
		{"gitlab branch", func(e Env) Builder { return NewGitLab(e) },
			setenv(gitlabEnv, "CI_COMMIT_TAG", "", "CI_COMMIT_REF_NAME", "main"), with(gitlabClaims, gitlabBranch),
			[]string{"buildDefinition", "resolvedDependencies"}, []any{map[string]any{"uri": "git+https://gitlab.com/grp/app@refs/heads/main", "digest": map[string]any{"gitCommit": "89abcdef0123456789abcdef0123456789abcdef"}}}, ""},
		{"gitlab tag variable in a branch pipeline", func(e Env) Builder { return NewGitLab(e) },
			setenv(gitlabEnv, "CI_COMMIT_REF_NAME", "main"), with(gitlabClaims, gitlabBranch), nil, nil,
			`CI_COMMIT_TAG="v1.0" but the token's ref_type claim is "branch"`},
		{"gitlab configuration of another project", func(e Env) Builder { return NewGitLab(e) },
			setenv(gitlabEnv, "CI_CONFIG_PATH", ""), with(gitlabClaims, map[string]any{"ci_config_ref_uri": "gitlab.com/grp/ci//sign.yml@refs/tags/v1.0"}), nil, nil,
			`ci_config_ref_uri claim "gitlab.com/grp/ci//sign.yml@refs/tags/v1.0" names a CI configuration outside https://gitlab.com/grp/app`},
		{"gitlab without start time", func(e Env) Builder { return NewGitLab(e) },
			setenv(gitlabEnv, "CI_JOB_STARTED_AT", ""), gitlabClaims,
			[]string{"runDetails", "metadata"}, map[string]any{"invocationId": "https://gitlab.com/grp/app/-/jobs/44"}, ""},
		{"gitlab bad start time", func(e Env) Builder { return NewGitLab(e) },
			setenv(gitlabEnv, "CI_JOB_STARTED_AT", "yesterday"), gitlabClaims, nil, nil, "CI_JOB_STARTED_AT"},
		{"tekton TaskRun alone, no source", func(e Env) Builder { return NewTekton(e) },
			setenv(tektonEnv, "KEYLESS_PIPELINERUN_NAME", "", "KEYLESS_PIPELINERUN_UID", "", "KEYLESS_SOURCE_URL", "", "KEYLESS_SOURCE_COMMIT", ""), tektonClaims,
			[]string{"buildDefinition"}, map[string]any{
				"buildType":          payload.TektonBuildType,
				"externalParameters": map[string]any{"namespace": "ci", "taskRun": "build-x7k-sign"},
				"internalParameters": map[string]any{"tekton": map[string]any{"taskrun_uid": "0b5d…-uid-1"}},
			}, ""},
		{"tekton source without commit", func(e Env) Builder { return NewTekton(e) },
			setenv(tektonEnv, "KEYLESS_SOURCE_COMMIT", ""), tektonClaims, nil, nil, "source-url and source-commit go together"},
		{"tekton relative source", func(e Env) Builder { return NewTekton(e) },
			setenv(tektonEnv, "KEYLESS_SOURCE_URL", "octo/app"), tektonClaims, nil, nil, `source-url: "octo/app" is not an absolute URL`},
		{"tekton short commit", func(e Env) Builder { return NewTekton(e) },
			setenv(tektonEnv, "KEYLESS_SOURCE_COMMIT", "0123abc"), tektonClaims, nil, nil, `source-commit: "0123abc" is not a git commit id`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.make(Env{Getenv: env(tc.env)}).Provenance(token(t, tc.claims))
			if tc.err != "" {
				if err == nil || !input.Is(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Provenance = %v, want an input error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, pred := statement(t, p)
			got := jsonValue(t, pred)
			for _, k := range tc.path {
				got = got.(map[string]any)[k]
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", strings.Join(tc.path, "."), diff)
			}
		})
	}
}

// TestProvenanceHostile: values with newlines, quotes and workflow
// commands stay values: the statement is valid JSON holding them exactly,
// and the check agrees with a certificate that holds the same.
func TestProvenanceHostile(t *testing.T) {
	ref := "refs/heads/x\n::set-output name=verified::true\n\"}, {\"uri\": \"evil"
	claims := with(githubClaims, map[string]any{"ref": ref, "workflow_ref": "octo/app/.github/workflows/release.yml@" + ref, "event_name": "push\r\n"})
	e := maps.Clone(githubEnv)
	e["GITHUB_REF"], e["GITHUB_WORKFLOW_REF"], e["GITHUB_EVENT_NAME"] = claims["ref"].(string), claims["workflow_ref"].(string), "push\r\n"
	p, err := NewGitHub(Env{Getenv: env(e)}).Provenance(token(t, claims))
	if err != nil {
		t.Fatal(err)
	}
	typ, pred := statement(t, p)
	var back payload.Provenance
	back.BuildDefinition.ExternalParameters = &payload.GitHubParameters{}
	if err := json.Unmarshal(pred, &back); err != nil {
		t.Fatal(err)
	}
	if got := back.BuildDefinition.ExternalParameters.(*payload.GitHubParameters).Workflow.Ref; got != ref {
		t.Errorf("ref round-trips as %q, want %q", got, ref)
	}
	if n := len(back.BuildDefinition.ResolvedDependencies); n != 1 {
		t.Errorf("%d resolved dependencies, want 1", n)
	}
	cert := githubCert
	cert.SourceRepositoryRef, cert.BuildTrigger = ref, "push\r\n"
	cert.BuildConfigURI = "https://github.com/octo/app/.github/workflows/release.yml@" + ref
	if err := payload.CheckPredicate(payload.ProvenanceType, typ, pred, cert); err != nil {
		t.Errorf("CheckPredicate: %v", err)
	}
}
