package policy_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

const (
	ghIssuer = "https://token.actions.githubusercontent.com"
	ghID     = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"
)

// signed is a sign run over two manifests of one repository, one of
// another, and an image that was not resolved.
func signed(formats ...sign.Format) policy.Input {
	return policy.Input{
		Images: []string{
			"registry.example.com/team/app@sha256:" + strings.Repeat("a", 64),
			"registry.example.com/team/app@sha256:" + strings.Repeat("b", 64),
			"ghcr.io/octo/tool@sha256:" + strings.Repeat("c", 64),
			"",
		},
		Identity: verify.Policy{Identity: ghID, Issuer: ghIssuer},
		Formats:  formats,
	}
}

// docs splits a multi-document YAML stream and parses each document.
func docs(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		var m map[string]any
		if err := yaml.Unmarshal(d, &m); err != nil {
			t.Fatalf("parsing %s: %v", d, err)
		}
		out = append(out, m)
	}
	return out
}

// at walks a parsed document along keys and list indexes.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

func trustedRoot(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKyvernoPolicy(t *testing.T) {
	tests := []struct {
		name  string
		in    func() policy.Input
		opts  func(*testing.T) policy.Options
		want  map[string]any // of spec.rules[0].verifyImages[0]
		check func(t *testing.T, vi any, raw string)
	}{
		{
			name: "exact identity, legacy, public-good",
			in:   func() policy.Input { return signed(sign.Bundle, sign.Legacy) },
			want: map[string]any{
				"imageReferences": []any{
					"ghcr.io/octo/tool:*", "ghcr.io/octo/tool@*",
					"registry.example.com/team/app:*", "registry.example.com/team/app@*",
				},
				"type":          "Cosign",
				"failureAction": "Enforce",
				"required":      true,
				"mutateDigest":  true,
				"verifyDigest":  true,
				"attestors": []any{map[string]any{
					"count": float64(1),
					"entries": []any{map[string]any{"keyless": map[string]any{
						"subject": ghID,
						"issuer":  ghIssuer,
						"rekor":   map[string]any{"url": "https://rekor.sigstore.dev"},
					}}},
				}},
			},
		},
		{
			name: "regexp identity, bundle only, extensions",
			in: func() policy.Input {
				in := signed(sign.Bundle)
				in.Identity = verify.Policy{
					IdentityRegexp:   `https://github\.com/octo/.*`,
					IssuerRegexp:     `https://token\.actions\.githubusercontent\.com`,
					SourceRepository: "https://github.com/octo/app", SourceRef: "refs/heads/main",
					WorkflowTrigger: "push", RunnerEnvironment: "github-hosted",
				}
				return in
			},
			check: func(t *testing.T, vi any, raw string) {
				if diff := cmp.Diff("SigstoreBundle", at(t, vi, "type")); diff != "" {
					t.Errorf("type (-want +got):\n%s", diff)
				}
				want := map[string]any{
					"subjectRegExp": `^(?:https://github\.com/octo/.*)$`,
					"issuerRegExp":  `^(?:https://token\.actions\.githubusercontent\.com)$`,
					"additionalExtensions": map[string]any{
						"githubWorkflowRepository": "octo/app",
						"githubWorkflowRef":        "refs/heads/main",
						"githubWorkflowTrigger":    "push",
					},
					"rekor": map[string]any{"url": "https://rekor.sigstore.dev"},
				}
				if diff := cmp.Diff(want, at(t, vi, "attestors", 0, "entries", 0, "keyless")); diff != "" {
					t.Errorf("keyless (-want +got):\n%s", diff)
				}
				if !strings.Contains(raw, "# Not enforced by this policy") || !strings.Contains(raw, "runner-environment=\"github-hosted\"") {
					t.Errorf("no comment on the runner-environment constraint:\n%s", raw)
				}
				if !strings.Contains(raw, "signature-format both") {
					t.Errorf("no comment on bundle-only runs:\n%s", raw)
				}
			},
		},
		{
			name: "private trusted root",
			in: func() policy.Input {
				in := signed(sign.Legacy)
				in.SignedTimestamps = true
				in.Signatures = []policy.Signature{{Format: sign.Legacy, LogURL: "http://127.0.0.1:5409"}}
				return in
			},
			opts: func(t *testing.T) policy.Options {
				return policy.Options{TrustedRootJSON: trustedRoot(t)}
			},
			check: func(t *testing.T, vi any, _ string) {
				kl := at(t, vi, "attestors", 0, "entries", 0, "keyless")
				if diff := cmp.Diff("http://127.0.0.1:5409", at(t, kl, "rekor", "url")); diff != "" {
					t.Errorf("rekor url (-want +got):\n%s", diff)
				}
				for _, p := range [][]any{{"rekor", "pubkey"}, {"ctlog", "pubkey"}} {
					if s, _ := at(t, kl, p...).(string); !strings.HasPrefix(s, "-----BEGIN PUBLIC KEY-----") {
						t.Errorf("%v = %q, want a PEM public key", p, s)
					}
				}
				for _, p := range [][]any{{"roots"}, {"ctlog", "tsaCertChain"}} {
					if s, _ := at(t, kl, p...).(string); !strings.HasPrefix(s, "-----BEGIN CERTIFICATE-----") {
						t.Errorf("%v = %q, want PEM certificates", p, s)
					}
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
			got, err := policy.Kyverno(tt.in(), o)
			if err != nil {
				t.Fatal(err)
			}
			d := docs(t, got)
			if len(d) != 1 {
				t.Fatalf("got %d documents, want 1", len(d))
			}
			head := map[string]any{
				"apiVersion": at(t, d[0], "apiVersion"), "kind": at(t, d[0], "kind"),
				"name": at(t, d[0], "metadata", "name"), "webhook": at(t, d[0], "spec", "webhookConfiguration"),
				"match": at(t, d[0], "spec", "rules", 0, "match"),
			}
			wantHead := map[string]any{
				"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "name": "keyless-signed-images",
				"webhook": map[string]any{"failurePolicy": "Fail", "timeoutSeconds": float64(30)},
				"match":   map[string]any{"any": []any{map[string]any{"resources": map[string]any{"kinds": []any{"Pod"}}}}},
			}
			if diff := cmp.Diff(wantHead, head); diff != "" {
				t.Errorf("policy (-want +got):\n%s", diff)
			}
			vi := at(t, d[0], "spec", "rules", 0, "verifyImages", 0)
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, vi); diff != "" {
					t.Errorf("verifyImages (-want +got):\n%s", diff)
				}
			}
			if tt.check != nil {
				tt.check(t, vi, string(got))
			}
		})
	}
}

