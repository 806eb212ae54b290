package stack

import (
	"context"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// GitHubActionEnv is the environment a GitHub runner gives a container
// action step, with this stack's runner token endpoint: the GITHUB_*
// context, INPUT_<NAME> for each input (hyphens kept), and GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY and GITHUB_WORKSPACE under work.
func (s *Stack) GitHubActionEnv(work string, inputs map[string]string) map[string]string {
	env := map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"CI":                             "true",
		"GITHUB_OUTPUT":                  work + "/github_output",
		"GITHUB_STEP_SUMMARY":            work + "/step_summary.md",
		"GITHUB_WORKSPACE":               work + "/workspace",
		"GITHUB_REPOSITORY":              "keyless-dev/demo",
		"GITHUB_REF":                     "refs/heads/main",
		"GITHUB_SHA":                     "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_WORKFLOW_REF":            "keyless-dev/demo/.github/workflows/release.yml@refs/heads/main",
		"GITHUB_EVENT_NAME":              "push",
		"GITHUB_RUN_ID":                  "42",
		"GITHUB_ACTOR":                   "octocat",
		"RUNNER_TEMP":                    "/home/runner/work/_temp",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   s.GitHubRunnerTokenURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": s.GitHubRunnerRequestToken,
	}
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	return env
}

// PushPlatformIndex pushes a two-platform image index (linux/amd64 and
// linux/arm64, random layers) and returns its digest reference.
func (s *Stack) PushPlatformIndex(ctx context.Context, repo, tag string) (string, error) {
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 1)
		if err != nil {
			return "", err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return s.push(ctx, repo, tag, idx)
}
