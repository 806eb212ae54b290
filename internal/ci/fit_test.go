package ci

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFit(t *testing.T) {
	digests := strings.Repeat("r/a@sha256:"+strings.Repeat("0", 64)+"\n", 20) // 1520 bytes
	outputs := [][2]string{{"digests", digests}, {"signatures", digests}, {"verified", "true"}, {"result", `{"run":1}`}}
	note := func(left string, limit int) [2]string {
		return [2]string{OmittedOutput, fmt.Sprintf("%s left out: over the %d-byte limit of the outputs; the full run is in keyless/report.json", left, limit)}
	}
	tests := []struct {
		name  string
		limit int
		want  [][2]string
	}{
		{"everything fits", 4000, outputs},
		{"the signatures go, whole", 2000, [][2]string{{"digests", digests}, {"signatures", ""}, {"verified", "true"}, {"result", ""}, note("result, signatures", 2000)}},
		{"the digests go last", 300, [][2]string{{"digests", ""}, {"signatures", ""}, {"verified", "true"}, {"result", ""}, note("result, signatures, digests", 300)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := fit(outputs, tt.limit, valueBytes, "keyless/report.json")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fit (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGitLabPublishManyImages checks that a run over many images still
// publishes: the dotenv report leaves the lists out and says where they are.
func TestGitLabPublishManyImages(t *testing.T) {
	t.Chdir(t.TempDir())
	var log bytes.Buffer
	digests := strings.Repeat("registry.gitlab.com/group/app@sha256:"+strings.Repeat("0", 64)+"\n", 1000)
	err := NewGitLab(Env{Getenv: env(nil), Stdout: &log}).Publish(Artifacts{Outputs: [][2]string{{"digests", digests}, {"verified", "true"}}, Report: []byte("{}")})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	b, err := os.ReadFile("keyless/keyless.env")
	if err != nil {
		t.Fatal(err)
	}
	want := "KEYLESS_DIGESTS=\nKEYLESS_VERIFIED=true\nKEYLESS_OMITTED=digests left out: over the 5120-byte limit of the outputs; the full run is in keyless/report.json\n"
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("keyless.env (-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "digests left out") {
		t.Errorf("the log does not say what was left out:\n%s", log.String())
	}
}
