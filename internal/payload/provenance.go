package payload

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// ProvenanceType is the predicate type of SLSA v1 provenance.
const ProvenanceType = "https://slsa.dev/provenance/v1"

// Provenance is a SLSA v1 provenance predicate
// (https://slsa.dev/spec/v1.0/provenance), and the Kind that states it about
// every signed digest. A platform adapter (package ci) fills it from the
// platform's own facts, with one of the build types in buildtypes.go.
type Provenance struct {
	// BuildDefinition is what the build ran, from which inputs.
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	// RunDetails says who ran the build, and which run it was.
	RunDetails RunDetails `json:"runDetails"`
}

var _ Kind = Provenance{}

// BuildDefinition is the input of a build.
type BuildDefinition struct {
	// BuildType is the URI of the template that says how to read the
	// parameters, e.g. GitHubBuildType.
	BuildType string `json:"buildType"`
	// ExternalParameters are the build's inputs that a verifier checks:
	// one of the buildType's parameter types.
	ExternalParameters any `json:"externalParameters"`
	// InternalParameters are the builder's own settings.
	InternalParameters any `json:"internalParameters,omitempty"`
	// ResolvedDependencies are the artifacts the build ran from, the source
	// commit first.
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// ResourceDescriptor names an artifact: a git commit is
// {"uri": "git+<repository>@<ref>", "digest": {"gitCommit": "<sha>"}}.
type ResourceDescriptor struct {
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
	Name   string            `json:"name,omitempty"`
}

// RunDetails is the build's run.
type RunDetails struct {
	// Builder is the entity trusted to have run the build and stated it.
	Builder Builder `json:"builder"`
	// Metadata identifies the run.
	Metadata *BuildMetadata `json:"metadata,omitempty"`
}

// Builder identifies the builder by a URI.
type Builder struct {
	ID string `json:"id"`
}

// BuildMetadata identifies one run of a build.
type BuildMetadata struct {
	InvocationID string     `json:"invocationId,omitempty"`
	StartedOn    *time.Time `json:"startedOn,omitempty"`
}

// GitDependency is the resource descriptor of a git commit, as SLSA and
// actions/attest write it: "git+<repository>@<ref>" with a gitCommit digest.
// An empty ref leaves out "@<ref>".
func GitDependency(repository, ref, commit string) ResourceDescriptor {
	uri := "git+" + repository
	if ref != "" {
		uri += "@" + ref
	}
	return ResourceDescriptor{URI: uri, Digest: map[string]string{"gitCommit": commit}}
}

// PredicateType is ProvenanceType.
func (p Provenance) PredicateType() string { return ProvenanceType }

// Statement returns the provenance statement about d. Its subject is named
// by d's repository, as cosign attest names it.
func (p Provenance) Statement(d name.Digest) ([]byte, error) {
	pred, err := p.predicate()
	if err != nil {
		return nil, err
	}
	return newSubjectStatement(d.Context().Name(), d, ProvenanceType, pred, nil)
}

// predicate returns p as JSON, or why it is not a provenance.
func (p Provenance) predicate() (json.RawMessage, error) {
	switch {
	case p.BuildDefinition.BuildType == "":
		return nil, errors.New("provenance has no buildType")
	case p.RunDetails.Builder.ID == "":
		return nil, errors.New("provenance has no builder.id")
	case p.BuildDefinition.ExternalParameters == nil:
		return nil, errors.New("provenance has no externalParameters")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding provenance: %w", err)
	}
	return b, nil
}
