package oidc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// buildkiteJob and circleciJob are the claims of a Buildkite job's and a
// CircleCI job's token, with the claim names the two systems use.
var (
	buildkiteJob = map[string]any{
		"iss": "https://agent.buildkite.com", "sub": "organization:acme:pipeline:app:ref:refs/heads/main:commit:9f3182061f1e2cca4702c368cbc039b7dc9d4485:step:sign",
		"organization_slug": "acme", "pipeline_slug": "app", "build_number": 42, "build_branch": "main", "build_tag": nil,
		"build_commit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485", "step_key": "sign",
		"job_id": "0184990a-477b-4fa8-9968-496074483cee", "agent_id": "0184990a-4782-42b5-afc1-16715b10b8ff",
		"build_source": "webhook", "runner_environment": "buildkite-hosted",
	}
	circleciJob = map[string]any{
		"iss": "https://oidc.circleci.com/org/0c5e7a1e-1b2c-4d3e-8f90-a1b2c3d4e5f6", "sub": "org/0c5e7a1e-1b2c-4d3e-8f90-a1b2c3d4e5f6/project/5f7a8b9c-0d1e-4f2a-b3c4-d5e6f7a8b9c0/user/u",
		"oidc.circleci.com/org-id": "0c5e7a1e-1b2c-4d3e-8f90-a1b2c3d4e5f6", "oidc.circleci.com/project-id": "5f7a8b9c-0d1e-4f2a-b3c4-d5e6f7a8b9c0",
		"oidc.circleci.com/pipeline-definition-id": "6a7b8c9d-0e1f-4a2b-c3d4-e5f6a7b8c9d0", "oidc.circleci.com/pipeline-id": "7b8c9d0e-1f2a-4b3c-d4e5-f6a7b8c9d0e1",
		"oidc.circleci.com/workflow-id": "8c9d0e1f-2a3b-4c4d-e5f6-a7b8c9d0e1f2", "oidc.circleci.com/job-id": "9d0e1f2a-3b4c-4d5e-f6a7-b8c9d0e1f2a3",
		"oidc.circleci.com/vcs-origin": "github.com/acme/app", "oidc.circleci.com/vcs-ref": "refs/heads/main",
		"oidc.circleci.com/context-ids": []any{"c0"}, "oidc.circleci.com/ssh-rerun": false,
	}
)

const (
	buildkiteSAN = "https://buildkite.com/acme/app"
	circleciSAN  = "https://circleci.com/api/v2/projects/5f7a8b9c-0d1e-4f2a-b3c4-d5e6f7a8b9c0/pipeline-definitions/6a7b8c9d-0e1f-4a2b-c3d4-e5f6a7b8c9d0"
)

// TestCertifiedCIProvider: what Fulcio's ci-provider templates (public-good's
// buildkite-job and circleci-job) make of each token, including their
// quirks: a build number of a million or more in float notation, and
// CircleCI's run URL with two slashes and its runner environment of two
// quote characters.
func TestCertifiedCIProvider(t *testing.T) {
	buildkite := certificate.Summary{SubjectAlternativeName: buildkiteSAN, Extensions: certificate.Extensions{
		Issuer:                 "https://agent.buildkite.com",
		RunInvocationURI:       "https://buildkite.com/acme/app/builds/42#0184990a-477b-4fa8-9968-496074483cee",
		RunnerEnvironment:      "buildkite-hosted",
		SourceRepositoryDigest: "9f3182061f1e2cca4702c368cbc039b7dc9d4485",
		BuildTrigger:           "webhook",
	}}
	circleci := certificate.Summary{SubjectAlternativeName: circleciSAN, Extensions: certificate.Extensions{
		Issuer:              "https://oidc.circleci.com/org/0c5e7a1e-1b2c-4d3e-8f90-a1b2c3d4e5f6",
		BuildConfigURI:      "https://circleci.com/api/v2/pipeline/7b8c9d0e-1f2a-4b3c-d4e5-f6a7b8c9d0e1/config",
		BuildSignerURI:      circleciSAN,
		RunInvocationURI:    "https://app.circleci.com//workflow/8c9d0e1f-2a3b-4c4d-e5f6-a7b8c9d0e1f2/job/9d0e1f2a-3b4c-4d5e-f6a7-b8c9d0e1f2a3",
		RunnerEnvironment:   `""`,
		SourceRepositoryRef: "refs/heads/main",
		SourceRepositoryURI: "github.com/acme/app",
	}}
	with := func(s certificate.Summary, f func(*certificate.Summary)) certificate.Summary { f(&s); return s }
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   certificate.Summary
	}{
		{"buildkite", buildkiteJob, buildkite},
		{"buildkite build number of a million: Fulcio's %v of a float", withClaims(buildkiteJob, map[string]any{"build_number": 1234567}),
			with(buildkite, func(s *certificate.Summary) {
				s.RunInvocationURI = "https://buildkite.com/acme/app/builds/1.234567e+06#0184990a-477b-4fa8-9968-496074483cee"
			})},
		{"buildkite url claim over the default", withClaims(buildkiteJob, map[string]any{"url": "https://bk.example"}),
			with(buildkite, func(s *certificate.Summary) {
				s.SubjectAlternativeName = "https://bk.example/acme/app"
				s.RunInvocationURI = "https://bk.example/acme/app/builds/42#0184990a-477b-4fa8-9968-496074483cee"
			})},
		{"circleci", circleciJob, circleci},
		{"circleci SSH rerun", withClaims(circleciJob, map[string]any{"oidc.circleci.com/ssh-rerun": true}),
			with(circleci, func(s *certificate.Summary) { s.RunnerEnvironment = "ssh-rerun" })},
		{"circleci custom webhook: no vcs claims, empty as in Fulcio", withClaims(circleciJob, map[string]any{"oidc.circleci.com/vcs-origin": nil, "oidc.circleci.com/vcs-ref": nil}),
			with(circleci, func(s *certificate.Summary) { s.SourceRepositoryURI, s.SourceRepositoryRef = "", "" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustParse(t, tc.claims).Certified()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Certified mismatch (-want +got):\n%s", diff)
			}
			id, err := mustParse(t, tc.claims).Identity()
			if err != nil || id.SAN != tc.want.SubjectAlternativeName {
				t.Errorf("Identity = %+v, %v; want the SAN %s", id, err, tc.want.SubjectAlternativeName)
			}
		})
	}
}

