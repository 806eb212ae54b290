// Package buildmeta reads the images a build pushed from the file its build
// tool wrote them to: docker buildx's --metadata-file (and
// docker/build-push-action's metadata output), buildx bake's, ko's
// --image-refs, kaniko's --image-name-with-digest-file and --digest-file,
// buildah's and podman's --digestfile, Tekton results (the IMAGES result
// and *IMAGE_URL / *IMAGE_DIGEST pairs, as Tekton Chains reads them), and a
// plain list of references, one a line.
//
// The format is told from the content. The digest in the file is what is
// signed; a tag in the file is only a name, never resolved. A file that
// names no digest, names one image with two digests, or is malformed is
// bad input, and the error names the file, the format it was read as, the
// line, key or result, and the fix.
package buildmeta

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/keyless-dev/keyless/internal/input"
)

// MaxFile is the largest file read, in bytes: 4 MiB, far above what a
// build tool writes for thousands of images.
const MaxFile = 4 << 20

// Input is the name of the input the files are given with.
const Input = "images-from"

// The formats, as errors name them.
const (
	formatBuildx = "docker buildx metadata: --metadata-file or build-push-action's metadata output"
	formatBake   = "docker buildx bake metadata: --metadata-file"
	formatTekton = "Tekton results"
	formatDigest = "a bare digest: kaniko --digest-file, buildah or podman --digestfile"
	formatList   = "a reference list: ko --image-refs, kaniko --image-name-with-digest-file or one reference a line"
	formatJSON   = "JSON"
)

// image is one image a file names.
type image struct {
	repo   name.Repository
	tag    string // "" when the file gives none
	digest string
	at     string // where the file names it: `line 3`, `key "image.name"`
}

// ref is the image's repository@digest reference.
func (m image) ref() string { return m.repo.Name() + "@" + m.digest }

// problem is what is wrong at one place of a file, before the file and
// its format are known to the message.
type problem struct {
	at, msg string
}

func (p *problem) Error() string {
	if p.at == "" {
		return p.msg
	}
	return p.at + ": " + p.msg
}

// bad returns a problem at a place of the file.
func bad(at, format string, args ...any) error {
	return &problem{at: at, msg: fmt.Sprintf(format, args...)}
}

// fileError is the input error for a file read as format.
func fileError(path, format string, err error) error {
	as := ""
	if format != "" {
		as = " (read as " + format + ")"
	}
	return &input.Error{Input: Input, Err: fmt.Errorf("%s%s: %w", strconv.Quote(path), as, err)}
}

// Read returns the repository@digest references that data, the content of
// the file at path, names, in the file's order and once each. A bare
// digest names no image: Load pairs it with a name.
func Read(path string, data []byte) ([]string, error) {
	var s set
	if err := s.file(path, "", data); err != nil {
		return nil, err
	}
	return s.refs, nil
}

// Load reads each entry, a file or a Tekton results directory, or
// NAME=FILE for a file that holds a bare digest (NAME is the repository,
// and may carry a tag, that the digest was pushed to). It returns the
// repository@digest references of them all, once each, and refuses an
// image that two files give different digests.
func Load(entries []string) ([]string, error) {
	var s set
	for _, e := range entries {
		if err := s.entry(e); err != nil {
			return nil, err
		}
	}
	return s.refs, nil
}

// set collects the images of the files read so far.
type set struct {
	refs  []string
	have  map[string]bool   // ref → listed
	named map[string]string // repository:tag → digest
	where map[string]string // repository:tag → the file and place that named it
}

// file reads the images of one file's content; nameArg is the NAME of a
// NAME=FILE entry.
func (s *set) file(path, nameArg string, data []byte) error {
	format, imgs, err := parse(data, nameArg)
	if err != nil {
		return fileError(path, format, err)
	}
	if nameArg != "" && format != formatDigest {
		return fileError(path, format, errors.New("the file names its images itself: give FILE alone; NAME=FILE is for a file that holds a bare digest"))
	}
	for _, m := range imgs {
		if err := s.add(path, m); err != nil {
			return fileError(path, format, err)
		}
	}
	return nil
}

