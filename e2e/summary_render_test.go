package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
)

// githubPage wraps a rendered summary as GitHub shows a step summary: a
// content box 1012 px wide with github-markdown-css's rules for text, code
// and tables (a table is a block as wide as its content, at most the box,
// and scrolls what does not fit). The script writes each table's widths and
// the verdict cells hidden past its edges into #measure.
const githubPage = `<!doctype html>
<html><head><meta charset="utf-8"><style>
body { margin: 0; background: #fff; color: #1f2328; }
.markdown-body { box-sizing: border-box; width: 1012px; margin: 16px; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; font-size: 14px; line-height: 1.5; word-wrap: break-word; }
.markdown-body h2 { font-size: 1.5em; font-weight: 600; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; }
.markdown-body h3, .markdown-body h4 { font-weight: 600; margin-top: 24px; margin-bottom: 16px; }
.markdown-body code { padding: .2em .4em; margin: 0; font-size: 85%; white-space: break-spaces; background-color: rgba(129,139,152,.12); border-radius: 6px; font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
.markdown-body pre { padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45; background-color: #f6f8fa; border-radius: 6px; }
.markdown-body pre code { padding: 0; background: transparent; white-space: pre; font-size: 100%; }
.markdown-body table { display: block; width: max-content; max-width: 100%; overflow: auto; border-spacing: 0; border-collapse: collapse; font-variant: tabular-nums; margin-bottom: 16px; }
.markdown-body table th { font-weight: 600; }
.markdown-body table th, .markdown-body table td { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body table tr:nth-child(2n) { background-color: #f6f8fa; }
</style></head><body><article class="markdown-body">
%s
</article><pre id="measure" style="white-space: pre-wrap; word-break: break-all"></pre>
<script>
const tables = [];
for (const t of document.querySelectorAll('.markdown-body table')) {
  const box = t.getBoundingClientRect();
  const left = box.left + t.clientLeft, right = left + t.clientWidth;
  let verdicts = 0, hidden = 0;
  for (const c of t.querySelectorAll('td')) {
    if (!/^(✅|❌|📝)/.test(c.textContent.trim())) continue;
    verdicts++;
    const r = c.getBoundingClientRect();
    if (r.left < left - 0.5 || r.right > right + 0.5) hidden++;
  }
  tables.push({scrollWidth: t.scrollWidth, clientWidth: t.clientWidth, verdicts: verdicts, hidden: hidden});
}
document.getElementById('measure').textContent = JSON.stringify(tables);
</script></body></html>
`

// tableWidth is what the page measured of one table.
type tableWidth struct {
	ScrollWidth, ClientWidth int
	// Verdicts counts the cells that start with ✅, ❌ or 📝; Hidden those
	// of them that lie, even in part, past the table's visible box.
	Verdicts, Hidden int
}

// chromium returns the path of Debian's chromium, failing the test when it
// is not installed.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: run scripts/deps")
	return ""
}

// renderSummary converts a step summary to HTML as GitHub does (GFM, the
// raw HTML it allows kept), lays it out in headless Chromium in githubPage,
// saves a screenshot under dir and returns what the page measured.
func renderSummary(t *testing.T, summary, dir string) []tableWidth {
	t.Helper()
	var body bytes.Buffer
	md := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := md.Convert([]byte(summary), &body); err != nil {
		t.Fatalf("converting the summary to HTML: %v", err)
	}
	page := filepath.Join(dir, "summary.html")
	if err := os.WriteFile(page, []byte(strings.Replace(githubPage, "%s", body.String(), 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, profile := chromium(t), t.TempDir()
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
			"--user-data-dir=" + profile, "--window-size=1100,3000"}, args...)
		cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	png := filepath.Join(dir, "summary.png")
	run("--screenshot=" + png)
	t.Logf("the summary as GitHub would show it: %s (HTML: %s)", png, page)
	m := regexp.MustCompile(`(?s)<pre id="measure"[^>]*>(.*?)</pre>`).FindStringSubmatch(run("--dump-dom"))
	if m == nil {
		t.Fatal("the page measured nothing: no #measure in the DOM chromium dumped")
	}
	var tables []tableWidth
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &tables); err != nil {
		t.Fatalf("reading the page's measures %q: %v", m[1], err)
	}
	return tables
}

// TestSummaryFitsGitHub signs several images with long repository names,
// one of them a two-platform index, in both formats, renders the step
// summary as GitHub shows it, and checks that every table fits the page:
// nothing scrolls off the right edge, and every verdict is in view.
func TestSummaryFitsGitHub(t *testing.T) {
	ctx := context.Background()
	const prefix = "e2e/summary-render/payments-platform/"
	a, err := stk.PushRandomImage(ctx, prefix+"settlement-reconciliation-worker", "v2.14.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := stk.PushRandomImage(ctx, prefix+"ledger-export-scheduler", "v2.14.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := stk.PushPlatformIndex(ctx, prefix+"merchant-onboarding-api-gateway", "v2.14.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	byTag := a[:strings.Index(a, "@")] + ":v2.14.0-rc.1"
	// With provenance and an SBOM, the attestation table must fit too.
	r := runKeyless(t, githubJobEnv(t, merge(trustInputs(stk.SigningConfigAll), map[string]string{
		"images": byTag + "\n" + b + "\n" + idx, "recursive": "true", "signature-format": "both",
		"provenance": "true", "sbom": writeSBOM(t),
	})))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	// go test -artifacts keeps the page and its screenshot.
	tables := renderSummary(t, r.summary, t.ArtifactDir())
	if len(tables) < 4 { // three images and the attestations
		t.Fatalf("the rendered summary has no table:\n%s", r.summary)
	}
	verdicts := 0
	for i, tw := range tables {
		t.Logf("table %d: scrollWidth %d px, clientWidth %d px, %d verdict cells, %d hidden", i, tw.ScrollWidth, tw.ClientWidth, tw.Verdicts, tw.Hidden)
		if tw.ScrollWidth > tw.ClientWidth {
			t.Errorf("table %d overflows the page: %d px of content in %d px", i, tw.ScrollWidth, tw.ClientWidth)
		}
		if tw.Hidden > 0 {
			t.Errorf("table %d: %d of %d verdict cells are out of view", i, tw.Hidden, tw.Verdicts)
		}
		verdicts += tw.Verdicts
	}
	if verdicts == 0 {
		t.Errorf("no table shows a verdict (✅ or ❌):\n%s", r.summary)
	}
	if t.Failed() {
		t.Logf("summary:\n%s", r.summary)
	}
}
