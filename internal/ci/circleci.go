package ci

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// CircleCI is a CircleCI job running the orb's commands in its executor,
// the keyless image.
type CircleCI struct {
	getenv func(string) string
	out    io.Writer
}

var _ Platform = (*CircleCI)(nil)

var circleciAdapter = adapter{
	name:   "circleci",
	detect: func(getenv func(string) string) bool { return getenv("CIRCLECI") == "true" },
	make:   func(e Env) Platform { return NewCircleCI(e) },
}

// NewCircleCI returns the CircleCI adapter.
func NewCircleCI(e Env) *CircleCI {
	return &CircleCI{getenv: e.Getenv, out: e.Stdout}
}

// Input reads KEYLESS_<NAME>, which the orb's run step sets from its
// parameters.
func (c *CircleCI) Input(name string) string { return envInput(c.getenv, name) }

// Source is KEYLESS_<NAME>.
func (c *CircleCI) Source(name string) string { return envName(name) }

// Writer is standard output, the step's log.
func (c *CircleCI) Writer() io.Writer { return c.out }

// Mask does nothing: CircleCI masks the values of project and context
// variables itself; keyless redacts every secret of the run from all it
// writes.
func (c *CircleCI) Mask(string) {}

// Section prints a plain heading: a step's log has no sections.
func (c *CircleCI) Section(title string) func() {
	fmt.Fprintf(c.out, "--- %s\n", OneLine(title))
	return func() {}
}

// Annotate does nothing: a failed step's log ends with the error.
func (c *CircleCI) Annotate(string) {}

// Secrets are the job's OIDC tokens.
func (c *CircleCI) Secrets() []string {
	return envSecrets(c.getenv, "CIRCLE_OIDC_TOKEN", "CIRCLE_OIDC_TOKEN_V2")
}

// circleciClaims is the circleci run oidc get argument that asks for a
// token of audience sigstore.
const circleciClaims = `{"aud":"sigstore"}`

// TokenSource is CIRCLE_OIDC_TOKEN_V2 when its audience is sigstore, else
// a token keyless requests with circleci run oidc get --claims
// '{"aud":"sigstore"}', afresh each time. A job with neither is refused
// with the fix.
func (c *CircleCI) TokenSource(*http.Client) (oidc.SourceFunc, error) {
	v2 := c.getenv("CIRCLE_OIDC_TOKEN_V2")
	var aud string
	if v2 != "" {
		tok, err := oidc.Parse(v2)
		if err != nil {
			return nil, &InputError{Input: "identity-token", Err: fmt.Errorf("CIRCLE_OIDC_TOKEN_V2 is not a JWT: %v", err)}
		}
		if slices.Contains(tok.Audience, oidc.Audience) {
			return oidc.Static(v2), nil
		}
		aud = strings.Join(tok.Audience, ",")
	}
	if cli, ok := lookPath(c.getenv, "circleci"); ok {
		return oidc.Command("the job must use a context for CircleCI to issue OIDC tokens", cli, "run", "oidc", "get", "--claims", circleciClaims), nil
	}
	const fix = "run keyless in the job's own container (the orb's executor), where circleci run oidc get --claims '" + circleciClaims + "' requests a token of audience sigstore; the job must use a context"
	if v2 != "" {
		return nil, &InputError{Input: "identity-token", Err: fmt.Errorf("CIRCLE_OIDC_TOKEN_V2 has the audience %q, not %s, and circleci is not on PATH to request one: %s", aud, oidc.Audience, fix)}
	}
	return nil, &InputError{Input: "identity-token", Err: fmt.Errorf("no OIDC token: the job has no CIRCLE_OIDC_TOKEN_V2 and circleci is not on PATH: %s", fix)}
}

// RegistryLogin is none: the Docker config's logins and DOCKER_AUTH_CONFIG
// apply.
func (c *CircleCI) RegistryLogin() (Login, bool) { return Login{}, false }

