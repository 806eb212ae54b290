package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// maxAuditRSS is the peak resident memory an audit of 10,000 tags must
// stay under.
const maxAuditRSS = 150 << 20

// TestAuditTenThousandTags audits a repository of 10,000 tags (1,000 of
// them signed) with the binary and reports its peak resident memory, which
// must stay under 150 MB: an audit keeps a few hundred bytes per image,
// never its signatures.
func TestAuditTenThousandTags(t *testing.T) {
	const n, signed = 10_000, 1_000
	repo := fmt.Sprintf("e2e/audit-10k-%d", time.Now().UnixNano())
	refs := make([]string, n)
	forEach(t, n, func(i int) {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Error(err)
			return
		}
		tag, err := name.NewTag(fmt.Sprintf("%s/%s:t%05d", stk.Registry, repo, i), name.Insecure)
		if err != nil {
			t.Error(err)
			return
		}
		if err := remote.Write(tag, img, remote.WithContext(context.Background())); err != nil {
			t.Error(err)
			return
		}
		d, _ := img.Digest()
		refs[i] = tag.Context().Digest(d.String()).String()
	})
	inputs := merge(trustInputs(stk.SigningConfig), map[string]string{"images": strings.Join(refs[:signed], "\n")})
	if r := runKeyless(t, githubEnv(inputs)); r.code != 0 {
		t.Fatalf("keyless sign of %d images: exit %d\n%s", signed, r.code, r.stderr)
	}

	cmd := exec.Command(keylessBin(t), "audit", "--trusted-root", stk.TrustedRoot, "--certificate-identity", githubIdentity,
		"--certificate-oidc-issuer", stk.Issuer("github"), "--timeout", "20m", "--repository", stk.Registry+"/"+repo)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"HOME=" + cmd.Dir, "PATH=/usr/bin:/bin", "KEYLESS_PLATFORM=cli"}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("keyless audit: %v, want exit 1\n%s", err, tail(stderr.String(), 4000))
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	t.Logf("keyless audit of %d tags: %s, peak RSS %d MB, report %d KB", n, wall.Round(time.Millisecond), rss>>20, stdout.Len()>>10)
	var rep auditReport
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
		t.Fatalf("no JSON report: %v", err)
	}
	if rep.Total != n || rep.Passed != signed || rep.Failed != n-signed || rep.Reasons["unsigned"] != n-signed || rep.SkippedTags != signed {
		t.Errorf("total %d, passed %d, failed %d (unsigned %d), skipped %d; want %d, %d, %d, %d",
			rep.Total, rep.Passed, rep.Failed, rep.Reasons["unsigned"], rep.SkippedTags, n, signed, n-signed, signed)
	}
	if rss > maxAuditRSS {
		t.Errorf("peak RSS %d MB, over %d MB", rss>>20, maxAuditRSS>>20)
	}
	if !strings.Contains(stderr.String(), "msg=auditing done=") {
		t.Errorf("no progress line on standard error:\n%s", tail(stderr.String(), 2000))
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
