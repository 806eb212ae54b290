package payload

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/keyless-dev/keyless/internal/input"
)

// attestPredicate is a predicate exactly as @actions/attest's
// buildSLSAProvenancePredicate writes it for a tag push.
const attestPredicate = `{
  "buildDefinition": {
    "buildType": "https://actions.github.io/buildtypes/workflow/v1",
    "externalParameters": {
      "workflow": {"ref": "refs/tags/v1.2.0", "repository": "https://github.com/octo/app", "path": ".github/workflows/release.yml"}
    },
    "internalParameters": {
      "github": {"event_name": "push", "repository_id": "123", "repository_owner_id": "456", "runner_environment": "github-hosted"}
    },
    "resolvedDependencies": [
      {"uri": "git+https://github.com/octo/app@refs/tags/v1.2.0", "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}}
    ]
  },
  "runDetails": {
    "builder": {"id": "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.0"},
    "metadata": {"invocationId": "https://github.com/octo/app/actions/runs/789/attempts/2"}
  }
}`

// githubCert is what Fulcio's github-workflow issuer writes for that run.
func githubCert() certificate.Summary {
	return certificate.Summary{
		CertificateIssuer:      "CN=sigstore-intermediate,O=sigstore.dev",
		SubjectAlternativeName: "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.0",
		Extensions: certificate.Extensions{
			Issuer:                          "https://token.actions.githubusercontent.com",
			BuildSignerURI:                  "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.0",
			BuildConfigURI:                  "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.0",
			RunnerEnvironment:               "github-hosted",
			SourceRepositoryURI:             "https://github.com/octo/app",
			SourceRepositoryDigest:          "0123456789abcdef0123456789abcdef01234567",
			SourceRepositoryRef:             "refs/tags/v1.2.0",
			SourceRepositoryIdentifier:      "123",
			SourceRepositoryOwnerIdentifier: "456",
			BuildTrigger:                    "push",
			RunInvocationURI:                "https://github.com/octo/app/actions/runs/789/attempts/2",
		},
	}
}

const gitlabPredicate = `{
  "buildDefinition": {
    "buildType": "https://github.com/keyless-dev/keyless/buildtypes/gitlab/v1",
    "externalParameters": {"source": "https://gitlab.com/grp/app", "ref": "refs/heads/main", "configPath": ".gitlab-ci.yml", "entryPoint": "sign"},
    "internalParameters": {"gitlab": {"pipeline_source": "push", "project_id": "11", "namespace_id": "22", "pipeline_id": "33", "job_id": "44"}},
    "resolvedDependencies": [{"uri": "git+https://gitlab.com/grp/app@refs/heads/main", "digest": {"gitCommit": "89abcdef0123456789abcdef0123456789abcdef"}}]
  },
  "runDetails": {
    "builder": {"id": "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main"},
    "metadata": {"invocationId": "https://gitlab.com/grp/app/-/jobs/44", "startedOn": "2025-01-02T03:04:05Z"}
  }
}`

func gitlabCert() certificate.Summary {
	return certificate.Summary{
		SubjectAlternativeName: "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main",
		Extensions: certificate.Extensions{
			Issuer:                          "https://gitlab.com",
			BuildSignerURI:                  "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main",
			BuildConfigURI:                  "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main",
			SourceRepositoryURI:             "https://gitlab.com/grp/app",
			SourceRepositoryDigest:          "89abcdef0123456789abcdef0123456789abcdef",
			SourceRepositoryRef:             "refs/heads/main",
			SourceRepositoryIdentifier:      "11",
			SourceRepositoryOwnerIdentifier: "22",
			BuildTrigger:                    "push",
			RunInvocationURI:                "https://gitlab.com/grp/app/-/jobs/44",
			RunnerEnvironment:               "gitlab-hosted",
		},
	}
}

