package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// vsaType is the predicate type of a SLSA verification summary.
const vsaType = "https://slsa.dev/verification_summary/v1"

// secondRegistry starts another instance of the stack's registry (the same
// binary, in memory) on a free port for the test's lifetime, as the
// destination of a promotion across registries, and returns its host.
func secondRegistry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "version: 0.1\nlog:\n  level: warn\nstorage:\n  inmemory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", addr), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(stk.Tools, "registry"), "serve", cfg)
	cmd.Env = []string{"OTEL_TRACES_EXPORTER=none", "HOME=" + dir}
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting a second registry: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second registry at %s did not answer: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promoteRun runs keyless promote on the CLI with the stack's trust and
// returns its result and the JSON report it printed.
func promoteRun(t *testing.T, args ...string) (result, promoteReport) {
	t.Helper()
	r := runKeyless(t, map[string]string{"KEYLESS_PLATFORM": "cli"}, append([]string{"promote", "--trusted-root", stk.TrustedRoot}, args...)...)
	var rep promoteReport
	if r.code != 2 {
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("promote printed no JSON report: %v\n%s\n%s", err, r.stdout, r.stderr)
		}
	}
	return r, rep
}

// promoteReport is what the tests read of a promote run's report.
type promoteReport struct {
	Verified bool
	Subjects []struct {
		Digest    string
		Promotion *struct {
			Destination string
			Copied      struct {
				Manifest bool
				Proofs   []struct {
					Format   string
					Location string
					Copied   bool
				}
			}
			Verifications []struct{ Verified bool }
			VSAs          []struct {
				Format   string
				Location string
				Reused   bool
			}
		}
	}
}

// signWithProvenance signs ref with keyless as a GitHub job, in format,
// with SLSA provenance.
func signWithProvenance(t *testing.T, format, ref string) {
	t.Helper()
	sc := map[string]string{"bundle": stk.SigningConfig, "legacy": stk.SigningConfigV1}[format]
	r := runKeyless(t, githubJobEnv(t, merge(trustInputs(sc), map[string]string{"images": ref, "signature-format": format, "provenance": "true"})))
	if r.code != 0 {
		t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
	}
}

// moved is ref's digest in repository dst.
func moved(t *testing.T, ref, dst string) string {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	return dst + "@" + d.DigestStr()
}