// dir is the output directory: output-dir, else "keyless".
func (c *CircleCI) dir(outputDir string) string {
	if outputDir == "" {
		return "keyless"
	}
	return outputDir
}

// Destinations is the output directory, which holds every output.
func (c *CircleCI) Destinations(outputDir string, _ bool) []Destination {
	return []Destination{{Name: "output-dir", Path: c.dir(outputDir), Dir: true,
		Fix: "give an output-dir in the job's working directory that the executor's user can write"}}
}

// The files of the output directory that are not the report's.
const (
	// circleciEnv holds the outputs as shell variables, for later steps:
	// . keyless/keyless.env, or appended to $BASH_ENV.
	circleciEnv = "keyless.env"
	// circleciResults is the report as JUnit XML, for store_test_results
	// of the directory test-results (one subdirectory a suite).
	circleciResults = "test-results/keyless/results.xml"
)

// Publish writes report.json, summary.md, the policies, keyless.env and
// test-results/keyless/results.xml into the output directory (default keyless),
// for store_artifacts and store_test_results.
func (c *CircleCI) Publish(a Artifacts) error {
	junit, err := junitXML(a)
	if err != nil {
		return err
	}
	files := map[string][]byte{"report.json": a.Report, circleciEnv: []byte(shellEnv(a.Outputs)), circleciResults: junit}
	if a.Summary != "" {
		files["summary.md"] = []byte(a.Summary)
	}
	maps.Copy(files, a.Files)
	_, err = writeFiles(c.dir(a.OutputDir), "", files)
	return err
}

// shellEnv renders outputs as export KEYLESS_NAME='value' lines that sh
// and bash read back exactly, with the names of dotenvNames: a later
// keyless step would otherwise read the identity signed for the identity
// it must check.
func shellEnv(outputs [][2]string) string {
	var b strings.Builder
	for _, o := range outputs {
		name := o[0]
		if n, ok := dotenvNames[name]; ok {
			name = n
		}
		fmt.Fprintf(&b, "export %s='%s'\n", envName(name), strings.ReplaceAll(o[1], "'", `'\''`))
	}
	return b.String()
}

