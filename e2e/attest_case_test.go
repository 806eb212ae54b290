package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/store"
)

// caseVariantProvenance is a provenance that names a forged source,
// workflow and builder under the exact keys, then this job's own values
// (those of honest, a provenance keyless signed for it) under keys that
// differ only in case. A reader that ignores case and keeps the last match
// (encoding/json into a struct) reads the job's values; every reader that
// matches keys exactly (Kyverno's JMESPath, CUE, Rego, jq) reads the
// forged ones.
func caseVariantProvenance(t *testing.T, honest []byte) []byte {
	t.Helper()
	var st struct {
		Predicate struct {
			BuildDefinition map[string]json.RawMessage `json:"buildDefinition"`
			RunDetails      map[string]json.RawMessage `json:"runDetails"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(honest, &st); err != nil {
		t.Fatal(err)
	}
	bd, rd := st.Predicate.BuildDefinition, st.Predicate.RunDetails
	var ext map[string]json.RawMessage
	if err := json.Unmarshal(bd["externalParameters"], &ext); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []json.RawMessage{bd["buildType"], bd["internalParameters"], bd["resolvedDependencies"], ext["workflow"], rd["builder"], rd["metadata"]} {
		if len(raw) == 0 {
			t.Fatalf("keyless's provenance lacks a field this test copies: %s", honest)
		}
	}
	return fmt.Appendf(nil, `{
  "buildDefinition": {
    "buildType": %s,
    "externalParameters": {
      "workflow": {"ref": "refs/heads/evil", "repository": "https://github.com/evil/app", "path": ".github/workflows/evil.yml"},
      "Workflow": %s
    },
    "internalParameters": %s,
    "resolvedDependencies": [{"uri": "git+https://github.com/evil/app@refs/heads/evil", "digest": {"gitCommit": "2222222222222222222222222222222222222222"}}],
    "ResolvedDependencies": %s
  },
  "runDetails": {
    "builder": {"id": "https://github.com/evil/app/.github/workflows/evil.yml@refs/heads/evil"},
    "Builder": %s,
    "metadata": %s
  }
}`, bd["buildType"], ext["workflow"], bd["internalParameters"], bd["resolvedDependencies"], rd["builder"], rd["metadata"])
}

// signStatementElsewhere signs stmt with the job's identity as another
// tool in the job would (sigstore-go against the stack's Fulcio, Rekor v2
// and TSA), and stores the bundle as an attestation referrer of ref.
func signStatementElsewhere(t *testing.T, ref string, stmt []byte) {
	t.Helper()
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := sgsign.BundleOptions{
		Context:                    context.Background(),
		CertificateProvider:        sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: stk.FulcioURL}),
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: mint(t, "github")},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: stk.RekorURL, Version: 2, Timeout: 30 * time.Second})},
		TimestampAuthorities:       []*sgsign.TimestampAuthority{sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: stk.TSAURL, Timeout: 30 * time.Second})},
	}
	pb, err := sgsign.Bundle(&sgsign.DSSEData{Data: stmt, PayloadType: payload.InTotoPayloadType}, kp, opts)
	if err != nil {
		t.Fatalf("signing the statement: %v", err)
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.WriteReferrer(context.Background(), subjectOf(t, ref), raw, slsaType, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestCaseVariantProvenance: a provenance whose keys differ only in case
// reads one way to keyless's check and another to every policy engine.
// keyless sign refuses it as bad input (exit 2, nothing written); signed
// with the trusted identity by another tool, the gate refuses it (exit 1),
// naming the key.
func TestCaseVariantProvenance(t *testing.T) {
	honest := pushImage(t)
	signProvenance(t, honest)
	forged := caseVariantProvenance(t, dssePayload(t, bundlesByType(t, honest)[slsaType]))
	pred := filepath.Join(t.TempDir(), "provenance.json")
	if err := os.WriteFile(pred, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	const key = "predicate.buildDefinition.externalParameters.Workflow"

	target := pushImage(t)
	t.Run("sign refuses it", func(t *testing.T) {
		before := tags(t, target)
		r := runKeyless(t, githubJobEnv(t, merge(trustInputs(stk.SigningConfig), map[string]string{
			"images": target, "signature-format": "bundle", "predicate-type": slsaType, "predicate": pred,
		})))
		if r.code != 2 {
			t.Fatalf("keyless sign of a case-variant provenance: exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		for _, s := range []string{"predicate", key, "refused"} {
			if !strings.Contains(r.stderr, s) {
				t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
			}
		}
		if after := tags(t, target); !slices.Equal(before, after) {
			t.Errorf("refused input wrote to the registry: tags %v, then %v", before, after)
		}
		d, err := name.NewDigest(target)
		if err != nil {
			t.Fatal(err)
		}
		ix, err := remote.Referrers(d)
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := ix.IndexManifest(); len(m.Manifests) != 0 {
			t.Errorf("refused input wrote %d referrers", len(m.Manifests))
		}
	})

	t.Run("the gate refuses it signed by another tool", func(t *testing.T) {
		keylessSign(t, "bundle", false, target)
		d, err := name.NewDigest(target)
		if err != nil {
			t.Fatal(err)
		}
		alg, hex, _ := strings.Cut(d.DigestStr(), ":")
		stmt := fmt.Appendf(nil, `{"_type":%q,"subject":[{"name":%q,"digest":{%q:%q}}],"predicateType":%q,"predicate":%s}`,
			payload.StatementType, d.Context().Name(), alg, hex, slsaType, forged)
		signStatementElsewhere(t, target, stmt)

		r, rep := verifyRun(t, "--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github"),
			"--attestation-type", "slsaprovenance1", target)
		if r.code != 1 {
			t.Fatalf("verify --attestation-type slsaprovenance1 of a case-variant provenance: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		checks := attestationChecks(rep, slsaType)
		if len(checks) == 0 {
			t.Fatalf("the report has no provenance verification:\n%s", r.stdout)
		}
		for _, c := range checks {
			if c["verified"] != false || c["predicate"] != nil {
				t.Errorf("provenance verification = %v, want a failure with no predicate", c)
			}
		}
		reasons := fmt.Sprint(checks[0]["reasons"])
		for _, s := range []string{"in-toto statement refused", key, "differs only in case"} {
			if !strings.Contains(reasons, s) {
				t.Errorf("reasons %s lack %q", reasons, s)
			}
		}
	})
}