// add adds an image, refusing a repository:tag named with another digest
// before.
func (s *set) add(path string, m image) error {
	if s.have == nil {
		s.have, s.named, s.where = map[string]bool{}, map[string]string{}, map[string]string{}
	}
	if m.tag != "" {
		key := m.repo.Name() + ":" + m.tag
		here := strconv.Quote(path) + " " + m.at
		if d, ok := s.named[key]; ok && d != m.digest {
			return bad(m.at, "%s is named with digest %s here and with %s at %s: one name, one image; give the files of one build, or fix the file", key, m.digest, d, s.where[key])
		}
		s.named[key], s.where[key] = m.digest, here
	}
	if r := m.ref(); !s.have[r] {
		s.have[r] = true
		s.refs = append(s.refs, r)
	}
	return nil
}

// parse tells the format of data and reads its images.
func parse(data []byte, nameArg string) (string, []image, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	if !utf8.Valid(data) {
		return "", nil, errors.New("not UTF-8 text: give the file the build tool wrote")
	}
	if err := controls(data); err != nil {
		return "", nil, err
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return "", nil, errors.New("empty: the build wrote no image; check that it pushed, and that this is the file it wrote")
	case trimmed[0] == '{' || trimmed[0] == '[':
		return parseJSON(trimmed)
	}
	if isDigest(string(trimmed)) {
		imgs, err := bareDigest(string(trimmed), nameArg)
		return formatDigest, imgs, err
	}
	imgs, err := list(string(data))
	return formatList, imgs, err
}

// controls refuses a control character other than tab and line ends,
// naming its line.
func controls(data []byte) error {
	line := 1
	for _, r := range string(data) {
		switch {
		case r == '\n':
			line++
		case r == '\t' || r == '\r':
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return bad(fmt.Sprintf("line %d", line), "holds the control character %U: give the file the build tool wrote", r)
		}
	}
	return nil
}

// isDigest reports whether s is algorithm:hex, with no repository.
func isDigest(s string) bool {
	if strings.ContainsAny(s, "/@ \t\r\n,") {
		return false
	}
	_, err := v1.NewHash(s)
	return err == nil
}

// reference parses repository[:tag]@digest, at a place of the file.
func reference(s, at string) (image, error) {
	base, dig, ok := strings.Cut(s, "@")
	if !ok {
		return image{}, bad(at, "%s names no digest: the file must give each image as repository@sha256:<digest>; a tag alone is never signed from a file (give it in images instead)", show(s))
	}
	if strings.Contains(dig, "@") {
		return image{}, bad(at, "%s has more than one @: give repository@sha256:<digest>", show(s))
	}
	m, err := imageName(base, at)
	if err != nil {
		return image{}, err
	}
	if _, err := v1.NewHash(dig); err != nil {
		return image{}, bad(at, "%s: the digest %s is not algorithm:hex (%v): give repository@sha256:<64 hex digits>", show(s), show(dig), err)
	}
	m.digest = dig
	return m, nil
}

// imageName parses repository[:tag], with the registry given, at a place
// of the file.
func imageName(s, at string) (image, error) {
	switch {
	case s == "":
		return image{}, bad(at, "no repository: give registry/repository")
	case strings.HasPrefix(s, "-"):
		return image{}, bad(at, "%s starts with -: an image name, never an option; fix the file", show(s))
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r > unicode.MaxASCII }):
		return image{}, bad(at, "%s holds spaces, control or non-ASCII characters: give registry/repository[:tag]", show(s))
	}
	base, tag := s, ""
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i:], "/") {
		base, tag = s[:i], s[i+1:]
		if _, err := name.NewTag(s, name.StrictValidation); err != nil {
			return image{}, bad(at, "%s is not registry/repository:tag (%v)", show(s), err)
		}
	}
	repo, err := name.NewRepository(base, name.StrictValidation)
	if err != nil {
		return image{}, bad(at, "%s is not registry/repository (%v): give the full name the image was pushed as", show(s), err)
	}
	return image{repo: repo, tag: tag, at: at}, nil
}

// show quotes a value of the file for a message, cut to 100 bytes.
func show(s string) string {
	if len(s) > 100 {
		cut := 100
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}
