package ci

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	ggcrname "github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// Tekton is a Tekton Task step.
type Tekton struct {
	getenv func(string) string
	out    io.Writer
}

var _ Platform = (*Tekton)(nil)

var tektonAdapter = adapter{
	name: "tekton",
	detect: func(getenv func(string) string) bool {
		return getenv("TEKTON_RESULTS_DIR") != "" || getenv("KEYLESS_RESULTS_DIR") != ""
	},
	make: func(e Env) Platform { return NewTekton(e) },
}

// NewTekton returns the Tekton adapter.
func NewTekton(e Env) *Tekton {
	return &Tekton{getenv: e.Getenv, out: e.Stdout}
}

// Input reads KEYLESS_<NAME>, as the Task's env sets it from params.
func (t *Tekton) Input(name string) string { return envInput(t.getenv, name) }

// Source is KEYLESS_<NAME>.
func (t *Tekton) Source(name string) string { return envName(name) }

// BuiltImage is the image a build Task of the same Pipeline pushed, from
// its IMAGE_URL and IMAGE_DIGEST results, which the Task's params hand to
// KEYLESS_IMAGE_URL and KEYLESS_IMAGE_DIGEST: IMAGE_URL@IMAGE_DIGEST, or
// "" when there is none. Only Tekton reads these variables: elsewhere an
// earlier step could set them.
func (t *Tekton) BuiltImage() string {
	repo, digest := t.getenv("KEYLESS_IMAGE_URL"), t.getenv("KEYLESS_IMAGE_DIGEST")
	if repo == "" || digest == "" {
		return repo
	}
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	} else if r, err := ggcrname.ParseReference(repo); err == nil {
		repo = r.Context().Name()
	}
	return repo + "@" + digest
}

// Writer is standard output, the step's log.
func (t *Tekton) Writer() io.Writer { return t.out }

// Mask does nothing: Tekton has no log masking; keyless never logs secrets.
func (t *Tekton) Mask(string) {}

// Section prints a plain heading.
func (t *Tekton) Section(title string) func() {
	fmt.Fprintf(t.out, "--- %s\n", OneLine(title))
	return func() {}
}

// Annotate does nothing: a failed step's log ends with the error.
func (t *Tekton) Annotate(string) {}

// Secrets is none: the token is a file, read (and redacted) when used.
func (t *Tekton) Secrets() []string { return nil }

// defaultTokenFile is where the Tekton Tasks mount the projected service
// account token, the path cosign also reads.
const defaultTokenFile = "/var/run/sigstore/cosign/oidc-token"

// TokenSource reads the projected service account token, afresh each time.
func (t *Tekton) TokenSource(*http.Client) (oidc.SourceFunc, error) {
	return oidc.File(defaultTokenFile), nil
}

// RegistryLogin is none: a Task logs in with a docker config workspace.
func (t *Tekton) RegistryLogin() (Login, bool) { return Login{}, false }

// resultsDir is where Tekton collects a step's results.
const resultsDir = "/tekton/results"

// ResultLimit is the most bytes keyless writes to all results together:
// Tekton results travel in the 4 KiB termination message, shared by all
// results of the step, with some room kept for Tekton's own JSON framing.
const ResultLimit = 3 * 1024

func (t *Tekton) resultsDir() string {
	if dir := t.getenv("KEYLESS_RESULTS_DIR"); dir != "" {
		return dir
	}
	return resultsDir
}

// Destinations are the results directory and the output directory, if set.
func (t *Tekton) Destinations(outputDir string, _ bool) []Destination {
	out := []Destination{{Name: "results", Path: t.resultsDir(), Dir: true,
		Fix: "the step's user must be able to write its results: keep the Task's securityContext, and do not mount over " + resultsDir}}
	if outputDir != "" {
		out = append(out, Destination{Name: "output-dir", Path: outputDir, Dir: true,
			Fix: "the output workspace must be writable by the step's user: give the TaskRun a podTemplate securityContext fsGroup, or a volume that user owns"})
	}
	return out
}

// Publish writes one results file per output, and the report and summary
// into the output directory when one is set (the output workspace).
func (t *Tekton) Publish(a Artifacts) error {
	dir := t.resultsDir()
	results := append([][2]string{}, a.Outputs...)
	if a.ChainsHints {
		results = append(results, [2]string{"IMAGES", strings.Join(a.Images, ",")})
	}
	report := "report.json of the output workspace (not bound: bind it to keep the full run)"
	if a.OutputDir != "" {
		report = filepath.Join(a.OutputDir, "report.json")
	}
	results, note := fit(results, ResultLimit, valueBytes, report)
	if note != "" {
		fmt.Fprintf(t.out, "keyless: %s\n", note)
		results = results[:len(results)-1] // a Task declares its results: the note goes to the log
	}
	total := valueBytes(results)
	if total > ResultLimit {
		return fmt.Errorf("results are %d bytes, over the %d-byte budget of the termination message: sign fewer images per TaskRun, or read the full report from the output workspace", total, ResultLimit)
	}
	for _, r := range results {
		if _, err := writeFile(dir, r[0], []byte(r[1])); err != nil {
			return err
		}
	}
	if out := a.OutputDir; out != "" {
		for _, f := range []struct {
			name string
			data []byte
		}{{"report.json", a.Report}, {"summary.md", []byte(a.Summary)}} {
			if _, err := writeFile(out, f.name, f.data); err != nil {
				return err
			}
		}
		if _, err := writeFiles(out, "", a.Files); err != nil {
			return err
		}
	}
	return nil
}

