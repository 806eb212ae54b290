package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/keyless-dev/keyless/e2e/stack"
	"github.com/keyless-dev/keyless/internal/ci"
	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
)

// fulcioSummary asks the stack's Fulcio for a certificate for tok and
// returns its subject and extensions, as the verify gate reads them.
func fulcioSummary(t *testing.T, tok string) certificate.Summary {
	t.Helper()
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: stk.FulcioURL}).
		GetCertificate(context.Background(), kp, &sgsign.CertificateProviderOptions{IDToken: tok})
	if err != nil {
		t.Fatalf("Fulcio: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runnerEnv is the environment each platform gives a job whose token has
// claims c: the same facts, under the platform's variable names.
func runnerEnv(kind string, c func(string) string) map[string]string {
	switch kind {
	case "github":
		return map[string]string{
			"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": c("repository"), "GITHUB_WORKFLOW_REF": c("workflow_ref"),
			"GITHUB_REF": c("ref"), "GITHUB_SHA": c("sha"), "GITHUB_EVENT_NAME": c("event_name"),
			"GITHUB_REPOSITORY_ID": c("repository_id"), "GITHUB_REPOSITORY_OWNER_ID": c("repository_owner_id"),
			"GITHUB_RUN_ID": c("run_id"), "GITHUB_RUN_ATTEMPT": c("run_attempt"), "RUNNER_ENVIRONMENT": c("runner_environment"),
		}
	case "gitlab":
		project := "https://gitlab.com/" + c("project_path")
		e := map[string]string{
			"CI_PROJECT_URL": project, "CI_COMMIT_REF_NAME": c("ref"), "CI_COMMIT_SHA": c("sha"), "CI_CONFIG_PATH": ".gitlab-ci.yml",
			"CI_JOB_NAME": "sign", "CI_JOB_URL": project + "/-/jobs/" + c("job_id"), "CI_PIPELINE_SOURCE": c("pipeline_source"),
			"CI_PROJECT_ID": c("project_id"), "CI_PROJECT_NAMESPACE_ID": c("namespace_id"), "CI_PIPELINE_ID": c("pipeline_id"), "CI_JOB_ID": c("job_id"),
		}
		if c("ref_type") == "tag" {
			e["CI_COMMIT_TAG"] = c("ref")
		}
		return e
	}
	return map[string]string{"KEYLESS_TASKRUN_NAME": "build-sign", "KEYLESS_TASKRUN_NAMESPACE": "keyless", "KEYLESS_TASKRUN_UID": "uid-1"}
}

// TestProvenanceAgainstFulcio: what keyless makes of each kind of token's
// claims (oidc.Token.Certified) is what the real Fulcio certifies for it;
// the provenance each platform states from its job's token agrees with
// that certificate, field for field as the verify gate checks it; and a
// job variable that disagrees with its token is refused, naming it.
func TestProvenanceAgainstFulcio(t *testing.T) {
	d, err := name.NewDigest("registry.example.com/app@sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kind string
		claims     map[string]any
		platform   func(ci.Env) ci.Builder
		tamper     string // a variable to change: the run is then refused
	}{
		{"github", "github", nil, func(e ci.Env) ci.Builder { return ci.NewGitHub(e) }, "GITHUB_SHA"},
		{"github tag", "github", map[string]any{"ref": "refs/tags/v1.2.0"}, func(e ci.Env) ci.Builder { return ci.NewGitHub(e) }, "GITHUB_REF"},
		{"gitlab", "gitlab", nil, func(e ci.Env) ci.Builder { return ci.NewGitLab(e) }, "CI_COMMIT_REF_NAME"},
		{"gitlab tag", "gitlab", map[string]any{"ref": "v1.0", "ref_type": "tag"}, func(e ci.Env) ci.Builder { return ci.NewGitLab(e) }, "CI_JOB_URL"},
		{"tekton", "kubernetes", nil, func(e ci.Env) ci.Builder { return ci.NewTekton(e) }, "KEYLESS_TASKRUN_NAMESPACE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []stack.MintOption
			if tc.claims != nil {
				opts = append(opts, stack.WithClaims(tc.claims))
			}
			raw := mint(t, tc.kind, opts...)
			tok, err := oidc.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			claim := func(n string) string { v, _ := tok.Claim(n); return v }
			cert := fulcioSummary(t, raw)
			if tag := tc.claims != nil; tag != strings.HasPrefix(cert.SourceRepositoryRef, "refs/tags/") {
				t.Fatalf("certificate's ref is %q", cert.SourceRepositoryRef)
			}
			model, err := tok.Certified()
			if err != nil {
				t.Fatal(err)
			}
			cert.CertificateIssuer = "" // the CA's name, not the token's
			if diff := cmp.Diff(cert, model); diff != "" {
				t.Errorf("keyless's model of the certificate differs from Fulcio's (-fulcio +keyless):\n%s", diff)
			}
			env := runnerEnv(tc.kind, claim)
			p, err := tc.platform(ci.Env{Getenv: func(k string) string { return env[k] }}).Provenance(tok)
			if err != nil {
				t.Fatalf("Provenance: %v", err)
			}
			b, err := p.Statement(d)
			if err != nil {
				t.Fatal(err)
			}
			var st struct {
				PredicateType string          `json:"predicateType"`
				Predicate     json.RawMessage `json:"predicate"`
			}
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			if err := payload.CheckPredicate(payload.ProvenanceType, st.PredicateType, st.Predicate, cert); err != nil {
				t.Errorf("the job's own provenance disagrees with its certificate: %v\ncertificate: %s", err, fmt.Sprintf("%+v", cert))
			}
			env[tc.tamper] += "-other"
			_, err = tc.platform(ci.Env{Getenv: func(k string) string { return env[k] }}).Provenance(tok)
			if err == nil || !strings.Contains(err.Error(), tc.tamper+"=") || !strings.Contains(err.Error(), "remove the override") {
				t.Errorf("changed %s: Provenance = %v, want it refused, naming the variable", tc.tamper, err)
			}
		})
	}
}
