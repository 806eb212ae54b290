package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRoot is a parseable trusted root whose keys signed nothing.
const testRoot = "../../internal/trust/testdata/trusted_root.json"

// pushed starts an in-process registry holding one image at app:v1 and
// returns the registry's host and the image's digest reference.
func pushed(t *testing.T) (host, digest string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/dev/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return host, tag.Context().Digest(d.String()).String()
}

// written lists the repositories of host, to show what a run wrote.
func written(t *testing.T, host string) []string {
	t.Helper()
	reg, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := remote.Catalog(context.Background(), reg)
	if err != nil {
		t.Fatal(err)
	}
	return repos
}

// TestPromoteBadInput: every bad promote input exits 2, naming the input,
// and nothing is written.
func TestPromoteBadInput(t *testing.T) {
	host, good := pushed(t)
	const secret = "dest-password-0123456789"
	gate := []string{"--certificate-identity", "https://example.com/id", "--certificate-oidc-issuer", "https://issuer.example", "--trusted-root", testRoot}
	promote := func(args ...string) []string { return append(append([]string{"promote"}, gate...), args...) }
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no destination", promote(good), nil, "destination: required"},
		{"a destination with a tag", promote("--destination", host+"/prod/app:v1", good), nil, "has a tag"},
		{"a destination with a digest", promote("--destination", host+"/prod/app@sha256:"+strings.Repeat("a", 64), good), nil, "has a digest"},
		{"the source repository", promote("--destination", host+"/dev/app", good), nil, "is the repository of"},
		{"a destination password without a username", promote("--destination", host+"/prod/app", "--destination-registry-password", secret, good), nil, "destination-registry-username"},
		{"a destination docker config that is not there", promote("--destination", host+"/prod/app", "--destination-docker-config", t.TempDir(), good), nil, "destination registry credentials"},
		{"vsa without a token", promote("--destination", host+"/prod/app", "--vsa", "true", good), nil, "identity-token"},
		{"a bad vsa", promote("--destination", host+"/prod/app", "--vsa", "maybe", good), nil, "vsa"},
		{"no identity", []string{"promote", "--destination", host + "/prod/app", "--certificate-oidc-issuer", "https://issuer.example", good}, nil, "certificate-identity"},
		{"a sign-only input", promote("--destination", host+"/prod/app", good), map[string]string{"KEYLESS_ANNOTATIONS": "a=b"}, "annotations: applies to keyless sign only"},
		{"a promote-only input in a verify step", append([]string{"verify"}, append(gate, good)...), map[string]string{"KEYLESS_DESTINATION": host + "/prod/app"}, "destination: applies to keyless promote only"},
		{"a destination the variable contradicts", promote("--destination", host+"/prod/app", good), map[string]string{"KEYLESS_DESTINATION": host + "/evil/app"}, "KEYLESS_DESTINATION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
			if code != exitInput {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, exitInput, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q: %s", tc.want, stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), secret) {
				t.Error("the destination password was printed")
			}
		})
	}
	if got := written(t, host); len(got) != 1 || got[0] != "dev/app" {
		t.Errorf("bad input wrote to the registry: repositories %v, want only dev/app", got)
	}
}

// TestPromoteUnsignedExitsOne: an image that does not verify at the
// source fails the run (exit 1), is named with the reason, and nothing is
// copied.
func TestPromoteUnsignedExitsOne(t *testing.T) {
	host, good := pushed(t)
	var stdout, stderr bytes.Buffer
	args := []string{"promote", "--destination", host + "/prod/app", "--trusted-root", testRoot,
		"--certificate-identity", "https://example.com/id", "--certificate-oidc-issuer", "https://issuer.example", good}
	code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\nstderr: %s", code, exitFailed, stderr.String())
	}
	if want := "keyless: " + good + ": verification failed: bundle: no bundle signature found"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
	var rep struct{ Command, Destination string }
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.Command != "promote" || rep.Destination != host+"/prod/app" {
		t.Errorf("the report on standard output = %+v, %v; want the command and destination:\n%s", rep, err, stdout.String())
	}
	if got := written(t, host); len(got) != 1 || got[0] != "dev/app" {
		t.Errorf("a failed gate wrote to the registry: repositories %v, want only dev/app", got)
	}
}

// TestPromoteMasksDestinationCredentials runs promote as a GitHub step
// with the destination's password and a destination Docker config: each
// is masked before anything could print it, and none is printed.
func TestPromoteMasksDestinationCredentials(t *testing.T) {
	host, good := pushed(t)
	const password, configPass = "dest-pass-3c9f1e", "config-pass-8d2b7a"
	dir, work := t.TempDir(), t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("pusher:" + configPass))
	writeTemp(t, dir, "config.json", `{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`)
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(work, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(work, "summary.md"),
		"GITHUB_WORKSPACE": work, "INPUT_IMAGES": good, "INPUT_DESTINATION": host + "/prod/app", "INPUT_TRUSTED-ROOT": testRoot,
		"INPUT_CERTIFICATE-IDENTITY": "https://example.com/id", "INPUT_CERTIFICATE-OIDC-ISSUER": "https://issuer.example",
		"INPUT_DESTINATION-REGISTRY-USERNAME": "pusher", "INPUT_DESTINATION-REGISTRY-PASSWORD": password, "INPUT_DESTINATION-DOCKER-CONFIG": dir,
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"promote"}, func(k string) string { return env[k] }, &stdout, &stderr); code != exitFailed {
		t.Fatalf("exit %d, want %d (the image is unsigned)\nstderr:\n%s", code, exitFailed, stderr.String())
	}
	var text strings.Builder
	for _, line := range strings.Split(stdout.String(), "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			text.WriteString(line + "\n")
		}
	}
	text.WriteString(stderr.String())
	basic := base64.StdEncoding.EncodeToString([]byte("pusher:" + password))
	for _, s := range []string{password, configPass, basic, auth} {
		if !strings.Contains(stdout.String(), "::add-mask::"+s+"\n") {
			t.Errorf("secret %.10s… was not masked", s)
		}
		if strings.Contains(text.String(), s) {
			t.Errorf("secret %.10s… was printed", s)
		}
	}
}
