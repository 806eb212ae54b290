package ci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// destinations is a Publisher with fixed destinations.
type destinations []Destination

func (d destinations) Destinations(string, bool) []Destination { return d }
func (d destinations) Publish(Artifacts) error                 { return nil }

func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "github_output")
	if err := os.WriteFile(existing, []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "blocker") // a regular file
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dest    Destination
		wantErr string // "" means writable
	}{
		{"existing file", Destination{Name: "GITHUB_OUTPUT", Path: existing}, ""},
		{"new file in a directory", Destination{Name: "GITHUB_STEP_SUMMARY", Path: filepath.Join(dir, "summary.md")}, ""},
		{"existing directory", Destination{Name: "output-dir", Path: dir, Dir: true}, ""},
		{"directory made when written", Destination{Name: "output-dir", Path: filepath.Join(dir, "a", "b"), Dir: true}, ""},
		{"file under a regular file", Destination{Name: "GITHUB_OUTPUT", Path: filepath.Join(blocker, "out"), Fix: "run as root"},
			"GITHUB_OUTPUT: cannot write " + filepath.Join(blocker, "out") + ": not a directory: run as root"},
		{"new file in a missing directory", Destination{Name: "GITHUB_OUTPUT", Path: filepath.Join(dir, "missing", "out"), Fix: "fix"},
			"GITHUB_OUTPUT: cannot write " + filepath.Join(dir, "missing", "out") + " (at " + filepath.Join(dir, "missing") + "): no such file or directory: fix"},
		{"directory that is a file", Destination{Name: "results", Path: blocker, Dir: true, Fix: "fix"},
			"results: cannot write " + blocker + ": not a directory: fix"},
		{"directory under a file", Destination{Name: "output-dir", Path: filepath.Join(blocker, "a", "b"), Dir: true, Fix: "fix"},
			"output-dir: cannot write " + filepath.Join(blocker, "a", "b") + " (at " + blocker + "): not a directory: fix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := listDir(t, dir)
			err := Preflight(destinations{tc.dest}, "", true)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				var bad interface{ BadInput() bool }
				if !errors.As(err, &bad) {
					t.Fatalf("Preflight() = %v, want an input error", err)
				}
				if diff := cmp.Diff(tc.wantErr, err.Error()); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(before, listDir(t, dir)); diff != "" {
				t.Errorf("preflight changed the directory (-before +after):\n%s", diff)
			}
			if got := readFile(t, existing); got != "kept\n" {
				t.Errorf("preflight changed an existing file: %q", got)
			}
		})
	}
}

// TestPreflightPermission runs only as a user that permissions bind (root
// may write anywhere): the error names who keyless runs as and who owns
// the path.
func TestPreflightPermission(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root is not bound by file modes; e2e TestPreflight runs keyless as another user")
	}
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked")
	if err := os.Mkdir(locked, 0o555); err != nil {
		t.Fatal(err)
	}
	err := Preflight(destinations{{Name: "output-dir", Path: locked, Dir: true, Fix: "fix"}}, "", true)
	want := fmt.Sprintf("output-dir: cannot write %s: permission denied; keyless runs as uid %d, and %s is owned by uid %d: fix", locked, os.Getuid(), locked, os.Getuid())
	if err == nil || err.Error() != want {
		t.Errorf("Preflight() = %v, want %s", err, want)
	}
}

func TestCannotWritePermission(t *testing.T) {
	dir := t.TempDir()
	err := cannotWrite(dir, dir, &fs.PathError{Op: "open", Path: dir, Err: fs.ErrPermission})
	want := fmt.Sprintf("keyless runs as uid %d, and %s is owned by uid %d", os.Getuid(), dir, os.Getuid())
	if !strings.Contains(err.Error(), want) {
		t.Errorf("cannotWrite() = %v, want it to say %q", err, want)
	}
}
