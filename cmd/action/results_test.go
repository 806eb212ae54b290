package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/ci"
	"github.com/keyless-dev/keyless/internal/report"
	"github.com/keyless-dev/keyless/internal/sign"
)

// TestTektonResultsWorstCase checks the worst cases docs/tekton.md
// documents — with a 64-character repository and the longest identity, 6
// images in both formats or 9 in one — fit the results budget of the 4 KiB
// termination message, and that one more image does not.
func TestTektonResultsWorstCase(t *testing.T) {
	for _, tc := range []struct {
		formats []sign.Format
		images  int
	}{
		{[]sign.Format{sign.Bundle, sign.Legacy}, 6},
		{[]sign.Format{sign.Bundle}, 9},
	} {
		t.Run(fmt.Sprint(tc.formats), func(t *testing.T) {
			if n := resultBytes(tc.formats, tc.images); n > ci.ResultLimit {
				t.Errorf("%d images take %d bytes of results, over the %d-byte budget", tc.images, n, ci.ResultLimit)
			}
			if n := resultBytes(tc.formats, tc.images+1); n <= ci.ResultLimit {
				t.Errorf("%d images take only %d bytes: the documented limit undersells what fits", tc.images+1, n)
			}
		})
	}
}

// resultBytes is the size of the results of a worst-case sign run.
func resultBytes(formats []sign.Format, images int) int {
	repo := "registry.example.com/" + strings.Repeat("r", 64-len("registry.example.com/"))
	r := &report.Run{
		Command: "sign", Formats: formats, Verified: true,
		Identity: report.Identity{
			SAN:    "https://kubernetes.io/namespaces/" + strings.Repeat("n", 63) + "/serviceaccounts/" + strings.Repeat("s", 63),
			Issuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/" + strings.Repeat("A", 32),
		},
	}
	for i := range images {
		s := report.Subject{Digest: fmt.Sprintf("%s@sha256:%064x", repo, i)}
		for _, f := range formats {
			loc := fmt.Sprintf("%s@sha256:%064x", repo, 1000+i)
			if f == sign.Legacy {
				loc = fmt.Sprintf("%s:sha256-%064x.sig", repo, i)
			}
			s.Signatures = append(s.Signatures, report.Signature{Format: f, Location: loc, LogIndex: 1 << 40})
		}
		r.Subjects = append(r.Subjects, s)
	}
	total := 0
	for _, o := range r.Outputs() {
		total += len(o.Value)
	}
	return total
}
