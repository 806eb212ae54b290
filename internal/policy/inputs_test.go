package policy_test

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// TestPolicyHostileExtensions gives the policies certificate extension
// values that try to end their comment line and add YAML: the output
// parses to the same documents as for harmless values, and each value is
// written quoted on its comment line.
func TestPolicyHostileExtensions(t *testing.T) {
	hostile := []string{
		"refs/heads/main\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: evil",
		"refs/heads/main\nkey: value",
		"refs/heads/main\r---\rkey: value",
		"refs/heads/main\u2028key: value",
		"refs/heads/main\u0085key: value",
	}
	for _, issuer := range []string{ghIssuer, "https://gitlab.example.com"} {
		for i, value := range hostile {
			t.Run(issuer+"/"+strconv.Itoa(i), func(t *testing.T) {
				build := func(ref string) policy.Input {
					in := signed(sign.Legacy)
					in.Identity = verify.Policy{Identity: ghID, Issuer: issuer, SourceRef: ref, RunnerEnvironment: ref}
					return in
				}
				o := policy.Options{TrustedRootJSON: trustedRoot(t)}
				for _, gen := range []struct {
					name string
					f    func(policy.Input, policy.Options) ([]byte, error)
				}{
					{"Kyverno", policy.Kyverno},
					{"policy-controller", policy.ClusterImagePolicy},
				} {
					clean, err := gen.f(build("refs/heads/main"), o)
					if err != nil {
						t.Fatal(err)
					}
					got, err := gen.f(build(value), o)
					if gen.name == "Kyverno" && issuer == ghIssuer && strings.Contains(value, "\u0085") {
						// The YAML library turns U+0085 into a space: the
						// extension Kyverno checks is refused, not altered.
						if err == nil || !strings.Contains(err.Error(), "C1 control character") {
							t.Errorf("err = %v, want a C1 control character refused", err)
						}
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					d := docs(t, got)
					if gen.name == "Kyverno" && issuer == ghIssuer {
						ext := at(t, d[0], "spec", "rules", 0, "verifyImages", 0, "attestors", 0, "entries", 0, "keyless", "additionalExtensions").(map[string]any)
						// Marshalled, the value is the extension's, whole.
						if diff := cmp.Diff(value, ext["githubWorkflowRef"]); diff != "" {
							t.Errorf("githubWorkflowRef (-want +got):\n%s", diff)
						}
						ext["githubWorkflowRef"] = "refs/heads/main"
					}
					if diff := cmp.Diff(docs(t, clean), d); diff != "" {
						t.Errorf("%s: documents (-harmless +hostile):\n%s\n%s", gen.name, diff, got)
					}
					if !strings.Contains(string(got), "runner-environment="+strconv.Quote(value)) {
						t.Errorf("%s: value not quoted on its comment line:\n%s", gen.name, got)
					}
				}
			})
		}
	}
}

// TestPolicyLogOfBoth: a "both" run logs its bundles in Rekor v2 and its
// .sig signatures in Rekor v1. Kyverno type Cosign and policy-controller
// read the .sig, so both policies name the Rekor v1 log and Kyverno's
// attestor carries its key, however the two URLs sort.
func TestPolicyLogOfBoth(t *testing.T) {
	const v1, v2 = "http://127.0.0.1:5409", "http://127.0.0.1:5406"
	tests := []struct {
		name    string
		formats []sign.Format
		sigs    []policy.Signature
		wantURL string
		wantKey string // Kyverno rekor.pubkey; "" for none
	}{
		{
			name:    "both",
			formats: []sign.Format{sign.Bundle, sign.Legacy},
			sigs:    []policy.Signature{{Format: sign.Bundle, LogURL: v2, Rekor: 2}, {Format: sign.Legacy, LogURL: v1, Rekor: 1}},
			wantURL: v1, wantKey: logKeyPEM(t, v1),
		},
		{
			name:    "both, legacy first",
			formats: []sign.Format{sign.Legacy, sign.Bundle},
			sigs:    []policy.Signature{{Format: sign.Legacy, LogURL: v1, Rekor: 1}, {Format: sign.Bundle, LogURL: v2, Rekor: 2}},
			wantURL: v1, wantKey: logKeyPEM(t, v1),
		},
		{
			name:    "bundle only",
			formats: []sign.Format{sign.Bundle},
			sigs:    []policy.Signature{{Format: sign.Bundle, LogURL: v2, Rekor: 2}},
			wantURL: v2,
		},
		{
			// Reused signatures, and those a verify run checked, are known
			// by the logs they verified with, not by their Rekor version;
			// the trusted root lists Rekor v2 first.
			name:    "both, verified",
			formats: []sign.Format{sign.Bundle, sign.Legacy},
			sigs:    []policy.Signature{{Format: sign.Bundle, LogURL: v2}, {Format: sign.Legacy, LogURL: v1}},
			wantURL: v1, wantKey: logKeyPEM(t, v1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := signed(tt.formats...)
			in.Signatures = tt.sigs
			o := policy.Options{TrustedRootJSON: trustedRoot(t)}
			k, err := policy.Kyverno(in, o)
			if err != nil {
				t.Fatal(err)
			}
			kl := at(t, docs(t, k)[0], "spec", "rules", 0, "verifyImages", 0, "attestors", 0, "entries", 0, "keyless")
			got := map[string]any{"url": at(t, kl, "rekor", "url"), "pubkey": at(t, kl, "rekor", "pubkey")}
			want := map[string]any{"url": tt.wantURL, "pubkey": nil}
			if tt.wantKey != "" {
				want["pubkey"] = tt.wantKey
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Kyverno rekor (-want +got):\n%s", diff)
			}
			c, err := policy.ClusterImagePolicy(in, o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantURL, at(t, docs(t, c)[0], "spec", "authorities", 0, "ctlog", "url")); diff != "" {
				t.Errorf("ClusterImagePolicy ctlog.url (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRekorV2Only: the headers say when every signature the controllers
// read is in Rekor v2 only, and Kyverno's asks for a timestamp when the
// run has none; a signature in Rekor v1, or of unknown version, does not
// count as v2 only.
func TestRekorV2Only(t *testing.T) {
	const kyvernoV2 = "logged in Rekor v2 only: their bundles carry"
	const kyvernoTSA = "SigstoreBundle requires a timestamp"
	const cipV2 = "Rekor v2 only, which policy-controller cannot check"
	for _, tt := range []struct {
		name       string
		sigs       []policy.Signature
		timestamps bool
		want       []string
	}{
		{"v2", []policy.Signature{{Format: sign.Bundle, Rekor: 2}, {Format: sign.Bundle, Rekor: 2}}, false, []string{kyvernoV2, kyvernoTSA, cipV2}},
		{"v2 with timestamps", []policy.Signature{{Format: sign.Bundle, Rekor: 2}}, true, []string{kyvernoV2, cipV2}},
		{"v1 and v2", []policy.Signature{{Format: sign.Bundle, Rekor: 2}, {Format: sign.Bundle, Rekor: 1}}, false, nil},
		{"unknown", []policy.Signature{{Format: sign.Bundle}}, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := signed(sign.Bundle)
			in.Signatures, in.SignedTimestamps = tt.sigs, tt.timestamps
			k, err := policy.Kyverno(in, policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := policy.ClusterImagePolicy(in, policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range []string{kyvernoV2, kyvernoTSA} {
				if strings.Contains(string(k), s) {
					got = append(got, s)
				}
			}
			if strings.Contains(string(c), cipV2) {
				got = append(got, cipV2)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("header lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKyvernoBundleNeedsTUF: type SigstoreBundle ignores the attestor's
// keys, so a bundle-only policy carries none of them and its header says
// how Kyverno gets a private trusted root.
func TestKyvernoBundleNeedsTUF(t *testing.T) {
	in := signed(sign.Bundle)
	in.SignedTimestamps = true
	in.Signatures = []policy.Signature{{Format: sign.Bundle, LogURL: "http://127.0.0.1:5406"}}
	got, err := policy.Kyverno(in, policy.Options{TrustedRootJSON: trustedRoot(t)})
	if err != nil {
		t.Fatal(err)
	}
	kl := at(t, docs(t, got)[0], "spec", "rules", 0, "verifyImages", 0, "attestors", 0, "entries", 0, "keyless")
	want := map[string]any{
		"subject": ghID, "issuer": ghIssuer,
		"rekor": map[string]any{"url": "http://127.0.0.1:5406"},
	}
	if diff := cmp.Diff(want, kl); diff != "" {
		t.Errorf("keyless (-want +got):\n%s", diff)
	}
	for _, s := range []string{"--enableTuf --tufMirror=", "features.tuf", "ignores the attestor's roots, ctlog and"} {
		if !strings.Contains(string(got), s) {
			t.Errorf("header lacks %q:\n%s", s, got)
		}
	}
}

// logKeyPEM returns the PEM public key of the testdata trusted root's
// Rekor log at url.
func logKeyPEM(t *testing.T, url string) string {
	t.Helper()
	var tr struct {
		Tlogs []struct {
			BaseURL   string `json:"baseUrl"`
			PublicKey struct {
				RawBytes string `json:"rawBytes"`
			} `json:"publicKey"`
		} `json:"tlogs"`
	}
	if err := json.Unmarshal(trustedRoot(t), &tr); err != nil {
		t.Fatal(err)
	}
	for _, l := range tr.Tlogs {
		if l.BaseURL == url {
			der, err := base64.StdEncoding.DecodeString(l.PublicKey.RawBytes)
			if err != nil {
				t.Fatal(err)
			}
			return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		}
	}
	t.Fatalf("no log %s in the trusted root", url)
	return ""
}

// TestClusterImagePolicyBundleOnly: policy-controller verifies image
// signatures only from the .sig tag, and the header of a bundle-only
// run's policy says so, with the answer policy-controller gives.
func TestClusterImagePolicyBundleOnly(t *testing.T) {
	for _, tt := range []struct {
		formats []sign.Format
		want    bool
	}{
		{[]sign.Format{sign.Bundle}, true},
		{[]sign.Format{sign.Bundle, sign.Legacy}, false},
	} {
		got, err := policy.ClusterImagePolicy(signed(tt.formats...), policy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"bundle support for image signatures is not yet implemented", "sign with signature-format both"} {
			if strings.Contains(string(got), s) != tt.want {
				t.Errorf("formats %v: header holds %q = %v, want %v:\n%s", tt.formats, s, !tt.want, tt.want, got)
			}
		}
	}
}
