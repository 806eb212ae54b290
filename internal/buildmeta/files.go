package buildmeta

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/keyless-dev/keyless/internal/input"
)

// entry reads one entry of the input.
func (s *set) entry(e string) error {
	path, nameArg := e, ""
	if i := strings.Index(e, "="); i >= 0 {
		nameArg, path = e[:i], e[i+1:]
		if nameArg == "" {
			return &input.Error{Input: Input, Err: fmt.Errorf("%s: no NAME before =: give NAME=FILE, NAME the repository the digest was pushed to", strconv.Quote(e))}
		}
	}
	if err := checkPath(e, path); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil && nameArg != "" && exists(e):
		return fileError(e, "", errors.New("an entry with = is read as NAME=FILE, and this one is a file: rename it without ="))
	case err != nil:
		return fileError(path, "", fmt.Errorf("%w: give the file the build tool wrote", unwrapPath(err)))
	case fi.IsDir():
		if nameArg != "" {
			return fileError(path, formatTektonDir, errors.New("a directory of results names its images itself: give the directory alone, without NAME="))
		}
		return s.dir(path)
	case !fi.Mode().IsRegular():
		return fileError(path, "", errors.New("not a regular file: give the file the build tool wrote"))
	case fi.Size() > MaxFile:
		return tooLarge(path)
	}
	data, err := readFile(path)
	if err != nil {
		return err
	}
	return s.file(path, nameArg, data)
}

// checkPath refuses an entry that is empty, looks like an option, or
// holds control characters.
func checkPath(entry, path string) error {
	switch {
	case path == "":
		return &input.Error{Input: Input, Err: fmt.Errorf("%s: no file: give the path of the file the build tool wrote", strconv.Quote(entry))}
	case strings.HasPrefix(entry, "-"):
		return &input.Error{Input: Input, Err: fmt.Errorf("%s starts with -: a file, never an option; remove it", strconv.Quote(entry))}
	case strings.ContainsFunc(entry, unicode.IsControl):
		return &input.Error{Input: Input, Err: fmt.Errorf("%s holds control characters: give a plain path", strconv.Quote(entry))}
	}
	return nil
}

// exists reports whether path names a file or directory.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// unwrapPath drops the path that an *os.PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readFile reads a regular file of at most MaxFile bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, "", unwrapPath(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, fileError(path, "", unwrapPath(err))
	}
	if len(data) > MaxFile {
		return nil, tooLarge(path)
	}
	return data, nil
}

func tooLarge(path string) error {
	return fileError(path, "", fmt.Errorf("larger than %d bytes (4 MiB), which no build tool writes for its images: give the build tool's metadata file (for buildx, BUILDX_METADATA_PROVENANCE=disabled leaves the provenance out of it)", MaxFile))
}
