package payload

import (
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// CircleCIBuildType is a CircleCI job: CircleCIParameters and
// CircleCIInternal, the repository that triggered the pipeline at its ref
// as a resolved dependency (when the pipeline has one), builder.id the
// certificate's subject (the pipeline definition,
// https://circleci.com/api/v2/projects/<project>/pipeline-definitions/<id>)
// and invocationId the job's URL, as Fulcio's circleci-job template writes
// them.
const CircleCIBuildType = "https://github.com/keyless-dev/keyless/buildtypes/circleci/v1"

// CircleCIParameters are the external parameters of CircleCIBuildType:
// the project and pipeline definition ids, the ref that triggered the
// pipeline, and the job's name.
type CircleCIParameters struct {
	Project            string `json:"project"`
	PipelineDefinition string `json:"pipelineDefinition"`
	Ref                string `json:"ref,omitempty"`
	Job                string `json:"job"`
}

// CircleCIInternal are the internal parameters of CircleCIBuildType.
type CircleCIInternal struct {
	CircleCI CircleCIRun `json:"circleci"`
}

// CircleCIRun is the pipeline, workflow and job that ran.
type CircleCIRun struct {
	PipelineID string `json:"pipeline_id"`
	WorkflowID string `json:"workflow_id"`
	JobID      string `json:"job_id"`
}

// CircleCIOrigin is the repository URL of a CircleCI vcs-origin
// (github.com/org/repo), as the dependency names it.
func CircleCIOrigin(origin string) string {
	if origin == "" || strings.Contains(origin, "://") {
		return origin
	}
	return "https://" + origin
}

// circleciFields: the subject and build signer are the pipeline
// definition, the build config the pipeline's, the run URL the workflow's
// job; the repository (https:// + vcs-origin) and ref are the pipeline's
// trigger. CircleCI's claims hold no commit: the dependency's is the job's
// CIRCLE_SHA1, which the certificate does not certify.
func circleciFields(p verified, cert certificate.Summary) ([]field, error) {
	var ext CircleCIParameters
	var in CircleCIInternal
	if err := decodeParameters(p, &ext, &in); err != nil {
		return nil, err
	}
	cc := in.CircleCI
	api, _, _ := strings.Cut(cert.SubjectAlternativeName, "/projects/")
	definition, config, run := "", "", ""
	if ext.Project != "" && ext.PipelineDefinition != "" {
		definition = api + "/projects/" + ext.Project + "/pipeline-definitions/" + ext.PipelineDefinition
	}
	if cc.PipelineID != "" {
		config = api + "/pipeline/" + cc.PipelineID + "/config"
	}
	if i := strings.Index(cert.RunInvocationURI, "/workflow/"); i >= 0 && cc.WorkflowID != "" && cc.JobID != "" {
		run = cert.RunInvocationURI[:i] + "/workflow/" + cc.WorkflowID + "/job/" + cc.JobID
	}
	fields := []field{
		{"runDetails.builder.id", "BuildSignerURI", cert.BuildSignerURI, p.RunDetails.Builder.ID, true},
		{"externalParameters (project, pipelineDefinition)", "SubjectAlternativeName", cert.SubjectAlternativeName, definition, true},
		{"internalParameters.circleci.pipeline_id", "BuildConfigURI", cert.BuildConfigURI, config, true},
		{"runDetails.metadata.invocationId", "RunInvocationURI", cert.RunInvocationURI, invocation(p), true},
		{"internalParameters.circleci (workflow_id, job_id)", "RunInvocationURI", cert.RunInvocationURI, run, true},
		{"externalParameters.ref", "SourceRepositoryRef", cert.SourceRepositoryRef, ext.Ref, cert.SourceRepositoryRef != ""},
	}
	if cert.SourceRepositoryURI == "" {
		return fields, nil
	}
	const dep = "buildDefinition.resolvedDependencies[0]"
	var d ResourceDescriptor
	if len(p.BuildDefinition.ResolvedDependencies) > 0 {
		d = p.BuildDefinition.ResolvedDependencies[0]
	}
	repo, ref := "", ""
	if rest, ok := strings.CutPrefix(d.URI, "git+"); ok {
		repo, ref, _ = strings.Cut(rest, "@")
	}
	return append(fields,
		field{dep + ".uri repository", "SourceRepositoryURI", CircleCIOrigin(cert.SourceRepositoryURI), repo, true},
		field{dep + ".uri ref", "SourceRepositoryRef", cert.SourceRepositoryRef, ref, cert.SourceRepositoryRef != ""},
	), nil
}
