package payload

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/input"
)

// forgedPredicate names a forged source, workflow and builder under the
// exact keys, then the certificate's values again under keys that differ
// only in case. A reader that ignores case (and keeps the last match) sees
// the certificate's values; every reader that matches keys exactly sees
// the forged ones.
const forgedPredicate = `{
  "buildDefinition": {
    "buildType": "https://actions.github.io/buildtypes/workflow/v1",
    "externalParameters": {
      "workflow": {"ref": "refs/heads/evil", "repository": "https://github.com/evil/app", "path": ".github/workflows/evil.yml"},
      "Workflow": {"ref": "refs/tags/v1.2.0", "repository": "https://github.com/octo/app", "path": ".github/workflows/release.yml"}
    },
    "internalParameters": {
      "github": {"event_name": "push", "repository_id": "123", "repository_owner_id": "456", "runner_environment": "github-hosted"}
    },
    "resolvedDependencies": [
      {"uri": "git+https://github.com/evil/app@refs/heads/evil", "digest": {"gitCommit": "2222222222222222222222222222222222222222"}}
    ],
    "ResolvedDependencies": [
      {"uri": "git+https://github.com/octo/app@refs/tags/v1.2.0", "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}}
    ]
  },
  "runDetails": {
    "builder": {"id": "https://github.com/evil/app/.github/workflows/evil.yml@refs/heads/evil"},
    "Builder": {"id": "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.0"},
    "metadata": {"invocationId": "https://github.com/octo/app/actions/runs/789/attempts/2"}
  }
}`

// TestCheckPredicateCaseVariantKeys: a provenance that reads one way with
// exact keys and another ignoring case is refused, naming the key.
func TestCheckPredicateCaseVariantKeys(t *testing.T) {
	edit := func(old, new string) string { return strings.Replace(attestPredicate, old, new, 1) }
	lone := edit(`"runDetails"`, `"RunDetails"`)
	// Each forged key alone, the certificate's value after it.
	deps := edit(`"resolvedDependencies": [`, `"resolvedDependencies": [{"uri": "git+https://github.com/evil/app@refs/heads/main", "digest": {"gitCommit": "2222222222222222222222222222222222222222"}}], "ResolvedDependencies": [`)
	workflow := edit(`"workflow": {`, `"workflow": {"ref": "refs/heads/main", "repository": "https://github.com/evil/app", "path": ".github/workflows/x.yml"}, "Workflow": {`)
	builder := edit(`"builder": {`, `"builder": {"id": "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main"}, "Builder": {`)
	escaped := strings.Replace(attestPredicate, `"builder": {"id"`, `"builder": {"id": "x", "\u0069d"`, 1)
	for _, tc := range []struct {
		name, pred string
		want       []string
	}{
		{"forged under exact keys", forgedPredicate, []string{"in-toto statement refused", "predicate.buildDefinition.externalParameters.Workflow", `"workflow"`, "differs only in case"}},
		{"resolvedDependencies", deps, []string{"in-toto statement refused", "predicate.buildDefinition.ResolvedDependencies", `"resolvedDependencies"`}},
		{"workflow", workflow, []string{"in-toto statement refused", "predicate.buildDefinition.externalParameters.Workflow", `"workflow"`}},
		{"builder", builder, []string{"in-toto statement refused", "predicate.runDetails.Builder", `"builder"`}},
		{"exact duplicate, escaped", escaped, []string{"in-toto statement refused", "predicate.runDetails.builder.id", "twice"}},
		{"only a case variant", lone, []string{"predicate.RunDetails", `"runDetails"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPredicate(ProvenanceType, ProvenanceType, json.RawMessage(tc.pred), githubCert())
			if err == nil {
				t.Fatal("CheckPredicate accepted a provenance whose keys differ only in case")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// TestDecodeCaseVariantKeys: a statement that reads two ways, anywhere in
// it, is refused with the key's path.
func TestDecodeCaseVariantKeys(t *testing.T) {
	const sub = `"subject":[{"name":"r","digest":{"sha256":"00"}}]`
	for _, tc := range []struct{ name, stmt, want string }{
		{"predicate type", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"https://slsa.dev/provenance/v1","PredicateType":"https://example.com/x","predicate":{}}`, "in-toto statement refused: key PredicateType differs only in case"},
		{"subject digest", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00","SHA256":"11"}}],"predicateType":"p","predicate":{}}`, "in-toto statement refused: key subject[0].digest.SHA256"},
		{"annotation", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"},"annotations":{"env":"prod","Env":"dev"}}],"predicateType":"p","predicate":{}}`, "in-toto statement refused: key subject[0].annotations.Env"},
		{"deep in the predicate", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"p","predicate":{"a":[{"b":{"c":1,"c":2}}]}}`, "in-toto statement refused: key predicate.a[0].b.c appears twice"},
		{"forged provenance", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"https://slsa.dev/provenance/v1","predicate":` + forgedPredicate + `}`, "in-toto statement refused: key predicate.buildDefinition.externalParameters.Workflow"},
		{"lone case variant", `{"_type":"https://in-toto.io/Statement/v1",` + sub + `,"predicateType":"p","Predicate":{}}`, `key Predicate is not spelled "predicate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.stmt))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestSignRefusesCaseVariantKeys: keyless does not sign a predicate or an
// SBOM that its verifiers would refuse; it is an input error.
func TestSignRefusesCaseVariantKeys(t *testing.T) {
	pred := writeTemp(t, "p.json", forgedPredicate)
	_, err := CustomFile(ProvenanceType, pred)
	var ie *input.Error
	if !asInput(err, &ie) || ie.Input != "predicate" || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "predicate.buildDefinition.externalParameters.Workflow") {
		t.Errorf("CustomFile = %v, want an input error on predicate naming the key", err)
	}
	sbom := writeTemp(t, "sbom.json", `{"spdxVersion":"SPDX-2.3","packages":[{"name":"a","Name":"b"}]}`)
	_, err = SBOMFile(sbom)
	if !asInput(err, &ie) || ie.Input != "sbom" || !strings.Contains(err.Error(), "predicate.packages[0].Name") {
		t.Errorf("SBOMFile = %v, want an input error on sbom naming the key", err)
	}
}

func TestParseSimpleSigningCaseVariantKeys(t *testing.T) {
	d := name.MustParseReference(signedDigest).(name.Digest)
	good := `{"critical":{"identity":{"docker-reference":"registry.example.com/team/app"},"image":{"docker-manifest-digest":"` + d.DigestStr() + `"},"type":"cosign container image signature"},"optional":{"env":"prod"}}`
	if _, err := ParseSimpleSigning([]byte(good), d); err != nil {
		t.Fatalf("ParseSimpleSigning: %v", err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"optional twice", `"optional":{"env":"prod"}`, `"optional":{"env":"prod"},"Optional":{"env":"dev"}`, "simple-signing payload refused: key Optional"},
		{"lone case variant", `"critical"`, `"Critical"`, `key Critical is not spelled "critical"`},
	} {
		_, err := ParseSimpleSigning([]byte(strings.Replace(good, tc.old, tc.new, 1)), d)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ParseSimpleSigning = %v, want %q", tc.name, err, tc.want)
		}
	}
}
