package ci

import (
	"strings"
	"testing"
)

func TestOneLineAndLines(t *testing.T) {
	hostile := "nope\n::warning title=injected::hello\r::add-mask::x\x1b[0Ksection_end:1:x"
	one := OneLine(hostile)
	if strings.ContainsAny(one, "\n\r\x1b") {
		t.Errorf("OneLine(%q) = %q keeps control characters", hostile, one)
	}
	for _, l := range strings.Split(Lines(hostile), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "::") || strings.Contains(l, "\x1b") {
			t.Errorf("Lines left a line a runner would read as a command: %q", l)
		}
	}
	if got, want := Lines("keyless: a\n  permissions:\n    id-token: write"), "keyless: a\n  permissions:\n    id-token: write"; got != want {
		t.Errorf("Lines changed a harmless message: %q", got)
	}
}