// TestCIProviderErrors: a claim that Fulcio's template needs, or that
// keyless needs to name the identity, is required.
func TestCIProviderErrors(t *testing.T) {
	for _, claim := range buildkiteClaims {
		t.Run("buildkite without "+claim, func(t *testing.T) {
			_, err := mustParse(t, withClaims(buildkiteJob, map[string]any{claim: nil})).Certified()
			var pe *PreflightError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "Buildkite token has no "+claim+" claim") || !strings.Contains(err.Error(), "--audience sigstore") {
				t.Errorf("Certified() = %v, want a PreflightError naming %s", err, claim)
			}
		})
	}
	for _, claim := range []string{CircleProjectClaim, CircleDefinitionClaim} {
		t.Run("circleci without "+claim, func(t *testing.T) {
			_, err := mustParse(t, withClaims(circleciJob, map[string]any{claim: ""})).Identity()
			var pe *PreflightError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "CircleCI token has no "+claim+" claim") {
				t.Errorf("Identity() = %v, want a PreflightError naming %s", err, claim)
			}
		})
	}
}

// TestCIProviderKind: the two shapes are told apart by their claims,
// whatever the issuer (a private Buildkite or the local stack's).
func TestCIProviderKind(t *testing.T) {
	for _, tc := range []struct {
		claims map[string]any
		want   Kind
	}{
		{map[string]any{"iss": "https://x", "organization_slug": "a", "pipeline_slug": "b"}, Buildkite},
		{map[string]any{"iss": "https://x", "organization_slug": "a"}, Generic},
		{map[string]any{"iss": "https://x", "oidc.circleci.com/project-id": "p"}, CircleCI},
		{map[string]any{"iss": "https://x", "oidc.circleci.com/org-id": "o"}, Generic},
	} {
		if got := mustParse(t, tc.claims).Kind(); got != tc.want {
			t.Errorf("Kind(%v) = %s, want %s", tc.claims, got, tc.want)
		}
	}
}

// TestFulcioValue: claims written as Fulcio's mapValuesToString writes
// them, over JSON decoded as keyless decodes it (json.Number).
func TestFulcioValue(t *testing.T) {
	for raw, want := range map[string]string{
		`"main"`: "main", `42`: "42", `123456`: "123456", `1234567`: "1.234567e+06", `1.5`: "1.5",
		`true`: "true", `false`: "false", `null`: "<nil>", `["a","b"]`: "[a b]",
	} {
		var v any
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got := fulcioValue(v); got != want {
			t.Errorf("fulcioValue(%s) = %q, want %q", raw, got, want)
		}
	}
}

// TestCIProviderKindByIssuer: a token of Buildkite's or CircleCI's own
// issuer is of their kind even without the claims, so that a missing
// claim is named rather than the token taken for a generic one.
func TestCIProviderKindByIssuer(t *testing.T) {
	for iss, want := range map[string]Kind{
		"https://agent.buildkite.com": Buildkite, "https://oidc.circleci.com/org/o": CircleCI,
		"https://oidc.circleci.com.example": Generic, "https://agent.buildkite.com.example": Generic,
	} {
		if got := mustParse(t, map[string]any{"iss": iss, "sub": "s"}).Kind(); got != want {
			t.Errorf("Kind(iss %s) = %s, want %s", iss, got, want)
		}
	}
}
