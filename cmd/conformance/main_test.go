package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/trust"
)

// update regenerates testdata/ against the local Sigstore stack:
//
//	go test ./cmd/conformance -run TestGenerateFixtures -update
var update = flag.Bool("update", false, "regenerate testdata against the local Sigstore stack")

// stackFile is where the e2e stack (cd e2e && go run ./cmd/stack up) says
// where its services and trust material are.
const stackFile = "/tmp/keyless-stack/stack.json"

// invoke runs the command in-process and returns its exit code and output.
func invoke(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := run(context.Background(), args, getenv, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	artifact := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(artifact, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command", nil, "Usage:"},
		{"unknown command", []string{"sign"}, `unknown command "sign"`},
		{"unknown flag", []string{"verify-bundle", "--certificate-identity-regexp", "x", artifact}, "flag provided but not defined"},
		{"sign without token", []string{"sign-bundle", "--bundle", "b.json", artifact}, "--identity-token is required"},
		{"sign with blank token", []string{"sign-bundle", "--identity-token", " ", "--bundle", "b.json", artifact}, "--identity-token is required"},
		{"sign without bundle", []string{"sign-bundle", "--identity-token", "t", artifact}, "--bundle is required"},
		{"sign without file", []string{"sign-bundle", "--identity-token", "t", "--bundle", "b.json"}, "missing FILE to sign"},
		{"sign with two files", []string{"sign-bundle", "--identity-token", "t", "--bundle", "b.json", artifact, artifact}, "want one FILE to sign"},
		{"sign staging without trust", []string{"sign-bundle", "--staging", "--identity-token", "t", "--bundle", "b.json", artifact}, "--staging is not supported"},
		{"sign staging without signing config", []string{"sign-bundle", "--staging", "--identity-token", "t", "--bundle", "b.json", "--trusted-root", "testdata/trusted_root.json", artifact}, "--trusted-root and --signing-config"},
		{"verify without bundle", []string{"verify-bundle", "--certificate-identity", "i", "--certificate-oidc-issuer", "https://iss", artifact}, "--bundle is required"},
		{"verify without identity", []string{"verify-bundle", "--bundle", "b.json", "--certificate-oidc-issuer", "https://iss", artifact}, "--certificate-identity and --certificate-oidc-issuer are required"},
		{"verify without issuer", []string{"verify-bundle", "--bundle", "b.json", "--certificate-identity", "i", artifact}, "--certificate-identity and --certificate-oidc-issuer are required"},
		{"verify key and identity", []string{"verify-bundle", "--bundle", "b.json", "--key", "k.pub", "--certificate-identity", "i", "--certificate-oidc-issuer", "https://iss", artifact}, "not both"},
		{"verify without artifact", []string{"verify-bundle", "--bundle", "b.json", "--key", "k.pub"}, "missing FILE_OR_DIGEST"},
		{"verify staging without trust", []string{"verify-bundle", "--staging", "--bundle", "b.json", "--key", "k.pub", artifact}, "--staging is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := invoke(t, nil, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d\nstderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	code, stdout, _ := invoke(t, nil, "--help")
	if code != exitOK || !strings.Contains(stdout, "sign-bundle") || !strings.Contains(stdout, "verify-bundle") {
		t.Errorf("--help: exit %d, stdout %q", code, stdout)
	}
}

// TestFailures are arguments that parse but cannot be acted on: exit 1,
// and sign-bundle writes no bundle.
func TestFailures(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.sigstore.json")
	id, iss := fixtureIdentity(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing artifact to sign", []string{"sign-bundle", "--identity-token", "t", "--bundle", out, "--trusted-root", "testdata/trusted_root.json", "--signing-config", "testdata/signing_config.json", filepath.Join(dir, "nope")}, "reading artifact"},
		{"missing trusted root", []string{"sign-bundle", "--identity-token", "t", "--bundle", out, "--trusted-root", filepath.Join(dir, "nope.json"), "testdata/a.txt"}, "trusted-root"},
		{"in-toto statement that is not one", []string{"sign-bundle", "--in-toto", "--identity-token", "t", "--bundle", out, "--trusted-root", "testdata/trusted_root.json", "--signing-config", "testdata/signing_config.json", "testdata/a.txt"}, "parsing in-toto statement"},
		{"missing bundle", []string{"verify-bundle", "--bundle", filepath.Join(dir, "nope.json"), "--certificate-identity", id, "--certificate-oidc-issuer", iss, "--trusted-root", "testdata/trusted_root.json", "testdata/a.txt"}, "reading bundle"},
		{"bundle that is not one", []string{"verify-bundle", "--bundle", "testdata/a.txt", "--certificate-identity", id, "--certificate-oidc-issuer", iss, "--trusted-root", "testdata/trusted_root.json", "testdata/a.txt"}, "reading bundle"},
		{"missing artifact to verify", []string{"verify-bundle", "--bundle", "testdata/a.txt.sigstore.json", "--certificate-identity", id, "--certificate-oidc-issuer", iss, "--trusted-root", "testdata/trusted_root.json", filepath.Join(dir, "nope")}, "reading artifact"},
		{"missing key", []string{"verify-bundle", "--bundle", "testdata/key/bundle.sigstore.json", "--key", filepath.Join(dir, "nope.pub"), "--trusted-root", "testdata/trusted_root.json", "testdata/a.txt"}, "reading key"},
		{"key that is not one", []string{"verify-bundle", "--bundle", "testdata/key/bundle.sigstore.json", "--key", "testdata/a.txt", "--trusted-root", "testdata/trusted_root.json", "testdata/a.txt"}, "no PEM block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := invoke(t, nil, tc.args...)
			if code != exitFailed {
				t.Errorf("exit code = %d, want %d\nstderr: %s", code, exitFailed, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a bundle was written")
			}
		})
	}
}

func TestParseDigest(t *testing.T) {
	hexd := strings.Repeat("ab", 32)
	dir := t.TempDir()
	onDisk := filepath.Join(dir, "sha256:"+hexd)
	if err := os.WriteFile(onDisk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"sha256:" + hexd, true},
		{"sha256:" + strings.ToUpper(hexd), true},
		{"sha256:" + hexd[:62], false},        // too short
		{"sha256:" + hexd + "00", false},      // too long
		{"sha256:" + hexd[:62] + "zz", false}, // not hex
		{"sha512:" + hexd + hexd, false},      // other algorithm
		{hexd, false},                         // no prefix
		{"testdata/a.txt", false},             // a path
		{onDisk, false},                       // a path, not the digest form
	} {
		d, ok := parseDigest(tc.in)
		if ok != tc.want {
			t.Errorf("parseDigest(%q) ok = %v, want %v", tc.in, ok, tc.want)
		}
		if ok && hex.EncodeToString(d) != hexd {
			t.Errorf("parseDigest(%q) = %x, want %s", tc.in, d, hexd)
		}
	}
	// A file named like a digest, in the working directory, is a path.
	t.Chdir(dir)
	if _, ok := parseDigest("sha256:" + hexd); ok {
		t.Errorf("parseDigest of an existing file's name = digest, want path")
	}
}

// fixtureIdentity is the identity and issuer the fixture bundles were
// signed as.
func fixtureIdentity(t *testing.T) (string, string) {
	t.Helper()
	id, err := os.ReadFile("testdata/identity")
	if err != nil {
		t.Fatal(err)
	}
	iss, err := os.ReadFile("testdata/issuer")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(id)), strings.TrimSpace(string(iss))
}

func sha256Of(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestVerifyFixtures verifies the bundles in testdata, made against the
// local stack (see TestGenerateFixtures), offline with their trusted root.
func TestVerifyFixtures(t *testing.T) {
	id, iss := fixtureIdentity(t)
	tampered := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(tampered, []byte("hello conformance!\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const root = "testdata/trusted_root.json"
	noCA := rootWithout(t, root, "certificateAuthorities")
	const msg, dsse, keyed = "testdata/a.txt.sigstore.json", "testdata/statement.sigstore.json", "testdata/key/bundle.sigstore.json"
	ident := func(bundle, identity, issuer, artifact string) []string {
		return []string{"verify-bundle", "--bundle", bundle, "--certificate-identity", identity, "--certificate-oidc-issuer", issuer, "--trusted-root", root, artifact}
	}
	key := func(bundle, key, artifact string) []string {
		return []string{"verify-bundle", "--bundle", bundle, "--key", key, "--trusted-root", root, artifact}
	}
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
		want string // in stderr when !ok
	}{
		{"message signature", ident(msg, id, iss, "testdata/a.txt"), true, ""},
		{"message signature by digest", ident(msg, id, iss, sha256Of(t, "testdata/a.txt")), true, ""},
		{"message signature, wrong identity", ident(msg, id+"x", iss, "testdata/a.txt"), false, "expected SAN value"},
		{"message signature, look-alike identity", ident(msg, strings.TrimSuffix(id, "/main")+"/mai", iss, "testdata/a.txt"), false, "expected SAN value"},
		{"message signature, wrong issuer", ident(msg, id, "https://token.actions.githubusercontent.com", "testdata/a.txt"), false, "issuer"},
		{"message signature, issuer with trailing slash", ident(msg, id, iss+"/", "testdata/a.txt"), false, "issuer"},
		{"message signature, tampered artifact", ident(msg, id, iss, tampered), false, "signature"},
		{"message signature, tampered artifact digest", ident(msg, id, iss, sha256Of(t, tampered)), false, "digest"},
		{"message signature, CA not in the trusted root", []string{"verify-bundle", "--bundle", msg, "--certificate-identity", id, "--certificate-oidc-issuer", iss, "--trusted-root", noCA, "testdata/a.txt"}, false, "certificate"},
		{"message signature, with --key", key(msg, "testdata/key/key.pub", "testdata/a.txt"), false, "key"},
		{"in-toto statement, subject", ident(dsse, id, iss, "testdata/a.txt"), true, ""},
		{"in-toto statement, subject digest", ident(dsse, id, iss, sha256Of(t, "testdata/a.txt")), true, ""},
		{"in-toto statement, not a subject", ident(dsse, id, iss, tampered), false, "do not match digests in statement"},
		{"in-toto statement, wrong identity", ident(dsse, id+"x", iss, "testdata/a.txt"), false, "expected SAN value"},
		{"key", key(keyed, "testdata/key/key.pub", "testdata/a.txt"), true, ""},
		{"key, by digest", key(keyed, "testdata/key/key.pub", sha256Of(t, "testdata/a.txt")), true, ""},
		{"key, tampered artifact", key(keyed, "testdata/key/key.pub", tampered), false, "signature"},
		{"key, wrong key", key(keyed, "testdata/key/other.pub", "testdata/a.txt"), false, "failed to verify"},
		{"key, with an identity", ident(keyed, id, iss, "testdata/a.txt"), false, "public key not found in trusted material"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := invoke(t, nil, tc.args...)
			if tc.ok {
				if code != exitOK {
					t.Fatalf("exit code = %d, want 0\nstderr: %s", code, stderr)
				}
				if !strings.HasPrefix(stdout, "verified ") {
					t.Errorf("stdout = %q", stdout)
				}
				return
			}
			if code != exitFailed {
				t.Fatalf("exit code = %d, want %d\nstdout: %s", code, exitFailed, stdout)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// rootWithout writes a copy of the trusted root at path without field.
func rootWithout(t *testing.T, path, field string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(raw, &m))
	delete(m, field)
	raw, err = json.Marshal(m)
	must(t, err)
	out := filepath.Join(t.TempDir(), "trusted_root.json")
	must(t, os.WriteFile(out, raw, 0o644))
	return out
}

// stack is the part of the e2e stack's stack.json these tests use.
type stack struct {
	OIDCURL          string `json:"oidc_url"`
	OIDCIssuerGitHub string `json:"oidc_issuer_github"`
	TrustedRoot      string `json:"trusted_root"`
	SigningConfig    string `json:"signing_config"`
}

// loadStack reads the local stack's description, for -update.
func loadStack(t *testing.T) stack {
	t.Helper()
	raw, err := os.ReadFile(stackFile)
	if err != nil {
		t.Skipf("no local Sigstore stack (%v): start it with: cd e2e && go run ./cmd/stack up", err)
	}
	var s stack
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("parsing %s: %v", stackFile, err)
	}
	return s
}

// mint gets a GitHub Actions token for audience sigstore from the stack.
func mint(t *testing.T, s stack) string {
	t.Helper()
	resp, err := http.Post(s.OIDCURL+"/mint", "application/json", strings.NewReader(`{"kind":"github","audience":"sigstore"}`))
	if err != nil {
		t.Skipf("local Sigstore stack is not answering: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("minting a token: HTTP %d %s %v", resp.StatusCode, b, err)
	}
	return strings.TrimSpace(string(b))
}

// githubIdentity is the identity Fulcio derives from the stack's default
// GitHub token.
const githubIdentity = "https://github.com/keyless-dev/demo/.github/workflows/release.yml@refs/heads/main"

// writeStatement writes an in-toto statement with artifact as its subject.
func writeStatement(t *testing.T, path, artifact string) {
	t.Helper()
	d := strings.TrimPrefix(sha256Of(t, artifact), "sha256:")
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://example.com/test"}}}`,
		filepath.Base(artifact), d)
	if err := os.WriteFile(path, []byte(stmt), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGenerateFixtures regenerates testdata/ against the local stack when
// run with -update. The stack's CA changes when it restarts, so the
// fixtures carry a copy of the trusted root they verify against.
func TestGenerateFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata")
	}
	s := loadStack(t)
	copyFile(t, s.TrustedRoot, "testdata/trusted_root.json")
	copyFile(t, s.SigningConfig, "testdata/signing_config.json")
	must(t, os.WriteFile("testdata/identity", []byte(githubIdentity+"\n"), 0o644))
	must(t, os.WriteFile("testdata/issuer", []byte(s.OIDCIssuerGitHub+"\n"), 0o644))
	must(t, os.WriteFile("testdata/a.txt", []byte("hello conformance\n"), 0o644))
	writeStatement(t, "testdata/statement.json", "testdata/a.txt")
	tok := mint(t, s)
	generateMultipleTimestampsCase(t, s, tok)
	for _, args := range [][]string{
		{"sign-bundle", "--identity-token", tok, "--bundle", "testdata/a.txt.sigstore.json", "--trusted-root", s.TrustedRoot, "--signing-config", s.SigningConfig, "testdata/a.txt"},
		{"sign-bundle", "--in-toto", "--identity-token", tok, "--bundle", "testdata/statement.sigstore.json", "--trusted-root", s.TrustedRoot, "--signing-config", s.SigningConfig, "testdata/statement.json"},
	} {
		if code, _, stderr := invoke(t, nil, args...); code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args[:2], code, stderr)
		}
	}

	// A bundle signed with a long-lived key, logged in the stack's Rekor
	// and timestamped by its TSA; and a second key that did not sign it.
	material, err := trust.Load(trust.Config{TrustedRoot: s.TrustedRoot, SigningConfig: s.SigningConfig}, true)
	must(t, err)
	svc, err := material.Select(time.Now(), 1, 2)
	must(t, err)
	must(t, os.MkdirAll("testdata/key", 0o755))
	kp, err := sgsign.NewEphemeralKeypair(nil)
	must(t, err)
	opts := sgsign.BundleOptions{
		Context:          context.Background(),
		TransparencyLogs: []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: svc.Rekor, Version: svc.RekorVersion, Timeout: 30 * time.Second})},
	}
	for _, u := range svc.TSAs {
		opts.TimestampAuthorities = append(opts.TimestampAuthorities, sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: u, Timeout: 30 * time.Second}))
	}
	data, err := os.ReadFile("testdata/a.txt")
	must(t, err)
	pb, err := sgsign.Bundle(&sgsign.PlainData{Data: data}, kp, opts)
	must(t, err)
	raw, err := protojson.Marshal(pb)
	must(t, err)
	must(t, os.WriteFile("testdata/key/bundle.sigstore.json", raw, 0o644))
	pub, err := kp.GetPublicKeyPem()
	must(t, err)
	must(t, os.WriteFile("testdata/key/key.pub", []byte(pub), 0o644))
	other, err := sgsign.NewEphemeralKeypair(nil)
	must(t, err)
	otherPub, err := other.GetPublicKeyPem()
	must(t, err)
	must(t, os.WriteFile("testdata/key/other.pub", []byte(otherPub), 0o644))
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	must(t, err)
	must(t, os.WriteFile(dst, b, 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
