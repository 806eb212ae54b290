package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	sigtuf "github.com/sigstore/sigstore/pkg/tuf"
	gotuf "github.com/theupdateframework/go-tuf"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// TestKyvernoAdmits applies the ClusterPolicy keyless generated (with
// kyverno-policy cluster-policy) with the
// real Kyverno CLI (kubectl-kyverno apply --registry, which fetches the
// signatures from the live registry) to Pods running the signed image, an
// unsigned image and one signed by another identity, in the same
// repository, for every signature format. For the bundle format Kyverno
// (type SigstoreBundle) reads the private trusted root only through TUF:
// the test serves a TUF repository holding the stack's trusted_root.json
// and initializes the CLI's TUF cache from it, as Kyverno's --enableTuf
// --tufMirror --tufRoot do for the admission controller.
func TestKyvernoAdmits(t *testing.T) {
	cli := filepath.Join(stk.Tools, "kubectl-kyverno")
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("kubectl-kyverno not built (run e2e/tools/build.sh): %v", err)
	}
	tufRoot := kyvernoTUF(t)
	for _, tc := range []struct {
		format, signingConfig, wantType string
	}{
		{"legacy", stk.SigningConfigV1, "type: Cosign"},
		{"bundle", stk.SigningConfig, "type: SigstoreBundle"},
		{"both", stk.SigningConfigAll, "type: Cosign"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			signed := pushImage(t)
			r := runKeyless(t, githubEnv(merge(trustInputs(tc.signingConfig), map[string]string{"images": signed, "signature-format": tc.format, "kyverno-policy": "cluster-policy"})))
			if r.code != 0 {
				t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
			}
			policy := r.files["workspace/"+r.outputs["kyverno-policy"]]
			if !strings.Contains(policy, tc.wantType) {
				t.Fatalf("kyverno-policy lacks %q:\n%s", tc.wantType, policy)
			}
			dir := t.TempDir()
			policyFile := filepath.Join(dir, "policy.yaml")
			if err := os.WriteFile(policyFile, []byte(policy), 0o644); err != nil {
				t.Fatal(err)
			}
			repo := strings.TrimPrefix(signed[:strings.Index(signed, "@")], stk.Registry+"/")
			unsigned, err := stk.PushRandomImage(t.Context(), repo, "unsigned")
			if err != nil {
				t.Fatal(err)
			}
			other, err := stk.PushRandomImage(t.Context(), repo, "other")
			if err != nil {
				t.Fatal(err)
			}
			keylessSign(t, tc.format, false, other, stack.WithClaims(map[string]any{"repository": "keyless-dev/other"}))
			for _, img := range []struct {
				name, ref string
				admit     bool
			}{
				{"signed by this identity", signed, true},
				{"unsigned", unsigned, false},
				{"signed by another identity", other, false},
			} {
				t.Run(img.name, func(t *testing.T) {
					admitted, out := kyvernoApply(t, cli, tufRoot, policyFile, img.ref)
					t.Logf("kubectl-kyverno apply:\n%s", out)
					if admitted != img.admit {
						t.Errorf("kubectl-kyverno admitted=%v, want %v\npolicy:\n%s\noutput:\n%s", admitted, img.admit, policy, out)
					}
				})
			}
		})
	}
}

