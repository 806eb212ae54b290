package buildmeta

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The keys of BuildKit's image exporter response that buildx writes to its
// metadata file (and docker/build-push-action to its metadata output).
const (
	keyDigest     = "containerimage.digest"     // the pushed manifest or index
	keyName       = "image.name"                // the names it was pushed as, comma-separated
	keyDescriptor = "containerimage.descriptor" // its descriptor, with the same digest
)

// buildxPrefix starts the keys buildx adds of its own (the build ref,
// provenance and warnings): none is a target of a bake file.
const buildxPrefix = "buildx.build."

// buildx reads the image of one build's exporter response: the digest
// of containerimage.digest, pushed as each name of image.name. target is
// the bake target the response is of, or "".
func buildx(obj map[string]json.RawMessage, target string) ([]image, error) {
	at := func(key string) string {
		if target == "" {
			return "key " + strconv.Quote(key)
		}
		return "target " + strconv.Quote(target) + ", key " + strconv.Quote(key)
	}
	var digest, names string
	var err error
	if raw := obj[keyDigest]; raw != nil {
		if digest, err = jsonString(raw, at(keyDigest)); err != nil {
			return nil, err
		}
	}
	if raw := obj[keyName]; raw != nil {
		if names, err = jsonString(raw, at(keyName)); err != nil {
			return nil, err
		}
	}
	switch {
	case digest == "":
		return nil, bad(at(keyDigest), "missing: the build exported no image digest; push it (docker buildx build --push, or push: true) and give the metadata file of that build")
	case !isDigest(digest):
		return nil, bad(at(keyDigest), "%s is not a digest (algorithm:hex): give the file the build tool wrote", show(digest))
	case strings.TrimSpace(strings.ReplaceAll(names, ",", "")) == "":
		return nil, bad(at(keyName), "missing: the build named no image; name it (docker buildx build -t, or tags:) so the file says which repository the digest was pushed to")
	}
	if raw := obj[keyDescriptor]; raw != nil {
		var desc struct {
			Digest string `json:"digest"`
		}
		if json.Unmarshal(raw, &desc) != nil {
			return nil, bad(at(keyDescriptor), "is %s, not an OCI descriptor: give the file the build tool wrote", kind(raw))
		}
		if desc.Digest != "" && desc.Digest != digest {
			return nil, bad(at(keyDescriptor), "names digest %s, and %s names %s: the file contradicts itself; give the file the build tool wrote", show(desc.Digest), keyDigest, digest)
		}
	}
	var out []image
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		var m image
		if strings.Contains(n, "@") {
			if m, err = reference(n, at(keyName)); err != nil {
				return nil, err
			}
			if m.digest != digest {
				return nil, bad(at(keyName), "%s has another digest than %s, %s: the file contradicts itself; give the file the build tool wrote", show(n), keyDigest, digest)
			}
		} else if m, err = imageName(n, at(keyName)); err != nil {
			return nil, err
		}
		m.digest = digest
		out = append(out, m)
	}
	return out, nil
}

// isBake reports whether top is buildx bake metadata: an object of
// targets, one of which at least holds an image exporter's keys.
func isBake(top map[string]json.RawMessage) bool {
	for k, raw := range top {
		var t map[string]json.RawMessage
		if !strings.HasPrefix(k, buildxPrefix) && json.Unmarshal(raw, &t) == nil && (t[keyDigest] != nil || t[keyName] != nil) {
			return true
		}
	}
	return false
}

// bake reads the images of every target of buildx bake metadata, in the
// order of the target names (isBake found one at least). A target that
// exported no image (a local or tar output, say) names none.
func bake(top map[string]json.RawMessage) ([]image, error) {
	var out []image
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if strings.HasPrefix(k, buildxPrefix) {
			continue
		}
		var t map[string]json.RawMessage
		if err := json.Unmarshal(top[k], &t); err != nil {
			return nil, bad("target "+strconv.Quote(k), "is %s, not a target's metadata: give the file the build tool wrote", kind(top[k]))
		}
		if t[keyDigest] == nil && t[keyName] == nil {
			continue
		}
		imgs, err := buildx(t, k)
		if err != nil {
			return nil, err
		}
		out = append(out, imgs...)
	}
	return out, nil
}
