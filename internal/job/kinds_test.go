package job

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
)

// runSHA is the commit of the workflow run that githubRunJWT's token
// names.
const runSHA = "0123456789abcdef0123456789abcdef01234567"

// githubRunJWT is an unsigned GitHub Actions token of a workflow run, with
// every claim Fulcio's github-workflow issuer certifies.
func githubRunJWT(t *testing.T) string {
	t.Helper()
	claims, err := json.Marshal(map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "sub": "repo:o/r:ref:refs/heads/main", "aud": "sigstore",
		"exp": time.Now().Add(10 * time.Minute).Unix(), "job_workflow_ref": "o/r/.github/workflows/b.yml@refs/heads/main",
		"job_workflow_sha": runSHA, "repository": "o/r", "repository_owner": "o", "repository_id": "1", "repository_owner_id": "2",
		"workflow_ref": "o/r/.github/workflows/b.yml@refs/heads/main", "workflow_sha": runSHA, "workflow": "b",
		"ref": "refs/heads/main", "sha": runSHA, "event_name": "push", "run_id": "3", "run_attempt": "1",
		"runner_environment": "github-hosted", "repository_visibility": "public",
	})
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + "." + enc([]byte("sig"))
}

func githubRunToken(t *testing.T) *oidc.Token {
	t.Helper()
	tok, err := oidc.Parse(githubRunJWT(t))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// builder is a ProvenanceSource that records the token it was given and
// states githubRunJWT's run, at commit when it is set.
type builder struct {
	got    *oidc.Token
	err    error
	commit string
}

func (b *builder) Provenance(tok *oidc.Token) (payload.Provenance, error) {
	b.got = tok
	if b.err != nil {
		return payload.Provenance{}, b.err
	}
	id, _ := tok.Identity()
	const repo = "https://github.com/o/r"
	return payload.Provenance{
		BuildDefinition: payload.BuildDefinition{
			BuildType:            payload.GitHubBuildType,
			ExternalParameters:   payload.GitHubParameters{Workflow: payload.GitHubWorkflow{Ref: "refs/heads/main", Repository: repo, Path: ".github/workflows/b.yml"}},
			InternalParameters:   payload.GitHubInternal{GitHub: payload.GitHubRun{EventName: "push", RepositoryID: "1", RepositoryOwnerID: "2", RunnerEnvironment: "github-hosted"}},
			ResolvedDependencies: []payload.ResourceDescriptor{payload.GitDependency(repo, "refs/heads/main", cmp.Or(b.commit, runSHA))},
		},
		RunDetails: payload.RunDetails{
			Builder:  payload.Builder{ID: id.SAN},
			Metadata: &payload.BuildMetadata{InvocationID: repo + "/actions/runs/3/attempts/1"},
		},
	}, nil
}

func TestKinds(t *testing.T) {
	tok := githubRunToken(t)
	custom, err := payload.NewCustom("https://example.com/test/v1", strings.NewReader(`{"ok":true}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		provenance bool
		attest     []payload.Kind
		want       []string
	}{
		{"signature only", false, nil, []string{payload.SignPredicateType}},
		{"provenance", true, nil, []string{payload.SignPredicateType, payload.ProvenanceType}},
		{"provenance and custom", true, []payload.Kind{custom}, []string{payload.SignPredicateType, payload.ProvenanceType, "https://example.com/test/v1"}},
		{"custom only", false, []payload.Kind{custom}, []string{payload.SignPredicateType, "https://example.com/test/v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &builder{}
			c := Config{Attestations: tc.attest}
			if tc.provenance {
				c.Provenance = b
			}
			kinds, err := c.kinds(tok)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range kinds {
				got = append(got, k.PredicateType())
			}
			if diff := gocmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
			if tc.provenance && b.got != tok {
				t.Errorf("provenance built for %v, want the run's token %v", b.got, tok)
			}
		})
	}
}

func TestKindsProvenanceErrorIsReturned(t *testing.T) {
	want := &InputError{Input: "provenance", Err: errors.New("GITHUB_RUN_ID is not set")}
	c := Config{Provenance: &builder{err: want}}
	if _, err := c.kinds(githubRunToken(t)); !errors.Is(err, want) || !IsInput(err) {
		t.Fatalf("kinds() error = %v, want the builder's input error", err)
	}
}

// TestKindsProvenanceContradicted: a provenance that the certificate for
// the token would contradict (another commit than its sha claim; a token
// whose certificate names no build) is refused as bad input, with the
// verify gate's own reason, before anything is signed.
func TestKindsProvenanceContradicted(t *testing.T) {
	generic, err := oidc.Parse(jwt(t, time.Now().Add(10*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    *builder
		tok  *oidc.Token
		want string
	}{
		{"another commit", &builder{commit: strings.Repeat("2", 40)}, githubRunToken(t), `provenance buildDefinition.resolvedDependencies[0].digest.gitCommit is "2222222222222222222222222222222222222222", but the certificate's SourceRepositoryDigest is "` + runSHA + `"`},
		{"a token that certifies no build", &builder{}, generic, "the certificate's SourceRepositoryURI is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Provenance: tc.b}
			_, err := c.kinds(tc.tok)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Input != "provenance" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("kinds() error = %v, want an input error on provenance with %q", err, tc.want)
			}
		})
	}
}