const tektonPredicate = `{
  "buildDefinition": {
    "buildType": "https://github.com/keyless-dev/keyless/buildtypes/tekton/v1",
    "externalParameters": {"namespace": "ci", "taskRun": "build-abc-sign", "pipelineRun": "build-abc"},
    "internalParameters": {"tekton": {"taskrun_uid": "u-1", "pipelinerun_uid": "u-2"}}
  },
  "runDetails": {
    "builder": {"id": "https://kubernetes.io/namespaces/ci/serviceaccounts/signer"},
    "metadata": {"invocationId": "u-1"}
  }
}`

func tektonCert() certificate.Summary {
	return certificate.Summary{
		SubjectAlternativeName: "https://kubernetes.io/namespaces/ci/serviceaccounts/signer",
		Extensions:             certificate.Extensions{Issuer: "https://kubernetes.default.svc"},
	}
}

func TestCheckPredicateAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, pred string
		cert       certificate.Summary
	}{
		{"github (actions/attest)", attestPredicate, githubCert()},
		{"gitlab", gitlabPredicate, gitlabCert()},
		{"tekton", tektonPredicate, tektonCert()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckPredicate(ProvenanceType, ProvenanceType, json.RawMessage(tc.pred), tc.cert); err != nil {
				t.Errorf("CheckPredicate: %v", err)
			}
		})
	}
}

