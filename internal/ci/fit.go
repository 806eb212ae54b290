package ci

import (
	"fmt"
	"slices"
	"strings"
)

// OmittedOutput names the outputs left empty because they did not fit.
const OmittedOutput = "omitted"

// bulky are the outputs that grow with the number of images, emptied in
// this order when the outputs do not fit: the whole run as JSON first, the
// digests last (IMAGES is Tekton Chains' type hint).
var bulky = []string{"result", "attestations", "rekor-log-indexes", "signatures", "IMAGES", "digests"}

// fit returns outputs that take at most limit bytes as measured by size.
// When they do not fit, it empties bulky outputs, whole (a cut list would
// pass for a complete one), until they do, and adds an omitted output that
// names them and where the full report is; note says the same for the
// log, and is "" when nothing was left out.
func fit(outputs [][2]string, limit int, size func([][2]string) int, report string) (out [][2]string, note string) {
	out = slices.Clone(outputs)
	var left []string
	for _, name := range bulky {
		if size(withNote(out, left, limit, report)) <= limit {
			break
		}
		for i := range out {
			if out[i][0] == name && out[i][1] != "" {
				out[i][1] = ""
				left = append(left, name)
			}
		}
	}
	if len(left) == 0 {
		return out, ""
	}
	out = withNote(out, left, limit, report)
	return out, out[len(out)-1][1]
}

func withNote(outputs [][2]string, left []string, limit int, report string) [][2]string {
	if len(left) == 0 {
		return outputs
	}
	note := fmt.Sprintf("%s left out: over the %d-byte limit of the outputs; the full run is in %s", strings.Join(left, ", "), limit, report)
	return append(slices.Clip(outputs), [2]string{OmittedOutput, note})
}

// valueBytes is the size of the values alone.
func valueBytes(outputs [][2]string) int {
	n := 0
	for _, o := range outputs {
		n += len(o[1])
	}
	return n
}
