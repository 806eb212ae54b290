package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/manifest"
)

// auditRegistry serves an in-process registry holding host/app:v1 and
// host/app:v2 and returns the host and v1's digest reference.
func auditRegistry(t *testing.T) (host, v1 string) {
	t.Helper()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	for _, tag := range []string{"v1", "v2"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.NewTag(host + "/app:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		if tag == "v1" {
			d, _ := img.Digest()
			v1 = ref.Context().Digest(d.String()).String()
		}
	}
	return host, v1
}

// gateArgs are the identity policy and trust of an audit.
var gateArgs = []string{"audit", "--certificate-identity", "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main",
	"--certificate-oidc-issuer", "https://token.actions.githubusercontent.com", "--trusted-root", "../../internal/trust/testdata/trusted_root.json"}

// auditReport is what the tests read of the JSON report.
type auditReport struct {
	Total, Passed, Failed int
	Reasons               map[string]int
	Images                []struct{ Image, Reason string }
}

func runAudit(t *testing.T, env map[string]string, args ...string) (int, auditReport, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(append([]string{}, gateArgs...), args...), func(k string) string { return env[k] }, &stdout, &stderr)
	var r auditReport
	if code != exitInput {
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("exit %d; the report on standard output: %v\n%s\nstderr: %s", code, err, stdout.String(), stderr.String())
		}
	}
	return code, r, stderr.String()
}

// TestAuditCLI runs keyless audit as a command line: the JSON report on
// standard output, the refused images on standard error, exit status 1.
func TestAuditCLI(t *testing.T) {
	host, v1 := auditRegistry(t)
	dir := t.TempDir()
	deploy := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(deploy, []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers: [{name: init, image: "`+v1+`"}]
      containers: [{name: app, image: "`+host+`/app:v2"}, {name: again, image: "`+v1+`"}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		images  []string // image: reason
		reasons map[string]int
	}{
		{"a repository", []string{"--repository", host + "/app"}, []string{host + "/app:v1: unsigned", host + "/app:v2: unsigned"}, map[string]int{"unsigned": 2}},
		{"a repository's tags matching a pattern", []string{"--repository", host + "/app", "--tags", "*2"}, []string{host + "/app:v2: unsigned"}, map[string]int{"unsigned": 1}},
		{"manifests: a tag fails, an image named twice is audited once", []string{"--manifests", deploy}, []string{v1 + ": unsigned", host + "/app:v2: tag"}, map[string]int{"unsigned": 1, "tag": 1}},
		{"images", []string{v1}, []string{v1 + ": unsigned"}, map[string]int{"unsigned": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r, stderr := runAudit(t, nil, tc.args...)
			if code != exitFailed {
				t.Fatalf("exit %d, want %d\n%s", code, exitFailed, stderr)
			}
			var got []string
			for _, img := range r.Images {
				got = append(got, img.Image+": "+img.Reason)
			}
			if diff := cmp.Diff(tc.images, got); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			for k, n := range r.Reasons {
				if n != tc.reasons[k] {
					t.Errorf("reasons[%s] = %d, want %d", k, n, tc.reasons[k])
				}
			}
			if r.Total != len(tc.images) || r.Failed != len(tc.images) || r.Passed != 0 {
				t.Errorf("total %d, passed %d, failed %d", r.Total, r.Passed, r.Failed)
			}
			for _, img := range tc.images {
				if !strings.Contains(stderr, "keyless: "+img+": ") {
					t.Errorf("stderr does not name %q:\n%s", img, stderr)
				}
			}
		})
	}
}

func TestAuditBadInput(t *testing.T) {
	host, v1 := auditRegistry(t)
	dir := t.TempDir()
	services := writeTemp(t, dir, "svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")
	dup := writeTemp(t, dir, "dup.yaml", "kind: Pod\nspec: {containers: [{image: a, image: b}]}\n")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"nothing to audit", nil, nil, "repository: nothing to audit"},
		{"a repository and images", []string{"--repository", host + "/app", v1}, nil, "give one of repository, manifests or images"},
		{"a repository and manifests", []string{"--repository", host + "/app", "--manifests", services}, nil, "give one of"},
		{"tags without a repository", []string{"--tags", "v*", v1}, nil, "tags: tags \"v*\" filters a repository's tags"},
		{"a repository with a tag", []string{"--repository", host + "/app:v1"}, nil, "repository: "},
		{"a tags pattern that is no glob", []string{"--repository", host + "/app", "--tags", "[v"}, nil, "tags: "},
		{"no tag matches", []string{"--repository", host + "/app", "--tags", "release-*"}, nil, `no tag matching "release-*"`},
		{"no such repository", []string{"--repository", host + "/none"}, nil, "no such repository"},
		{"manifests naming no image", []string{"--manifests", services}, nil, "name no container image (of 1 documents of other kinds)"},
		{"manifests with a duplicate key", []string{"--manifests", dup}, nil, "dup.yaml:1: not a YAML document"},
		{"a missing manifests file", []string{"--manifests", dir + "/none.yaml"}, nil, "none.yaml"},
		{"an image without tag or digest", []string{host + "/app"}, nil, "tag or digest"},
		{"a sign-only input", []string{v1}, map[string]string{"KEYLESS_ANNOTATIONS": "a=b"}, "annotations: applies to keyless sign only: remove it from this audit step"},
		{"a contradicted repository", []string{"--repository", host + "/app"}, map[string]string{"KEYLESS_REPOSITORY": host + "/other"}, "given as the argument --repository"},
		{"a contradicted tags pattern", []string{"--repository", host + "/app", "--tags", "v*"}, map[string]string{"KEYLESS_TAGS": "*"}, "given as the argument --tags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runAudit(t, tc.env, tc.args...)
			if code != exitInput || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, exitInput, tc.want, stderr)
			}
		})
	}
	t.Run("an audit-only input in a verify step", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		env := map[string]string{"KEYLESS_REPOSITORY": host + "/app"}
		code := run(context.Background(), append([]string{"verify"}, append(gateArgs[1:], v1)...), func(k string) string { return env[k] }, &stdout, &stderr)
		if code != exitInput || !strings.Contains(stderr.String(), "repository: applies to keyless audit only: remove it from this verify step") {
			t.Fatalf("exit %d:\n%s", code, stderr.String())
		}
	})
}

func TestAuditHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"audit", "-h"}, func(string) string { return "" }, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"Usage: keyless audit [flags] (--repository REGISTRY/REPO [--tags GLOB] | --manifests FILE... | IMAGE...)",
		"-repository REGISTRY/REPOSITORY", "-manifests FILE", "-tags", "-certificate-identity-regexp", "-attestation-type"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("help lacks %q:\n%s", s, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "-annotations") {
		t.Errorf("help lists a sign-only flag:\n%s", stderr.String())
	}
}

// TestAuditCredentialsScope: registry-username and registry-password go
// to the registry of the repository audited, never to a registry that a
// manifest names (anyone who edits a manifest could name theirs).
func TestAuditCredentialsScope(t *testing.T) {
	const password = "s3cret-registry-password"
	reg := registry.New()
	var sawPassword atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pass, ok := r.BasicAuth(); ok && pass == password {
			sawPassword.Store(true)
			reg.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		http.Error(w, "log in", http.StatusUnauthorized)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	deploy := writeTemp(t, t.TempDir(), "deploy.yaml", "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: \""+host+"/app@sha256:"+strings.Repeat("0", 64)+"\"}]}\n")
	creds := []string{"--registry-username", "audit", "--registry-password", password}

	code, r, stderr := runAudit(t, nil, append(creds, "--manifests", deploy)...)
	if code != exitFailed || len(r.Images) != 1 || r.Images[0].Reason != "error" {
		t.Fatalf("exit %d, images %v, want the image unreadable without credentials\n%s", code, r.Images, stderr)
	}
	if sawPassword.Load() {
		t.Error("the registry a manifest names was sent the registry-password")
	}
	// The same registry as the repository audited gets them.
	code, _, stderr = runAudit(t, nil, append(creds, "--repository", host+"/app")...)
	if !sawPassword.Load() {
		t.Errorf("the repository's registry was not sent the credentials (exit %d)\n%s", code, stderr)
	}
	if strings.Contains(stderr, password) {
		t.Error("the password was printed")
	}
}

func TestManifestTargets(t *testing.T) {
	var imgs []manifest.Image
	for i := range maxSources + 3 {
		imgs = append(imgs, manifest.Image{Ref: "a:1", Source: fmt.Sprintf("f.yaml:%d", i)})
	}
	imgs = append(imgs, manifest.Image{Ref: "b@sha256:" + strings.Repeat("1", 64), Source: "g.yaml:1"})
	got := manifestTargets(imgs)
	if len(got) != 2 || !got[0].Pinned || !got[1].Pinned {
		t.Fatalf("targets %+v, want a:1 and b, each pinned", got)
	}
	if n := len(got[0].Sources); n != maxSources+1 || got[0].Sources[maxSources] != "and 3 more places" {
		t.Errorf("a:1's sources %q, want %d and a count of the rest", got[0].Sources, maxSources)
	}
	if diff := cmp.Diff([]string{"g.yaml:1"}, got[1].Sources); diff != "" {
		t.Errorf("b's sources (-want +got):\n%s", diff)
	}
}
