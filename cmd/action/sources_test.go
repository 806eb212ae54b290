package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/internal/ci"
)

// TestInjectedPolicyInput runs keyless as the GitLab components start it,
// with every input an argument, in a job whose environment an earlier
// job's dotenv report or a project variable has written to. A policy input
// that the environment contradicts exits 2 naming both sources, before
// anything is read or signed.
func TestInjectedPolicyInput(t *testing.T) {
	const img = "registry.example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const other = "registry.example.com/evil@sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	verify := []string{"verify", "--certificate-identity", "https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main",
		"--certificate-identity-regexp", "", "--certificate-oidc-issuer", "https://gitlab.com", "--certificate-oidc-issuer-regexp", "",
		"--attestation-type", "", "--trusted-root", "", "--signature-format", "any", "--", img}
	gitlab := map[string]string{"GITLAB_CI": "true"}
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		arg, vars string
	}{
		{"a wider identity regexp", verify, map[string]string{"KEYLESS_CERTIFICATE_IDENTITY_REGEXP": ".*"}, "--certificate-identity-regexp", "KEYLESS_CERTIFICATE_IDENTITY_REGEXP"},
		{"the signer's identity from a sign job's old dotenv", verify, map[string]string{"KEYLESS_CERTIFICATE_IDENTITY": "https://gitlab.com/evil/other//.gitlab-ci.yml@refs/heads/main"}, "--certificate-identity", "KEYLESS_CERTIFICATE_IDENTITY"},
		{"another issuer", verify, map[string]string{"KEYLESS_CERTIFICATE_OIDC_ISSUER": "https://evil.example.com"}, "--certificate-oidc-issuer", "KEYLESS_CERTIFICATE_OIDC_ISSUER"},
		{"an issuer regexp", verify, map[string]string{"KEYLESS_CERTIFICATE_OIDC_ISSUER_REGEXP": ".*"}, "--certificate-oidc-issuer-regexp", "KEYLESS_CERTIFICATE_OIDC_ISSUER_REGEXP"},
		{"no attestation after all", verify, map[string]string{"KEYLESS_ATTESTATION_TYPE": "spdxjson"}, "--attestation-type", "KEYLESS_ATTESTATION_TYPE"},
		{"another trusted root", verify, map[string]string{"KEYLESS_TRUSTED_ROOT": "/tmp/evil.json"}, "--trusted-root", "KEYLESS_TRUSTED_ROOT"},
		{"other images", verify, map[string]string{"KEYLESS_IMAGES": other}, "--images", "KEYLESS_IMAGES"},
		{"a weaker format", verify, map[string]string{"KEYLESS_SIGNATURE_FORMAT": "legacy"}, "--signature-format", "KEYLESS_SIGNATURE_FORMAT"},
		{"sign other images", []string{"sign", "--", img}, map[string]string{"KEYLESS_IMAGES": other}, "--images", "KEYLESS_IMAGES"},
		{"sign the images of another file", []string{"sign", "--images-from", "build/metadata.json", "--", ""}, map[string]string{"KEYLESS_IMAGES_FROM": "/tmp/forged-refs.txt"}, "--images-from", "KEYLESS_IMAGES_FROM"},
		{"sign with another Fulcio", []string{"sign", "--fulcio-url", "", "--", img}, map[string]string{"KEYLESS_FULCIO_URL": "https://fulcio.evil.example.com"}, "--fulcio-url", "KEYLESS_FULCIO_URL"},
		{"sign a predicate", []string{"sign", "--predicate", "", "--", img}, map[string]string{"KEYLESS_PREDICATE": "/tmp/forged.json"}, "--predicate", "KEYLESS_PREDICATE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range gitlab {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, func(k string) string { return env[k] }, &stdout, &stderr)
			if code != exitInput {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, exitInput, stderr.String())
			}
			for _, want := range []string{tc.arg, tc.vars} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q: %s", want, stderr.String())
				}
			}
			for _, v := range tc.env {
				if v != "" && strings.Contains(stderr.String(), v) {
					t.Errorf("stderr echoes the variable's value %q: %s", v, stderr.String())
				}
			}
		})
	}
}