// TestCheckPredicateMismatch changes one certificate field at a time: each
// is refused with the predicate's field, the certificate's value and the
// predicate's value named.
func TestCheckPredicateMismatch(t *testing.T) {
	for _, tc := range []struct {
		name, pred, field, found string
		cert                     func() certificate.Summary
		change                   func(*certificate.Summary)
	}{
		{"github repository", attestPredicate, "resolvedDependencies[0].uri repository", "https://github.com/octo/app", githubCert, func(c *certificate.Summary) { c.SourceRepositoryURI = "https://github.com/evil/app" }},
		{"github ref", attestPredicate, "resolvedDependencies[0].uri ref", "refs/tags/v1.2.0", githubCert, func(c *certificate.Summary) { c.SourceRepositoryRef = "refs/heads/main" }},
		{"github commit", attestPredicate, "digest.gitCommit", "0123456789abcdef0123456789abcdef01234567", githubCert, func(c *certificate.Summary) { c.SourceRepositoryDigest = "ffff" }},
		{"github builder", attestPredicate, "runDetails.builder.id", "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.0", githubCert, func(c *certificate.Summary) {
			c.BuildSignerURI = "https://github.com/octo/reusable/.github/workflows/build.yml@refs/heads/main"
		}},
		{"github workflow", attestPredicate, "externalParameters.workflow (repository/path@ref)", "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.0", githubCert, func(c *certificate.Summary) {
			c.BuildConfigURI = "https://github.com/octo/app/.github/workflows/other.yml@refs/tags/v1.2.0"
		}},
		{"github run", attestPredicate, "runDetails.metadata.invocationId", "https://github.com/octo/app/actions/runs/789/attempts/2", githubCert, func(c *certificate.Summary) {
			c.RunInvocationURI = "https://github.com/octo/app/actions/runs/789/attempts/3"
		}},
		{"github event", attestPredicate, "internalParameters.github.event_name", "push", githubCert, func(c *certificate.Summary) { c.BuildTrigger = "pull_request_target" }},
		{"github repository id", attestPredicate, "internalParameters.github.repository_id", "123", githubCert, func(c *certificate.Summary) { c.SourceRepositoryIdentifier = "999" }},
		{"github owner id", attestPredicate, "internalParameters.github.repository_owner_id", "456", githubCert, func(c *certificate.Summary) { c.SourceRepositoryOwnerIdentifier = "999" }},
		{"github runner", attestPredicate, "internalParameters.github.runner_environment", "github-hosted", githubCert, func(c *certificate.Summary) { c.RunnerEnvironment = "self-hosted" }},
		{"github cert of another platform", attestPredicate, "resolvedDependencies[0].uri repository", "https://github.com/octo/app", githubCert, func(c *certificate.Summary) { *c = tektonCert() }},
		{"gitlab repository", gitlabPredicate, "externalParameters.source", "https://gitlab.com/grp/app", gitlabCert, func(c *certificate.Summary) { c.SourceRepositoryURI = "https://gitlab.com/evil/app" }},
		{"gitlab ref", gitlabPredicate, "externalParameters.ref", "refs/heads/main", gitlabCert, func(c *certificate.Summary) { c.SourceRepositoryRef = "refs/tags/v1" }},
		{"gitlab commit", gitlabPredicate, "digest.gitCommit", "89abcdef0123456789abcdef0123456789abcdef", gitlabCert, func(c *certificate.Summary) { c.SourceRepositoryDigest = "0000" }},
		{"gitlab builder", gitlabPredicate, "runDetails.builder.id", "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main", gitlabCert, func(c *certificate.Summary) {
			c.BuildSignerURI = "https://gitlab.com/grp/app//other.yml@refs/heads/main"
		}},
		{"gitlab config", gitlabPredicate, "(source//configPath@ref)", "https://gitlab.com/grp/app//.gitlab-ci.yml@refs/heads/main", gitlabCert, func(c *certificate.Summary) {
			c.BuildConfigURI = "https://gitlab.com/grp/app//other.yml@refs/heads/main"
		}},
		{"gitlab job", gitlabPredicate, "runDetails.metadata.invocationId", "https://gitlab.com/grp/app/-/jobs/44", gitlabCert, func(c *certificate.Summary) { c.RunInvocationURI = "https://gitlab.com/grp/app/-/jobs/45" }},
		{"gitlab trigger", gitlabPredicate, "internalParameters.gitlab.pipeline_source", "push", gitlabCert, func(c *certificate.Summary) { c.BuildTrigger = "merge_request_event" }},
		{"gitlab project id", gitlabPredicate, "internalParameters.gitlab.project_id", "11", gitlabCert, func(c *certificate.Summary) { c.SourceRepositoryIdentifier = "12" }},
		{"gitlab namespace id", gitlabPredicate, "internalParameters.gitlab.namespace_id", "22", gitlabCert, func(c *certificate.Summary) { c.SourceRepositoryOwnerIdentifier = "23" }},
		{"tekton builder", tektonPredicate, "runDetails.builder.id", "https://kubernetes.io/namespaces/ci/serviceaccounts/signer", tektonCert, func(c *certificate.Summary) {
			c.SubjectAlternativeName = "https://kubernetes.io/namespaces/ci/serviceaccounts/other"
		}},
		{"tekton namespace", tektonPredicate, "externalParameters.namespace", "ci", tektonCert, func(c *certificate.Summary) {
			c.SubjectAlternativeName = "https://kubernetes.io/namespaces/prod/serviceaccounts/signer"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := tc.cert()
			tc.change(&cert)
			err := CheckPredicate(ProvenanceType, ProvenanceType, json.RawMessage(tc.pred), cert)
			if err == nil {
				t.Fatal("CheckPredicate accepted a provenance its certificate contradicts")
			}
			for _, s := range []string{tc.field, `"` + tc.found + `"`} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if input.Is(err) {
				t.Errorf("a contradicted provenance is a verification failure, not bad input: %v", err)
			}
		})
	}
}

