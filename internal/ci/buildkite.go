package ci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// Buildkite is a Buildkite job: the keyless plugin's command hook running
// the image (hooks/command), or the binary run by a command step.
type Buildkite struct {
	getenv func(string) string
	out    io.Writer
	// options are the plugin's configuration, by option; nil when keyless
	// does not run from the plugin.
	options map[string]string
	err     error
}

var _ Platform = (*Buildkite)(nil)

var buildkiteAdapter = adapter{
	name:   "buildkite",
	detect: func(getenv func(string) string) bool { return getenv("BUILDKITE") == "true" },
	make:   func(e Env) Platform { return NewBuildkite(e) },
}

// pluginConfiguration is the variable the plugin's hook hands its
// configuration in: the agent's BUILDKITE_PLUGIN_CONFIGURATION, as JSON.
const pluginConfiguration = "KEYLESS_PLUGIN_CONFIGURATION"

// hookOptions are the plugin's options that its hook reads, not keyless.
var hookOptions = []string{"image", "mode", "token", "runtime"}

// NewBuildkite returns the Buildkite adapter.
func NewBuildkite(e Env) *Buildkite {
	b := &Buildkite{getenv: e.Getenv, out: e.Stdout}
	if raw := e.Getenv(pluginConfiguration); raw != "" {
		b.options, b.err = pluginOptions(raw)
	}
	return b
}

// pluginOptions reads a plugin configuration: strings, booleans and
// numbers as written, a list as its items one a line.
func pluginOptions(raw string) (map[string]string, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var cfg map[string]any
	if err := dec.Decode(&cfg); err != nil {
		return nil, &InputError{Input: "plugin configuration", Err: fmt.Errorf("%s is not a JSON object: %v: run keyless from the plugin's hook, which passes the agent's BUILDKITE_PLUGIN_CONFIGURATION", pluginConfiguration, err)}
	}
	out := map[string]string{}
	var errs []error
	for name, v := range cfg {
		items, list := v.([]any)
		if !list {
			items = []any{v}
		}
		var vals []string
		for _, it := range items {
			switch it := it.(type) {
			case nil:
			case string:
				vals = append(vals, it)
			case bool, json.Number:
				vals = append(vals, fmt.Sprint(it))
			default:
				errs = append(errs, &InputError{Input: name, Err: fmt.Errorf("the plugin option %s holds a mapping: give a string, a boolean, a number or a list of them", name)})
			}
		}
		out[name] = strings.Join(vals, "\n")
	}
	return out, errors.Join(errs...)
}

// Input reads the plugin's option name, or KEYLESS_<NAME> without the
// plugin.
func (b *Buildkite) Input(name string) string {
	if b.options != nil {
		return strings.TrimSpace(b.options[name])
	}
	return envInput(b.getenv, name)
}

// Source is the plugin's option, or KEYLESS_<NAME>.
func (b *Buildkite) Source(name string) string {
	if b.options != nil {
		return "the plugin option " + name
	}
	return envName(name)
}

// Options names the plugin options given for keyless (not the hook's).
func (b *Buildkite) Options() ([]string, error) {
	var names []string
	for _, n := range slices.Sorted(maps.Keys(b.options)) {
		if !slices.Contains(hookOptions, n) {
			names = append(names, n)
		}
	}
	return names, b.err
}

// Writer is standard output, the job log.
func (b *Buildkite) Writer() io.Writer { return b.out }

// Mask does nothing: Buildkite has no mask command (the agent redacts the
// variables it knows to be secret); keyless redacts every secret of the
// run from all it writes.
func (b *Buildkite) Mask(string) {}

// Section starts a collapsed log group.
func (b *Buildkite) Section(title string) func() {
	fmt.Fprintf(b.out, "--- %s\n", OneLine(title))
	return func() {}
}

// Annotate annotates the build with msg in the error style.
func (b *Buildkite) Annotate(msg string) {
	agent, ok := lookPath(b.getenv, "buildkite-agent")
	if !ok {
		return
	}
	body := truncate("**keyless failed**\n\n"+fence(msg), annotationLimit, "the job log", "Buildkite")
	if err := runCommand(agent, "", body, "annotate", "--style", "error", "--context", b.context()); err != nil {
		fmt.Fprintf(b.out, "keyless: annotating the build: %v\n", err)
	}
}

// fence puts text in a code block that nothing in it can close.
func fence(text string) string {
	f := "```"
	for strings.Contains(text, f) {
		f += "`"
	}
	return f + "\n" + text + "\n" + f + "\n"
}

// annotationContext keeps the characters of a context that are safe.
var annotationContext = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// context is the annotation's context: one per step, so that a retried
// job replaces its annotation and two keyless steps keep theirs.
func (b *Buildkite) context() string {
	for _, v := range []string{"BUILDKITE_STEP_KEY", "BUILDKITE_STEP_ID", "BUILDKITE_JOB_ID"} {
		if id := annotationContext.ReplaceAllString(b.getenv(v), "-"); id != "" {
			return "keyless-" + id[:min(len(id), 64)]
		}
	}
	return "keyless"
}

