package ci

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/input"
)

// jwtWith is an unsigned token with claims.
func jwtWith(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(b) + "." + enc([]byte("sig"))
}

// TestCircleCIToken: CIRCLE_OIDC_TOKEN_V2 when its audience is sigstore,
// else circleci run oidc get for one; a job with neither is told how.
func TestCircleCIToken(t *testing.T) {
	sigstore := jwtWith(t, map[string]any{"iss": "https://oidc.circleci.com/org/o", "aud": []string{"o", "sigstore"}})
	org := jwtWith(t, map[string]any{"iss": "https://oidc.circleci.com/org/o", "aud": "o"})
	cli, calls := fakeAgent(t, "circleci")
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"V2 of audience sigstore", map[string]string{"CIRCLE_OIDC_TOKEN_V2": sigstore, "PATH": cli}, sigstore},
		{"V2 of the organization's audience: circleci asked", map[string]string{"CIRCLE_OIDC_TOKEN_V2": org, "PATH": cli}, "TOKEN"},
		{"no V2: circleci asked", map[string]string{"PATH": cli}, "TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewCircleCI(Env{Getenv: env(tc.env)}).TokenSource(http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := src.Token(context.Background()); got != tc.want || err != nil {
				t.Errorf("Token() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if got := readFile(t, calls); !strings.Contains(got, `|run oidc get --claims {"aud":"sigstore"}|`) {
		t.Errorf("circleci calls = %q", got)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"V2 of another audience, no circleci", map[string]string{"CIRCLE_OIDC_TOKEN_V2": org}, `CIRCLE_OIDC_TOKEN_V2 has the audience "o", not sigstore`},
		{"V2 not a JWT", map[string]string{"CIRCLE_OIDC_TOKEN_V2": "opaque"}, "CIRCLE_OIDC_TOKEN_V2 is not a JWT"},
		{"neither", nil, "the job must use a context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCircleCI(Env{Getenv: env(tc.env)}).TokenSource(http.DefaultClient)
			if err == nil || !input.Is(err) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("TokenSource = %v, want an input error with %q and no token", err, tc.want)
			}
		})
	}
}

// TestCircleCIPublish: every file in the output directory, the outputs as
// a file that sh reads back exactly, and the run as JUnit XML.
func TestCircleCIPublish(t *testing.T) {
	t.Chdir(t.TempDir())
	hostile := "it's $(touch pwned) `x` \"y\"\nline 2"
	a := Artifacts{
		Outputs: [][2]string{{"digests", "r/a@sha256:1\nr/b@sha256:2"}, {"certificate-identity", hostile}, {"verified", "false"}},
		Summary: "## keyless sign — ❌\n", Report: []byte(`{"command":"sign","subjects":[]}`),
		Files:   map[string][]byte{"kyverno-policy.yaml": []byte("kind: ClusterPolicy\n")},
		Results: []Result{{Image: "r/a@sha256:1"}, {Image: "r/b@sha256:2", Failure: "verification failed: bundle: <no signature> & more"}},
	}
	if err := NewCircleCI(Env{Getenv: env(nil), Stdout: &bytes.Buffer{}}).Publish(a); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"keyless.env", "kyverno-policy.yaml", "report.json", "summary.md", "test-results"}, listDir(t, "keyless")); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s", diff)
	}
	out, err := exec.Command("sh", "-c", `. keyless/keyless.env && printf '%s|%s|%s' "$KEYLESS_DIGESTS" "$KEYLESS_SIGNED_IDENTITY" "$KEYLESS_VERIFIED"; test -z "$KEYLESS_CERTIFICATE_IDENTITY" && test ! -e pwned`).CombinedOutput()
	if err != nil || string(out) != "r/a@sha256:1\nr/b@sha256:2|"+hostile+"|false" {
		t.Errorf("sourcing keyless.env: %v: %q", err, out)
	}
	var j struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suite    struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
			Out string `xml:"system-out"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(readFile(t, filepath.Join("keyless", "test-results", "keyless", "results.xml"))), &j); err != nil {
		t.Fatal(err)
	}
	if j.Tests != 2 || j.Failures != 1 || j.Suite.Cases[0].Name != "r/a@sha256:1" || j.Suite.Cases[0].Failure != nil ||
		j.Suite.Cases[1].Failure == nil || j.Suite.Cases[1].Failure.Message != "verification failed: bundle: <no signature> & more" || j.Suite.Out != string(a.Report) {
		t.Errorf("JUnit report = %+v", j)
	}
}