func TestClusterImagePolicy(t *testing.T) {
	// images is the spec.images of signed's two repositories, sorted.
	images := []any{
		map[string]any{"glob": "ghcr.io/octo/tool*"},
		map[string]any{"glob": "registry.example.com/team/app*"},
	}
	tests := []struct {
		name      string
		in        func() policy.Input
		opts      policy.Options
		private   bool
		wantSpec  map[string]any
		wantCount int
	}{
		{
			name:      "exact identity, public-good",
			in:        func() policy.Input { return signed(sign.Legacy) },
			opts:      policy.Options{Name: "app"},
			wantCount: 1,
			wantSpec: map[string]any{
				"images": images,
				"authorities": []any{map[string]any{
					"name": "keyless",
					"keyless": map[string]any{"identities": []any{map[string]any{
						"issuer": ghIssuer, "subject": ghID,
					}}},
					"ctlog": map[string]any{"url": "https://rekor.sigstore.dev"},
				}},
			},
		},
		{
			name: "regexp identity, private trusted root",
			in: func() policy.Input {
				in := signed(sign.Bundle, sign.Legacy)
				in.Identity.IdentityRegexp = "^https://github.com/octo/.*$"
				in.SignedTimestamps = true
				return in
			},
			private:   true,
			wantCount: 2,
			wantSpec: map[string]any{
				"images": images,
				"authorities": []any{map[string]any{
					"name": "keyless",
					"keyless": map[string]any{
						"url":          "http://127.0.0.1:5402",
						"trustRootRef": "app",
						"identities": []any{map[string]any{
							"issuer": ghIssuer, "subjectRegExp": "^(?:https://github.com/octo/.*)$",
						}},
					},
					"ctlog":            map[string]any{"url": "http://127.0.0.1:5406", "trustRootRef": "app"},
					"rfc3161timestamp": map[string]any{"trustRootRef": "app"},
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if tt.private {
				o = policy.Options{Name: "app", TrustedRootJSON: trustedRoot(t)}
			}
			got, err := policy.ClusterImagePolicy(tt.in(), o)
			if err != nil {
				t.Fatal(err)
			}
			d := docs(t, got)
			if len(d) != tt.wantCount {
				t.Fatalf("got %d documents, want %d:\n%s", len(d), tt.wantCount, got)
			}
			if diff := cmp.Diff("policy.sigstore.dev/v1beta1", at(t, d[0], "apiVersion")); diff != "" {
				t.Errorf("apiVersion (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSpec, at(t, d[0], "spec")); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if !tt.private {
				return
			}
			keys := at(t, d[1], "spec", "sigstoreKeys").(map[string]any)
			counts := map[string]int{}
			for k, v := range keys {
				counts[k] = len(v.([]any))
			}
			want := map[string]int{"certificateAuthorities": 1, "tLogs": 2, "ctLogs": 1, "timestampAuthorities": 1}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("sigstoreKeys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]any{"organization": "sigstore", "commonName": ""},
				at(t, keys, "certificateAuthorities", 0, "subject")); diff != "" {
				t.Errorf("CA subject (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPolicyErrors(t *testing.T) {
	noDigest := signed(sign.Legacy)
	noDigest.Images = noDigest.Images[3:]
	noIssuer := signed(sign.Legacy)
	noIssuer.Identity.Issuer = ""
	noIdentity := signed(sign.Legacy)
	noIdentity.Identity.Identity = ""
	tests := []struct {
		name string
		in   policy.Input
		opts policy.Options
		want string
	}{
		{"no digest", noDigest, policy.Options{}, "no subject digest"},
		{"no issuer", noIssuer, policy.Options{}, "no certificate OIDC issuer"},
		{"no identity", noIdentity, policy.Options{}, "no certificate identity"},
		{"bad trusted root", signed(sign.Legacy), policy.Options{TrustedRootJSON: []byte("{")}, "parsing trusted root: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []func(policy.Input, policy.Options) ([]byte, error){policy.Kyverno, policy.ClusterImagePolicy} {
				_, err := f(tt.in, tt.opts)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want %q", err, tt.want)
				}
			}
		})
	}
}

func TestPolicyStable(t *testing.T) {
	o := policy.Options{TrustedRootJSON: trustedRoot(t)}
	in := signed(sign.Legacy)
	a, _ := policy.ClusterImagePolicy(in, o)
	for range 5 {
		b, _ := policy.ClusterImagePolicy(in, o)
		if diff := cmp.Diff(string(a), string(b)); diff != "" {
			t.Fatalf("output changed (-first +later):\n%s", diff)
		}
	}
}

func ExampleKyverno() {
	in := policy.Input{
		Images: []string{"ghcr.io/octo/app@sha256:0123"},
		Identity: verify.Policy{
			Identity: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
			Issuer:   "https://token.actions.githubusercontent.com",
		},
		Formats: []sign.Format{sign.Legacy},
	}
	b, err := policy.Kyverno(in, policy.Options{Name: "octo-app"})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(b))
	// Output:
	// # Kyverno 1.13+ ClusterPolicy generated by keyless (kyverno.io/v1, deprecated since Kyverno 1.17: prefer the ImageValidatingPolicy).
	// # type Cosign reads cosign's .sig tag, logged in the Rekor v1 log at rekor.url.
	// apiVersion: kyverno.io/v1
	// kind: ClusterPolicy
	// metadata:
	//   annotations:
	//     policies.kyverno.io/description: Images from ghcr.io/octo/app must carry a Sigstore
	//       keyless signature by the identity that signed them with keyless.
	//     policies.kyverno.io/title: Keyless-signed images
	//   name: octo-app
	// spec:
	//   background: false
	//   rules:
	//   - match:
	//       any:
	//       - resources:
	//           kinds:
	//           - Pod
	//     name: verify-keyless-signature
	//     verifyImages:
	//     - attestors:
	//       - count: 1
	//         entries:
	//         - keyless:
	//             issuer: https://token.actions.githubusercontent.com
	//             rekor:
	//               url: https://rekor.sigstore.dev
	//             subject: https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main
	//       failureAction: Enforce
	//       imageReferences:
	//       - ghcr.io/octo/app:*
	//       - ghcr.io/octo/app@*
	//       mutateDigest: true
	//       required: true
	//       type: Cosign
	//       verifyDigest: true
	//   webhookConfiguration:
	//     failurePolicy: Fail
	//     timeoutSeconds: 30
}