// The variables a Task sets from Tekton's context for provenance:
//
//	KEYLESS_TASKRUN_NAME       $(context.taskRun.name)
//	KEYLESS_TASKRUN_NAMESPACE  $(context.taskRun.namespace)
//	KEYLESS_TASKRUN_UID        $(context.taskRun.uid)
//	KEYLESS_PIPELINERUN_NAME   $(context.pipelineRun.name)  (in a Pipeline)
//	KEYLESS_PIPELINERUN_UID    $(context.pipelineRun.uid)   (in a Pipeline)
//
// Only the namespace is also a claim of the step's token (kubernetes.io
// namespace), and certified, in the service account the certificate
// names. A projected service account token names the pod and the service
// account, never the TaskRun or the PipelineRun, so their names and UIDs
// can come only from these variables, which the certificate does not
// certify (payload.CheckPredicate checks no more of a Tekton provenance).
var tektonFacts = []string{"KEYLESS_TASKRUN_NAME", "KEYLESS_TASKRUN_UID"}

// gitCommit is a SHA-1 or SHA-256 git commit id.
var gitCommit = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// Provenance states the TaskRun (payload.TektonBuildType): its namespace,
// from the token's kubernetes.io claim, its name and UID (the
// invocationId, as Chains writes it) and its PipelineRun's, from the
// variables the Task sets from Tekton's context, and the source that the
// source-url and source-commit params name, if the Task is given them (as
// Chains reads its CHAINS-GIT_URL and CHAINS-GIT_COMMIT type hints).
// builder.id is the signer's identity, the step's service account. A
// KEYLESS_TASKRUN_NAMESPACE other than the token's namespace is refused.
func (t *Tekton) Provenance(tok *oidc.Token) (payload.Provenance, error) {
	const fix = "the keyless-sign Task sets it from $(context.taskRun.…): use the Task as published, or set it the same way"
	signer, _, err := certified(tok, oidc.Kubernetes, "sign with the step's projected service account token (audience sigstore)")
	if err != nil {
		return payload.Provenance{}, err
	}
	namespace, _ := tok.ServiceAccount()
	ns := claimed{"KEYLESS_TASKRUN_NAMESPACE", namespace, fmt.Sprintf("the token's kubernetes.io namespace claim is %q", namespace)}
	if err := overridden(t.getenv, []claimed{ns}); err != nil {
		return payload.Provenance{}, err
	}
	v, err := facts(t.getenv, fix, tektonFacts...)
	if err != nil {
		return payload.Provenance{}, err
	}
	p := payload.Provenance{
		BuildDefinition: payload.BuildDefinition{
			BuildType: payload.TektonBuildType,
			ExternalParameters: payload.TektonParameters{
				Namespace: namespace, TaskRun: v["KEYLESS_TASKRUN_NAME"], PipelineRun: t.getenv("KEYLESS_PIPELINERUN_NAME"),
			},
			InternalParameters: payload.TektonInternal{Tekton: payload.TektonRun{
				TaskRunUID: v["KEYLESS_TASKRUN_UID"], PipelineRunUID: t.getenv("KEYLESS_PIPELINERUN_UID"),
			}},
		},
		RunDetails: payload.RunDetails{
			Builder:  payload.Builder{ID: signer.SAN},
			Metadata: &payload.BuildMetadata{InvocationID: v["KEYLESS_TASKRUN_UID"]},
		},
	}
	src, err := t.source()
	if err != nil || src == nil {
		return p, err
	}
	p.BuildDefinition.ResolvedDependencies = []payload.ResourceDescriptor{*src}
	return p, nil
}

// source is the git source the source-url and source-commit params name:
// none, or both, a URL and a commit id.
func (t *Tekton) source() (*payload.ResourceDescriptor, error) {
	u, commit := t.Input("source-url"), t.Input("source-commit")
	switch {
	case u == "" && commit == "":
		return nil, nil
	case u == "" || commit == "":
		return nil, &InputError{Input: "source-url", Err: errors.New("source-url and source-commit go together: give both (e.g. the git-clone Task's url and commit results), or neither")}
	}
	if parsed, err := url.Parse(u); err != nil || !parsed.IsAbs() || parsed.Host == "" || strings.ContainsFunc(u, unicode.IsControl) {
		return nil, &InputError{Input: "source-url", Err: fmt.Errorf("%q is not an absolute URL: give the repository's URL, e.g. https://github.com/org/repo", u)}
	}
	if !gitCommit.MatchString(commit) {
		return nil, &InputError{Input: "source-commit", Err: fmt.Errorf("%q is not a git commit id: give the full lowercase hex commit (the git-clone Task's commit result)", commit)}
	}
	d := payload.GitDependency(strings.TrimPrefix(u, "git+"), "", commit)
	d.Name = "source"
	return &d, nil
}
