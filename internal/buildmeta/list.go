package buildmeta

import (
	"errors"
	"fmt"
	"strings"
)

// list reads a reference list: one repository[:tag]@digest a line, as ko's
// --image-refs (an index, then each of its manifests), kaniko's
// --image-name-with-digest-file (repository@digest) and
// --image-name-tag-with-digest-file (repository:tag@digest) write them. A
// line may also list several, comma-separated, as Tekton's IMAGES result
// does. Blank lines and lines starting with # are skipped.
func list(text string) ([]image, error) {
	var out []image
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		at := fmt.Sprintf("line %d", i+1)
		for _, f := range strings.Split(line, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			m, err := reference(f, at)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("names no image, only blank lines and comments: give the file the build tool wrote")
	}
	return out, nil
}

// bareDigest reads a file that holds one digest and nothing else, as
// kaniko's --digest-file, buildah's and podman's --digestfile and Tekton's
// IMAGE_DIGEST result write it: the image is nameArg@digest.
func bareDigest(digest, nameArg string) ([]image, error) {
	if nameArg == "" {
		return nil, errors.New("a bare digest names no image: give the entry as NAME=FILE, NAME the repository it was pushed to (e.g. registry.example.com/app=digest.txt)")
	}
	if strings.Contains(nameArg, "@") {
		return nil, bad("NAME", "%s holds a digest: give the repository (and tag) alone; the file gives the digest", show(nameArg))
	}
	m, err := imageName(nameArg, "NAME")
	if err != nil {
		return nil, err
	}
	m.digest = digest
	return []image{m}, nil
}
