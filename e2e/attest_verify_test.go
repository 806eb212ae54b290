package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/ci"
	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/store"
)

// signProvenance signs ref (bundle format) with provenance, as a GitHub
// job would; env overrides the job's variables.
func signProvenance(t *testing.T, ref string, env ...map[string]string) {
	t.Helper()
	r := runKeyless(t, merge(append([]map[string]string{githubJobEnv(t, merge(trustInputs(stk.SigningConfig), map[string]string{
		"images": ref, "signature-format": "bundle", "provenance": "true",
	}))}, env...)...))
	if r.code != 0 {
		t.Fatalf("keyless sign with provenance: exit %d\n%s", r.code, r.stderr)
	}
}

// otherCommitProvenance writes the provenance keyless states for the
// job's token, but naming another commit, as a predicate file: a sign run
// refuses to state it with provenance, and signs it as a predicate given.
func otherCommitProvenance(t *testing.T) string {
	t.Helper()
	tok, err := oidc.Parse(mint(t, "github"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ci.NewGitHub(ci.Env{Getenv: func(string) string { return "" }}).Provenance(tok)
	if err != nil {
		t.Fatal(err)
	}
	p.BuildDefinition.ResolvedDependencies[0].Digest["gitCommit"] = strings.Repeat("0", 40)
	path := filepath.Join(t.TempDir(), "provenance.json")
	if err := os.WriteFile(path, mustMarshal(t, p), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// bundlesByType reads ref's bundles: the image signature and the
// attestations, by predicate type.
func bundlesByType(t *testing.T, ref string) map[string]map[string]any {
	t.Helper()
	bs, err := stk.Bundles(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, b := range bs {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out[predicateTypeOf(t, m)] = m
	}
	return out
}

// predicateTypeOf is the predicate type of the statement that bundle b
// signs.
func predicateTypeOf(t *testing.T, b map[string]any) string {
	t.Helper()
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(dssePayload(t, b), &st); err != nil {
		t.Fatal(err)
	}
	return st.PredicateType
}

func dssePayload(t *testing.T, b map[string]any) []byte {
	t.Helper()
	p, err := base64.StdEncoding.DecodeString(b["dsseEnvelope"].(map[string]any)["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// replaceReferrers makes sig (an image signature bundle) and att (an
// attestation bundle of predicate type attType) the only bundle referrers
// of ref.
func replaceReferrers(t *testing.T, ref string, sig map[string]any, attType string, att map[string]any) {
	t.Helper()
	replaceBundles(t, ref, mustMarshal(t, sig))
	if _, err := store.WriteReferrer(context.Background(), subjectOf(t, ref), mustMarshal(t, att), attType, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// attestationChecks are the report's verifications of predicate type typ.
func attestationChecks(rep map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, s := range rep["subjects"].([]any) {
		vs, _ := s.(map[string]any)["verifications"].([]any)
		for _, v := range vs {
			if m := v.(map[string]any); m["predicateType"] == typ {
				out = append(out, m)
			}
		}
	}
	return out
}

// TestVerifyAttestationType is the gate of issue 12: keyless verify
// --attestation-type requires, besides the image signature, an attestation
// of that type by the same identity, whose provenance agrees with its
// certificate; it fails closed on a missing, tampered or misplaced one.
func TestVerifyAttestationType(t *testing.T) {
	issuer := stk.Issuer("github")
	gate := func(identity string, extra ...string) []string {
		return append([]string{"--certificate-identity", identity, "--certificate-oidc-issuer", issuer, "--attestation-type", "slsaprovenance1"}, extra...)
	}
	attested, plain := pushImage(t), pushImage(t)
	signProvenance(t, attested)
	keylessSign(t, "bundle", false, plain)

	r, rep := verifyRun(t, gate(githubIdentity, attested)...)
	if r.code != 0 {
		t.Fatalf("verify --attestation-type of an attested image: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	checks := attestationChecks(rep, slsaType)
	if len(checks) != 1 || checks[0]["verified"] != true {
		t.Fatalf("report's provenance verifications = %v, want one verified", checks)
	}
	pred, _ := checks[0]["predicate"].(map[string]any)
	if bd, _ := pred["buildDefinition"].(map[string]any); bd["buildType"] != "https://actions.github.io/buildtypes/workflow/v1" {
		t.Errorf("report's verified predicate = %v, want the GitHub workflow provenance", pred)
	}

	bs := bundlesByType(t, attested)
	sig, att := bs[payload.SignPredicateType], bs[slsaType]
	if sig == nil || att == nil {
		t.Fatalf("bundles of %s: %v", attested, bs)
	}

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) string // the image to verify
		flags []string
		want  string // in the provenance verification's reasons
	}{
		{"another identity", func(*testing.T) string { return attested }, gate(otherIdentity), "expected SAN value"},
		{"image signed without provenance", func(*testing.T) string { return plain }, gate(githubIdentity), "attestation found"},
		{"source ref of another branch", func(*testing.T) string { return attested }, gate(githubIdentity, "--source-ref", "refs/heads/other"), "SourceRepositoryRef"},
		{"provenance of a commit other than the certificate one", func(t *testing.T) string {
			ref := pushImage(t)
			signProvenance(t, ref, map[string]string{"INPUT_PROVENANCE": "false", "INPUT_PREDICATE-TYPE": slsaType, "INPUT_PREDICATE": otherCommitProvenance(t)})
			return ref
		}, gate(githubIdentity), "the certificate's SourceRepositoryDigest"},
		{"DSSE payload rewritten in the stored attestation", func(t *testing.T) string {
			ref := pushImage(t)
			signProvenance(t, ref)
			own := bundlesByType(t, ref)
			var st map[string]any
			b := own[slsaType]
			if err := json.Unmarshal(dssePayload(t, b), &st); err != nil {
				t.Fatal(err)
			}
			st["predicate"].(map[string]any)["runDetails"].(map[string]any)["builder"] = map[string]any{"id": "https://evil.example/builder"}
			b["dsseEnvelope"].(map[string]any)["payload"] = base64.StdEncoding.EncodeToString(mustMarshal(t, st))
			replaceReferrers(t, ref, own[payload.SignPredicateType], slsaType, b)
			return ref
		}, gate(githubIdentity), "log inclusion"},
		{"attestation of another image stored as a referrer of this one", func(t *testing.T) string {
			ref := pushImage(t)
			keylessSign(t, "bundle", false, ref)
			replaceReferrers(t, ref, bundlesByType(t, ref)[payload.SignPredicateType], slsaType, att)
			return ref
		}, gate(githubIdentity), "artifact digest does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.setup(t)
			r, rep := verifyRun(t, append(tc.flags, ref)...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			checks := attestationChecks(rep, slsaType)
			if len(checks) == 0 {
				t.Fatalf("the report has no provenance verification:\n%s", r.stdout)
			}
			for _, c := range checks {
				if c["verified"] != false || c["reasons"] == nil || c["predicate"] != nil {
					t.Errorf("provenance verification = %v, want a failure with reasons and no predicate", c)
				}
			}
			if reasons := fmt.Sprint(checks[0]["reasons"]); !strings.Contains(reasons, tc.want) {
				t.Errorf("reasons %s lack %q", reasons, tc.want)
			}
		})
	}
}

// TestVerifySBOMAndCustomTypes: the gate's --attestation-type takes
// cosign's spdxjson and cyclonedx and a predicate type URI; each passes on
// the image attested with that type and fails on an image attested with
// another one, and the report carries the verified predicate.
func TestVerifySBOMAndCustomTypes(t *testing.T) {
	dir := t.TempDir()
	cdx := filepath.Join(dir, "bom.cdx.json")
	if err := os.WriteFile(cdx, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"app"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const customType = "https://example.com/e2e/test-result/v1"
	custom := filepath.Join(dir, "result.json")
	if err := os.WriteFile(custom, []byte(`{"passed":true,"suite":"e2e"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	images := map[string]string{}
	for name, inputs := range map[string]map[string]string{
		"spdx":      {"sbom": writeSBOM(t)},
		"cyclonedx": {"sbom": cdx},
		"custom":    {"predicate-type": customType, "predicate": custom},
	} {
		ref := pushImage(t)
		r := runKeyless(t, githubJobEnv(t, merge(trustInputs(stk.SigningConfig), map[string]string{"images": ref}, inputs)))
		if r.code != 0 {
			t.Fatalf("keyless sign with %s: exit %d\n%s", name, r.code, r.stderr)
		}
		images[name] = ref
	}
	for _, tc := range []struct {
		flag, typ, image, wrong string
		inPredicate             string // a fragment of the verified predicate
	}{
		{"spdxjson", spdxType, "spdx", "cyclonedx", `"spdxVersion"`},
		{"cyclonedx", payload.CycloneDXType, "cyclonedx", "spdx", `"bomFormat"`},
		{customType, customType, "custom", "spdx", `"suite"`},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			flags := []string{"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github"), "--attestation-type", tc.flag}
			r, rep := verifyRun(t, append(flags, images[tc.image])...)
			if r.code != 0 {
				t.Fatalf("verify %s: exit %d\n%s\n%s", tc.image, r.code, r.stdout, r.stderr)
			}
			checks := attestationChecks(rep, tc.typ)
			if len(checks) != 1 || checks[0]["verified"] != true {
				t.Fatalf("report's %s verifications = %v, want one verified", tc.typ, checks)
			}
			if p, _ := json.Marshal(checks[0]["predicate"]); !strings.Contains(string(p), tc.inPredicate) {
				t.Errorf("verified predicate %s lacks %s", p, tc.inPredicate)
			}
			r, rep = verifyRun(t, append(flags, images[tc.wrong])...)
			if r.code != 1 {
				t.Fatalf("verify %s attested with another type: exit %d, want 1\n%s", tc.wrong, r.code, r.stderr)
			}
			if checks := attestationChecks(rep, tc.typ); len(checks) == 0 || checks[0]["verified"] != false {
				t.Errorf("report's %s verifications = %v, want a failure", tc.typ, checks)
			}
		})
	}
}