// Secrets is the agent's access token, which the hook hands to the
// container for the agent's commands.
func (b *Buildkite) Secrets() []string { return envSecrets(b.getenv, "BUILDKITE_AGENT_ACCESS_TOKEN") }

// hookTokenFile is where the plugin's hook, with token: hook, says it left
// the token it requested.
const hookTokenFile = "KEYLESS_BUILDKITE_TOKEN_FILE"

// TokenSource is the token file the plugin's hook requested, or else a
// token keyless requests with buildkite-agent oidc request-token
// --audience sigstore, afresh each time.
func (b *Buildkite) TokenSource(*http.Client) (oidc.SourceFunc, error) {
	if f := b.getenv(hookTokenFile); f != "" {
		return oidc.File(f), nil
	}
	agent, ok := lookPath(b.getenv, "buildkite-agent")
	if !ok {
		return nil, &InputError{Input: "identity-token", Err: errors.New("buildkite-agent is not on PATH, so keyless cannot request the job's OIDC token: run keyless with the keyless plugin (its hook mounts the agent) or on the agent, or give identity-token-file with a token of buildkite-agent oidc request-token --audience sigstore")}
	}
	return oidc.Command("the agent must be allowed to request OIDC tokens for this job", agent, "oidc", "request-token", "--audience", oidc.Audience), nil
}

// RegistryLogin is none: the Docker config's logins apply.
func (b *Buildkite) RegistryLogin() (Login, bool) { return Login{}, false }

// The agent's limits: an annotation's body, and each meta-data value.
const (
	annotationLimit = 1 << 20
	metaDataLimit   = 100_000
)

// dir is the output directory: output-dir, else "keyless".
func (b *Buildkite) dir(outputDir string) string {
	if outputDir == "" {
		return "keyless"
	}
	return outputDir
}

// Destinations are the agent, whose commands publish the run, and the
// output directory, whose files it uploads.
func (b *Buildkite) Destinations(outputDir string, _ bool) []Destination {
	return []Destination{
		{Name: "buildkite-agent", Path: "buildkite-agent", Fix: "run keyless with the keyless plugin, whose hook mounts the agent into the container, or on the agent itself",
			Check: func() error {
				if _, ok := lookPath(b.getenv, "buildkite-agent"); !ok {
					return errors.New("buildkite-agent is not on PATH")
				}
				return nil
			}},
		{Name: "output-dir", Path: b.dir(outputDir), Dir: true, Fix: "run the image as the agent's user (the plugin's hook does), or give an output-dir that it can write"},
	}
}

// Publish writes the report, the summary and the policies into the output
// directory and uploads them as the job's artifacts, sets each output as
// build meta-data keyless-<name> (an empty one is left unset: meta-data
// holds no empty values), and annotates the build with the summary, in
// the success style or, when an image failed, the error style.
func (b *Buildkite) Publish(a Artifacts) error {
	agent, ok := lookPath(b.getenv, "buildkite-agent")
	if !ok {
		return errors.New("buildkite-agent is not on PATH")
	}
	dir := b.dir(a.OutputDir)
	files := map[string][]byte{"report.json": a.Report}
	if a.Summary != "" {
		files["summary.md"] = []byte(a.Summary)
	}
	maps.Copy(files, a.Files)
	if _, err := writeFiles(dir, "", files); err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(files))
	if err := runCommand(agent, dir, "", "artifact", "upload", strings.Join(names, ";")); err != nil {
		return fmt.Errorf("uploading the report as artifacts: %w", err)
	}
	outputs, note := fit(a.Outputs, metaDataLimit, largestValue, "the report.json artifact")
	if note != "" {
		fmt.Fprintf(b.out, "keyless: %s\n", note)
	}
	for _, o := range outputs {
		if strings.TrimSpace(o[1]) == "" {
			continue
		}
		if err := runCommand(agent, "", o[1], "meta-data", "set", "keyless-"+o[0]); err != nil {
			return fmt.Errorf("setting the %s output: %w", o[0], err)
		}
	}
	if a.Summary == "" {
		return nil
	}
	style := "error"
	if a.OK {
		style = "success"
	}
	body := truncate(a.Summary, annotationLimit, "the report.json artifact", "Buildkite")
	if err := runCommand(agent, "", body, "annotate", "--style", style, "--context", b.context()); err != nil {
		return fmt.Errorf("annotating the build with the summary: %w", err)
	}
	return nil
}

// largestValue is the size of the largest value.
func largestValue(outputs [][2]string) int {
	n := 0
	for _, o := range outputs {
		n = max(n, len(o[1]))
	}
	return n
}

