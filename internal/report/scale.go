package report

import (
	"fmt"
	"strings"
)

// Bounds of the image tables, so that a run over 1000 images stays far
// under GitHub's 1 MiB step summary: each manifest is a row while there are
// at most maxSummaryRows manifest-format pairs; above, one totals line and
// the failed manifests (up to maxFailedRows). The report file lists every
// image.
const (
	maxSummaryRows = 100
	maxFailedRows  = 50
)

// writeImages writes the image tables, collapsed above maxSummaryRows.
func (r *Run) writeImages(b *strings.Builder) {
	if len(r.Subjects)*max(len(r.Formats), 1) <= maxSummaryRows {
		r.writeGroups(b, r.Subjects)
		return
	}
	var shown []Subject
	ok, failed := 0, 0
	for _, s := range r.Subjects {
		if s.OK(!r.Unverified && !r.DryRun) {
			ok++
			continue
		}
		if failed < maxFailedRows {
			shown = append(shown, s)
		}
		failed++
	}
	formats := make([]string, len(r.Formats))
	for i, f := range r.Formats {
		formats[i] = string(f)
	}
	fmt.Fprintf(b, "**%d images** (%s): %s.\n\n", len(r.Subjects), strings.Join(formats, ", "), r.totals(ok, failed))
	r.writeGroups(b, shown)
	if failed > maxFailedRows {
		fmt.Fprintf(b, "❌ %d more failed images: see the report file.\n\n", failed-maxFailedRows)
	}
}

// writeGroups writes one table for each run of subjects from the same
// image, under its name (repository and tag, without the digest), and
// under the table why each failed manifest failed.
func (r *Run) writeGroups(b *strings.Builder, subjects []Subject) {
	cols := r.columns(false)
	for len(subjects) > 0 {
		n := 1
		for n < len(subjects) && imageName(subjects[n]) == imageName(subjects[0]) {
			n++
		}
		group := subjects[:n]
		subjects = subjects[n:]
		fmt.Fprintf(b, "#### %s\n\n", mdCode(imageName(group[0])))
		writeTable(b, cols, rows(group, ""))
		b.WriteString("\n")
		failures := false
		for _, s := range group {
			if s.OK(!r.Unverified && !r.DryRun) {
				continue
			}
			fmt.Fprintf(b, "- ❌ %s", mdCode(shortDigest(s.Digest)))
			if s.Platform != "" {
				fmt.Fprintf(b, " (%s)", mdText(s.Platform))
			}
			fmt.Fprintf(b, ": %s\n", mdText(failure(s)))
			failures = true
		}
		if failures {
			b.WriteString("\n")
		}
	}
}

// imageName is the image a subject came from as it was given, without its
// digest: repository[:tag].
func imageName(s Subject) string {
	n := s.Input
	if n == "" {
		n = s.Digest
	}
	if i := strings.LastIndex(n, "@"); i >= 0 {
		n = n[:i]
	}
	return n
}

// failure says why s failed.
func failure(s Subject) string {
	if s.Error == "" && len(s.Verifications) == 0 {
		return "not verified"
	}
	return s.Failure()
}

// totals says how many images passed and failed, in the run's words.
func (r *Run) totals(ok, failed int) string {
	done := "signed and verified"
	switch {
	case r.DryRun:
		done = "planned"
	case r.Command == "verify", r.Command == "promote":
		done = "verified"
	case r.Unverified:
		done = "signed"
	}
	s := fmt.Sprintf("✅ %d %s", ok, done)
	if failed > 0 {
		s += fmt.Sprintf(", ❌ %d failed (listed below)", failed)
	}
	return s + "; every image is in the report file"
}
