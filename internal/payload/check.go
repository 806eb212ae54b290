package payload

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// FieldError is a field of a verified provenance that the certificate which
// signed it contradicts.
type FieldError struct {
	// Field is the predicate's field, e.g. "runDetails.builder.id".
	Field string
	// Cert names what the certificate asserts, e.g. "BuildSignerURI".
	Cert string
	// Want is the certificate's value; Found the predicate's.
	Want, Found string
}

// Error says which field disagrees, with both values quoted.
func (e *FieldError) Error() string {
	if e.Found == "" {
		return fmt.Sprintf("provenance has no %s; the certificate's %s is %q", e.Field, e.Cert, e.Want)
	}
	return fmt.Sprintf("provenance %s is %q, but the certificate's %s is %q", e.Field, e.Found, e.Cert, e.Want)
}

// CheckPredicate checks a verified statement's predicate: that its type is
// the wanted one, that it parses as a JSON object, and for SLSA v1
// provenance that the fields the signing certificate also asserts agree
// with it (the source repository, ref and commit, the builder, the workflow
// or CI configuration, the run, the trigger), per build type. It fails
// closed on a provenance build type it does not know.
//
// Which fields the certificate asserts and which only the job:
//
//	GitHubBuildType  all of them (Fulcio's github-workflow extensions).
//	GitLabBuildType  all but entryPoint (the job's name), the pipeline
//	                 and job ids (the job's URL, invocationId, is asserted)
//	                 and startedOn.
//	TektonBuildType  builder.id (the certificate's service account) and
//	                 namespace; the TaskRun, PipelineRun, their UIDs and
//	                 the source only by the job.
//	BuildkiteBuildType  builder.id, organization and pipeline (the
//	                 subject), invocationId, build number and job id (the
//	                 run URL), the commit, build_source and the runner
//	                 environment; the branch, tag, step, agent and the
//	                 repository's URL only by the job.
//	CircleCIBuildType  builder.id, project and pipeline definition (the
//	                 subject), pipeline id (the build config), invocationId,
//	                 workflow and job ids (the run URL), the ref and the
//	                 repository; the job's name and the commit only by the
//	                 job.
func CheckPredicate(want, predicateType string, predicate json.RawMessage, cert certificate.Summary) error {
	if predicateType != want {
		return fmt.Errorf("predicate type is %q, want %q", predicateType, want)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(predicate, &obj); err != nil || obj == nil {
		return fmt.Errorf("predicate of type %q is not a JSON object: %v", predicateType, err)
	}
	if err := CheckKeys(predicate, "predicate"); err != nil {
		return fmt.Errorf("in-toto statement refused: %w", err)
	}
	if predicateType != ProvenanceType {
		return nil
	}
	return checkProvenance(predicate, cert)
}

// verified is a provenance as read back, its parameters left to its build
// type.
type verified struct {
	BuildDefinition struct {
		BuildType            string               `json:"buildType"`
		ExternalParameters   json.RawMessage      `json:"externalParameters"`
		InternalParameters   json.RawMessage      `json:"internalParameters"`
		ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails RunDetails `json:"runDetails"`
}

// field is one predicate field and the certificate value it must equal.
// A required field must be there; another is checked when it is there.
type field struct {
	name, cert  string
	want, found string
	required    bool
}

func checkProvenance(predicate json.RawMessage, cert certificate.Summary) error {
	var p verified
	if err := decodeExact(predicate, &p, "predicate", false); err != nil {
		return fmt.Errorf("provenance does not parse: %w", err)
	}
	var fields []field
	var err error
	switch bt := p.BuildDefinition.BuildType; bt {
	case GitHubBuildType:
		fields, err = githubFields(p, cert)
	case GitLabBuildType:
		fields, err = gitlabFields(p, cert)
	case TektonBuildType:
		fields, err = tektonFields(p, cert)
	case BuildkiteBuildType:
		fields, err = buildkiteFields(p, cert)
	case CircleCIBuildType:
		fields, err = circleciFields(p, cert)
	default:
		return fmt.Errorf("provenance buildType %q: keyless checks provenance of %s", bt, strings.Join([]string{GitHubBuildType, GitLabBuildType, TektonBuildType, BuildkiteBuildType, CircleCIBuildType}, ", "))
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range fields {
		if f.found == "" && !f.required {
			continue
		}
		if f.found == "" || f.found != f.want {
			errs = append(errs, &FieldError{Field: f.name, Cert: f.cert, Want: f.want, Found: f.found})
		}
	}
	return errors.Join(errs...)
}

// decodeParameters decodes a build type's external parameters into ext,
// with exact keys, refusing fields it does not define (GitHub's build type
// asks consumers to reject unknown external parameters, and keyless's own
// do the same), and, when in is not nil, its internal parameters into in,
// which may hold more than keyless checks.
func decodeParameters(p verified, ext, in any) error {
	raw := p.BuildDefinition.ExternalParameters
	if len(raw) == 0 {
		return errors.New("provenance has no externalParameters")
	}
	const ep, ip = "predicate.buildDefinition.externalParameters", "predicate.buildDefinition.internalParameters"
	if err := decodeExact(raw, ext, ep, true); err != nil {
		return fmt.Errorf("provenance externalParameters: %w", err)
	}
	if raw := p.BuildDefinition.InternalParameters; in != nil && len(raw) != 0 {
		if err := decodeExact(raw, in, ip, false); err != nil {
			return fmt.Errorf("provenance internalParameters: %w", err)
		}
	}
	return nil
}

// configURI is repo+sep+path+"@"+ref, the certificate's BuildConfigURI, or
// "" when a part is missing.
func configURI(repo, sep, path, ref string) string {
	if repo == "" || path == "" || ref == "" {
		return ""
	}
	return repo + sep + path + "@" + ref
}

// sourceFields are the source dependency's repository, ref and commit.
func sourceFields(p verified, cert certificate.Summary) []field {
	const dep = "buildDefinition.resolvedDependencies[0]"
	var d ResourceDescriptor
	if len(p.BuildDefinition.ResolvedDependencies) > 0 {
		d = p.BuildDefinition.ResolvedDependencies[0]
	}
	repo, ref := d.URI, ""
	if rest, ok := strings.CutPrefix(d.URI, "git+"); ok {
		repo, ref, _ = strings.Cut(rest, "@")
	}
	return []field{
		{dep + ".uri repository", "SourceRepositoryURI", cert.SourceRepositoryURI, repo, true},
		{dep + ".uri ref", "SourceRepositoryRef", cert.SourceRepositoryRef, ref, true},
		{dep + ".digest.gitCommit", "SourceRepositoryDigest", cert.SourceRepositoryDigest, d.Digest["gitCommit"], true},
	}
}

func invocation(p verified) string {
	if m := p.RunDetails.Metadata; m != nil {
		return m.InvocationID
	}
	return ""
}

func githubFields(p verified, cert certificate.Summary) ([]field, error) {
	var ext GitHubParameters
	var in GitHubInternal
	if err := decodeParameters(p, &ext, &in); err != nil {
		return nil, err
	}
	w, gh := ext.Workflow, in.GitHub
	config := configURI(w.Repository, "/", w.Path, w.Ref)
	return append(sourceFields(p, cert),
		field{"runDetails.builder.id", "BuildSignerURI", cert.BuildSignerURI, p.RunDetails.Builder.ID, true},
		field{"externalParameters.workflow.repository", "SourceRepositoryURI", cert.SourceRepositoryURI, w.Repository, true},
		field{"externalParameters.workflow (repository/path@ref)", "BuildConfigURI", cert.BuildConfigURI, config, true},
		field{"runDetails.metadata.invocationId", "RunInvocationURI", cert.RunInvocationURI, invocation(p), false},
		field{"internalParameters.github.event_name", "BuildTrigger", cert.BuildTrigger, gh.EventName, false},
		field{"internalParameters.github.repository_id", "SourceRepositoryIdentifier", cert.SourceRepositoryIdentifier, gh.RepositoryID, false},
		field{"internalParameters.github.repository_owner_id", "SourceRepositoryOwnerIdentifier", cert.SourceRepositoryOwnerIdentifier, gh.RepositoryOwnerID, false},
		field{"internalParameters.github.runner_environment", "RunnerEnvironment", cert.RunnerEnvironment, gh.RunnerEnvironment, false},
	), nil
}

func gitlabFields(p verified, cert certificate.Summary) ([]field, error) {
	var ext GitLabParameters
	var in GitLabInternal
	if err := decodeParameters(p, &ext, &in); err != nil {
		return nil, err
	}
	gl := in.GitLab
	config := configURI(ext.Source, "//", ext.ConfigPath, ext.Ref)
	return append(sourceFields(p, cert),
		field{"runDetails.builder.id", "BuildSignerURI", cert.BuildSignerURI, p.RunDetails.Builder.ID, true},
		field{"externalParameters.source", "SourceRepositoryURI", cert.SourceRepositoryURI, ext.Source, true},
		field{"externalParameters.ref", "SourceRepositoryRef", cert.SourceRepositoryRef, ext.Ref, true},
		field{"externalParameters (source//configPath@ref)", "BuildConfigURI", cert.BuildConfigURI, config, true},
		field{"runDetails.metadata.invocationId", "RunInvocationURI", cert.RunInvocationURI, invocation(p), false},
		field{"internalParameters.gitlab.pipeline_source", "BuildTrigger", cert.BuildTrigger, gl.PipelineSource, false},
		field{"internalParameters.gitlab.project_id", "SourceRepositoryIdentifier", cert.SourceRepositoryIdentifier, gl.ProjectID, false},
		field{"internalParameters.gitlab.namespace_id", "SourceRepositoryOwnerIdentifier", cert.SourceRepositoryOwnerIdentifier, gl.NamespaceID, false},
	), nil
}

// kubernetesSAN is how Fulcio's kubernetes issuer names a service account.
const kubernetesSAN = "https://kubernetes.io/namespaces/"

func tektonFields(p verified, cert certificate.Summary) ([]field, error) {
	var ext TektonParameters
	if err := decodeParameters(p, &ext, nil); err != nil {
		return nil, err
	}
	ns := ""
	if rest, ok := strings.CutPrefix(cert.SubjectAlternativeName, kubernetesSAN); ok {
		ns, _, _ = strings.Cut(rest, "/serviceaccounts/")
	}
	return []field{
		{"runDetails.builder.id", "SubjectAlternativeName", cert.SubjectAlternativeName, p.RunDetails.Builder.ID, true},
		{"externalParameters.namespace", "SubjectAlternativeName namespace", ns, ext.Namespace, true},
	}, nil
}
