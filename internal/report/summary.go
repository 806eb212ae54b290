package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
)

// SummaryOptions tune the Markdown summary.
type SummaryOptions struct {
	// TrustedRoot is a private trusted root path for the commands, or "".
	TrustedRoot string
	// TUFMirror and TUFRoot are a private Sigstore's TUF repository and the
	// path of its root.json, when the run read its trust material there:
	// the commands then start with cosign initialize.
	TUFMirror, TUFRoot string
	// Policies are the admission policies to show.
	Policies []policy.Manifest
}

// Markdown writes the job summary: for each image, a table with a row per
// manifest (the verdict first); the identity and certificate extensions;
// and how to verify.
func (r *Run) Markdown(w io.Writer, o SummaryOptions) error {
	var b strings.Builder
	status := "✅ signed and verified"
	switch {
	case r.DryRun:
		status = "📝 dry run: nothing was signed"
	case !r.OK():
		status = "❌ failed"
	case r.Command == "verify":
		status = "✅ verified"
	case r.Command == "promote":
		status = "✅ promoted to " + mdCode(r.Destination)
	case r.Unverified:
		status = "✅ signed (not verified: the verify input is false)"
	}
	fmt.Fprintf(&b, "## keyless %s — %s\n\n", r.Command, status)
	if r.Command == "promote" {
		// The source tables show the gate at the source; the
		// destination's table follows them.
		b.WriteString("### At the source\n\n")
		src := *r
		src.Subjects = make([]Subject, len(r.Subjects))
		for i, s := range r.Subjects {
			s.Promotion = nil
			src.Subjects[i] = s
		}
		src.writeImages(&b)
		src.writeAttestations(&b)
		r.writePromotion(&b)
	} else {
		r.writeImages(&b)
		r.writeAttestations(&b)
	}
	b.WriteString("### Identity\n\n")
	if r.Command == "sign" {
		b.WriteString("Signed as this identity. Signing proves who built and pushed these digests, not that they are safe to run.\n\n")
	}
	fmt.Fprintf(&b, "| | |\n|---|---|\n| certificate identity | %s |\n| OIDC issuer | %s |\n", mdCode(r.identity()), mdCode(r.issuer()))
	if c := r.Identity.Certificate; c != nil {
		for _, kv := range [][2]string{
			{"source repository", c.SourceRepositoryURI}, {"source ref", c.SourceRepositoryRef},
			{"source commit", c.SourceRepositoryDigest}, {"trigger", c.BuildTrigger},
			{"runner environment", c.RunnerEnvironment}, {"build signer digest", c.BuildSignerDigest},
		} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "| %s | %s |\n", kv[0], mdCode(kv[1]))
			}
		}
	}
	fmt.Fprintf(&b, "| trust | %s |\n", mdText(r.Trust))
	if image := r.commandImage(); image != "" {
		b.WriteString("\n### How to verify\n\n")
		if o.TrustedRoot == "" && o.TUFMirror != "" {
			line := "cosign initialize --mirror " + shellQuote(o.TUFMirror) + " --root " + shellQuote(o.TUFRoot)
			fence := mdFence(line)
			fmt.Fprintf(&b, "First, trust this private Sigstore's TUF repository:\n\n%ssh\n%s\n%s\n\n", fence, line, fence)
		}
		for _, c := range r.VerifyCommands(image, o.TrustedRoot) {
			fence := mdFence(c.Line)
			fmt.Fprintf(&b, "%s:\n\n%ssh\n%s\n%s\n\n", mdText(c.Title), fence, c.Line, fence)
		}
	}
	if len(o.Policies) > 0 {
		b.WriteString("### Admission policies\n\nEnforce this identity at Kubernetes admission:\n\n")
		for _, p := range o.Policies {
			y := strings.TrimSuffix(string(p.YAML), "\n")
			fence := mdFence(y)
			fmt.Fprintf(&b, "<details><summary>%s (%s)</summary>\n\n%syaml\n%s\n%s\n\n</details>\n\n", mdHTML(p.Title), mdHTML(p.File), fence, y, fence)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// commandImage is the image the summary's commands verify: the first
// one signed or verified, or, of a promotion, its copy at the
// destination; "" for none.
func (r *Run) commandImage() string {
	switch {
	case len(r.Subjects) == 0 || r.DryRun:
		return ""
	case r.Command == "promote":
		if p := r.Subjects[0].Promotion; p != nil {
			return p.Destination
		}
		return ""
	}
	return r.Subjects[0].Digest
}

func (r *Run) identity() string {
	if r.Identity.SANRegexp != "" {
		return "~ " + r.Identity.SANRegexp
	}
	return r.Identity.SAN
}

func (r *Run) issuer() string {
	if r.Identity.IssuerRegexp != "" {
		return "~ " + r.Identity.IssuerRegexp
	}
	return r.Identity.Issuer
}

// column is one column of a summary table: its header, and its cell for
// one row. The one list of columns makes the header and every row.
type column struct {
	title string
	cell  func(row) string
}

// row is one row of a summary table: a manifest, and the kind of payload
// the row shows — "" for its image signature, else an attestation's
// predicate type.
type row struct {
	Subject
	kind string
}

// columns are the summary tables' columns: the verdict first, then what
// tells the manifests of one image apart, then, in the attestation table
// (kinds true), the predicate type, and each format's log entry.
func (r *Run) columns(kinds bool) []column {
	cols := []column{
		{"result", r.verdict},
		{"digest", func(s row) string { return mdCode(shortDigest(s.Digest)) }},
		{"platform", func(s row) string { return orDash(mdText(s.Platform)) }},
	}
	if kinds {
		cols = append(cols, column{"predicate type", func(s row) string { return mdCode(s.kind) }})
	}
	for _, f := range r.Formats {
		cols = append(cols, column{string(f), func(s row) string { return formatCell(s, f) }})
	}
	return cols
}

// writeTable writes a table of rows with cols.
func writeTable(b *strings.Builder, cols []column, rows []row) {
	b.WriteString("|")
	for _, c := range cols {
		b.WriteString(" " + c.title + " |")
	}
	b.WriteString("\n|" + strings.Repeat("---|", len(cols)) + "\n")
	for _, s := range rows {
		b.WriteString("|")
		for _, c := range cols {
			b.WriteString(" " + c.cell(s) + " |")
		}
		b.WriteString("\n")
	}
}

// verdict is a row's outcome: ✅ done, ❌ failed, 📝 planned (dry run).
// A signature row stands for its whole manifest; an attestation row fails
// when that attestation failed to verify.
func (r *Run) verdict(s row) string {
	switch {
	case !s.OK(!r.Unverified && !r.DryRun):
		if s.kind == "" || s.Error != "" || !kindVerified(s, !r.Unverified && !r.DryRun) {
			return "❌"
		}
	case r.DryRun:
		return "📝"
	}
	return "✅"
}

// kindVerified reports whether every verification of the row's kind passed.
func kindVerified(s row, wantVerify bool) bool {
	if !wantVerify {
		return true
	}
	n := 0
	for _, v := range s.Verifications {
		if v.PredicateType != s.kind {
			continue
		}
		if !v.Verified {
			return false
		}
		n++
	}
	return n > 0
}

// formatCell says how the row's kind fared in format f: ✅ verified or ❌
// not, its transparency-log entry, and whether an earlier run had signed
// it.
func formatCell(s row, f sign.Format) string {
	var parts []string
	entry, reused := "", false
	for _, v := range s.Verifications {
		if v.Format != f || v.PredicateType != s.kind {
			continue
		}
		if !v.Verified {
			parts = append(parts, "❌")
			continue
		}
		parts = append(parts, "✅")
		if v.LogIndex >= 0 {
			entry = logEntry(v.LogURL, v.LogIndex)
		}
	}
	for _, sig := range s.Signatures {
		if sig.Format == f && sig.PredicateType == s.kind {
			entry, reused = logEntry(sig.LogURL, sig.LogIndex), sig.Reused
		}
	}
	if entry != "" {
		parts = append(parts, entry)
	}
	if reused {
		parts = append(parts, "(already signed)")
	}
	return orDash(strings.Join(parts, " "))
}

// shortDigest is the digest of repository@sha256:…, cut to 12 hex digits.
func shortDigest(ref string) string {
	d := ref[strings.LastIndex(ref, "@")+1:]
	if len(d) > 19 {
		d = d[:19] + "…"
	}
	return d
}

// orDash shows an empty cell as a dash.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// logEntry names a transparency-log entry, linked to its search page when
// it is in the public-good Rekor log; other logs' entries are not linked.
func logEntry(logURL string, index int64) string {
	if logURL == trust.PublicGoodRekorURL {
		return fmt.Sprintf("entry [%d](%s)", index, EntryURL(logURL, index))
	}
	return fmt.Sprintf("entry %d", index)
}

// EntryURL links a transparency-log entry: the public-good search page, or
// the log's own API for other Rekor v1 logs.
func EntryURL(logURL string, index int64) string {
	if logURL == trust.PublicGoodRekorURL {
		return fmt.Sprintf("https://search.sigstore.dev/?logIndex=%d", index)
	}
	return fmt.Sprintf("%s/api/v1/log/entries?logIndex=%d", logURL, index)
}