// junit is a JUnit XML report: one test case an image.
type junit struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suite    struct {
		Name     string         `xml:"name,attr"`
		Tests    int            `xml:"tests,attr"`
		Failures int            `xml:"failures,attr"`
		Cases    []junitCase    `xml:"testcase"`
		Out      junitSystemOut `xml:"system-out"`
	} `xml:"testsuite"`
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	File    string        `xml:"file,attr"`
	Failure *junitFailure `xml:"failure"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

type junitSystemOut struct {
	Text string `xml:",chardata"`
}

// junitXML is the run as JUnit XML, where CircleCI's Tests tab shows it:
// each image a test case that failed with its reasons, and the JSON
// report as the suite's output.
func junitXML(a Artifacts) ([]byte, error) {
	var j junit
	j.Name, j.Suite.Name = "keyless", "keyless"
	for _, r := range a.Results {
		tc := junitCase{Class: "keyless", Name: OneLine(r.Image), File: "report.json"}
		if r.Failure != "" {
			tc.Failure = &junitFailure{Message: OneLine(r.Failure), Text: r.Failure}
			j.Failures++
		}
		j.Suite.Cases = append(j.Suite.Cases, tc)
	}
	j.Tests = len(j.Suite.Cases)
	j.Suite.Tests, j.Suite.Failures = j.Tests, j.Failures
	j.Suite.Out.Text = string(a.Report)
	b, err := xml.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing the JUnit report: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// circleciClaimed are the job's variables that hold what the token's
// claims state: the pipeline, workflow and job ids, and the branch or tag
// of the ref that triggered the pipeline.
func circleciClaimed(tok *oidc.Token) []claimed {
	vars := []claimed{
		claim("CIRCLE_PIPELINE_ID", tok, oidc.CirclePipelineClaim),
		claim("CIRCLE_WORKFLOW_ID", tok, oidc.CircleWorkflowClaim),
		claim("CIRCLE_WORKFLOW_JOB_ID", tok, oidc.CircleJobClaim),
	}
	ref, _ := tok.Claim(oidc.CircleRefClaim)
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		vars = append(vars, derived("CIRCLE_BRANCH", tok, oidc.CircleRefClaim, b))
	}
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		vars = append(vars, derived("CIRCLE_TAG", tok, oidc.CircleRefClaim, t))
	}
	return vars
}

// Provenance states the job (payload.CircleCIBuildType) from the token's
// claims, which the certificate certifies: the project and pipeline
// definition (the subject), the pipeline (the build config), the workflow
// and job (the job's URL, the invocationId), and the repository and ref
// that triggered the pipeline. The job's name (CIRCLE_JOB) and the commit
// (CIRCLE_SHA1) come from the job's variables: no claim holds them and
// the certificate does not certify them. builder.id is the signer's
// identity, the pipeline definition. A CIRCLE_* variable that contradicts
// its claim is refused.
func (c *CircleCI) Provenance(tok *oidc.Token) (payload.Provenance, error) {
	signer, cert, err := certified(tok, oidc.CircleCI, `sign with the job's token (circleci run oidc get --claims '`+circleciClaims+`')`)
	if err != nil {
		return payload.Provenance{}, err
	}
	claims := map[string]string{}
	for _, n := range []string{oidc.CircleProjectClaim, oidc.CircleDefinitionClaim, oidc.CirclePipelineClaim, oidc.CircleWorkflowClaim, oidc.CircleJobClaim} {
		v, ok := tok.Claim(n)
		if !ok {
			return payload.Provenance{}, &InputError{Input: "provenance", Err: fmt.Errorf("the token has no %s claim: sign with the job's token (circleci run oidc get)", n)}
		}
		claims[n] = v
	}
	if err := overridden(c.getenv, circleciClaimed(tok)); err != nil {
		return payload.Provenance{}, err
	}
	const fix = "CircleCI sets it in every job; run keyless in a CircleCI job"
	names := []string{"CIRCLE_JOB"}
	origin, _ := tok.Claim(oidc.CircleOriginClaim)
	if origin != "" {
		names = append(names, "CIRCLE_SHA1")
	}
	v, err := facts(c.getenv, fix, names...)
	if err != nil {
		return payload.Provenance{}, err
	}
	ref, _ := tok.Claim(oidc.CircleRefClaim)
	p := payload.Provenance{
		BuildDefinition: payload.BuildDefinition{
			BuildType: payload.CircleCIBuildType,
			ExternalParameters: payload.CircleCIParameters{
				Project: claims[oidc.CircleProjectClaim], PipelineDefinition: claims[oidc.CircleDefinitionClaim], Ref: ref, Job: v["CIRCLE_JOB"],
			},
			InternalParameters: payload.CircleCIInternal{CircleCI: payload.CircleCIRun{
				PipelineID: claims[oidc.CirclePipelineClaim], WorkflowID: claims[oidc.CircleWorkflowClaim], JobID: claims[oidc.CircleJobClaim],
			}},
		},
		RunDetails: payload.RunDetails{Builder: payload.Builder{ID: signer.SAN}, Metadata: &payload.BuildMetadata{InvocationID: cert.RunInvocationURI}},
	}
	if origin == "" {
		return p, nil
	}
	if !gitCommit.MatchString(v["CIRCLE_SHA1"]) {
		return payload.Provenance{}, &InputError{Input: "provenance", Err: errors.New("CIRCLE_SHA1 is not a git commit id: run keyless in a CircleCI job of a pipeline with a repository")}
	}
	p.BuildDefinition.ResolvedDependencies = []payload.ResourceDescriptor{payload.GitDependency(payload.CircleCIOrigin(origin), ref, v["CIRCLE_SHA1"])}
	return p, nil
}
