package e2e

import (
	"debug/elf"
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryStatic checks what the Dockerfile relies on: the binary, built
// as the image builds it, is statically linked (the distroless static base
// has no libc) and runs with an empty environment (no HOME, no PATH).
func TestBinaryStatic(t *testing.T) {
	bin := keylessBin(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("binary has a dynamic loader (PT_INTERP): not statically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("binary imports shared libraries %v (%v)", libs, err)
	}
	for _, args := range [][]string{{"version"}, {"sign", "-h"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("keyless %s with an empty environment: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// With an empty environment and no token, signing stops at once with
	// exit 2 and says what to give.
	cmd := exec.Command(bin, "sign", "registry.example.com/app@sha256:"+strings.Repeat("a", 64))
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "identity-token") {
		t.Errorf("keyless sign with no token: %v, want exit 2 naming identity-token\n%s", err, out)
	}
}
