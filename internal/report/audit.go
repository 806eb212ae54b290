package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/sign"
)

// Audit is the record of one keyless audit run, built once from the job's
// result by NewAudit: every image, the refused ones first. Its JSON form
// (see MarshalJSON) is the report.
type Audit struct {
	res *job.AuditResult
	// images are the audited images, the failed ones first, each group in
	// the order listed.
	images []job.Audited
	// counts are the failed images per reason.
	counts map[job.Reason]int
	failed int
}

// NewAudit builds the record of an audit.
func NewAudit(res *job.AuditResult) *Audit {
	a := &Audit{res: res, counts: map[job.Reason]int{}}
	for _, r := range job.Reasons {
		a.counts[r] = 0
	}
	a.images = make([]job.Audited, 0, len(res.Images))
	for _, img := range res.Images {
		if img.Reason != "" {
			a.images = append(a.images, img)
			a.counts[img.Reason]++
		}
	}
	a.failed = len(a.images)
	for _, img := range res.Images {
		if img.Reason == "" {
			a.images = append(a.images, img)
		}
	}
	return a
}

// OK reports whether admission would admit every image audited; an audit
// of nothing is not OK (a repository without a matching tag says so).
func (a *Audit) OK() bool { return a.failed == 0 && len(a.images) > 0 }

// Failures are the refused images, in the order listed.
func (a *Audit) Failures() []job.Audited { return a.images[:a.failed] }

// auditRecord is the JSON report of an audit, as docs/audit.md documents it.
type auditRecord struct {
	Command         string         `json:"command"`
	Repository      string         `json:"repository,omitempty"`
	Tags            string         `json:"tags,omitempty"`
	SignatureFormat string         `json:"signatureFormat"`
	Attestations    []string       `json:"attestationTypes,omitempty"`
	Recursive       bool           `json:"recursive"`
	Trust           string         `json:"trust"`
	Policy          policyRecord   `json:"policy"`
	Total           int            `json:"total"`
	Passed          int            `json:"passed"`
	Failed          int            `json:"failed"`
	Reasons         map[string]int `json:"reasons"`
	SkippedTags     int            `json:"skippedTags"`
	UnmatchedTags   int            `json:"unmatchedTags"`
	Images          []auditImage   `json:"images"`
	Started         time.Time      `json:"started"`
	Duration        time.Duration  `json:"durationNs"`
}

// auditImage is one image of the JSON report.
type auditImage struct {
	Image   string   `json:"image"`
	Digest  string   `json:"digest,omitempty"`
	Passed  bool     `json:"passed"`
	Reason  string   `json:"reason,omitempty"`
	Detail  string   `json:"detail,omitempty"`
	Sources []string `json:"sources,omitempty"`
}

// MarshalJSON writes a as the JSON report.
func (a *Audit) MarshalJSON() ([]byte, error) {
	r := a.res
	p := r.Policy
	rec := auditRecord{
		Command: "audit", Repository: r.Repository, Tags: r.Tags, SignatureFormat: a.SignatureFormat(),
		Attestations: r.Attestations, Recursive: r.Recursive, Trust: r.Trust,
		Policy: policyRecord{
			Issuer: p.Issuer, IssuerRegexp: p.IssuerRegexp, Identity: p.Identity, IdentityRegexp: p.IdentityRegexp,
			SourceRepository: p.SourceRepository, SourceRef: p.SourceRef, WorkflowTrigger: p.WorkflowTrigger,
			BuildSignerDigest: p.BuildSignerDigest, RunnerEnvironment: p.RunnerEnvironment,
		},
		Total: len(a.images), Passed: len(a.images) - a.failed, Failed: a.failed, Reasons: map[string]int{},
		SkippedTags: r.Skipped, UnmatchedTags: r.Unmatched, Images: make([]auditImage, len(a.images)),
		Started: r.Started, Duration: r.Duration,
	}
	for k, v := range a.counts {
		rec.Reasons[string(k)] = v
	}
	for i, img := range a.images {
		rec.Images[i] = auditImage{Image: img.Image, Digest: img.Digest, Passed: img.Reason == "", Reason: string(img.Reason), Detail: img.Detail, Sources: img.Sources}
	}
	return json.Marshal(rec)
}

// SignatureFormat is the signature-format input the gate checked: any,
// bundle, legacy or both.
func (a *Audit) SignatureFormat() string {
	switch {
	case a.res.AnyFormat:
		return "any"
	case slices.Equal(a.res.Formats, []sign.Format{sign.Bundle, sign.Legacy}):
		return "both"
	case len(a.res.Formats) == 1:
		return string(a.res.Formats[0])
	}
	return fmt.Sprint(a.res.Formats)
}

// Outputs are an audit's outputs, in order: the counts, and the
// failed images per reason as JSON.
func (a *Audit) Outputs() []Output {
	reasons := map[string]int{}
	for k, v := range a.counts {
		reasons[string(k)] = v
	}
	b, _ := json.Marshal(reasons) // a map of strings to ints: cannot fail
	return []Output{
		{"total", strconv.Itoa(len(a.images))},
		{"passed", strconv.Itoa(len(a.images) - a.failed)},
		{"failed", strconv.Itoa(a.failed)},
		{"reasons", string(b)},
	}
}

