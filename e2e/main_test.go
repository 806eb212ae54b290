// Package e2e holds the end-to-end tests that run against the local
// Sigstore stack (start it with: cd e2e && go run ./cmd/stack up).
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// stk is the running stack every test uses.
var stk *stack.Stack

func TestMain(m *testing.M) {
	s, err := stack.Load("")
	if err == nil {
		err = s.Healthy(context.Background())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: no healthy local Sigstore stack in %s: %v\n"+
			"start it with: cd e2e && go run ./cmd/stack up\n", stack.DefaultDir(), err)
		os.Exit(1)
	}
	stk = s
	os.Exit(m.Run())
}

// cosignEnv is a clean environment for the cosign CLIs: no ambient
// credentials, a private HOME and TUF cache, so nothing reaches the network.
func cosignEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"TUF_ROOT=" + home + "/.sigstore/root",
		"PATH=" + os.Getenv("PATH"),
		"SIGSTORE_NO_CACHE=true",
	}
	return env
}

// cosign runs a cosign binary and returns its combined output.
func cosign(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cosignEnv(t)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// mustCosign runs cosign and fails the test on error.
func mustCosign(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := cosign(t, bin, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return out
}

// mustFailCosign runs cosign and fails the test if it succeeds.
func mustFailCosign(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := cosign(t, bin, args...)
	if err == nil {
		t.Fatalf("%s %s: succeeded, want failure\n%s", bin, strings.Join(args, " "), out)
	}
	return out
}

// pushImage pushes a fresh random image and returns its digest reference.
func pushImage(t *testing.T) string {
	t.Helper()
	repo := "e2e/" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	ref, err := stk.PushRandomImage(context.Background(), repo, "latest")
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// mint gets a token of kind from the stack's issuer.
func mint(t *testing.T, kind string, opts ...stack.MintOption) string {
	t.Helper()
	tok, err := stk.Mint(context.Background(), kind, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mintFile mints a token of kind and returns the path of a file holding it
// (cosign's --identity-token takes a token or a path, and a long token
// given inline fails its path check with ENAMETOOLONG).
func mintFile(t *testing.T, kind string, opts ...stack.MintOption) string {
	t.Helper()
	tok := mint(t, kind, opts...)
	path := filepath.Join(t.TempDir(), kind+".jwt")
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The identities Fulcio derives from the default tokens.
const (
	githubIdentity     = "https://github.com/keyless-dev/demo/.github/workflows/release.yml@refs/heads/main"
	gitlabIdentity     = "https://gitlab.com/keyless-dev/demo//.gitlab-ci.yml@refs/heads/main"
	kubernetesIdentity = "https://kubernetes.io/namespaces/keyless/serviceaccounts/signer"
)

var registryFlags = []string{"--allow-http-registry", "--allow-insecure-registry"}
