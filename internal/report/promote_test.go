package report

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/promote"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

const (
	devA  = "ghcr.io/octo/dev@sha256:" + hexA
	prodA = "registry.example/prod/app@sha256:" + hexA
	prodB = "registry.example/prod/app@sha256:" + hexB
	vsaID = "https://github.com/octo/deploy/.github/workflows/promote.yml@refs/heads/main"
)

// promoteResult is a promote run of two manifests, the second failing at
// the destination.
func promoteResult() *job.Result {
	ok := []verify.Result{{Format: sign.Bundle, Verified: true, Location: "registry.example/prod/app@sha256:" + strings.Repeat("1", 64), LogURL: "https://rekor.example", LogIndex: 5}}
	return &job.Result{
		Command: "promote", Policy: ghPolicy, Formats: []sign.Format{sign.Bundle}, Trust: "t",
		Destination: "registry.example/prod/app", VSA: true,
		VSAPolicy: verify.Policy{Identity: vsaID, Issuer: ghIS},
		Subjects: []job.Subject{
			{
				Input: "ghcr.io/octo/dev:v1", Digest: devA,
				Verifications: []verify.Result{{Format: sign.Bundle, Verified: true, Location: "ghcr.io/octo/dev@sha256:" + strings.Repeat("1", 64), LogIndex: 5}},
				Promotion: &job.Promotion{
					Destination: prodA,
					Copied: promote.Copied{Manifest: true, Proofs: []promote.Proof{
						{Format: promote.Legacy, Location: "registry.example/prod/app:sha256-" + hexA + ".sig", Layers: 2, Copied: true},
						{Format: promote.Bundle, Location: "registry.example/prod/app@sha256:" + strings.Repeat("1", 64), Copied: true},
						{Format: promote.SBOM, Location: "registry.example/prod/app@sha256:" + strings.Repeat("3", 64), Copied: false},
					}},
					Verifications: ok,
					VSAs:          []sign.Signature{{Format: sign.Bundle, PredicateType: payload.VSAType, Location: "registry.example/prod/app@sha256:" + strings.Repeat("4", 64), LogURL: "https://rekor.example", LogIndex: 9}},
				},
			},
			{
				Input: "ghcr.io/octo/dev:v1", Digest: "ghcr.io/octo/dev@sha256:" + hexB, Platform: "linux/arm64",
				Verifications: []verify.Result{{Format: sign.Bundle, Verified: true, LogIndex: 6}},
				Promotion: &job.Promotion{
					Destination:   prodB,
					Verifications: []verify.Result{{Format: sign.Bundle, LogIndex: -1, Reasons: []string{"no bundle signature found"}}},
				},
			},
		},
		Started: time.Unix(0, 0).UTC(),
	}
}

func TestPromoteRecord(t *testing.T) {
	r := New(promoteResult())
	if r.OK() {
		t.Fatal("OK() = true for a run whose second manifest failed at the destination")
	}
	a, b := r.Subjects[0], r.Subjects[1]
	if !a.OK(true) || b.OK(true) {
		t.Errorf("OK: first %v, second %v; want true, false", a.OK(true), b.OK(true))
	}
	if got := b.Failure(); got != "verification at the destination failed: bundle: no bundle signature found" {
		t.Errorf("Failure() = %q", got)
	}
	noVSA := *a.Promotion
	noVSA.VSAs = nil
	if noVSA.OK() || noVSA.failure() != "no verification summary was signed" {
		t.Errorf("a promotion without the summary asked for: OK %v, failure %q", noVSA.OK(), noVSA.failure())
	}

	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Command, Destination string
		VSA                  struct{ CertificateIdentity, CertificateOidcIssuer string }
		Subjects             []struct {
			Digest    string
			Promotion struct {
				Destination string
				Copied      struct {
					Manifest bool
					Proofs   []struct{ Format string }
				}
				VSAs []struct{ Location string }
			}
		}
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Command, Destination, VSA, Issuer string
		Sources, Destinations             []string
		Manifest                          bool
		Proofs, VSAs                      int
	}
	got := summary{rec.Command, rec.Destination, rec.VSA.CertificateIdentity, rec.VSA.CertificateOidcIssuer, nil, nil,
		rec.Subjects[0].Promotion.Copied.Manifest, len(rec.Subjects[0].Promotion.Copied.Proofs), len(rec.Subjects[0].Promotion.VSAs)}
	for _, s := range rec.Subjects {
		got.Sources = append(got.Sources, s.Digest)
		got.Destinations = append(got.Destinations, s.Promotion.Destination)
	}
	want := summary{"promote", "registry.example/prod/app", vsaID, ghIS, []string{devA, "ghcr.io/octo/dev@sha256:" + hexB}, []string{prodA, prodB}, true, 3, 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON report (-want +got):\n%s", diff)
	}
}