// Bounds of the audit summary, so that 10,000 images stay far under
// GitHub's 1 MiB step summary: the refused images first, at most
// maxAuditRows of them; the passed ones only in an audit of at most
// maxAuditPassed images. The report lists every image.
const (
	maxAuditRows   = 100
	maxAuditPassed = 50
)

// reasonTitles say what each reason means, in the summary.
var reasonTitles = map[job.Reason]string{
	job.Unsigned:         "unsigned: no signature in any format",
	job.OtherIdentity:    "signed by another identity",
	job.Retention:        "signature lost (a format or a blob deleted, say by retention)",
	job.NoAttestation:    "a required attestation missing",
	job.TagReference:     "named by tag in a manifest, not by digest",
	job.InvalidSignature: "a signature that does not verify",
	job.Unreadable:       "could not be read",
}

// Markdown writes the audit's summary: the verdict and counts, the
// refused images, then (for a small audit) the passed ones.
func (a *Audit) Markdown(w io.Writer) error {
	var b strings.Builder
	r := a.res
	total := len(a.images)
	switch {
	case total == 0:
		b.WriteString("## keyless audit — ❌ nothing to audit\n\n")
	case a.failed == 0:
		fmt.Fprintf(&b, "## keyless audit — ✅ all %d images would be admitted\n\n", total)
	default:
		fmt.Fprintf(&b, "## keyless audit — ❌ %d of %d images would be refused\n\n", a.failed, total)
	}
	if r.Repository != "" {
		fmt.Fprintf(&b, "Every tag of %s", mdCode(r.Repository))
		if r.Tags != "" {
			fmt.Fprintf(&b, " matching %s", mdCode(r.Tags))
		}
		fmt.Fprintf(&b, ": %d tags audited, %d signature tags skipped, %d not matching.\n\n", total, r.Skipped, r.Unmatched)
	}
	fmt.Fprintf(&b, "| | images |\n|---|---|\n| ✅ passed | %d |\n| ❌ failed | %d |\n", total-a.failed, a.failed)
	for _, reason := range job.Reasons {
		if n := a.counts[reason]; n > 0 {
			fmt.Fprintf(&b, "| %s (`%s`) | %d |\n", reasonTitles[reason], reason, n)
		}
	}
	b.WriteString("\n")
	if a.failed > 0 {
		b.WriteString("### Refused\n\n")
		writeAuditTable(&b, a.Failures()[:min(a.failed, maxAuditRows)])
		if a.failed > maxAuditRows {
			fmt.Fprintf(&b, "\n❌ %d more refused images: the report lists every one.\n", a.failed-maxAuditRows)
		}
		b.WriteString("\n")
	}
	if passed := a.images[a.failed:]; len(passed) > 0 {
		if total <= maxAuditPassed {
			b.WriteString("### Passed\n\n")
			writeAuditTable(&b, passed)
			b.WriteString("\n")
		} else {
			fmt.Fprintf(&b, "✅ %d images passed: the report lists every one.\n\n", len(passed))
		}
	}
	b.WriteString("### Gate\n\n| | |\n|---|---|\n")
	id, iss := r.Policy.Identity, r.Policy.Issuer
	if r.Policy.IdentityRegexp != "" {
		id = "~ " + r.Policy.IdentityRegexp
	}
	if r.Policy.IssuerRegexp != "" {
		iss = "~ " + r.Policy.IssuerRegexp
	}
	fmt.Fprintf(&b, "| certificate identity | %s |\n| OIDC issuer | %s |\n", mdCode(id), mdCode(iss))
	for _, kv := range [][2]string{
		{"source repository", r.Policy.SourceRepository}, {"source ref", r.Policy.SourceRef},
		{"trigger", r.Policy.WorkflowTrigger}, {"runner environment", r.Policy.RunnerEnvironment},
		{"build signer digest", r.Policy.BuildSignerDigest},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", kv[0], mdCode(kv[1]))
		}
	}
	fmt.Fprintf(&b, "| signature format | %s |\n", mdCode(a.SignatureFormat()))
	for _, t := range r.Attestations {
		fmt.Fprintf(&b, "| attestation | %s |\n", mdCode(t))
	}
	fmt.Fprintf(&b, "| trust | %s |\n", mdText(r.Trust))
	_, err := io.WriteString(w, b.String())
	return err
}

// writeAuditTable writes one row per image: the verdict, the image, its
// digest, and where it is named and why it failed.
func writeAuditTable(b *strings.Builder, images []job.Audited) {
	b.WriteString("| result | image | digest | why |\n|---|---|---|---|\n")
	for _, img := range images {
		verdict := "✅"
		if img.Reason != "" {
			verdict = "❌ " + mdText(string(img.Reason))
		}
		why := img.Detail
		if len(img.Sources) > 0 {
			why = strings.Join(img.Sources, "; ") + ": " + why
		}
		digest := ""
		if img.Digest != "" {
			digest = mdCode(shortDigest(img.Digest))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", verdict, mdCode(img.Image), orDash(digest), orDash(mdText(why)))
	}
}