// TestSignAttestations signs an image with provenance and a custom
// predicate: one run, one certificate, a signature and two attestations
// written, each labelled with its predicate type; a builder that refuses
// fails the run as an input error before anything is written.
func TestSignAttestations(t *testing.T) {
	custom, err := payload.NewCustom("https://example.com/test/v1", strings.NewReader(`{"ok":true}`))
	if err != nil {
		t.Fatal(err)
	}
	st := sigstoretest.New(t)
	host := memRegistry(t)
	d := pushImage(t, host, "demo/app")
	b := &builder{}
	c := signConfig(t, st, host)
	c.Token = sequence(githubRunJWT(t))
	c.Provenance, c.Attestations = b, []payload.Kind{custom}
	run, err := Sign(context.Background(), c)
	if err != nil {
		t.Fatalf("Sign() error = %v", err)
	}
	s := run.Subjects[0]
	var got []string
	for _, sig := range s.Signatures {
		got = append(got, sig.PredicateType)
	}
	if diff := gocmp.Diff([]string{"", payload.ProvenanceType, "https://example.com/test/v1"}, got); diff != "" {
		t.Errorf("predicate types signed (-want +got):\n%s", diff)
	}
	if s.Err != nil || run.Certificate == nil {
		t.Errorf("subject error %v, certificate %v", s.Err, run.Certificate)
	}
	if n := referrers(t, d.String()); n != 1 {
		t.Errorf("%d signature referrers, want 1 (attestations are labelled apart)", n)
	}

	d2 := pushImage(t, host, "demo/other")
	for _, refusing := range []*builder{
		{err: &InputError{Input: "provenance", Err: errors.New("GITHUB_RUN_ID is not set")}},
		{commit: strings.Repeat("2", 40)}, // a provenance the certificate contradicts
	} {
		calls := st.Calls["fulcio"]
		c = signConfig(t, st, host)
		c.Images, c.Token = []string{d2.String()}, sequence(githubRunJWT(t))
		c.Provenance = refusing
		if _, err := Sign(context.Background(), c); !IsInput(err) {
			t.Fatalf("Sign() with a refusing builder: error = %v, want an input error", err)
		}
		if st.Calls["fulcio"] != calls {
			t.Errorf("a refused run asked Fulcio for a certificate")
		}
	}
	subjects, err := registry.Resolve(context.Background(), []string{d2.String()}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []payload.Kind{payload.Signature{}, payload.Provenance{}} {
		if items, err := store.NewReferrer().Read(context.Background(), subjects[0].Digest, k); err != nil || len(items) != 0 {
			t.Errorf("a refused run wrote %d %s referrers (%v)", len(items), k.PredicateType(), err)
		}
	}
}