func TestPromoteOutputs(t *testing.T) {
	got := map[string]string{}
	var names []string
	for _, o := range New(promoteResult()).Outputs() {
		got[o.Name] = o.Value
		names = append(names, o.Name)
	}
	want := map[string]string{
		"digests":         prodA + "\n" + prodB,
		"sources":         devA + "\n" + "ghcr.io/octo/dev@sha256:" + hexB,
		"copied":          prodA + " manifest; legacy: 1 tag (2 signatures); bundle: 1 (1 proof already there)\n" + prodB + " nothing new",
		"verified":        "false",
		"vsas":            "registry.example/prod/app@sha256:" + strings.Repeat("4", 64),
		"vsa-identity":    vsaID,
		"vsa-oidc-issuer": ghIS,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"digests", "sources", "copied", "verified", "vsas", "vsa-identity", "vsa-oidc-issuer"}, names); diff != "" {
		t.Errorf("output order (-want +got):\n%s", diff)
	}
	res := promoteResult()
	res.VSA = false
	for _, o := range New(res).Outputs() {
		if strings.HasPrefix(o.Name, "vsa") {
			t.Errorf("output %s without verification summaries", o.Name)
		}
	}
}

func TestPromoteMarkdown(t *testing.T) {
	md := markdown(t, New(promoteResult()), SummaryOptions{})
	for _, want := range []string{
		"## keyless promote — ❌ failed\n\n### At the source\n\n",
		// The source table shows the gate at the source: both passed.
		"| ✅ | `sha256:bbbbbbbbbbbb…` | linux/arm64 | ✅ entry 6 |\n\n### Promoted to",
		"### Promoted to `registry.example/prod/app`\n\n" +
			"| result | digest | platform | copied | verified at the destination | verification summary |\n" +
			"|---|---|---|---|---|---|\n" +
			"| ✅ | `sha256:aaaaaaaaaaaa…` | — | manifest; legacy: 1 tag (2 signatures); bundle: 1 (1 proof already there) | ✅ 1 of 1 checks | ✅ bundle entry 9 |\n" +
			"| ❌ | `sha256:bbbbbbbbbbbb…` | linux/arm64 | nothing new | ❌ 0 of 1 checks | — |\n\n" +
			"- ❌ `sha256:bbbbbbbbbbbb…`: verification at the destination failed: bundle: no bundle signature found\n\n",
		"signed as `" + vsaID + "`",
		"registry.example/prod/app@sha256:" + hexA, // the commands verify the copy
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	res := promoteResult()
	res.Subjects[1].Promotion = nil
	res.Subjects[1].Err = errors.New("not promoted")
	res.Subjects[0].Promotion = nil
	if md := markdown(t, New(res), SummaryOptions{}); !strings.Contains(md, "Nothing was copied") {
		t.Errorf("summary of a run that copied nothing:\n%s", md)
	}
}

func TestPromotePolicyInput(t *testing.T) {
	in := New(promoteResult()).PolicyInput()
	if diff := cmp.Diff([]string{prodA, prodB}, in.Images); diff != "" {
		t.Errorf("policy images: the destination's (-want +got):\n%s", diff)
	}
	if len(in.Signatures) != 1 || in.Signatures[0].LogURL != "https://rekor.example" {
		t.Errorf("policy signatures = %+v, want the one that verified at the destination", in.Signatures)
	}
}
