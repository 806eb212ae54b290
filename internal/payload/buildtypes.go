package payload

// The build types of the provenance keyless states, one per platform. A
// build type says how to read a provenance's parameters; CheckPredicate
// knows each one's fields, and which of them the signing certificate
// asserts.
//
// GitHub follows actions/attest (@actions/attest buildSLSAProvenancePredicate)
// field for field, so that `gh attestation verify` and other verifiers of
// GitHub's provenance read it. GitLab and Tekton have no build type that a
// step can honestly claim: the GitLab runner's
// (https://gitlab.com/gitlab-org/gitlab-runner/-/blob/<version>/PROVENANCE.md)
// describes the runner's own view of a job (runner name, executor, every
// variable), and Tekton Chains' (https://tekton.dev/chains/v2/slsa) the
// TaskRun's whole spec as its controller reads it. keyless runs inside the
// job, so it names its own build types, in the shape of GitHub's: the
// source as a git+ resolved dependency with a gitCommit digest, the
// signing identity as builder.id, the run as invocationId.
const (
	// GitHubBuildType is GitHub's workflow build type
	// (https://github.com/actions/buildtypes/tree/main/workflow/v1).
	GitHubBuildType = "https://actions.github.io/buildtypes/workflow/v1"
	// GitLabBuildType is a GitLab CI job: GitLabParameters and
	// GitLabInternal, the project at its ref and commit, builder.id the
	// certificate's build signer (ci_config_ref_uri) and invocationId the
	// job's URL.
	GitLabBuildType = "https://github.com/keyless-dev/keyless/buildtypes/gitlab/v1"
	// TektonBuildType is a Tekton TaskRun, in a PipelineRun or alone:
	// TektonParameters and TektonInternal, builder.id the service account
	// the step signed as, invocationId the TaskRun's UID (as Chains writes
	// it), and the source, when the Task is given it, as a resolved
	// dependency named "source".
	TektonBuildType = "https://github.com/keyless-dev/keyless/buildtypes/tekton/v1"
)

// GitHubParameters are the external parameters of GitHubBuildType.
type GitHubParameters struct {
	Workflow GitHubWorkflow `json:"workflow"`
}

// GitHubWorkflow is the top-level workflow of a run: its ref, its
// repository's URL, and its path in the repository.
type GitHubWorkflow struct {
	Ref        string `json:"ref"`
	Repository string `json:"repository"`
	Path       string `json:"path"`
}

// GitHubInternal are the internal parameters of GitHubBuildType.
type GitHubInternal struct {
	GitHub GitHubRun `json:"github"`
}

// GitHubRun is what triggered a workflow run, and where it ran.
type GitHubRun struct {
	EventName         string `json:"event_name"`
	RepositoryID      string `json:"repository_id"`
	RepositoryOwnerID string `json:"repository_owner_id"`
	RunnerEnvironment string `json:"runner_environment,omitempty"`
}

// GitLabParameters are the external parameters of GitLabBuildType: the
// project's URL (as the GitLab runner's "source"), the ref (refs/heads/…
// or refs/tags/…), the CI configuration's path and the job's name (as the
// runner's "entryPoint").
type GitLabParameters struct {
	Source     string `json:"source"`
	Ref        string `json:"ref"`
	ConfigPath string `json:"configPath"`
	EntryPoint string `json:"entryPoint"`
}

// GitLabInternal are the internal parameters of GitLabBuildType.
type GitLabInternal struct {
	GitLab GitLabRun `json:"gitlab"`
}

// GitLabRun is the pipeline and job that ran, and what started them.
type GitLabRun struct {
	PipelineSource string `json:"pipeline_source"`
	ProjectID      string `json:"project_id"`
	NamespaceID    string `json:"namespace_id"`
	PipelineID     string `json:"pipeline_id"`
	JobID          string `json:"job_id"`
}

// TektonParameters are the external parameters of TektonBuildType.
type TektonParameters struct {
	Namespace   string `json:"namespace"`
	TaskRun     string `json:"taskRun"`
	PipelineRun string `json:"pipelineRun,omitempty"`
}

// TektonInternal are the internal parameters of TektonBuildType.
type TektonInternal struct {
	Tekton TektonRun `json:"tekton"`
}

// TektonRun holds the UIDs of the TaskRun and its PipelineRun.
type TektonRun struct {
	TaskRunUID     string `json:"taskrun_uid"`
	PipelineRunUID string `json:"pipelinerun_uid,omitempty"`
}
