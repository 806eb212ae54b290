package job

import "testing"

// TestUploadBackoffSteps checks that ggcr redoes a blob upload ten times:
// a Cap in the backoff would end its steps as soon as it is reached.
func TestUploadBackoffSteps(t *testing.T) {
	b := uploadBackoff
	steps := 0
	for b.Steps > 0 {
		b.Step()
		steps++
	}
	if steps != 10 {
		t.Errorf("upload backoff gives %d steps, want 10", steps)
	}
}
