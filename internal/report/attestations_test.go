package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/sign"
)

const slsa = "https://slsa.dev/provenance/v1"

// attestRun is signRun with a provenance attestation on each manifest: in
// both formats on the first; on the second, the legacy one failed.
func attestRun() *Run {
	r := signRun()
	a, b := &r.Subjects[0], &r.Subjects[1]
	a.Signatures = append(a.Signatures,
		Signature{Format: sign.Bundle, PredicateType: slsa, Location: "ghcr.io/octo/app@sha256:" + strings.Repeat("3", 64), LogURL: "https://rekor.sigstore.dev", LogIndex: 102},
		Signature{Format: sign.Legacy, PredicateType: slsa, Location: "ghcr.io/octo/app:sha256-" + hexA + ".att", LogURL: "https://rekor.sigstore.dev", LogIndex: 103})
	a.Verifications = append(a.Verifications,
		Verification{Format: sign.Bundle, PredicateType: slsa, Verified: true, LogIndex: 102},
		Verification{Format: sign.Legacy, PredicateType: slsa, Verified: true, LogIndex: 103})
	b.Verifications[1] = Verification{Format: sign.Legacy, Verified: true, LogIndex: 8}
	b.Signatures = append(b.Signatures,
		Signature{Format: sign.Bundle, PredicateType: slsa, Location: "ghcr.io/octo/app@sha256:" + strings.Repeat("4", 64), LogURL: "https://rekor.example", LogIndex: 9},
		Signature{Format: sign.Legacy, PredicateType: slsa, Location: "ghcr.io/octo/app:sha256-" + hexB + ".att", LogURL: "https://rekor.example", LogIndex: 10})
	b.Verifications = append(b.Verifications,
		Verification{Format: sign.Bundle, PredicateType: slsa, Verified: true, LogIndex: 9},
		Verification{Format: sign.Legacy, PredicateType: slsa, Verified: false, LogIndex: -1, Reasons: []string{"no attestation found"}})
	return r
}

