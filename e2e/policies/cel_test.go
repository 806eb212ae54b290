package policies

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// celEnv is the part of Kyverno's ImageValidatingPolicy environment the
// generated validations use: the images, attestors and attestations
// variables, Kyverno's image functions (verification always succeeds here,
// and extractPayload returns statement), optionals, the strings extension
// and homogeneous list literals, as Kyverno's environment has them.
func celEnv(t *testing.T, statement map[string]any) *cel.Env {
	t.Helper()
	env, err := cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(ext.StringsVersion(2)),
		cel.Variable("images", cel.MapType(cel.StringType, cel.ListType(cel.StringType))),
		cel.Variable("attestors", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("attestations", cel.MapType(cel.StringType, cel.StringType)),
		cel.Function("verifyImageSignatures", cel.Overload("verify_image_signature_string_stringarray",
			[]*cel.Type{cel.StringType, cel.ListType(cel.DynType)}, cel.IntType,
			cel.BinaryBinding(func(ref.Val, ref.Val) ref.Val { return types.Int(1) }))),
		cel.Function("verifyAttestationSignatures", cel.Overload("verify_image_attestations_string_string_stringarray",
			[]*cel.Type{cel.StringType, cel.StringType, cel.ListType(cel.DynType)}, cel.IntType,
			cel.FunctionBinding(func(...ref.Val) ref.Val { return types.Int(1) }))),
		cel.Function("extractPayload", cel.Overload("payload_string_string",
			[]*cel.Type{cel.StringType, cel.StringType}, cel.DynType,
			cel.BinaryBinding(func(ref.Val, ref.Val) ref.Val { return types.DefaultTypeAdapter.NativeToValue(statement) }))),
	)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// evaluate runs every validation of the ImageValidatingPolicy ivp on a Pod
// of one image whose attestations all hold statement, and reports whether
// all passed. A validation that does not compile fails the test.
func evaluate(t *testing.T, ivp []byte, statement map[string]any) bool {
	t.Helper()
	var p struct {
		Spec struct {
			Attestations []struct{ Name string }       `json:"attestations"`
			Validations  []struct{ Expression string } `json:"validations"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(ivp, &p); err != nil {
		t.Fatal(err)
	}
	env := celEnv(t, statement)
	atts := map[string]string{}
	for _, a := range p.Spec.Attestations {
		atts[a.Name] = a.Name
	}
	vars := map[string]any{
		"images":       map[string][]string{"containers": {"registry.example.com/team/app@sha256:" + strings.Repeat("a", 64)}, "initContainers": {}, "ephemeralContainers": {}},
		"attestors":    map[string]any{"keyless": map[string]any{}},
		"attestations": atts,
	}
	ok := true
	for i, v := range p.Spec.Validations {
		ast, iss := env.Compile(v.Expression)
		if iss.Err() != nil {
			t.Fatalf("validation %d does not compile: %v\n%s", i, iss.Err(), v.Expression)
		}
		prg, err := env.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := prg.Eval(vars)
		if err != nil {
			t.Logf("validation %d: %v", i, err)
			ok = false
			continue
		}
		if out != types.True {
			ok = false
		}
	}
	return ok
}

// statement is a SLSA v1 provenance statement in JSON, parsed as Kyverno's
// extractPayload hands it to CEL: keys exactly as written.
func statement(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	return m
}

// githubProvenance is keyless's GitHub provenance of builder at the source
// repo, ref and commit; extra is spliced into the predicate's build
// definition.
func githubProvenance(builder, repo, ref, commit, extra string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"aa"}}],
"predicateType":"https://slsa.dev/provenance/v1","predicate":{
 "buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1",
  "externalParameters":{"workflow":{"ref":` + q(ref) + `,"repository":` + q(repo) + `,"path":".github/workflows/release.yml"}},
  "resolvedDependencies":[{"uri":` + q("git+"+repo+"@"+ref) + `,"digest":{"gitCommit":` + q(commit) + `}}]` + extra + `},
 "runDetails":{"builder":{"id":` + q(builder) + `},"metadata":{"invocationId":"https://github.com/octo/app/actions/runs/1/attempts/1"}}}}`
}

// TestProvenanceCEL evaluates the generated CEL with cel-go: a provenance
// that says what the gate accepts passes, and each way to contradict it,
// the case-variant keys of a forged predicate among them, fails.
func TestProvenanceCEL(t *testing.T) {
	const (
		id     = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"
		repo   = "https://github.com/octo/app"
		ref    = "refs/heads/main"
		commit = "0123456789abcdef0123456789abcdef01234567"
	)
	in := run(sign.Bundle)
	in.Identity = verify.Policy{Identity: id, Issuer: "https://token.actions.githubusercontent.com"}
	in.Source = policy.Source{Repository: repo, Ref: ref}
	in.Attestations = []string{"https://slsa.dev/provenance/v1"}
	ivp, err := policy.ImageValidatingPolicy(in, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(githubProvenance(id, "https://github.com/evil/app", ref, strings.Repeat("2", 40),
		`,"ResolvedDependencies":[{"uri":"git+`+repo+`@`+ref+`","digest":{"gitCommit":"`+commit+`"}}]`), `"externalParameters":{"workflow":{`,
		`"externalParameters":{"Workflow":{"repository":"`+repo+`"},"workflow":{`, 1)
	for _, tt := range []struct {
		name, statement string
		admit           bool
	}{
		{"genuine", githubProvenance(id, repo, ref, commit, ""), true},
		{"another builder", githubProvenance("https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main", repo, ref, commit, ""), false},
		{"another repository", githubProvenance(id, "https://github.com/evil/app", ref, commit, ""), false},
		{"another ref", githubProvenance(id, repo, "refs/heads/dev", commit, ""), false},
		{"no commit", githubProvenance(id, repo, ref, "", ""), false},
		{"not a commit", githubProvenance(id, repo, ref, "main", ""), false},
		{"forged with case-variant keys", forged, false},
		{"a case-variant key alone", githubProvenance(id, repo, ref, commit, `,"BuildType":"https://example.com/other"`), false},
		{"unknown build type", strings.Replace(githubProvenance(id, repo, ref, commit, ""), "https://actions.github.io/buildtypes/workflow/v1", "https://example.com/bt", 1), false},
		{"another predicate type", strings.Replace(githubProvenance(id, repo, ref, commit, ""), `"https://slsa.dev/provenance/v1"`, `"https://slsa.dev/provenance/v0.2"`, 1), false},
		{"no predicate", `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1"}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := evaluate(t, ivp, statement(t, tt.statement)); got != tt.admit {
				t.Errorf("admitted = %v, want %v\n%s", got, tt.admit, tt.statement)
			}
		})
	}
}

// TestHostileCEL writes hostile identities, regexps and source facts into
// the CEL of an ImageValidatingPolicy: each stays one string literal, so
// a provenance naming exactly the hostile value passes and one that the
// value's injected CEL would let through fails.
func TestHostileCEL(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	for _, tt := range []struct {
		name                 string
		identity, identityRE string
		repo, ref            string
		builder              string // the genuine provenance's builder.id
	}{
		{"quote", `https://github.com/o/r/x.yml@refs/heads/main' || true || '`, "", "https://github.com/o/r", "refs/heads/main", ""},
		{"backslash quote", `https://github.com/o/r\' || true || \'`, "", `https://github.com/o/r\'`, `refs/heads/x\`, ""},
		{"double quotes", `https://github.com/o/r" || true || "`, "", `https://github.com/o/"r"`, "refs/heads/main", ""},
		{"newline", "https://github.com/o/r\n') || true || ('", "", "https://github.com/o/r\n'", "refs/heads/a\r\nb", ""},
		{"unicode", "https://github.com/o/r\u2028é🙂\x00", "", "https://github.com/o/r🙂", "refs/heads/\u2029", ""},
		{"CEL operators", `x') && false || ('`, "", `r'.size() > 0 || '`, `main' in ['`, ""},
		{"regexp", "", `https://github\.com/o'/.*\\'`, "https://github.com/o/r", "refs/heads/main", `https://github.com/o'/x\'`},
		{"regexp class", "", `https://github\.com/o/\d+\)'`, "https://github.com/o/r", "refs/heads/main", `https://github.com/o/42)'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := run(sign.Bundle)
			in.Identity = verify.Policy{Identity: tt.identity, IdentityRegexp: tt.identityRE, Issuer: "https://token.actions.githubusercontent.com"}
			in.Source = policy.Source{Repository: tt.repo, Ref: tt.ref}
			in.Attestations = []string{"https://slsa.dev/provenance/v1"}
			ivp, err := policy.ImageValidatingPolicy(in, policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			builder := tt.builder
			if builder == "" {
				builder = tt.identity
			}
			if !evaluate(t, ivp, statement(t, githubProvenance(builder, tt.repo, tt.ref, commit, ""))) {
				t.Errorf("the provenance naming the hostile values exactly was refused:\n%s", ivp)
			}
			for name, s := range map[string]string{
				"another builder":    githubProvenance("https://github.com/evil/x", tt.repo, tt.ref, commit, ""),
				"another repository": githubProvenance(builder, "https://github.com/evil/x", tt.ref, commit, ""),
				"another ref":        githubProvenance(builder, tt.repo, "refs/heads/evil", commit, ""),
			} {
				if evaluate(t, ivp, statement(t, s)) {
					t.Errorf("%s was admitted:\n%s", name, ivp)
				}
			}
		})
	}
}

// TestMatchImageReferencesCEL evaluates the policy's matchImageReferences
// expression with cel-go: it selects the repositories' images in any case
// of the name, bare, by tag or by digest, and no other repository, one
// sharing a prefix included.
func TestMatchImageReferencesCEL(t *testing.T) {
	ivp, err := policy.ImageValidatingPolicy(run(sign.Bundle), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Spec struct {
			MatchImageReferences []struct{ Expression string } `json:"matchImageReferences"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(ivp, &p); err != nil {
		t.Fatal(err)
	}
	refs := p.Spec.MatchImageReferences
	expr := refs[len(refs)-1].Expression
	env, err := cel.NewEnv(cel.HomogeneousAggregateLiterals(), ext.Strings(ext.StringsVersion(2)), cel.Variable("ref", cel.StringType))
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		t.Fatalf("%v\n%s", iss.Err(), expr)
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	digest := "@sha256:" + strings.Repeat("a", 64)
	for ref, want := range map[string]bool{
		"registry.example.com/team/app":                     true,
		"registry.example.com/team/app:v1":                  true,
		"registry.example.com/team/app" + digest:            true,
		"REGISTRY.Example.COM/team/app:v1":                  true,
		"ghcr.io/octo/tool:v1" + digest:                     true,
		"registry.example.com/team/app2:v1":                 false,
		"registry.example.com/team/app/sub:v1":              false,
		"registry.example.com/team/ap":                      false,
		"evil.example.com/registry.example.com/team/app:v1": false,
	} {
		out, _, err := prg.Eval(map[string]any{"ref": ref})
		if err != nil {
			t.Fatal(err)
		}
		if got := out == types.True; got != want {
			t.Errorf("%s matched = %v, want %v", ref, got, want)
		}
	}
}