// buildkiteClaimed are the job's variables that hold what the token's
// claims state. BUILDKITE_COMMIT may still be HEAD, which the agent
// resolves at checkout.
func buildkiteClaimed(getenv func(string) string, tok *oidc.Token) []claimed {
	vars := []claimed{
		claim("BUILDKITE_ORGANIZATION_SLUG", tok, "organization_slug"),
		claim("BUILDKITE_PIPELINE_SLUG", tok, "pipeline_slug"),
		claim("BUILDKITE_BUILD_NUMBER", tok, "build_number"),
		claim("BUILDKITE_JOB_ID", tok, "job_id"),
		claim("BUILDKITE_BRANCH", tok, "build_branch"),
		claim("BUILDKITE_TAG", tok, "build_tag"),
		claim("BUILDKITE_STEP_KEY", tok, "step_key"),
		claim("BUILDKITE_AGENT_ID", tok, "agent_id"),
		claim("BUILDKITE_SOURCE", tok, "build_source"),
	}
	if getenv("BUILDKITE_COMMIT") != "HEAD" {
		vars = append(vars, claim("BUILDKITE_COMMIT", tok, "build_commit"))
	}
	return vars
}

// Provenance states the job (payload.BuildkiteBuildType) from the token's
// claims, which the certificate certifies: the organization and pipeline
// (the subject), the build number and job id (the job's URL, the
// invocationId), the commit, what started the build and where the job
// ran; and, which the certificate does not certify, the branch or tag,
// the step's key and the agent. The repository's URL comes from
// BUILDKITE_REPO, which no claim holds (its credentials left out).
// builder.id is the signer's identity, the pipeline. A BUILDKITE_*
// variable that contradicts its claim is refused.
func (b *Buildkite) Provenance(tok *oidc.Token) (payload.Provenance, error) {
	signer, cert, err := certified(tok, oidc.Buildkite, "sign with the job's token (buildkite-agent oidc request-token --audience sigstore)")
	if err != nil {
		return payload.Provenance{}, err
	}
	if err := overridden(b.getenv, buildkiteClaimed(b.getenv, tok)); err != nil {
		return payload.Provenance{}, err
	}
	v, err := facts(b.getenv, "the agent sets it in every job; run keyless in a Buildkite job", "BUILDKITE_REPO")
	if err != nil {
		return payload.Provenance{}, err
	}
	repo, err := repositoryURL(v["BUILDKITE_REPO"])
	if err != nil {
		return payload.Provenance{}, err
	}
	if !gitCommit.MatchString(cert.SourceRepositoryDigest) {
		return payload.Provenance{}, &InputError{Input: "provenance", Err: fmt.Errorf("the token's build_commit claim %q is not a git commit id: sign in a build whose commit is resolved (not HEAD)", cert.SourceRepositoryDigest)}
	}
	c := func(name string) string { s, _ := tok.Claim(name); return s }
	ref := ""
	switch {
	case c("build_tag") != "":
		ref = "refs/tags/" + c("build_tag")
	case c("build_branch") != "":
		ref = "refs/heads/" + c("build_branch")
	}
	return payload.Provenance{
		BuildDefinition: payload.BuildDefinition{
			BuildType: payload.BuildkiteBuildType,
			ExternalParameters: payload.BuildkiteParameters{
				Organization: c("organization_slug"), Pipeline: c("pipeline_slug"), Branch: c("build_branch"), Tag: c("build_tag"), Step: c("step_key"),
			},
			InternalParameters: payload.BuildkiteInternal{Buildkite: payload.BuildkiteRun{
				BuildNumber: c("build_number"), JobID: c("job_id"), AgentID: c("agent_id"),
				BuildSource: cert.BuildTrigger, RunnerEnvironment: cert.RunnerEnvironment,
			}},
			ResolvedDependencies: []payload.ResourceDescriptor{payload.GitDependency(repo, ref, cert.SourceRepositoryDigest)},
		},
		RunDetails: payload.RunDetails{Builder: payload.Builder{ID: signer.SAN}, Metadata: &payload.BuildMetadata{InvocationID: cert.RunInvocationURI}},
	}, nil
}

// scpLike is git's scp-like syntax for SSH: [user@]host:path.
var scpLike = regexp.MustCompile(`^([A-Za-z0-9._~-]+@)?([A-Za-z0-9.-]+):([^/].*)$`)

// repositoryURL is BUILDKITE_REPO as a URL: git's scp-like syntax as
// ssh://, and without a password, which a URL of a private repository
// can hold.
func repositoryURL(repo string) (string, error) {
	if m := scpLike.FindStringSubmatch(repo); m != nil && !strings.Contains(repo, "://") {
		repo = "ssh://" + m[1] + m[2] + "/" + m[3]
	}
	u, err := url.Parse(repo)
	if err != nil || !u.IsAbs() || u.Host == "" || strings.ContainsFunc(repo, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", &InputError{Input: "provenance", Err: errors.New("BUILDKITE_REPO is not a repository URL (its value is left out: it may hold credentials): give the pipeline a git repository")}
	}
	if _, has := u.User.Password(); has {
		u.User = nil
	}
	return u.String(), nil
}
