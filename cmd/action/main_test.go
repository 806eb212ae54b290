package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/yaml"
)

// TestActionInputs checks that action.yml, verify/action.yml and
// promote/action.yml and audit/action.yml declare exactly the inputs of
// keyless sign, verify, promote and audit, with the same defaults, and describe every input and
// output.
func TestActionInputs(t *testing.T) {
	for _, tc := range []struct{ cmd, file string }{{"sign", "../../action.yml"}, {"verify", "../../verify/action.yml"}, {"promote", "../../promote/action.yml"}, {"audit", "../../audit/action.yml"}} {
		t.Run(tc.cmd, func(t *testing.T) {
			b, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var a struct {
				Inputs  map[string]struct{ Description, Default string }
				Outputs map[string]struct{ Description string }
				Runs    struct {
					Using string
					Args  []string
				}
			}
			if err := yaml.Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, in := range inputs {
				if in.applies(tc.cmd) && in.name != "chains-type-hints" {
					want[in.name] = in.def
				}
			}
			got := map[string]string{}
			for k, v := range a.Inputs {
				got[k] = v.Default
				if v.Description == "" {
					t.Errorf("input %s has no description", k)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("inputs and defaults mismatch (-want +got):\n%s", diff)
			}
			for k, v := range a.Outputs {
				if v.Description == "" {
					t.Errorf("output %s has no description", k)
				}
			}
			if a.Runs.Using != "docker" || !slices.Equal(a.Runs.Args, []string{tc.cmd}) {
				t.Errorf("runs = %+v, want a docker action with args [%s]", a.Runs, tc.cmd)
			}
		})
	}
}

// TestBadInput runs the CLI in-process against an in-process registry:
// every bad input exits 2 with a message naming the input, and nothing is
// written to the registry.
func TestBadInput(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	good := host + "/app@" + d.String()
	const secretToken = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2V4YW1wbGUuY29tIiwiYXVkIjoib3RoZXIifQ.c2lnbmF0dXJlLXNlY3JldA"
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no images", []string{"sign"}, nil, "images"},
		{"unknown command", []string{"attest"}, nil, "unknown command"},
		{"unknown flag", []string{"sign", "--colour"}, nil, "colour"},
		{"bad reference", []string{"sign", "UPPER/Case:tag"}, nil, "images"},
		{"tag-less reference", []string{"sign", host + "/app"}, nil, "tag or digest"},
		{"unknown format", []string{"sign", "--signature-format", "gpg", good}, nil, "signature-format"},
		{"bad boolean", []string{"sign", "--verify", "maybe", good}, nil, "verify"},
		{"bad timeout", []string{"sign", "--timeout", "soon", good}, nil, "timeout"},
		{"negative timeout", []string{"sign", "--timeout", "-1m", good}, nil, "timeout"},
		{"bad annotation", []string{"sign", "--annotations", "=x", good}, nil, "annotations"},
		{"annotation keys differing in case", []string{"sign", "--annotations", "env=prod,ENV=staging", good}, nil, `annotations: keys "env" and "ENV" differ only in case`},
		{"missing trusted root file", []string{"sign", "--trusted-root", dir + "/missing.json", good}, nil, "trusted-root"},
		{"malformed trusted root", []string{"sign", "--identity-token", secretToken, "--trusted-root", writeTemp(t, dir, "bad.json", "{"), good}, nil, "trusted-root"},
		{"invalid fulcio URL", []string{"sign", "--trusted-root", writeTemp(t, dir, "tr.json", "{}"), "--fulcio-url", "fulcio:5555", good}, nil, "fulcio-url"},
		{"URLs without trusted root", []string{"sign", "--rekor-url", "https://rekor.example.com", good}, nil, "trusted-root"},
		{"password without username", []string{"sign", "--registry-password", "hunter2", good}, nil, "registry-username"},
		{"token and token file", []string{"sign", "--identity-token", secretToken, "--identity-token-file", "/x", good}, nil, "identity-token"},
		{"no token on the CLI", []string{"sign", good}, nil, "identity-token"},
		{"GitLab without id_tokens", []string{"sign", good}, map[string]string{"GITLAB_CI": "true"}, "SIGSTORE_ID_TOKEN"},
		{"unknown platform", []string{"sign", good}, map[string]string{"KEYLESS_PLATFORM": "jenkins"}, "KEYLESS_PLATFORM"},
		{"verify without identity", []string{"verify", "--certificate-oidc-issuer", "https://issuer", good}, nil, "certificate-identity"},
		{"verify without issuer", []string{"verify", "--certificate-identity", "x", good}, nil, "certificate-oidc-issuer"},
		{"verify with both identity forms", []string{"verify", "--certificate-identity", "x", "--certificate-identity-regexp", "y", "--certificate-oidc-issuer", "i", good}, nil, "certificate-identity-regexp"},
		{"verify with a bad regexp", []string{"verify", "--certificate-identity-regexp", "(", "--certificate-oidc-issuer", "i", good}, nil, "certificate-identity-regexp"},
		{"unknown attestation type", []string{"verify", "--certificate-identity", "x", "--certificate-oidc-issuer", "i", "--attestation-type", "slsa", good}, nil, "attestation-type"},
		{"attestation type in a sign step", []string{"sign", good}, map[string]string{"KEYLESS_ATTESTATION_TYPE": "slsaprovenance1"}, "attestation-type"},
		{"verify-only input in a sign step", []string{"sign", good}, map[string]string{"KEYLESS_CERTIFICATE_IDENTITY_REGEXP": ".*"}, "certificate-identity-regexp"},
		{"sign-only input in a verify step", []string{"verify", "--certificate-identity", "x", "--certificate-oidc-issuer", "i", good}, map[string]string{"KEYLESS_ANNOTATIONS": "a=b"}, "annotations"},
		{"unknown Kyverno policy kind", []string{"sign", "--kyverno-policy", "policy", good}, nil, "kyverno-policy"},
		{"unknown policy mode", []string{"verify", "--certificate-identity", "x", "--certificate-oidc-issuer", "i", "--policy-mode", "warn", good}, nil, "policy-mode"},
		{"TUF mirror without root", []string{"sign", "--trusted-root", writeTemp(t, dir, "tr.json", "{}"), "--tuf-mirror", "https://tuf.example.com", good}, nil, "tuf-root"},
		{"TUF root without mirror", []string{"sign", "--trusted-root", writeTemp(t, dir, "tr.json", "{}"), "--tuf-root", writeTemp(t, dir, "root.json", tufRoot), good}, nil, "tuf-mirror"},
		{"TUF mirror not a URL", []string{"sign", "--trusted-root", writeTemp(t, dir, "tr.json", "{}"), "--tuf-mirror", "tuf.example.com", "--tuf-root", writeTemp(t, dir, "root.json", tufRoot), good}, nil, "tuf-mirror"},
		{"TUF root not a root", []string{"sign", "--trusted-root", writeTemp(t, dir, "tr.json", "{}"), "--tuf-mirror", "https://tuf.example.com", "--tuf-root", writeTemp(t, dir, "bad-root.json", `{"mediaType":"x"}`), good}, nil, "tuf-root"},
		{"TUF root missing", []string{"sign", "--trusted-root", writeTemp(t, dir, "tr.json", "{}"), "--tuf-mirror", "https://tuf.example.com", "--tuf-root", dir + "/none.json", good}, nil, "tuf-root"},
		{"GitHub input bad policy mode", []string{"sign"}, map[string]string{"GITHUB_ACTIONS": "true", "INPUT_IMAGES": good, "INPUT_POLICY-MODE": "off"}, "policy-mode"},
		{"GitHub input bad format", []string{"sign"}, map[string]string{"GITHUB_ACTIONS": "true", "INPUT_IMAGES": good, "INPUT_SIGNATURE-FORMAT": "x"}, "signature-format"},
		{"Buildkite plugin option of no input", []string{"sign"}, map[string]string{"BUILDKITE": "true", "KEYLESS_PLUGIN_CONFIGURATION": `{"images":"` + good + `","signature-fromat":"both","mode":"sign"}`},
			"signature-fromat: the plugin option signature-fromat is no input of keyless"},
		{"Buildkite plugin option of a mapping", []string{"sign"}, map[string]string{"BUILDKITE": "true", "KEYLESS_PLUGIN_CONFIGURATION": `{"images":{"a":"b"}}`}, "the plugin option images holds a mapping"},
		{"Buildkite without the agent", []string{"sign", "--identity-token", secretToken, good}, map[string]string{"BUILDKITE": "true"}, "buildkite-agent is not on PATH"},
		{"CircleCI without a token", []string{"sign", good}, map[string]string{"CIRCLECI": "true"}, "no CIRCLE_OIDC_TOKEN_V2 and circleci is not on PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(k string) string { return tc.env[k] }
			code := run(context.Background(), tc.args, getenv, &stdout, &stderr)
			if code != exitInput {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, exitInput, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q: %s", tc.want, stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), secretToken) {
				t.Errorf("the identity token was printed")
			}
		})
	}
	tags, err := remote.List(tag.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"v1"}, tags); diff != "" {
		t.Errorf("bad input wrote to the registry (-want +got):\n%s", diff)
	}
}

// tufRoot is the smallest TUF root.json the tuf-root input takes.
const tufRoot = `{"signed":{"_type":"root","version":1},"signatures":[{"keyid":"k","sig":"s"}]}`

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := dir + "/" + name
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"sign", "-h"}, func(string) string { return "" }, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"Usage: keyless sign", "-signature-format", "KEYLESS_<NAME>"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("help lacks %q:\n%s", s, stderr.String())
		}
	}
}