// TestCheckPredicateRefuses covers predicates that cannot be checked.
func TestCheckPredicateRefuses(t *testing.T) {
	edit := func(old, new string) string { return strings.Replace(attestPredicate, old, new, 1) }
	for _, tc := range []struct {
		name, want, typ, pred, msg string
	}{
		{"other type", ProvenanceType, SPDXType, `{"spdxVersion":"SPDX-2.3"}`, `predicate type is "https://spdx.dev/Document", want "https://slsa.dev/provenance/v1"`},
		{"not JSON", SPDXType, SPDXType, `{"spdxVersion":`, "not a JSON object"},
		{"array", CycloneDXType, CycloneDXType, `[]`, "not a JSON object"},
		{"null", "https://example.com/p", "https://example.com/p", `null`, "not a JSON object"},
		{"unknown build type", ProvenanceType, ProvenanceType, `{"buildDefinition":{"buildType":"https://tekton.dev/chains/v2/slsa"}}`, `buildType "https://tekton.dev/chains/v2/slsa"`},
		{"unknown external parameter", ProvenanceType, ProvenanceType, edit(`"workflow": {`, `"inputs": {"x": 1}, "workflow": {`), `unknown field "inputs"`},
		{"no external parameters", ProvenanceType, ProvenanceType, `{"buildDefinition":{"buildType":"` + GitHubBuildType + `"}}`, "no externalParameters"},
		{"no source", ProvenanceType, ProvenanceType, edit(`"resolvedDependencies"`, `"x"`), "provenance has no buildDefinition.resolvedDependencies[0].uri repository"},
		{"no builder", ProvenanceType, ProvenanceType, edit(`"builder": {"id"`, `"builder": {"x"`), "provenance has no runDetails.builder.id"},
		{"not git", ProvenanceType, ProvenanceType, edit(`git+https://github.com/octo/app@refs/tags/v1.2.0`, `https://github.com/octo/app`), `ref; the certificate's SourceRepositoryRef is "refs/tags/v1.2.0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPredicate(tc.want, tc.typ, json.RawMessage(tc.pred), githubCert())
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("CheckPredicate = %v, want an error with %q", err, tc.msg)
			}
		})
	}
}

// TestCheckPredicateOtherTypes: an SBOM or custom predicate of the wanted
// type that parses is accepted, whatever the certificate.
func TestCheckPredicateOtherTypes(t *testing.T) {
	for _, tc := range []struct{ typ, pred string }{
		{SPDXType, `{"spdxVersion":"SPDX-2.3"}`},
		{CycloneDXType, `{"bomFormat":"CycloneDX"}`},
		{"https://example.com/p/v1", `{"anything":["goes"]}`},
	} {
		if err := CheckPredicate(tc.typ, tc.typ, json.RawMessage(tc.pred), certificate.Summary{}); err != nil {
			t.Errorf("CheckPredicate(%s): %v", tc.typ, err)
		}
	}
}

// TestCheckPredicateHostile: values with newlines, quotes and an @ in a
// tag agree when they are the same, and are quoted when they differ.
func TestCheckPredicateHostile(t *testing.T) {
	ref := "refs/tags/pkg@1.0\n::error::\"x\""
	p := Provenance{
		BuildDefinition: BuildDefinition{
			BuildType:            GitHubBuildType,
			ExternalParameters:   GitHubParameters{Workflow: GitHubWorkflow{Ref: ref, Repository: "https://github.com/octo/app", Path: ".github/workflows/release.yml"}},
			ResolvedDependencies: []ResourceDescriptor{GitDependency("https://github.com/octo/app", ref, "0123")},
		},
		RunDetails: RunDetails{Builder: Builder{ID: "https://github.com/octo/app/.github/workflows/release.yml@" + ref}},
	}
	pred, err := p.predicate()
	if err != nil {
		t.Fatal(err)
	}
	cert := certificate.Summary{Extensions: certificate.Extensions{
		SourceRepositoryURI: "https://github.com/octo/app", SourceRepositoryRef: ref, SourceRepositoryDigest: "0123",
		BuildSignerURI: p.RunDetails.Builder.ID, BuildConfigURI: p.RunDetails.Builder.ID,
	}}
	if err := CheckPredicate(ProvenanceType, ProvenanceType, pred, cert); err != nil {
		t.Fatalf("CheckPredicate: %v", err)
	}
	cert.SourceRepositoryRef = "refs/tags/pkg@1.0"
	err = CheckPredicate(ProvenanceType, ProvenanceType, pred, cert)
	if err == nil || strings.Contains(err.Error(), "\n::error") || !strings.Contains(err.Error(), `\n::error::\"x\"`) {
		t.Errorf("CheckPredicate = %v, want the hostile ref quoted on one line", err)
	}
}