// TestPromoteAcrossRegistries promotes, to a second registry, an image
// signed in the bundle format and one signed in the legacy format, each
// with SLSA provenance, requiring the provenance and signing verification
// summaries, in the same format, as another identity: cosign v3 verifies
// the bundle copy, its provenance and its summary, cosign v2 (with the
// trust material) the legacy copy, its provenance and its summary, and a
// re-run copies and signs nothing.
func TestPromoteAcrossRegistries(t *testing.T) {
	dst := secondRegistry(t) + "/prod/app"
	for _, tc := range []struct{ format, signingConfig string }{
		{"bundle", stk.SigningConfig},
		{"legacy", stk.SigningConfigV1},
	} {
		t.Run(tc.format, func(t *testing.T) {
			img := pushImage(t)
			signWithProvenance(t, tc.format, img)
			args := []string{"--destination", dst, "--signature-format", tc.format, "--signing-config", tc.signingConfig,
				"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github"),
				"--attestation-type", "slsaprovenance1", "--vsa", "true", "--identity-token-file", mintFile(t, "kubernetes"), img}
			r, rep := promoteRun(t, args...)
			if r.code != 0 || !rep.Verified {
				t.Fatalf("promote: exit %d, verified %v\n%s", r.code, rep.Verified, r.stderr)
			}
			copied := moved(t, img, dst)
			p := rep.Subjects[0].Promotion
			if p == nil || p.Destination != copied || !p.Copied.Manifest || len(p.Copied.Proofs) != 2 || len(p.VSAs) != 1 || p.VSAs[0].Format != tc.format {
				t.Fatalf("promotion %+v, want %s with the manifest, the signature and the provenance copied, and one %s summary", p, copied, tc.format)
			}

			var stmt string
			if tc.format == "bundle" {
				cosignCheck{stk.CosignV3, nil}.accepts(t, copied, githubIdentity, stk.Issuer("github"))
				cosignCheck{stk.CosignV3, nil}.rejects(t, copied, otherIdentity, stk.Issuer("github"))
				verifyProvenance(t, "bundle", stk.Issuer("github"), githubIdentity, otherIdentity, copied)
				stmt = statementOf(t, mustCosign(t, stk.CosignV3, slices.Concat([]string{"verify-attestation", "--new-bundle-format", "--type=" + vsaType,
					"--trusted-root=" + stk.TrustedRoot, "--certificate-identity=" + kubernetesIdentity,
					"--certificate-oidc-issuer=" + stk.Issuer("kubernetes")}, registryFlags, []string{copied})...))
			} else {
				cosignCheck{stk.CosignV2, nil}.accepts(t, copied, githubIdentity, stk.Issuer("github"))
				cosignCheck{stk.CosignV2, nil}.rejects(t, copied, otherIdentity, stk.Issuer("github"))
				verifyProvenance(t, "legacy", stk.Issuer("github"), githubIdentity, otherIdentity, copied)
				out, err := cosignWithEnv(t, legacyTrustEnv(t), stk.CosignV2, slices.Concat([]string{"verify-attestation", "--type=" + vsaType,
					"--certificate-identity=" + kubernetesIdentity, "--certificate-oidc-issuer=" + stk.Issuer("kubernetes"),
					"--offline", "--rekor-url=" + stk.RekorV1URL, "--timestamp-certificate-chain=" + tsaChainFile(t)}, registryFlags, []string{copied})...)
				if err != nil {
					t.Fatalf("cosign v2 verify-attestation of the summary: %v\n%s", err, out)
				}
				stmt = statementOf(t, out)
			}
			for _, want := range []string{`"verificationResult":"PASSED"`, `"resourceUri":"pkg:oci/app@sha256%3A`, `"verifiedLevels":["SLSA_BUILD_LEVEL_1"]`} {
				if !strings.Contains(stmt, want) {
					t.Errorf("the verification summary lacks %s:\n%s", want, stmt)
				}
			}

			again, rep := promoteRun(t, args...)
			if again.code != 0 || !rep.Verified {
				t.Fatalf("re-run: exit %d\n%s", again.code, again.stderr)
			}
			p = rep.Subjects[0].Promotion
			for _, pr := range p.Copied.Proofs {
				if pr.Copied {
					t.Errorf("re-run copied %s", pr.Location)
				}
			}
			if p.Copied.Manifest || len(p.VSAs) != 1 || !p.VSAs[0].Reused {
				t.Errorf("re-run: manifest copied %v, VSAs %+v; want nothing copied and the summary reused", p.Copied.Manifest, p.VSAs)
			}
		})
	}
}

// recorder is a reverse proxy to the stack's registry that records the
// blob uploads it forwards which the registry answered with a mount.
type recorder struct {
	host    string
	mu      sync.Mutex
	mounted int
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	target, _ := url.Parse("http://" + stk.Registry)
	rec := &recorder{}
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodPost && resp.Request.URL.Query().Get("mount") != "" && resp.StatusCode == http.StatusCreated {
			rec.mu.Lock()
			rec.mounted++
			rec.mu.Unlock()
		}
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	rec.host = strings.TrimPrefix(srv.URL, "http://")
	return rec
}

// TestPromoteWithinOneRegistry promotes an image signed by cosign v3 to
// another repository of the same registry: its blobs are mounted, not
// copied, and cosign v3 and keyless verify the copy.
func TestPromoteWithinOneRegistry(t *testing.T) {
	img := pushImage(t)
	signV3(t, img, "github")
	rec := newRecorder(t)
	via := strings.Replace(img, stk.Registry, rec.host, 1)
	d, _ := name.NewDigest(via)
	dst := d.Context().Name() + "-prod"
	r, rep := promoteRun(t, "--destination", dst, "--signature-format", "bundle",
		"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github"), via)
	if r.code != 0 || !rep.Verified {
		t.Fatalf("promote: exit %d\n%s", r.code, r.stderr)
	}
	if rec.mounted == 0 {
		t.Error("no blob was mounted from the source repository")
	}
	copied := strings.Replace(moved(t, via, dst), rec.host, stk.Registry, 1)
	cosignCheck{stk.CosignV3, nil}.accepts(t, copied, githubIdentity, stk.Issuer("github"))
	if v, _ := verifyRun(t, "--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github"), copied); v.code != 0 {
		t.Errorf("keyless verify of the copy: exit %d\n%s", v.code, v.stderr)
	}
}

