package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// statementAnnotations returns the subject annotations of each bundle
// stored for ref.
func statementAnnotations(t *testing.T, ref string) []map[string]string {
	t.Helper()
	bundles, err := stk.Bundles(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, raw := range bundles {
		var b struct {
			DSSEEnvelope struct {
				Payload []byte `json:"payload"`
			} `json:"dsseEnvelope"`
		}
		var stmt struct {
			Subject []struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b.DSSEEnvelope.Payload, &stmt); err != nil || len(stmt.Subject) != 1 {
			t.Fatalf("statement: %v", err)
		}
		out = append(out, stmt.Subject[0].Annotations)
	}
	return out
}

// TestReRunWithOtherAnnotations signs with env=staging, then runs again
// asking for env=prod: the signature by the same identity is valid, but it
// is not what the second run was asked for, so that run must sign anew.
func TestReRunWithOtherAnnotations(t *testing.T) {
	for _, format := range []string{"legacy", "bundle"} {
		t.Run(format, func(t *testing.T) {
			img := pushImage(t)
			sc := map[string]string{"legacy": stk.SigningConfigV1, "bundle": stk.SigningConfig}[format]
			sign := func(annotations string) result {
				r := runKeyless(t, githubEnv(merge(trustInputs(sc), map[string]string{
					"images": img, "signature-format": format, "annotations": annotations,
				})))
				if r.code != 0 || r.outputs["verified"] != "true" {
					t.Fatalf("%s: exit %d\n%s", annotations, r.code, r.stderr)
				}
				return r
			}
			sign("env=staging")
			r := sign("env=prod")
			var rep struct {
				Subjects []struct {
					Signatures []struct {
						Reused bool `json:"reused"`
					} `json:"signatures"`
				} `json:"subjects"`
			}
			if err := json.Unmarshal([]byte(r.files["workspace/keyless-report.json"]), &rep); err != nil || len(rep.Subjects) != 1 || len(rep.Subjects[0].Signatures) != 1 {
				t.Fatalf("report: %v\n%s", err, r.files["workspace/keyless-report.json"])
			}
			if rep.Subjects[0].Signatures[0].Reused || strings.Contains(r.summary, "already signed") {
				t.Fatalf("the env=prod run reused the env=staging signature:\n%s", r.summary)
			}
			if format == "legacy" {
				cosignCheck{stk.CosignV2, []string{"-a", "env=prod"}}.accepts(t, img, githubIdentity, stk.Issuer("github"))
			} else {
				got := statementAnnotations(t, img)
				if !slices.ContainsFunc(got, func(a map[string]string) bool { return len(a) == 1 && a["env"] == "prod" }) {
					t.Errorf("no bundle statement carries exactly env=prod: %v", got)
				}
			}
			// A third run asking for env=prod again reuses that signature.
			again := sign("env=prod")
			if !strings.Contains(again.summary, "already signed") {
				t.Errorf("the second env=prod run signed again:\n%s", again.summary)
			}
		})
	}
}
