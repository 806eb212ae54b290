package ci

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// GitLab is a GitLab CI job.
type GitLab struct {
	getenv func(string) string
	out    io.Writer
	now    func() time.Time
}

var _ Platform = (*GitLab)(nil)

var gitlabAdapter = adapter{
	name:   "gitlab",
	detect: func(getenv func(string) string) bool { return getenv("GITLAB_CI") == "true" },
	make:   func(e Env) Platform { return NewGitLab(e) },
}

// NewGitLab returns the GitLab CI adapter.
func NewGitLab(e Env) *GitLab {
	return &GitLab{getenv: e.Getenv, out: e.Stdout, now: time.Now}
}

// Input reads KEYLESS_<NAME>, as the component's job variables set them.
func (g *GitLab) Input(name string) string { return envInput(g.getenv, name) }

// Source is KEYLESS_<NAME>.
func (g *GitLab) Source(name string) string { return envName(name) }

// Writer is standard output, the job log.
func (g *GitLab) Writer() io.Writer { return g.out }

// Mask does nothing: GitLab masks only variables defined as masked in its
// settings, and id_tokens are never echoed; keyless itself never logs them.
func (g *GitLab) Mask(string) {}

var sectionName = regexp.MustCompile(`[^a-z0-9_]+`)

// Section starts a collapsed GitLab log section.
func (g *GitLab) Section(title string) func() {
	title = OneLine(title)
	id := sectionName.ReplaceAllString(strings.ToLower(title), "_")
	if len(id) > 40 {
		id = id[:40]
	}
	fmt.Fprintf(g.out, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", g.now().Unix(), id, title)
	return func() { fmt.Fprintf(g.out, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", g.now().Unix(), id) }
}

// Annotate does nothing: a failed job's log ends with the error.
func (g *GitLab) Annotate(string) {}

// Secrets are the job token, the registry password and the id_tokens
// token.
func (g *GitLab) Secrets() []string {
	return envSecrets(g.getenv, "CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "SIGSTORE_ID_TOKEN")
}

// TokenSource is SIGSTORE_ID_TOKEN, which the job's id_tokens set.
func (g *GitLab) TokenSource(*http.Client) (oidc.SourceFunc, error) {
	return sigstoreToken(g.getenv, "SIGSTORE_ID_TOKEN is not set: add to the job\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore")
}

// RegistryLogin logs in to the project's registry (CI_REGISTRY) with the
// job's registry user, or with the job token as gitlab-ci-token.
func (g *GitLab) RegistryLogin() (Login, bool) {
	reg := g.getenv("CI_REGISTRY")
	if reg == "" {
		return Login{}, false
	}
	l := Login{Username: g.getenv("CI_REGISTRY_USER"), Password: g.getenv("CI_REGISTRY_PASSWORD"), Registries: []string{reg}}
	if l.Password == "" && g.getenv("CI_JOB_TOKEN") != "" {
		l.Username, l.Password = "gitlab-ci-token", g.getenv("CI_JOB_TOKEN")
	}
	return l, true
}

// dotenvLimit is GitLab's size limit for an artifacts:reports:dotenv file.
const dotenvLimit = 5 * 1024

// dir is the output directory: output-dir, else "keyless".
func (g *GitLab) dir(outputDir string) string {
	if outputDir == "" {
		return "keyless"
	}
	return outputDir
}

// Destinations is the output directory, which holds the reports.
func (g *GitLab) Destinations(outputDir string, _ bool) []Destination {
	return []Destination{{Name: "output-dir", Path: g.dir(outputDir), Dir: true,
		Fix: "run the job as a user that can write the project directory (the runner's build directory), or give an output-dir that it can write"}}
}

// Publish writes keyless.env (dotenv), summary.md, annotations.json and
// report.json into the output directory (default "keyless").
func (g *GitLab) Publish(a Artifacts) error {
	dir := g.dir(a.OutputDir)
	outputs, note := fit(a.Outputs, dotenvLimit, func(o [][2]string) int { return len(Dotenv(o)) }, filepath.Join(dir, "report.json"))
	if note != "" {
		fmt.Fprintf(g.out, "keyless: %s\n", note)
	}
	env := Dotenv(outputs)
	if len(env) > dotenvLimit {
		return fmt.Errorf("dotenv report is %d bytes, over GitLab's %d-byte limit: sign fewer images per job", len(env), dotenvLimit)
	}
	ann, err := json.MarshalIndent(map[string]any{"keyless": linksJSON(a.Annotations)}, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"keyless.env", []byte(env)}, {"summary.md", []byte(a.Summary)}, {"annotations.json", ann}, {"report.json", a.Report}} {
		if _, err := writeFile(dir, f.name, f.data); err != nil {
			return err
		}
	}
	_, err = writeFiles(dir, "", a.Files)
	return err
}

// dotenvNames rename the outputs whose KEYLESS_<NAME> would also be an
// input's variable. GitLab lets a dotenv report override every variable
// of the jobs after it, so a later keyless job would otherwise take an
// earlier one's outputs (the identity it signed as) for its inputs (the
// identity it must check).
var dotenvNames = map[string]string{
	"certificate-identity":    "signed-identity",
	"certificate-oidc-issuer": "signed-oidc-issuer",
	"kyverno-policy":          "kyverno-policy-file",
}

// Dotenv renders outputs as KEYLESS_NAME=value lines, with the names of
// dotenvNames. Multi-line values are joined with commas: dotenv reports
// hold one line per variable.
func Dotenv(outputs [][2]string) string {
	var b strings.Builder
	for _, o := range outputs {
		name := o[0]
		if n, ok := dotenvNames[name]; ok {
			name = n
		}
		k := envName(name)
		v := strings.ReplaceAll(strings.TrimSpace(o[1]), "\n", ",")
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return b.String()
}

func linksJSON(links []Link) []map[string]any {
	out := []map[string]any{}
	for _, l := range links {
		out = append(out, map[string]any{"external_link": map[string]string{"label": l.Label, "url": l.URL}})
	}
	return out
}

// gitlabFacts are the job's predefined variables that GitLab's provenance
// states and no claim holds: the job's name, which the certificate does
// not certify (GitLab's id_tokens carry no job name).
var gitlabFacts = []string{"CI_JOB_NAME"}

// gitlabClaimed are the job's predefined variables that hold what the
// token's claims state, and what each must hold, given what the
// certificate certifies (cert).
func gitlabClaimed(tok *oidc.Token, cert certificate.Summary, configPath string) []claimed {
	tag := claim("CI_COMMIT_TAG", tok, "ref")
	if refType, _ := tok.Claim("ref_type"); refType != "tag" {
		tag = claimed{"CI_COMMIT_TAG", "", fmt.Sprintf("the token's ref_type claim is %q: the pipeline is not a tag's", refType)}
	}
	return []claimed{
		derived("CI_PROJECT_URL", tok, "project_path", cert.SourceRepositoryURI),
		claim("CI_COMMIT_REF_NAME", tok, "ref"),
		tag,
		claim("CI_COMMIT_SHA", tok, "sha"),
		derived("CI_CONFIG_PATH", tok, "ci_config_ref_uri", configPath),
		derived("CI_JOB_URL", tok, "job_id", cert.RunInvocationURI),
		claim("CI_PIPELINE_SOURCE", tok, "pipeline_source"),
		claim("CI_PROJECT_ID", tok, "project_id"),
		claim("CI_PROJECT_NAMESPACE_ID", tok, "namespace_id"),
		claim("CI_PIPELINE_ID", tok, "pipeline_id"),
		claim("CI_JOB_ID", tok, "job_id"),
	}
}

// Provenance states the job (payload.GitLabBuildType) from the token's
// claims, which the certificate certifies: the project at its ref
// (refs/heads/ or refs/tags/, by ref_type, as Fulcio writes it) and sha,
// the CI configuration's path (from ci_config_ref_uri), the pipeline's
// source, the project, namespace, pipeline and job ids, and the job's URL
// as invocationId. The job's name (CI_JOB_NAME, entryPoint) and
// CI_JOB_STARTED_AT (startedOn) come from the job's variables: no claim
// holds them and the certificate does not certify them. builder.id is
// the signer's identity, the certificate's build signer
// (ci_config_ref_uri). A predefined CI_* variable that a pipeline
// variable changed (gitlabClaimed) is refused.
func (g *GitLab) Provenance(tok *oidc.Token) (payload.Provenance, error) {
	const fix = "GitLab sets it in every job; run keyless as a job of a GitLab pipeline"
	signer, cert, err := certified(tok, oidc.GitLab, "sign with the job's id_tokens token (SIGSTORE_ID_TOKEN, aud: sigstore)")
	if err != nil {
		return payload.Provenance{}, err
	}
	uri, _ := tok.Claim("ci_config_ref_uri")
	project, rest, _ := strings.Cut(strings.TrimPrefix(uri, "https://"), "//")
	configPath, ok := strings.CutSuffix(rest, "@"+cert.SourceRepositoryRef)
	if !ok || configPath == "" || "https://"+project != cert.SourceRepositoryURI {
		return payload.Provenance{}, &InputError{Input: "provenance", Err: fmt.Errorf("the token's ci_config_ref_uri claim %q names a CI configuration outside %s at %s: keyless states the provenance of a pipeline whose CI configuration is its own project's, at the pipeline's ref", uri, cert.SourceRepositoryURI, cert.SourceRepositoryRef)}
	}
	if err := overridden(g.getenv, gitlabClaimed(tok, cert, configPath)); err != nil {
		return payload.Provenance{}, err
	}
	v, err := facts(g.getenv, fix, gitlabFacts...)
	if err != nil {
		return payload.Provenance{}, err
	}
	meta := &payload.BuildMetadata{InvocationID: cert.RunInvocationURI}
	if s := g.getenv("CI_JOB_STARTED_AT"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return payload.Provenance{}, &InputError{Input: "provenance", Err: fmt.Errorf("CI_JOB_STARTED_AT %q is not an RFC 3339 time: %w", s, err)}
		}
		t = t.UTC()
		meta.StartedOn = &t
	}
	pipeline, _ := tok.Claim("pipeline_id")
	job, _ := tok.Claim("job_id")
	return payload.Provenance{
		BuildDefinition: payload.BuildDefinition{
			BuildType: payload.GitLabBuildType,
			ExternalParameters: payload.GitLabParameters{
				Source: cert.SourceRepositoryURI, Ref: cert.SourceRepositoryRef, ConfigPath: configPath, EntryPoint: v["CI_JOB_NAME"],
			},
			InternalParameters: payload.GitLabInternal{GitLab: payload.GitLabRun{
				PipelineSource: cert.BuildTrigger,
				ProjectID:      cert.SourceRepositoryIdentifier,
				NamespaceID:    cert.SourceRepositoryOwnerIdentifier,
				PipelineID:     pipeline,
				JobID:          job,
			}},
			ResolvedDependencies: []payload.ResourceDescriptor{payload.GitDependency(cert.SourceRepositoryURI, cert.SourceRepositoryRef, cert.SourceRepositoryDigest)},
		},
		RunDetails: payload.RunDetails{Builder: payload.Builder{ID: signer.SAN}, Metadata: meta},
	}, nil
}
