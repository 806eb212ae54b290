package ci

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// GitHub is a GitHub Actions container action step.
type GitHub struct {
	getenv func(string) string
	out    io.Writer
	mu     sync.Mutex // one workflow command at a time on out
}

var _ Platform = (*GitHub)(nil)

var githubAdapter = adapter{
	name:   "github",
	detect: func(getenv func(string) string) bool { return getenv("GITHUB_ACTIONS") == "true" },
	make:   func(e Env) Platform { return NewGitHub(e) },
}

// NewGitHub returns the GitHub Actions adapter.
func NewGitHub(e Env) *GitHub {
	return &GitHub{getenv: e.Getenv, out: e.Stdout}
}

// Input reads INPUT_<NAME>, with hyphens kept as the runner sets them.
func (g *GitHub) Input(name string) string {
	return strings.TrimSpace(g.getenv(g.Source(name)))
}

// Source is INPUT_<NAME>, as the runner sets it from the step's with:.
func (g *GitHub) Source(name string) string { return "INPUT_" + strings.ToUpper(name) }

// Writer is standard output: the runner logs it and reads its workflow
// commands.
func (g *GitHub) Writer() io.Writer { return g.out }

// command issues workflow commands, escaped as the runner unescapes them
// (%25, %0D, %0A). A failed write to the log is not the run's failure.
func (g *GitHub) command(issue func(*githubactions.Action)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer func() { _ = recover() }() // go-githubactions panics when a write fails
	issue(githubactions.New(githubactions.WithWriter(g.out), githubactions.WithGetenv(g.getenv)))
}

// Mask tells the runner to hide secret in the log, line by line: the
// runner masks within a line.
func (g *GitHub) Mask(secret string) {
	g.command(func(a *githubactions.Action) {
		for _, line := range strings.Split(secret, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				a.AddMask(line)
			}
		}
	})
}

// Section starts a ::group::.
func (g *GitHub) Section(title string) func() {
	g.command(func(a *githubactions.Action) { a.Group(OneLine(title)) })
	return func() { g.command(func(a *githubactions.Action) { a.EndGroup() }) }
}

// Annotate writes an ::error:: annotation titled keyless.
func (g *GitHub) Annotate(msg string) {
	g.command(func(a *githubactions.Action) {
		a.WithFieldsMap(map[string]string{"title": "keyless"}).Errorf("%s", msg)
	})
}

// Secrets are the job's GitHub token and the runner's request tokens.
func (g *GitHub) Secrets() []string {
	return envSecrets(g.getenv, "GITHUB_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_RUNTIME_TOKEN")
}

// TokenSource asks the runner for a token (permissions: id-token: write).
func (g *GitHub) TokenSource(client *http.Client) (oidc.SourceFunc, error) {
	return oidc.GitHubActions(g.getenv, client), nil
}

// RegistryLogin is none: the GITHUB_TOKEN login to ghcr.io applies to
// every platform (registry.Auth).
func (g *GitHub) RegistryLogin() (Login, bool) { return Login{}, false }

// summaryLimit is the most a step summary may hold: the runner refuses to
// upload a larger one, and shows nothing.
const summaryLimit = 1 << 20

// dir is where the report and policies go: output-dir, else the workspace.
func (g *GitHub) dir(outputDir string) (dir, workspace string) {
	workspace = g.getenv("GITHUB_WORKSPACE")
	if workspace == "" {
		workspace = "."
	}
	if outputDir == "" {
		return workspace, workspace
	}
	return outputDir, workspace
}

// githubFix is what a GitHub step whose files cannot be written must change.
const githubFix = "GitHub container actions must run as root: the runner mounts its files owned by its own user (run the image as root, without USER, or with options: --user root)"

// Destinations are GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and the directory
// of the report.
func (g *GitHub) Destinations(outputDir string, summary bool) []Destination {
	dir, _ := g.dir(outputDir)
	var out []Destination
	if f := g.getenv("GITHUB_OUTPUT"); f != "" {
		out = append(out, Destination{Name: "GITHUB_OUTPUT", Path: f, Fix: githubFix})
	}
	if f := g.getenv("GITHUB_STEP_SUMMARY"); f != "" && summary {
		out = append(out, Destination{Name: "GITHUB_STEP_SUMMARY", Path: f, Fix: githubFix})
	}
	fix := githubFix
	if outputDir != "" {
		fix = "give an output-dir in the workspace; " + githubFix
	}
	return append(out, Destination{Name: "output-dir", Path: dir, Dir: true, Fix: fix})
}