func TestAttestationOutputs(t *testing.T) {
	got := map[string]string{}
	for _, o := range attestRun().Outputs() {
		got[o.Name] = o.Value
	}
	want := strings.Join([]string{
		slsa + " ghcr.io/octo/app@sha256:" + strings.Repeat("3", 64) + " 102",
		slsa + " ghcr.io/octo/app:sha256-" + hexA + ".att 103",
		slsa + " ghcr.io/octo/app@sha256:" + strings.Repeat("4", 64) + " 9",
		slsa + " ghcr.io/octo/app:sha256-" + hexB + ".att 10",
	}, "\n")
	if diff := cmp.Diff(want, got["attestations"]); diff != "" {
		t.Errorf("attestations output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("100\n101\n7\n8", got["rekor-log-indexes"]); diff != "" {
		t.Errorf("rekor-log-indexes holds only the signatures (-want +got):\n%s", diff)
	}
	for _, o := range signRun().Outputs() {
		if o.Name == "attestations" {
			t.Errorf("a run without attestations has an attestations output %q", o.Value)
		}
	}
}

func TestAttestationJSON(t *testing.T) {
	b, err := json.Marshal(attestRun().Subjects[0])
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Signatures []struct {
			PredicateType string `json:"predicateType"`
		} `json:"signatures"`
		Verifications []struct {
			PredicateType string `json:"predicateType"`
		} `json:"verifications"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, s := range got.Signatures {
		types = append(types, s.PredicateType)
	}
	for _, v := range got.Verifications {
		types = append(types, v.PredicateType)
	}
	if diff := cmp.Diff([]string{"", "", slsa, slsa, "", "", slsa, slsa}, types); diff != "" {
		t.Errorf("predicate types in the report (-want +got):\n%s", diff)
	}
	if strings.Count(string(b), "predicateType") != 4 {
		t.Errorf("a signature's entry has a predicateType: %s", b)
	}
}

func TestMarkdownAttestations(t *testing.T) {
	md := markdown(t, attestRun(), SummaryOptions{})
	want := "### Attestations\n\n" +
		"| result | digest | platform | predicate type | bundle | legacy |\n" +
		"|---|---|---|---|---|---|\n" +
		"| ✅ | `sha256:aaaaaaaaaaaa…` | — | `" + slsa + "` | ✅ entry [102](https://search.sigstore.dev/?logIndex=102) | ✅ entry [103](https://search.sigstore.dev/?logIndex=103) |\n" +
		"| ❌ | `sha256:bbbbbbbbbbbb…` | linux/arm64 | `" + slsa + "` | ✅ entry 9 | ❌ entry 10 |\n\n"
	if !strings.Contains(md, want) {
		t.Errorf("summary lacks the attestation table\n%s\nin:\n%s", want, md)
	}
	// The image table shows the signatures only: one entry per format.
	img := images(t, md)
	img, _, _ = strings.Cut(img, "### Attestations")
	for _, entry := range []string{"102", "103", "entry 9", "entry 10"} {
		if strings.Contains(img, entry) {
			t.Errorf("the image table shows attestation entry %s:\n%s", entry, img)
		}
	}
	// Every row of the attestation table has the header's cells.
	_, table, _ := strings.Cut(md, "### Attestations\n\n")
	table, _, _ = strings.Cut(table, "\n\n")
	for _, l := range strings.Split(table, "\n") {
		if got := cells(l); got != 4+len(attestRun().Formats) {
			t.Errorf("row %q has %d cells, want %d", l, got, 4+len(attestRun().Formats))
		}
	}
	if strings.Contains(markdown(t, signRun(), SummaryOptions{}), "Attestations") {
		t.Error("a run without attestations has an attestation section")
	}
}

func TestVerifiedPredicate(t *testing.T) {
	r := attestRun()
	r.Command = "verify"
	for i := range r.Subjects {
		r.Subjects[i].Signatures = nil
	}
	pred := json.RawMessage(`{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1"}}`)
	r.Subjects[1].Verifications[2].Predicate = pred
	b, err := json.Marshal(r.Subjects[1])
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Verifications []struct {
			Predicate json.RawMessage `json:"predicate"`
		} `json:"verifications"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var preds []string
	for _, v := range got.Verifications {
		preds = append(preds, string(v.Predicate))
	}
	if diff := cmp.Diff([]string{"", "", string(pred), ""}, preds); diff != "" {
		t.Errorf("predicates in the report: only the verified attestation's (-want +got):\n%s", diff)
	}
	if strings.Count(string(b), `"predicate"`) != 1 {
		t.Errorf("an entry without a verified predicate has a predicate field: %s", b)
	}
	md := markdown(t, r, SummaryOptions{})
	if !strings.Contains(md, "### Attestations") || !strings.Contains(md, "| ❌ | `sha256:bbbbbbbbbbbb…` | linux/arm64 | `"+slsa+"` |") {
		t.Errorf("the verify summary lacks the attestation verification:\n%s", md)
	}
}

// TestDryRunAttestations: a dry run lists the attestations it would make,
// in the summary, the JSON report and the policies it generates.
func TestDryRunAttestations(t *testing.T) {
	r := signRun()
	r.DryRun, r.Verified = true, false
	for i := range r.Subjects {
		r.Subjects[i].Signatures, r.Subjects[i].Verifications = nil, nil
	}
	const spdx = "https://spdx.dev/Document"
	r.Attestations = []string{slsa, spdx}
	md := markdown(t, r, SummaryOptions{})
	if want := "### Attestations\n\nWould attest, for each manifest: `" + slsa + "`, `" + spdx + "`.\n\n"; !strings.Contains(md, want) {
		t.Errorf("dry-run summary lacks\n%s\nin:\n%s", want, md)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Types []string `json:"attestationTypes"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{slsa, spdx}, rec.Types); diff != "" {
		t.Errorf("report's attestationTypes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{slsa, spdx}, r.PolicyInput().Attestations); diff != "" {
		t.Errorf("policy input's attestations (-want +got):\n%s", diff)
	}
	r.Attestations = nil
	if strings.Contains(markdown(t, r, SummaryOptions{}), "Attestations") {
		t.Error("a dry run without attestations has an attestation section")
	}
}
