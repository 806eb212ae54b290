package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/e2e/stack"
)

var (
	conformanceOnce sync.Once
	conformancePath string
	conformanceErr  error
)

// conformanceBin builds cmd/conformance, the Sigstore conformance suite's
// client, once per test run.
func conformanceBin(t *testing.T) string {
	t.Helper()
	conformanceOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyless-conformance")
		if err != nil {
			conformanceErr = err
			return
		}
		conformancePath, conformanceErr = stack.Build(context.Background(), "./cmd/conformance", dir)
	})
	if conformanceErr != nil {
		t.Fatalf("building cmd/conformance: %v", conformanceErr)
	}
	return conformancePath
}

// conformance runs the conformance client as the suite does, in a clean
// environment, and returns its exit code and combined output.
func conformance(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, conformanceBin(t), args...)
	home := t.TempDir()
	cmd.Env = []string{"HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"), "PATH=" + os.Getenv("PATH")}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatalf("running conformance: %v", err)
	}
	return 0, out.String()
}

// TestConformanceSignVerify drives the conformance client's sign-bundle and
// verify-bundle, with the exact arguments the suite passes, against the
// local stack: a blob and an in-toto statement, each verified by path and
// by digest, on both Rekor v2 and Rekor v1, and rejected for the wrong
// identity, issuer or artifact.
func TestConformanceSignVerify(t *testing.T) {
	dir := t.TempDir()
	artifact := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(artifact, []byte("conformance "+t.Name()+" "+time.Now().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(artifact)
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	stmt := filepath.Join(dir, "statement.json")
	st := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a.txt","digest":{"sha256":%q}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(stmt, []byte(st), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.txt")
	if err := os.WriteFile(other, []byte("not signed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	issuer := stk.Issuer("github")
	for _, sc := range []struct{ name, path string }{{"rekor-v2", stk.SigningConfig}, {"rekor-v1", stk.SigningConfigV1}} {
		for _, kind := range []string{"blob", "in-toto"} {
			t.Run(sc.name+"/"+kind, func(t *testing.T) {
				bundle := filepath.Join(dir, sc.name+"-"+kind+".sigstore.json")
				args := []string{"sign-bundle"}
				signed := artifact
				if kind == "in-toto" {
					args, signed = append(args, "--in-toto"), stmt
				}
				args = append(args, "--identity-token", mint(t, "github"), "--bundle", bundle,
					"--trusted-root", stk.TrustedRoot, "--signing-config", sc.path, signed)
				if code, out := conformance(t, args...); code != 0 {
					t.Fatalf("sign-bundle: exit %d\n%s", code, out)
				}
				verify := func(identity, iss, input string) (int, string) {
					return conformance(t, "verify-bundle", "--bundle", bundle, "--certificate-identity", identity,
						"--certificate-oidc-issuer", iss, "--trusted-root", stk.TrustedRoot, input)
				}
				for _, in := range []string{artifact, digest} {
					if code, out := verify(githubIdentity, issuer, in); code != 0 {
						t.Errorf("verify-bundle %s: exit %d\n%s", in, code, out)
					}
				}
				for _, bad := range []struct{ name, identity, issuer, input, want string }{
					{"wrong identity", githubIdentity + "x", issuer, artifact, "SAN"},
					{"wrong issuer", githubIdentity, issuer + "/", artifact, "issuer"},
					{"other artifact", githubIdentity, issuer, other, "verifying"},
				} {
					code, out := verify(bad.identity, bad.issuer, bad.input)
					if code != 1 || !strings.Contains(out, bad.want) {
						t.Errorf("verify-bundle, %s: exit %d (want 1), output does not say %q:\n%s", bad.name, code, bad.want, out)
					}
				}
			})
		}
	}
}
