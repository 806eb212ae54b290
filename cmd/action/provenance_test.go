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
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/sigstoretest"
)

// githubRunToken is the identity token of a GitHub workflow run, with every
// claim that Fulcio's github-workflow issuer certifies (unsigned: nothing
// here checks its signature).
func githubRunToken(t *testing.T, sha string) string {
	t.Helper()
	claims, err := json.Marshal(map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "sub": "repo:o/r:ref:refs/heads/main", "aud": "sigstore",
		"exp": time.Now().Add(time.Hour).Unix(), "job_workflow_ref": "o/r/.github/workflows/release.yml@refs/heads/main",
		"job_workflow_sha": sha, "repository": "o/r", "repository_owner": "o", "repository_id": "1", "repository_owner_id": "2",
		"workflow_ref": "o/r/.github/workflows/release.yml@refs/heads/main", "workflow_sha": sha, "workflow": "release",
		"ref": "refs/heads/main", "sha": sha, "event_name": "push", "run_id": "3", "run_attempt": "1",
		"runner_environment": "github-hosted", "repository_visibility": "public",
	})
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + "." + enc([]byte("signature"))
}

// TestProvenanceOverride runs a GitHub step that signs with provenance
// while the step's env: sets GITHUB_SHA to another commit than the
// token's sha claim, which the certificate certifies: the run exits 2
// naming the variable and the claim, asks Fulcio and the logs nothing and
// writes nothing to the registry. With the variable agreeing, the same run
// signs the provenance.
func TestProvenanceOverride(t *testing.T) {
	st := sigstoretest.New(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	tag, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	digest := tag.Context().Digest(d.String())
	const sha, other = "0123456789abcdef0123456789abcdef01234567", "2222222222222222222222222222222222222222"
	work := t.TempDir()
	step := func(githubSHA string) (int, string) {
		env := map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": work, "GITHUB_OUTPUT": filepath.Join(work, "output"),
			"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": githubSHA,
			"GITHUB_WORKFLOW_REF": "o/r/.github/workflows/release.yml@refs/heads/main", "GITHUB_EVENT_NAME": "push",
			"GITHUB_REPOSITORY_ID": "1", "GITHUB_REPOSITORY_OWNER_ID": "2", "GITHUB_RUN_ID": "3", "GITHUB_RUN_ATTEMPT": "1",
			"INPUT_IMAGES": digest.String(), "INPUT_PROVENANCE": "true", "INPUT_VERIFY": "false", "INPUT_IDENTITY-TOKEN": githubRunToken(t, sha),
			"INPUT_TRUSTED-ROOT": "../../internal/trust/testdata/trusted_root.json", "INPUT_SIGNING-CONFIG": st.SigningConfig,
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"sign"}, func(k string) string { return env[k] }, &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	referrers := func() int {
		ix, err := remote.Referrers(digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ix.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		return len(m.Manifests)
	}

	code, out := step(other)
	if code != exitInput {
		t.Fatalf("exit %d, want %d\n%s", code, exitInput, out)
	}
	want := `GITHUB_SHA="` + other + `" but the token's sha claim is "` + sha + `": remove the override`
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if n := st.Calls["fulcio"] + st.Calls["rekor"] + st.Calls["tsa"]; n != 0 {
		t.Errorf("the refused run sent %d requests to Fulcio, Rekor and the TSA (%v)", n, st.Calls)
	}
	tags, err := remote.List(tag.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"v1"}, tags); diff != "" {
		t.Errorf("the refused run wrote tags (-want +got):\n%s", diff)
	}
	if n := referrers(); n != 0 {
		t.Errorf("the refused run wrote %d referrers", n)
	}

	if code, out := step(sha); code != exitOK {
		t.Fatalf("with GITHUB_SHA agreeing: exit %d, want %d\n%s", code, exitOK, out)
	}
	if n := referrers(); n != 2 {
		t.Errorf("with GITHUB_SHA agreeing: %d referrers, want the signature and the provenance", n)
	}
}
