package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/trust"
)

// SummaryOptions tune the Markdown summary.
type SummaryOptions struct {
	// TrustedRoot is a private trusted root path for the commands, or "".
	TrustedRoot string
	// Policies are the admission policies to show.
	Policies []policy.Manifest
}

// Markdown writes the job summary: one row per manifest, the identity and
// certificate extensions, and how to verify.
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
	case r.Unverified:
		status = "✅ signed (not verified: the verify input is false)"
	}
	fmt.Fprintf(&b, "## keyless %s — %s\n\n", r.Command, status)
	b.WriteString("| image | platform | digest | format | transparency log | verified |\n|---|---|---|---|---|---|\n")
	r.writeRows(&b)
	b.WriteString("\n### Identity\n\n")
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
	if len(r.Subjects) > 0 && !r.DryRun {
		b.WriteString("\n### How to verify\n\n")
		for _, c := range r.VerifyCommands(r.Subjects[0].Digest, o.TrustedRoot) {
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

func (r *Run) rows(s Subject) string {
	var b strings.Builder
	platform := mdText(s.Platform)
	if platform == "" {
		platform = "—"
	}
	short := s.Digest
	if i := strings.LastIndex(short, "@"); i >= 0 {
		short = short[i+1:]
		if len(short) > 19 {
			short = short[:19] + "…"
		}
	}
	for _, f := range r.Formats {
		log, verified := "—", "—"
		for _, sig := range s.Signatures {
			if sig.Format == f {
				log = logLink(sig)
				if sig.Reused {
					log += " (already signed)"
				}
			}
		}
		for _, v := range s.Verifications {
			if v.Format != f {
				continue
			}
			if v.Verified {
				verified = "✅"
				if log == "—" && v.LogIndex >= 0 {
					log = fmt.Sprintf("entry %d", v.LogIndex)
				}
			} else {
				verified = "❌ " + mdText(strings.Join(v.Reasons, "; "))
			}
		}
		if s.Error != "" {
			verified = "❌ " + mdText(s.Error)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdCode(s.Input), platform, mdCode(short), f, log, verified)
	}
	return b.String()
}

// logLink links a public-good Rekor entry to its search page, and names
// other entries by index.
func logLink(sig Signature) string {
	if sig.LogURL == trust.PublicGoodRekorURL {
		return fmt.Sprintf("[%d](%s)", sig.LogIndex, EntryURL(sig.LogURL, sig.LogIndex))
	}
	return fmt.Sprintf("entry %d", sig.LogIndex)
}

// EntryURL links a transparency-log entry: the public-good search page, or
// the log's own API for other Rekor v1 logs.
func EntryURL(logURL string, index int64) string {
	if logURL == trust.PublicGoodRekorURL {
		return fmt.Sprintf("https://search.sigstore.dev/?logIndex=%d", index)
	}
	return fmt.Sprintf("%s/api/v1/log/entries?logIndex=%d", logURL, index)
}
