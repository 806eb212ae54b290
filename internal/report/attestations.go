package report

import (
	"fmt"
	"slices"
	"strings"
)

// kinds are the predicate types of the attestations of s, in the order
// signed.
func kinds(s Subject) []string {
	var out []string
	add := func(pt string) {
		if pt != "" && !slices.Contains(out, pt) {
			out = append(out, pt)
		}
	}
	for _, sig := range s.Signatures {
		add(sig.PredicateType)
	}
	for _, v := range s.Verifications {
		add(v.PredicateType)
	}
	return out
}

// rows are the summary rows of subjects for one kind.
func rows(subjects []Subject, kind string) []row {
	out := make([]row, len(subjects))
	for i, s := range subjects {
		out[i] = row{Subject: s, kind: kind}
	}
	return out
}

// writeAttestations writes the table of attestations, a row for each
// manifest and predicate type, or, above maxSummaryRows, their count.
func (r *Run) writeAttestations(b *strings.Builder) {
	var all []row
	var types []string
	for _, s := range r.Subjects {
		for _, k := range kinds(s) {
			all = append(all, row{Subject: s, kind: k})
			if !slices.Contains(types, k) {
				types = append(types, k)
			}
		}
	}
	if r.DryRun && len(r.Attestations) > 0 {
		quoted := make([]string, len(r.Attestations))
		for i, t := range r.Attestations {
			quoted[i] = mdCode(t)
		}
		fmt.Fprintf(b, "### Attestations\n\nWould attest, for each manifest: %s.\n\n", strings.Join(quoted, ", "))
		return
	}
	if len(all) == 0 {
		return
	}
	b.WriteString("### Attestations\n\n")
	if len(all)*max(len(r.Formats), 1) > maxSummaryRows {
		quoted := make([]string, len(types))
		for i, t := range types {
			quoted[i] = mdCode(t)
		}
		fmt.Fprintf(b, "**%d attestations** (%s): see the report file.\n\n", len(all), strings.Join(quoted, ", "))
		return
	}
	writeTable(b, r.columns(true), all)
	b.WriteString("\n")
}