// TestPromoteUnverifiedCopiesNothing: of two images, one unsigned and one
// signed by another identity, neither verifies, and the destination gets
// nothing: exit 1, each image named with its reason.
func TestPromoteUnverifiedCopiesNothing(t *testing.T) {
	signed, unsigned := pushImage(t), pushImage(t)
	signV3(t, signed, "gitlab")
	reg := secondRegistry(t)
	r, rep := promoteRun(t, "--destination", reg+"/prod/app",
		"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github"), signed, unsigned)
	if r.code != 1 || rep.Verified {
		t.Fatalf("promote: exit %d, verified %v; want exit 1\n%s", r.code, rep.Verified, r.stderr)
	}
	for _, ref := range []string{signed, unsigned} {
		if !strings.Contains(r.stderr, "keyless: "+ref+": verification failed") {
			t.Errorf("stderr does not name %s and its reason:\n%s", ref, r.stderr)
		}
	}
	repo, err := name.NewRepository(reg + "/prod/app")
	if err != nil {
		t.Fatal(err)
	}
	if tags, err := remote.List(repo); err == nil && len(tags) > 0 {
		t.Errorf("the destination holds tags %v, want nothing", tags)
	}
	reg2, _ := name.NewRegistry(reg)
	if repos, err := remote.Catalog(t.Context(), reg2); err != nil || len(repos) > 0 {
		t.Errorf("the destination registry holds %v (%v), want nothing", repos, err)
	}
}

// TestPromoteGitHubStep runs promote as the promote/action.yml step, its
// verification summary signed with the runner's token: the outputs, the
// summary and the destination's admission policies.
func TestPromoteGitHubStep(t *testing.T) {
	img := pushImage(t)
	signV3(t, img, "github")
	dst := secondRegistry(t) + "/prod/app"
	r := runKeyless(t, githubEnv(map[string]string{
		"images": img, "destination": dst, "trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig,
		"certificate-identity": githubIdentity, "certificate-oidc-issuer": stk.Issuer("github"), "vsa": "true",
	}), "promote")
	copied := moved(t, img, dst)
	if r.code != 0 || r.outputs["verified"] != "true" || r.outputs["digests"] != copied || r.outputs["sources"] != img {
		t.Fatalf("exit %d, outputs %v\n%s", r.code, r.outputs, r.stderr)
	}
	if got := r.outputs["copied"]; got != copied+" manifest; bundle: 1" {
		t.Errorf("copied output = %q", got)
	}
	if r.outputs["vsa-identity"] != githubIdentity || !strings.HasPrefix(r.outputs["vsas"], dst+"@sha256:") {
		t.Errorf("vsa outputs: identity %q, vsas %q", r.outputs["vsa-identity"], r.outputs["vsas"])
	}
	for _, want := range []string{"## keyless promote — ✅ promoted to `" + dst + "`", "### Promoted to `" + dst + "`", "'" + copied + "'"} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.summary)
		}
	}
	if policy := r.files["workspace/keyless-kyverno-policy.yaml"]; !strings.Contains(policy, dst) || strings.Contains(policy, stk.Registry+"/e2e/") {
		t.Errorf("the Kyverno policy is not written for the destination:\n%s", policy)
	}
	mustCosign(t, stk.CosignV3, slices.Concat([]string{"verify-attestation", "--new-bundle-format", "--type=" + vsaType,
		"--trusted-root=" + stk.TrustedRoot, "--certificate-identity=" + githubIdentity,
		"--certificate-oidc-issuer=" + stk.Issuer("github")}, registryFlags, []string{copied})...)
}
