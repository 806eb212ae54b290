package ci

import (
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/input"
	"github.com/keyless-dev/keyless/internal/payload"
)

// TestProvenanceCIProviders covers the facts that change a Buildkite or
// CircleCI statement's shape, and the variables refused for contradicting
// the token. Each statement that is made passes the verify gate against
// what the token's claims certify.
func TestProvenanceCIProviders(t *testing.T) {
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
	bk := func(e Env) Builder { return NewBuildkite(e) }
	cc := func(e Env) Builder { return NewCircleCI(e) }
	tag := with(buildkiteClaimsFixture, map[string]any{"build_tag": "v1.0", "build_branch": "v1.0"})
	webhook := with(circleciClaimsFixture, map[string]any{"oidc.circleci.com/vcs-origin": nil, "oidc.circleci.com/vcs-ref": nil})
	for _, tc := range []struct {
		name   string
		make   func(Env) Builder
		env    map[string]string
		claims map[string]any
		path   []string
		want   any
		err    string
	}{
		{"buildkite tag", bk, setenv(buildkiteEnv, "BUILDKITE_BRANCH", "v1.0", "BUILDKITE_TAG", "v1.0"), tag,
			[]string{"buildDefinition", "resolvedDependencies"}, []any{map[string]any{"uri": "git+ssh://git@github.com/acme/app.git@refs/tags/v1.0", "digest": map[string]any{"gitCommit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485"}}}, ""},
		{"buildkite repository with a password", bk, setenv(buildkiteEnv, "BUILDKITE_REPO", "https://x:ghs_secret-token@github.com/acme/app.git"), buildkiteClaimsFixture,
			[]string{"buildDefinition", "resolvedDependencies"}, []any{map[string]any{"uri": "git+https://github.com/acme/app.git@refs/heads/main", "digest": map[string]any{"gitCommit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485"}}}, ""},
		{"buildkite branch overridden", bk, setenv(buildkiteEnv, "BUILDKITE_BRANCH", "release"), buildkiteClaimsFixture, nil, nil,
			`BUILDKITE_BRANCH="release" but the token's build_branch claim is "main"`},
		{"buildkite commit overridden", bk, setenv(buildkiteEnv, "BUILDKITE_COMMIT", "0000000000000000000000000000000000000000"), buildkiteClaimsFixture, nil, nil,
			`BUILDKITE_COMMIT="0000000000000000000000000000000000000000" but the token's build_commit claim`},
		{"buildkite tag variable in a branch build", bk, setenv(buildkiteEnv, "BUILDKITE_TAG", "v9"), buildkiteClaimsFixture, nil, nil, `BUILDKITE_TAG="v9"`},
		{"buildkite unresolved commit", bk, buildkiteEnv, with(buildkiteClaimsFixture, map[string]any{"build_commit": "HEAD"}), nil, nil, `build_commit claim "HEAD" is not a git commit id`},
		{"buildkite token without build_source", bk, buildkiteEnv, with(buildkiteClaimsFixture, map[string]any{"build_source": nil}), nil, nil, "Buildkite token has no build_source claim"},
		{"circleci custom webhook: no repository", cc, setenv(circleciEnvFixture, "CIRCLE_SHA1", "", "CIRCLE_BRANCH", ""), webhook,
			[]string{"buildDefinition"}, map[string]any{
				"buildType":          payload.CircleCIBuildType,
				"externalParameters": map[string]any{"project": "p-1", "pipelineDefinition": "d-1", "job": "sign"},
				"internalParameters": map[string]any{"circleci": map[string]any{"pipeline_id": "pl-1", "workflow_id": "w-1", "job_id": "j-1"}},
			}, ""},
		{"circleci tag", cc, setenv(circleciEnvFixture, "CIRCLE_BRANCH", "", "CIRCLE_TAG", "v1"), with(circleciClaimsFixture, map[string]any{"oidc.circleci.com/vcs-ref": "refs/tags/v1"}),
			[]string{"buildDefinition", "externalParameters", "ref"}, "refs/tags/v1", ""},
		{"circleci tag overridden", cc, setenv(circleciEnvFixture, "CIRCLE_BRANCH", "", "CIRCLE_TAG", "v2"), with(circleciClaimsFixture, map[string]any{"oidc.circleci.com/vcs-ref": "refs/tags/v1"}), nil, nil,
			`CIRCLE_TAG="v2" but the token's oidc.circleci.com/vcs-ref claim is "refs/tags/v1", which makes it "v1"`},
		{"circleci job overridden", cc, setenv(circleciEnvFixture, "CIRCLE_WORKFLOW_JOB_ID", "j-2"), circleciClaimsFixture, nil, nil, `CIRCLE_WORKFLOW_JOB_ID="j-2"`},
		{"circleci token without job-id", cc, circleciEnvFixture, with(circleciClaimsFixture, map[string]any{"oidc.circleci.com/job-id": nil}), nil, nil, "the token has no oidc.circleci.com/job-id claim"},
		{"circleci short commit", cc, setenv(circleciEnvFixture, "CIRCLE_SHA1", "9f31820"), circleciClaimsFixture, nil, nil, "CIRCLE_SHA1 is not a git commit id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := token(t, tc.claims)
			p, err := tc.make(Env{Getenv: env(tc.env)}).Provenance(tok)
			if tc.err != "" {
				if err == nil || !input.Is(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Provenance = %v, want an input error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			typ, pred := statement(t, p)
			if strings.Contains(string(pred), "secret-token") {
				t.Error("provenance holds a secret")
			}
			cert, err := tok.Certified()
			if err != nil {
				t.Fatal(err)
			}
			if err := payload.CheckPredicate(payload.ProvenanceType, typ, pred, cert); err != nil {
				t.Errorf("the gate refuses the statement: %v", err)
			}
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
