package report

import (
	"fmt"
	"strings"
)

// Bounds of the summary table, so that a run over 1000 images stays far
// under GitHub's 1 MiB step summary: each image and format is a row up to
// maxSummaryRows; above, the failed images are rows (up to maxFailedRows)
// and the others one totals row. The report file lists every image.
const (
	maxSummaryRows = 100
	maxFailedRows  = 50
)

// writeRows writes the rows of the summary table.
func (r *Run) writeRows(b *strings.Builder) {
	if len(r.Subjects)*max(len(r.Formats), 1) <= maxSummaryRows {
		for _, s := range r.Subjects {
			b.WriteString(r.rows(s))
		}
		return
	}
	ok, failed := 0, 0
	for _, s := range r.Subjects {
		if s.OK(!r.Unverified && !r.DryRun) {
			ok++
			continue
		}
		if failed < maxFailedRows {
			b.WriteString(r.rows(s))
		}
		failed++
	}
	if failed > maxFailedRows {
		fmt.Fprintf(b, "| … | | | | | ❌ %d more failed images: see the report file |\n", failed-maxFailedRows)
	}
	formats := make([]string, len(r.Formats))
	for i, f := range r.Formats {
		formats[i] = string(f)
	}
	fmt.Fprintf(b, "| **%d images** | | | %s | | %s |\n", len(r.Subjects), strings.Join(formats, ", "), r.totals(ok, failed))
}

// totals says how many images passed and failed, in the run's words.
func (r *Run) totals(ok, failed int) string {
	done := "signed and verified"
	switch {
	case r.DryRun:
		done = "planned"
	case r.Command == "verify":
		done = "verified"
	case r.Unverified:
		done = "signed"
	}
	s := fmt.Sprintf("✅ %d %s", ok, done)
	if failed > 0 {
		s += fmt.Sprintf(", ❌ %d failed (listed above)", failed)
	}
	return s + "; every image is in the report file"
}
