package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfileRules checks that the Dockerfile (what `image: Dockerfile`
// builds between releases) follows the rules of scripts/image: no USER (a
// non-root GitHub action image cannot write the runner's files), and the
// same distroless bases pinned by the same digests.
func TestDockerfileRules(t *testing.T) {
	df, err := os.ReadFile(repoFile("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(repoFile("scripts/image"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(df), "\n") {
		if regexp.MustCompile(`(?i)^\s*USER\s`).MatchString(line) {
			t.Errorf("Dockerfile sets %q: GitHub container actions must run as the default user, root", line)
		}
	}
	from := regexp.MustCompile(`(?m)^FROM (gcr\.io/distroless/\S+)`).FindAllStringSubmatch(string(df), -1)
	pins := regexp.MustCompile(`(?m)^DISTROLESS_\w+=(\S+)$`).FindAllStringSubmatch(string(script), -1)
	if len(from) != 2 || len(pins) != 2 {
		t.Fatalf("Dockerfile has %d distroless bases, scripts/image %d; want 2 each", len(from), len(pins))
	}
	for _, f := range from {
		if !strings.Contains(f[1], "@sha256:") {
			t.Errorf("Dockerfile base %s is not pinned by digest", f[1])
		}
		if !strings.Contains(string(script), f[1]) {
			t.Errorf("Dockerfile base %s differs from scripts/image's %v", f[1], pins)
		}
	}
}
