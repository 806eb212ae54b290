package ci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Destination is a file or directory that a platform writes a run's
// results to.
type Destination struct {
	// Name is what the user calls it: GITHUB_OUTPUT, output-dir, results.
	Name string
	// Path is where it is; a directory may not exist yet.
	Path string
	// Dir is true for a directory that files are created in.
	Dir bool
	// Fix says what to change when it cannot be written.
	Fix string
	// Check, when set, replaces the write check: for a destination that
	// is a command the platform runs, such as the Buildkite agent.
	Check func() error
}

// Preflight checks that every destination of p can be written, the way
// the run will write it: a file is opened for appending, a file is created
// in a directory (or in the nearest existing parent of one that does not
// exist yet). It changes nothing that it finds, and returns an InputError
// naming the first destination that cannot be written: keyless signs
// nothing that it cannot report.
func Preflight(p Publisher, outputDir string, summary bool) error {
	for _, d := range p.Destinations(outputDir, summary) {
		check := func() error { return writable(d) }
		if d.Check != nil {
			check = d.Check
		}
		if err := check(); err != nil {
			return &InputError{Input: d.Name, Err: fmt.Errorf("%w: %s", err, d.Fix)}
		}
	}
	return nil
}

// writable checks one destination.
func writable(d Destination) error {
	if !d.Dir {
		f, err := os.OpenFile(d.Path, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			return f.Close()
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return cannotWrite(d.Path, d.Path, err)
		}
		// appendFile creates the file in its directory, which must exist.
		return creatable(filepath.Dir(d.Path), d.Path, false)
	}
	return creatable(d.Path, d.Path, true)
}

// creatable checks that a file can be created in dir or, with made, in
// its nearest existing parent when dir does not exist yet (writeFile makes
// it).
func creatable(dir, name string, made bool) error {
	dir = filepath.Clean(dir)
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return cannotWrite(name, dir, syscall.ENOTDIR)
			}
			break
		}
		parent := filepath.Dir(dir)
		if !made || parent == dir || !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return cannotWrite(name, dir, err)
		}
		dir = parent
	}
	f, err := os.CreateTemp(dir, ".keyless-preflight-*")
	if err != nil {
		return cannotWrite(name, dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// cannotWrite explains why name cannot be written, where at stands in the
// way: for a permission error, who keyless runs as and who owns at.
func cannotWrite(name, at string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	msg := fmt.Sprintf("cannot write %s", name)
	if at != name {
		msg += fmt.Sprintf(" (at %s)", at)
	}
	msg += fmt.Sprintf(": %v", err)
	if errors.Is(err, fs.ErrPermission) {
		if uid, ok := owner(at); ok {
			msg += fmt.Sprintf("; keyless runs as uid %d, and %s is owned by uid %d", os.Getuid(), at, uid)
		} else {
			msg += fmt.Sprintf("; keyless runs as uid %d", os.Getuid())
		}
	}
	return errors.New(msg)
}