// TestInjectedNamesEveryInput shows that one run names every input a
// hostile dotenv contradicts, not only the first one checked.
func TestInjectedNamesEveryInput(t *testing.T) {
	const img = "registry.example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	args := []string{"verify", "--certificate-identity", "https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main",
		"--certificate-identity-regexp", "", "--certificate-oidc-issuer", "https://gitlab.com", "--signature-format", "both", "--", img}
	env := map[string]string{
		"GITLAB_CI":                           "true",
		"KEYLESS_CERTIFICATE_IDENTITY_REGEXP": ".*",
		"KEYLESS_CERTIFICATE_OIDC_ISSUER":     "https://evil.example.com",
		"KEYLESS_SIGNATURE_FORMAT":            "any",
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr); code != exitInput {
		t.Fatalf("exit %d, want %d\nstderr: %s", code, exitInput, stderr.String())
	}
	for _, want := range []string{"--certificate-identity-regexp", "KEYLESS_CERTIFICATE_IDENTITY_REGEXP", "--certificate-oidc-issuer", "KEYLESS_CERTIFICATE_OIDC_ISSUER", "--signature-format", "KEYLESS_SIGNATURE_FORMAT"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q: %s", want, stderr.String())
		}
	}
}

// TestInjectedAgrees shows what injected lets through: a variable that
// says what the argument says, a policy input given one way only, and an
// input that is no policy.
func TestInjectedAgrees(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		positional []string
		env        map[string]string
	}{
		{"the same identity", []string{"--certificate-identity", "id"}, nil, map[string]string{"KEYLESS_CERTIFICATE_IDENTITY": " id "}},
		{"the same images in another order", nil, []string{"r/a:1,r/b:2"}, map[string]string{"KEYLESS_IMAGES": "r/b:2\nr/a:1"}},
		{"the same files in another order", []string{"--images-from", "a.json", "--images-from", "b.txt"}, nil, map[string]string{"KEYLESS_IMAGES_FROM": "b.txt,a.json"}},
		{"the same truth", []string{"--recursive", "false"}, nil, map[string]string{"KEYLESS_RECURSIVE": "FALSE"}},
		{"a variable alone", nil, nil, map[string]string{"KEYLESS_CERTIFICATE_IDENTITY": "id", "KEYLESS_IMAGES": "r/a:1"}},
		{"an argument alone", []string{"--certificate-identity", "id"}, []string{"r/a:1"}, nil},
		{"no policy", []string{"--timeout", "1m", "--output-dir", "a"}, nil, map[string]string{"KEYLESS_TIMEOUT": "2m", "KEYLESS_OUTPUT_DIR": "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("verify", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			flagValue := flags("verify", fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string { return tc.env[k] }
			p, err := ci.Detect(ci.Env{Getenv: func(k string) string {
				if k == "GITLAB_CI" {
					return "true"
				}
				return getenv(k)
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := injected("verify", flagValue, tc.positional, p); err != nil {
				t.Errorf("injected() = %v, want nil", err)
			}
		})
	}
}

// TestOutputsAreNoInputs checks why no output of a keyless step can become
// a later keyless step's policy input, platform by platform:
//   - GitLab: dotenv reports override the later jobs' variables, so no
//     dotenv name may be an input's KEYLESS_<NAME>; and the components
//     pass inputs as arguments, which no variable overrides.
//   - GitHub: outputs go to GITHUB_OUTPUT, never into a step's
//     environment, and inputs are read from INPUT_<NAME> alone, which the
//     runner sets from with: (a KEYLESS_PLATFORM set through GITHUB_ENV
//     is refused: TestDetect).
//   - Tekton: results are files a Pipeline wires into params explicitly
//     (e2e/manifests checks that the Tasks take every input from a param).
func TestOutputsAreNoInputs(t *testing.T) {
	var outputs []string
	for _, file := range []string{"../../action.yml", "../../verify/action.yml", "../../promote/action.yml", "../../audit/action.yml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var a struct{ Outputs map[string]any }
		if err := yaml.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		for name := range a.Outputs {
			outputs = append(outputs, name)
		}
	}
	if !slices.Contains(outputs, "certificate-identity") {
		t.Fatalf("outputs %v lack certificate-identity, which the check is about", outputs)
	}
	variables := map[string]string{}
	for _, in := range inputs {
		variables["KEYLESS_"+strings.ToUpper(strings.ReplaceAll(in.name, "-", "_"))] = in.name
	}
	var clashes []string
	for _, o := range outputs {
		line := ci.Dotenv([][2]string{{o, "x"}})
		k, _, _ := strings.Cut(line, "=")
		if in, ok := variables[k]; ok {
			clashes = append(clashes, o+" is written as "+k+", the variable of input "+in)
		}
	}
	slices.Sort(clashes)
	if diff := cmp.Diff([]string(nil), clashes); diff != "" {
		t.Errorf("dotenv outputs that later jobs would read as inputs (-want +got):\n%s", diff)
	}
}
