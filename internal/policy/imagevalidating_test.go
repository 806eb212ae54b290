package policy_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

const (
	provenance = "https://slsa.dev/provenance/v1"
	spdx       = "https://spdx.dev/Document"
)

// tufRoot is the smallest root.json CheckTUFRoot takes.
var tufRoot = []byte(`{"signed":{"_type":"root","version":1},"signatures":[{"keyid":"k","sig":"s"}]}`)

func TestImageValidatingPolicy(t *testing.T) {
	sigCheck := "(images.containers + images.initContainers + images.ephemeralContainers).all(image, verifyImageSignatures(image, [attestors.keyless]) > 0)"
	tests := []struct {
		name  string
		in    func() policy.Input
		opts  func(*testing.T) policy.Options
		want  map[string]any // of spec, when set; validations are checked by count
		check func(t *testing.T, spec any, raw string)
	}{
		{
			name: "exact identity, both formats, public-good",
			in:   func() policy.Input { return signed(sign.Bundle, sign.Legacy) },
			want: map[string]any{
				"webhookConfiguration": map[string]any{"timeoutSeconds": float64(30)},
				"failurePolicy":        "Fail",
				"validationActions":    []any{"Deny"},
				"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{
					"apiGroups": []any{""}, "apiVersions": []any{"v1"},
					"operations": []any{"CREATE", "UPDATE"}, "resources": []any{"pods"},
				}}},
				"matchImageReferences": []any{
					map[string]any{"glob": "ghcr.io/octo/tool"}, map[string]any{"glob": "ghcr.io/octo/tool:*"}, map[string]any{"glob": "ghcr.io/octo/tool@*"},
					map[string]any{"glob": "registry.example.com/team/app"}, map[string]any{"glob": "registry.example.com/team/app:*"}, map[string]any{"glob": "registry.example.com/team/app@*"},
					map[string]any{"expression": "[ref.lowerAscii()].exists(r, " +
						"r == 'ghcr.io/octo/tool' || r.startsWith('ghcr.io/octo/tool' + ':') || r.startsWith('ghcr.io/octo/tool' + '@') || " +
						"r == 'registry.example.com/team/app' || r.startsWith('registry.example.com/team/app' + ':') || r.startsWith('registry.example.com/team/app' + '@'))"},
				},
				"validationConfigurations": map[string]any{"mutateDigest": true, "verifyDigest": true, "required": true},
				"attestors": []any{map[string]any{"name": "keyless", "cosign": map[string]any{
					"keyless": map[string]any{"identities": []any{map[string]any{"subject": ghID, "issuer": ghIssuer}}},
					"ctlog":   map[string]any{"url": "https://rekor.sigstore.dev"},
				}}},
				"validations": []any{map[string]any{
					"expression": sigCheck,
					"message":    "an image is not signed by the identity this policy names",
				}},
			},
		},
		{
			name: "regexp identity, extensions, audit",
			in: func() policy.Input {
				in := signed(sign.Bundle)
				in.Identity = verify.Policy{
					IdentityRegexp: `https://github\.com/octo/.*`, IssuerRegexp: `https://token\.actions\.githubusercontent\.com`,
					SourceRepository: "https://github.com/octo/app", SourceRef: "refs/heads/main",
					WorkflowTrigger: "push", RunnerEnvironment: "github-hosted",
				}
				return in
			},
			opts: func(*testing.T) policy.Options { return policy.Options{Mode: policy.Audit} },
			check: func(t *testing.T, spec any, raw string) {
				want := map[string]any{
					"identities": []any{map[string]any{
						"subjectRegExp": `^(?:https://github\.com/octo/.*)$`,
						"issuerRegExp":  `^(?:https://token\.actions\.githubusercontent\.com)$`,
					}},
					"additionalExtensions": map[string]any{
						"githubWorkflowRepository": "octo/app", "githubWorkflowRef": "refs/heads/main", "githubWorkflowTrigger": "push",
					},
				}
				if diff := cmp.Diff(want, at(t, spec, "attestors", 0, "cosign", "keyless")); diff != "" {
					t.Errorf("keyless (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]any{"Audit"}, at(t, spec, "validationActions")); diff != "" {
					t.Errorf("validationActions (-want +got):\n%s", diff)
				}
				for _, s := range []string{
					"# Mode audit (validationActions [Audit]): Kyverno admits",
					"it ignores keyless.additionalExtensions",
					`runner-environment="github-hosted"`, `source-repository="https://github.com/octo/app"`,
					"kyverno/kyverno#17363",
				} {
					if !strings.Contains(raw, s) {
						t.Errorf("header lacks %q:\n%s", s, raw)
					}
				}
			},
		},
		{
			name: "private Sigstore with its TUF repository",
			in: func() policy.Input {
				in := signed(sign.Legacy)
				in.SignedTimestamps = true
				in.Signatures = []policy.Signature{{Format: sign.Legacy, LogURL: "http://127.0.0.1:5406"}}
				return in
			},
			opts: func(t *testing.T) policy.Options {
				return policy.Options{TrustedRootJSON: trustedRoot(t), TUF: &policy.TUF{Mirror: "http://127.0.0.1:8080/tuf", Root: tufRoot}}
			},
			check: func(t *testing.T, spec any, raw string) {
				c := at(t, spec, "attestors", 0, "cosign")
				want := map[string]any{"mirror": "http://127.0.0.1:8080/tuf", "root": map[string]any{"data": base64.StdEncoding.EncodeToString(tufRoot)}}
				if diff := cmp.Diff(want, at(t, c, "tuf")); diff != "" {
					t.Errorf("tuf (-want +got):\n%s", diff)
				}
				var got, file any
				if err := json.Unmarshal([]byte(at(t, c, "trustedRoot", "value").(string)), &got); err != nil {
					t.Fatalf("trustedRoot.value: %v", err)
				}
				if err := json.Unmarshal(trustedRoot(t), &file); err != nil {
					t.Fatal(err)
				}
				// sigstore-go, which writes it again, keeps neither the
				// operators nor the checkpoint key ids, and reads neither.
				dropFields(file, "operator", "checkpointKeyId")
				byURL := cmpopts.SortSlices(func(a, b any) bool { return fmt.Sprint(a) < fmt.Sprint(b) })
				if diff := cmp.Diff(file, got, byURL); diff != "" {
					t.Errorf("trustedRoot.value is not the trusted root (-file +policy):\n%s", diff)
				}
				if diff := cmp.Diff(logKeyPEM(t, "http://127.0.0.1:5406"), at(t, c, "ctlog", "rekorPubKey")); diff != "" {
					t.Errorf("rekorPubKey (-want +got):\n%s", diff)
				}
				for _, p := range [][]any{{"keyless", "roots"}, {"ctlog", "tsaCertChain"}} {
					if s, _ := at(t, c, p...).(string); !strings.HasPrefix(s, "-----BEGIN CERTIFICATE-----") {
						t.Errorf("%v = %q, want PEM certificates", p, s)
					}
				}
				if s, _ := at(t, c, "ctlog", "ctLogPubKey").(string); !strings.HasPrefix(s, "-----BEGIN PUBLIC KEY-----") {
					t.Errorf("ctLogPubKey = %q, want a PEM key", s)
				}
				if !strings.Contains(raw, "pointed at http://127.0.0.1:8080/tuf") || strings.Contains(raw, "cannot check") {
					t.Errorf("header does not name the TUF repository:\n%s", raw)
				}
			},
		},
		{
			name: "private Sigstore without a TUF repository",
			in:   func() policy.Input { return signed(sign.Bundle) },
			opts: func(t *testing.T) policy.Options { return policy.Options{TrustedRootJSON: trustedRoot(t)} },
			check: func(t *testing.T, spec any, raw string) {
				if c := at(t, spec, "attestors", 0, "cosign").(map[string]any); c["tuf"] != nil || c["trustedRoot"] == nil {
					t.Errorf("cosign = %v, want a trustedRoot and no tuf", c)
				}
				if !strings.Contains(raw, "Kyverno cannot check this private Sigstore without its TUF repository: give keyless the\n# inputs tuf-mirror and tuf-root.") {
					t.Errorf("header does not say Kyverno cannot check the private Sigstore:\n%s", raw)
				}
			},
		},
		{
			name: "attestations",
			in: func() policy.Input {
				in := signed(sign.Bundle)
				in.Attestations = []string{provenance, spdx, "https://example.com/custom/v1"}
				return in
			},
			check: func(t *testing.T, spec any, raw string) {
				want := []any{
					map[string]any{"name": "slsaprovenance1", "intoto": map[string]any{"type": provenance}},
					map[string]any{"name": "spdxjson", "intoto": map[string]any{"type": spdx}},
					map[string]any{"name": "attestation3", "intoto": map[string]any{"type": "https://example.com/custom/v1"}},
				}
				if diff := cmp.Diff(want, at(t, spec, "attestations")); diff != "" {
					t.Errorf("attestations (-want +got):\n%s", diff)
				}
				vs := at(t, spec, "validations").([]any)
				if len(vs) != 7 {
					t.Fatalf("%d validations, want the signature's and two per attestation", len(vs))
				}
				for i, name := range []string{"slsaprovenance1", "spdxjson", "attestation3"} {
					verifies := at(t, vs[1+2*i], "expression").(string)
					if !strings.Contains(verifies, "verifyAttestationSignatures(image, attestations."+name+", [attestors.keyless]) > 0") {
						t.Errorf("validation %d = %q, want %s verified", 1+2*i, verifies, name)
					}
					if checks := at(t, vs[2+2*i], "expression").(string); !strings.Contains(checks, "extractPayload(image, attestations."+name+")") {
						t.Errorf("validation %d = %q, want %s's predicate checked", 2+2*i, checks, name)
					}
				}
				if !strings.Contains(raw, "Each image also needs a "+provenance+" attestation by the same identity: buildType") {
					t.Errorf("header does not describe the provenance check:\n%s", raw)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o policy.Options
			if tt.opts != nil {
				o = tt.opts(t)
			}
			got, err := policy.ImageValidatingPolicy(tt.in(), o)
			if err != nil {
				t.Fatal(err)
			}
			d := docs(t, got)
			if len(d) != 1 {
				t.Fatalf("got %d documents, want 1", len(d))
			}
			head := map[string]any{"apiVersion": d[0]["apiVersion"], "kind": d[0]["kind"], "name": at(t, d[0], "metadata", "name")}
			if diff := cmp.Diff(map[string]any{"apiVersion": "policies.kyverno.io/v1", "kind": "ImageValidatingPolicy", "name": "keyless-signed-images"}, head); diff != "" {
				t.Errorf("policy (-want +got):\n%s", diff)
			}
			spec := at(t, d[0], "spec")
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, spec); diff != "" {
					t.Errorf("spec (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(sigCheck, at(t, spec, "validations", 0, "expression")); diff != "" {
				t.Errorf("signature validation (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, spec, string(got))
			}
		})
	}
}

// TestImageValidatingDockerHub: Kyverno matches the image as the workload
// names it, so a Docker Hub repository gets a glob for every spelling.
func TestImageValidatingDockerHub(t *testing.T) {
	in := signed(sign.Bundle)
	in.Images = []string{"index.docker.io/library/nginx@sha256:" + strings.Repeat("a", 64), "index.docker.io/octo/app@sha256:" + strings.Repeat("b", 64)}
	got, err := policy.ImageValidatingPolicy(in, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var globs []string
	for _, r := range at(t, docs(t, got)[0], "spec", "matchImageReferences").([]any) {
		if g, ok := r.(map[string]any)["glob"].(string); ok {
			globs = append(globs, g)
		}
	}
	var want []string
	for _, name := range []string{"docker.io/library/nginx", "docker.io/nginx", "docker.io/octo/app", "index.docker.io/library/nginx", "index.docker.io/nginx", "index.docker.io/octo/app", "library/nginx", "nginx", "octo/app"} {
		want = append(want, name, name+":*", name+"@*")
	}
	if diff := cmp.Diff(want, globs); diff != "" {
		t.Errorf("globs (-want +got):\n%s", diff)
	}
}

// TestImageValidatingStable: the policy of a private Sigstore is the same
// bytes every time, whether its root came as a file or parsed.
func TestImageValidatingStable(t *testing.T) {
	in := signed(sign.Legacy)
	first, err := policy.ImageValidatingPolicy(in, policy.Options{TrustedRootJSON: trustedRoot(t)})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := policy.ImageValidatingPolicy(in, policy.Options{TrustedRootJSON: trustedRoot(t)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(first), string(again)); diff != "" {
			t.Fatalf("output changed (-first +later):\n%s", diff)
		}
	}
}

// TestPolicyModes: audit mode is written into every kind of policy, and
// enforce is the default. Audit mode pins no tags to digests.
func TestPolicyModes(t *testing.T) {
	for _, mode := range []policy.Mode{policy.Enforce, policy.Audit} {
		t.Run(mode.String(), func(t *testing.T) {
			o := policy.Options{Mode: mode, Kyverno: policy.BothKinds}
			ms, err := policy.Manifests(signed(sign.Legacy), o)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for _, m := range ms {
				d := docs(t, m.YAML)[0]
				switch m.File {
				case "kyverno-policy.yaml":
					got[m.File] = []any{at(t, d, "spec", "validationActions"), at(t, d, "spec", "validationConfigurations", "mutateDigest")}
				case "kyverno-cluster-policy.yaml":
					vi := at(t, d, "spec", "rules", 0, "verifyImages", 0)
					got[m.File] = []any{at(t, vi, "failureAction"), at(t, vi, "mutateDigest")}
				case "cluster-image-policy.yaml":
					got[m.File] = at(t, d, "spec")
					got[m.File] = got[m.File].(map[string]any)["mode"]
				}
			}
			want := map[string]any{"kyverno-policy.yaml": []any{[]any{"Deny"}, true}, "kyverno-cluster-policy.yaml": []any{"Enforce", true}, "cluster-image-policy.yaml": nil}
			if mode == policy.Audit {
				// Kyverno refuses a ClusterPolicy that audits and mutates.
				want = map[string]any{"kyverno-policy.yaml": []any{[]any{"Audit"}, false}, "kyverno-cluster-policy.yaml": []any{"Audit", false}, "cluster-image-policy.yaml": "warn"}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("modes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestManifestsKinds: the kyverno-policy input picks the Kyverno policies
// and their files.
func TestManifestsKinds(t *testing.T) {
	for _, tt := range []struct {
		kinds policy.KyvernoKinds
		want  []string
	}{
		{policy.ImageValidating, []string{"kyverno-policy.yaml ImageValidatingPolicy", "cluster-image-policy.yaml ClusterImagePolicy"}},
		{policy.ClusterPolicyKind, []string{"kyverno-policy.yaml ClusterPolicy", "cluster-image-policy.yaml ClusterImagePolicy"}},
		{policy.BothKinds, []string{"kyverno-policy.yaml ImageValidatingPolicy", "kyverno-cluster-policy.yaml ClusterPolicy", "cluster-image-policy.yaml ClusterImagePolicy"}},
	} {
		ms, err := policy.Manifests(signed(sign.Legacy), policy.Options{Kyverno: tt.kinds})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.File+" "+docs(t, m.YAML)[0]["kind"].(string))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("kinds %d (-want +got):\n%s", tt.kinds, diff)
		}
	}
}

func TestParseInputs(t *testing.T) {
	for _, tt := range []struct {
		in        string
		mode      policy.Mode
		kinds     policy.KyvernoKinds
		modeErr   bool
		kindsErrs bool
	}{
		{"", policy.Enforce, policy.ImageValidating, false, false},
		{"audit", policy.Audit, policy.ImageValidating, false, true},
		{"Enforce", policy.Enforce, policy.ImageValidating, false, true},
		{"cluster-policy", policy.Enforce, policy.ClusterPolicyKind, true, false},
		{"both", policy.Enforce, policy.BothKinds, true, false},
		{"warn", policy.Enforce, policy.ImageValidating, true, true},
	} {
		m, err := policy.ParseMode(tt.in)
		if (err != nil) != tt.modeErr || err == nil && m != tt.mode {
			t.Errorf("ParseMode(%q) = %v, %v", tt.in, m, err)
		}
		k, err := policy.ParseKyvernoKinds(tt.in)
		if (err != nil) != tt.kindsErrs || err == nil && k != tt.kinds {
			t.Errorf("ParseKyvernoKinds(%q) = %v, %v", tt.in, k, err)
		}
	}
}

func TestTUFCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		tuf  policy.TUF
		want string
	}{
		{"good", policy.TUF{Mirror: "https://tuf.example.com", Root: tufRoot}, ""},
		{"no scheme", policy.TUF{Mirror: "tuf.example.com", Root: tufRoot}, "want an http(s) URL"},
		{"credentials", policy.TUF{Mirror: "https://u:p@tuf.example.com", Root: tufRoot}, "without credentials"},
		{"newline", policy.TUF{Mirror: "https://tuf.example.com\nx: y", Root: tufRoot}, "control characters"},
		{"no root", policy.TUF{Mirror: "https://tuf.example.com"}, "empty"},
		{"not JSON", policy.TUF{Mirror: "https://tuf.example.com", Root: []byte("root")}, "not JSON"},
		{"a trusted root", policy.TUF{Mirror: "https://tuf.example.com", Root: []byte(`{"mediaType":"x"}`)}, "not a signed TUF root.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.tuf.Check()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Check() = %v, want %q", err, tt.want)
			}
		})
	}
}

// dropFields deletes the named keys from every object in v.
func dropFields(v any, keys ...string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range keys {
			delete(v, k)
		}
		for _, e := range v {
			dropFields(e, keys...)
		}
	case []any:
		for _, e := range v {
			dropFields(e, keys...)
		}
	}
}
