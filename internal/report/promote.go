package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/promote"
)

// Promotion is what a promote run did with one subject that verified at
// the source: its copy, the checks read back from the destination, and
// its verification summaries.
type Promotion struct {
	// Destination is repository@sha256:… at the destination.
	Destination string `json:"destination"`
	// Copied is what was written there, and what was found there.
	Copied promote.Copied `json:"copied"`
	// Verifications are the checks at the destination, one per format
	// and kind, as at the source.
	Verifications []Verification `json:"verifications,omitempty"`
	// VSAs are the verification summaries signed there (or found from an
	// earlier run: reused), one per format.
	VSAs []Signature `json:"vsas,omitempty"`
	// WantVSA is true when the run was asked to sign them.
	WantVSA bool `json:"-"`
}

// OK reports whether p verified at the destination and has the
// verification summary the run was asked for.
func (p *Promotion) OK() bool {
	if p == nil || len(p.Verifications) == 0 {
		return false
	}
	for _, v := range p.Verifications {
		if !v.Verified {
			return false
		}
	}
	return !p.WantVSA || len(p.VSAs) > 0
}

// failure says why p failed, when its subject has no error.
func (p *Promotion) failure() string {
	if p == nil {
		return "not promoted"
	}
	var reasons []string
	for _, v := range p.Verifications {
		if !v.Verified {
			reasons = append(reasons, fmt.Sprintf("%s%s: %s", v.Format, kindName(v.PredicateType), strings.Join(v.Reasons, "; ")))
		}
	}
	if len(reasons) > 0 {
		return "verification at the destination failed: " + strings.Join(reasons, "; ")
	}
	if p.WantVSA && len(p.VSAs) == 0 {
		return "no verification summary was signed"
	}
	return "not verified at the destination"
}

// kindName names an attestation's predicate type after its format.
func kindName(predicateType string) string {
	if predicateType == "" {
		return ""
	}
	return " " + predicateType
}

func newPromotion(p *job.Promotion) *Promotion {
	if p == nil {
		return nil
	}
	out := &Promotion{Destination: p.Destination, Copied: p.Copied}
	for _, v := range p.Verifications {
		out.Verifications = append(out.Verifications, newVerification(v))
	}
	for _, s := range p.VSAs {
		out.VSAs = append(out.VSAs, newSignature(s))
	}
	return out
}

// CopiedText says in a line what a promotion copied: the manifest, and
// per format what was written, then what was there already.
func CopiedText(c promote.Copied) string {
	var parts []string
	if c.Manifest {
		parts = append(parts, "manifest")
	}
	var legacy, layers, present int
	n := map[promote.Format]int{}
	for _, p := range c.Proofs {
		switch {
		case !p.Copied:
			present++
		case p.Format == promote.Legacy:
			legacy++
			layers += p.Layers
		default:
			n[p.Format]++
		}
	}
	if legacy > 0 {
		parts = append(parts, fmt.Sprintf("legacy: %s (%s)", plural(legacy, "tag"), plural(layers, "signature")))
	}
	for _, f := range []promote.Format{promote.Bundle, promote.SBOM, promote.Referrer} {
		if n[f] > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", f, n[f]))
		}
	}
	s := strings.Join(parts, "; ")
	if s == "" {
		s = "nothing new"
	}
	if present > 0 {
		s += fmt.Sprintf(" (%s already there)", plural(present, "proof"))
	}
	return s
}

// plural is n things.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// promoteOutputs are a promote run's outputs, in a fixed order. None is
// named as an input is, so that no dotenv report of one job can set a
// later job's input.
func (r *Run) promoteOutputs() []Output {
	var digests, sources, copied, vsas []string
	for _, s := range r.Subjects {
		sources = append(sources, s.Digest)
		p := s.Promotion
		if p == nil {
			continue
		}
		digests = append(digests, p.Destination)
		copied = append(copied, p.Destination+" "+CopiedText(p.Copied))
		for _, v := range p.VSAs {
			vsas = append(vsas, v.Location)
		}
	}
	out := []Output{
		{"digests", strings.Join(digests, "\n")},
		{"sources", strings.Join(sources, "\n")},
		{"copied", strings.Join(copied, "\n")},
		{"verified", strconv.FormatBool(r.Verified)},
	}
	if r.VSA != nil {
		out = append(out, Output{"vsas", strings.Join(vsas, "\n")}, Output{"vsa-identity", r.VSA.SAN}, Output{"vsa-oidc-issuer", r.VSA.Issuer})
	}
	return out
}

// writePromotion writes a promote run's destination table: per manifest
// what was copied, how it verified there, and its verification summary.
func (r *Run) writePromotion(b *strings.Builder) {
	fmt.Fprintf(b, "### Promoted to %s\n\n", mdCode(r.Destination))
	var promoted []Subject
	for _, s := range r.Subjects {
		if s.Promotion != nil {
			promoted = append(promoted, s)
		}
	}
	if len(promoted) == 0 {
		b.WriteString("Nothing was copied: every image must verify at the source before any is.\n\n")
		return
	}
	shown, hidden := promoted, 0
	if len(shown) > maxSummaryRows {
		shown = nil
		for _, s := range promoted {
			if !s.OK(true) && len(shown) < maxFailedRows {
				shown = append(shown, s)
			}
		}
		hidden = len(promoted) - len(shown)
	}
	cols := []column{
		{"result", func(s row) string { return map[bool]string{true: "✅", false: "❌"}[s.OK(true)] }},
		{"digest", func(s row) string { return mdCode(shortDigest(s.Promotion.Destination)) }},
		{"platform", func(s row) string { return orDash(mdText(s.Platform)) }},
		{"copied", func(s row) string { return mdText(CopiedText(s.Promotion.Copied)) }},
		{"verified at the destination", func(s row) string { return destinationCell(s.Promotion) }},
	}
	if r.VSA != nil {
		cols = append(cols, column{"verification summary", func(s row) string { return vsaCell(s.Promotion) }})
	}
	writeTable(b, cols, rows(shown, ""))
	b.WriteString("\n")
	if hidden > 0 {
		fmt.Fprintf(b, "%d more promoted manifests: see the report file.\n\n", hidden)
	}
	failures := false
	for _, s := range shown {
		if s.OK(true) {
			continue
		}
		fmt.Fprintf(b, "- ❌ %s: %s\n", mdCode(shortDigest(s.Promotion.Destination)), mdText(s.Failure()))
		failures = true
	}
	if failures {
		b.WriteString("\n")
	}
	if r.VSA != nil {
		fmt.Fprintf(b, "Verification summaries (%s) signed as %s, issuer %s.\n\n", mdCode("https://slsa.dev/verification_summary/v1"), mdCode(r.VSA.SAN), mdCode(r.VSA.Issuer))
	}
}

// destinationCell is how p verified at the destination: each check.
func destinationCell(p *Promotion) string {
	ok := 0
	for _, v := range p.Verifications {
		if v.Verified {
			ok++
		}
	}
	if len(p.Verifications) == 0 {
		return "—"
	}
	mark := "✅"
	if ok < len(p.Verifications) {
		mark = "❌"
	}
	return fmt.Sprintf("%s %d of %d checks", mark, ok, len(p.Verifications))
}

// vsaCell names p's verification summaries by format.
func vsaCell(p *Promotion) string {
	var parts []string
	for _, v := range p.VSAs {
		part := "✅ " + string(v.Format) + " " + logEntry(v.LogURL, v.LogIndex)
		if v.Reused {
			part += " (already signed)"
		}
		parts = append(parts, part)
	}
	return orDash(strings.Join(parts, ", "))
}
