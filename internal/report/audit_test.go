package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

func auditResult(n int, fail func(i int) job.Reason) *job.AuditResult {
	res := &job.AuditResult{
		Formats: []sign.Format{sign.Bundle, sign.Legacy}, AnyFormat: true,
		Policy:     verify.Policy{Identity: "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com"},
		Repository: "registry.example.com/org/app", Tags: "v*", Skipped: 7, Unmatched: 2, Trust: "public-good",
	}
	for i := range n {
		img := job.Audited{Image: fmt.Sprintf("registry.example.com/org/app:v%d", i), Digest: "registry.example.com/org/app@sha256:" + strings.Repeat("a", 64)}
		if r := fail(i); r != "" {
			img.Reason, img.Detail = r, fmt.Sprintf("reason of %d", i)
		}
		res.Images = append(res.Images, img)
	}
	return res
}

func TestAuditJSON(t *testing.T) {
	res := auditResult(5, func(i int) job.Reason {
		return map[int]job.Reason{1: job.Unsigned, 3: job.OtherIdentity, 4: job.Unsigned}[i]
	})
	res.Images[3].Sources = []string{"deploy.yaml:3: Deployment prod/web, container app"}
	b, err := json.Marshal(NewAudit(res))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Command, SignatureFormat string
		Total, Passed, Failed    int
		SkippedTags              int
		Reasons                  map[string]int
		Images                   []struct {
			Image   string
			Passed  bool
			Reason  string
			Sources []string
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Command != "audit" || got.SignatureFormat != "any" || got.Total != 5 || got.Passed != 2 || got.Failed != 3 || got.SkippedTags != 7 {
		t.Errorf("report %+v", got)
	}
	wantReasons := map[string]int{"unsigned": 2, "identity": 1, "retention": 0, "attestation": 0, "tag": 0, "invalid": 0, "error": 0}
	if diff := cmp.Diff(wantReasons, got.Reasons); diff != "" {
		t.Errorf("reasons: every one counted (-want +got):\n%s", diff)
	}
	var order []string
	for _, img := range got.Images {
		order = append(order, fmt.Sprintf("%s %v %s", strings.TrimPrefix(img.Image, "registry.example.com/org/app:"), img.Passed, img.Reason))
	}
	if diff := cmp.Diff([]string{"v1 false unsigned", "v3 false identity", "v4 false unsigned", "v0 true ", "v2 true "}, order); diff != "" {
		t.Errorf("images: the failures first, in order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"deploy.yaml:3: Deployment prod/web, container app"}, got.Images[1].Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
}

// TestAuditMarkdownScales: 10,000 images make a summary of the counts and
// the first refused images, far under GitHub's 1 MiB, failures first.
func TestAuditMarkdownScales(t *testing.T) {
	res := auditResult(10_000, func(i int) job.Reason {
		if i%10 == 3 {
			return job.Retention
		}
		return ""
	})
	a := NewAudit(res)
	var b strings.Builder
	if err := a.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if len(md) > 64<<10 {
		t.Errorf("summary of 10,000 images is %d bytes", len(md))
	}
	for _, want := range []string{
		"## keyless audit — ❌ 1000 of 10000 images would be refused",
		"10000 tags audited, 7 signature tags skipped, 2 not matching",
		"| ✅ passed | 9000 |\n| ❌ failed | 1000 |\n| signature lost (a format or a blob deleted, say by retention) (`retention`) | 1000 |",
		"❌ 900 more refused images: the report lists every one.",
		"✅ 9000 images passed: the report lists every one.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if n := strings.Count(md, "| ❌ retention |"); n != maxAuditRows {
		t.Errorf("%d refused rows, want %d", n, maxAuditRows)
	}
	if strings.Index(md, "v3`") > strings.Index(md, "### Gate") || strings.Contains(md, "| ✅ |") {
		t.Errorf("the refused images come first, and no passed row is listed")
	}
}

func TestAuditMarkdownSmall(t *testing.T) {
	res := auditResult(3, func(i int) job.Reason { return "" })
	res.Images[1].Image = "evil|`x`<script>\n## injected"
	var b strings.Builder
	if err := NewAudit(res).Markdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"## keyless audit — ✅ all 3 images would be admitted", "### Passed", "| ✅ | `registry.example.com/org/app:v0` |"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(md, "| ✅ | ``evil\\|`x`<script>\\n## injected`` |") || strings.Contains(md, "\n## injected") {
		t.Errorf("an image name broke out of its code span:\n%s", md)
	}
	if !NewAudit(res).OK() || NewAudit(&job.AuditResult{}).OK() {
		t.Error("OK: want true for all passed, false for nothing audited")
	}
}
