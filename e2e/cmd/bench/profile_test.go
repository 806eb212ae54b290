package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeMain(t *testing.T, src string) string {
	t.Helper()
	repo := t.TempDir()
	dir := filepath.Join(repo, "cmd", "action")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return repo
}

func TestProfileOverlayStopsTheProfileBeforeExit(t *testing.T) {
	repo := writeMain(t, "package main\n\nfunc main() {\n\tcode := run()\n\tos.Exit(code)\n}\n")
	path, err := profileOverlay(repo, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var o struct{ Replace map[string]string }
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Replace) != 2 {
		t.Fatalf("overlay replaces %d files, want main.go and the hook: %s", len(o.Replace), b)
	}
	for orig, repl := range o.Replace {
		got, err := os.ReadFile(repl)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Base(orig) {
		case "main.go":
			if !strings.Contains(string(got), "\tstopProfile()\n\tos.Exit(code)\n") {
				t.Errorf("main.go does not stop the profile before exiting:\n%s", got)
			}
		case "zz_benchprofile.go":
			if !strings.Contains(string(got), "pprof.StartCPUProfile") {
				t.Errorf("the hook does not start a profile:\n%s", got)
			}
		default:
			t.Errorf("unexpected file %s in the overlay", orig)
		}
	}
}

func TestProfileOverlayRefusesAnUnknownMain(t *testing.T) {
	repo := writeMain(t, "package main\n\nfunc main() { os.Exit(run()) }\n")
	if _, err := profileOverlay(repo, t.TempDir()); err == nil || !strings.Contains(err.Error(), "update the bench's profile hook") {
		t.Errorf("got %v, want an error naming the hook to update", err)
	}
}