// kyvernoApply runs kubectl-kyverno apply on a Pod running image and
// reports whether the policy passed.
func kyvernoApply(t *testing.T, cli, tufRoot, policy, image string) (bool, string) {
	t.Helper()
	pod := filepath.Join(t.TempDir(), "pod.yaml")
	manifest := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: default\nspec:\n  containers:\n  - name: app\n    image: %s\n", image)
	if err := os.WriteFile(pod, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "apply", policy, "--resource", pod, "--registry", "--remove-color")
	home := t.TempDir()
	cmd.Env = []string{"HOME=" + home, "DOCKER_CONFIG=" + home, "TUF_ROOT=" + tufRoot, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	return err == nil && kyvernoPassed.MatchString(string(out)), string(out)
}

// kyvernoPassed matches the CLI's result line when every rule passed.
var kyvernoPassed = regexp.MustCompile(`(?m)^pass: [1-9][0-9]*, fail: 0, warn: 0, error: 0, skip: 0`)

// tufRepository is a TUF repository holding the stack's trusted root,
// served on 127.0.0.1, and a cache initialized from it.
type tufRepository struct {
	// cache is a TUF cache of the v1 sigstore client, initialized from
	// the repository (what Kyverno's --enableTuf does).
	cache string
	// mirror is the repository's URL; root the path of its root.json.
	mirror, root string
}

var (
	tufOnce sync.Once
	tufRepo tufRepository
	tufErr  error
)

// kyvernoTUF serves a TUF repository holding the stack's trusted root and
// initializes a TUF cache from it with the v1 sigstore TUF client, the one
// Kyverno's --enableTuf uses and its CLI reads (TUF_ROOT). It returns the
// cache directory. The repository server lives as long as the test process.
func kyvernoTUF(t *testing.T) string {
	t.Helper()
	return kyvernoTUFRepository(t).cache
}

// kyvernoTUFRepository is kyvernoTUF's repository.
func kyvernoTUFRepository(t *testing.T) tufRepository {
	t.Helper()
	tufOnce.Do(func() { tufRepo, tufErr = initKyvernoTUF(t.Context()) })
	if tufErr != nil {
		t.Fatalf("TUF mirror for Kyverno: %v", tufErr)
	}
	return tufRepo
}

func initKyvernoTUF(ctx context.Context) (tufRepository, error) {
	var none tufRepository
	base, err := os.MkdirTemp("", "kyverno-tuf")
	if err != nil {
		return none, err
	}
	repoDir := filepath.Join(base, "repo")
	repo, err := gotuf.NewRepo(gotuf.FileSystemStore(repoDir, nil))
	if err != nil {
		return none, err
	}
	if err := repo.Init(false); err != nil {
		return none, err
	}
	for _, role := range []string{"root", "targets", "snapshot", "timestamp"} {
		if _, err := repo.GenKey(role); err != nil {
			return none, fmt.Errorf("generating %s key: %w", role, err)
		}
	}
	staged := filepath.Join(repoDir, "staged", "targets")
	if err := os.MkdirAll(staged, 0o755); err != nil {
		return none, err
	}
	tr, err := os.ReadFile(stk.TrustedRoot)
	if err != nil {
		return none, err
	}
	if err := os.WriteFile(filepath.Join(staged, "trusted_root.json"), tr, 0o644); err != nil {
		return none, err
	}
	if err := repo.AddTarget("trusted_root.json", nil); err != nil {
		return none, fmt.Errorf("adding target: %w", err)
	}
	if err := repo.Snapshot(); err != nil {
		return none, err
	}
	if err := repo.Timestamp(); err != nil {
		return none, err
	}
	if err := repo.Commit(); err != nil {
		return none, fmt.Errorf("committing TUF repository: %w", err)
	}
	published := filepath.Join(repoDir, "repository")
	rootJSON, err := os.ReadFile(filepath.Join(published, "root.json"))
	if err != nil {
		return none, err
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(published)))
	cache := filepath.Join(base, "cache")
	// The v1 client reads its cache location from TUF_ROOT, once per process.
	prev, had := os.LookupEnv(sigtuf.TufRootEnv)
	os.Setenv(sigtuf.TufRootEnv, cache)
	err = sigtuf.Initialize(ctx, srv.URL, rootJSON)
	if had {
		os.Setenv(sigtuf.TufRootEnv, prev)
	} else {
		os.Unsetenv(sigtuf.TufRootEnv)
	}
	if err != nil {
		return none, fmt.Errorf("initializing the TUF cache from %s: %w", srv.URL, err)
	}
	return tufRepository{cache: cache, mirror: srv.URL, root: filepath.Join(published, "root.json")}, nil
}