// Publish writes outputs to GITHUB_OUTPUT, the summary to
// GITHUB_STEP_SUMMARY and the JSON report into the workspace.
func (g *GitHub) Publish(a Artifacts) error {
	outputs := append([][2]string{}, a.Outputs...)
	outputs = append(outputs, [2]string{"result", string(a.Report)})
	dir, workspace := g.dir(a.OutputDir)
	files := map[string][]byte{}
	if len(a.Report) > 0 {
		files["report.json"] = a.Report
	}
	maps.Copy(files, a.Files)
	paths, err := writeFiles(dir, "keyless-", files)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(paths)) {
		output := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".yaml")
		outputs = append(outputs, [2]string{output, workspacePath(workspace, paths[name])})
	}
	if f := g.getenv("GITHUB_OUTPUT"); f != "" {
		outputs, note := fit(outputs, githubOutputLimit, func(o [][2]string) int { return len(githubOutputs(o)) }, workspacePath(workspace, paths["report.json"]))
		if note != "" {
			fmt.Fprintf(g.out, "::warning title=keyless::%s\n", note)
		}
		if err := appendFile(f, githubOutputs(outputs)); err != nil {
			return fmt.Errorf("writing GITHUB_OUTPUT: %w", err)
		}
	}
	if f := g.getenv("GITHUB_STEP_SUMMARY"); f != "" && a.Summary != "" {
		if err := appendFile(f, truncate(a.Summary, summaryLimit, workspacePath(workspace, paths["report.json"]), "GitHub")); err != nil {
			return fmt.Errorf("writing GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	return nil
}

// truncate cuts a summary over platform's limit of bytes at a line, and
// says where the whole report is.
func truncate(summary string, limit int, report, platform string) string {
	if len(summary) <= limit {
		return summary
	}
	note := fmt.Sprintf("\n\n**The summary is cut here: it is %d bytes, over %s's %d-byte limit. The full report is %s.**\n", len(summary), platform, limit, report)
	cut := summary[:limit-len(note)]
	if i := strings.LastIndex(cut, "\n"); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}

// githubOutputLimit is the most bytes of outputs keyless writes: GitHub
// allows 1 MiB of outputs per job, and other steps of the job need some.
const githubOutputLimit = 512 << 10

// workspacePath names p relative to the workspace when it is inside it:
// later steps run outside this container and see the workspace at another
// absolute path.
func workspacePath(workspace, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(ws, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// githubOutputs renders name<<DELIM lines with a random delimiter, so that
// no value can end its own block and inject another output.
func githubOutputs(outputs [][2]string) string {
	var b strings.Builder
	for _, o := range outputs {
		delim := "ghadelimiter_" + randomHex()
		for strings.Contains(o[1], delim) {
			delim = "ghadelimiter_" + randomHex()
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o[0], delim, o[1], delim)
	}
	return b.String()
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// githubClaimed are the runner's variables that hold what the token's
// claims state, and what each must hold: the same values, except
// GITHUB_SERVER_URL, which no claim holds (Fulcio's github-workflow issuer
// type certifies every repository under oidc.GitHubServer).
func githubClaimed(tok *oidc.Token) []claimed {
	return []claimed{
		{"GITHUB_SERVER_URL", oidc.GitHubServer, fmt.Sprintf("Fulcio certifies GitHub repositories under %q", oidc.GitHubServer)},
		claim("GITHUB_REPOSITORY", tok, "repository"),
		claim("GITHUB_WORKFLOW_REF", tok, "workflow_ref"),
		claim("GITHUB_REF", tok, "ref"),
		claim("GITHUB_SHA", tok, "sha"),
		claim("GITHUB_EVENT_NAME", tok, "event_name"),
		claim("GITHUB_REPOSITORY_ID", tok, "repository_id"),
		claim("GITHUB_REPOSITORY_OWNER_ID", tok, "repository_owner_id"),
		claim("GITHUB_RUN_ID", tok, "run_id"),
		claim("GITHUB_RUN_ATTEMPT", tok, "run_attempt"),
		claim("RUNNER_ENVIRONMENT", tok, "runner_environment"),
	}
}

// Provenance states the workflow run as actions/attest does
// (payload.GitHubBuildType), from the token's claims, which the
// certificate certifies: the workflow's path and ref from workflow_ref,
// the source at ref and sha, the event, the numeric repository and owner
// ids, the runner environment and the run and attempt. builder.id is the
// signer's identity: actions/attest's server URL + job_workflow_ref (the
// called workflow, for reusable workflows). The runner's GITHUB_*
// variables hold the same facts; one that a step's env: changed
// (githubClaimed) is refused.
func (g *GitHub) Provenance(tok *oidc.Token) (payload.Provenance, error) {
	signer, cert, err := certified(tok, oidc.GitHub, "sign with the job's token (permissions: id-token: write) and no identity-token input")
	if err != nil {
		return payload.Provenance{}, err
	}
	if err := overridden(g.getenv, githubClaimed(tok)); err != nil {
		return payload.Provenance{}, err
	}
	repo, _ := tok.Claim("repository")
	workflow, _ := tok.Claim("workflow_ref")
	path, ref, ok := strings.Cut(strings.TrimPrefix(workflow, repo+"/"), "@")
	if !ok || path == "" || ref == "" {
		return payload.Provenance{}, &InputError{Input: "provenance", Err: fmt.Errorf("the token's workflow_ref claim %q is not %s/<path>@<ref>: sign with the job's token", workflow, repo)}
	}
	return payload.Provenance{
		BuildDefinition: payload.BuildDefinition{
			BuildType:          payload.GitHubBuildType,
			ExternalParameters: payload.GitHubParameters{Workflow: payload.GitHubWorkflow{Ref: ref, Repository: cert.SourceRepositoryURI, Path: path}},
			InternalParameters: payload.GitHubInternal{GitHub: payload.GitHubRun{
				EventName:         cert.BuildTrigger,
				RepositoryID:      cert.SourceRepositoryIdentifier,
				RepositoryOwnerID: cert.SourceRepositoryOwnerIdentifier,
				RunnerEnvironment: cert.RunnerEnvironment,
			}},
			ResolvedDependencies: []payload.ResourceDescriptor{payload.GitDependency(cert.SourceRepositoryURI, cert.SourceRepositoryRef, cert.SourceRepositoryDigest)},
		},
		RunDetails: payload.RunDetails{
			Builder:  payload.Builder{ID: signer.SAN},
			Metadata: &payload.BuildMetadata{InvocationID: cert.RunInvocationURI},
		},
	}, nil
}
