package buildmeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Tekton results that name images, as Tekton Chains' type hinting
// reads them (pkg/artifacts, ExtractOCIImagesFromResults): IMAGES, a list
// of repository@digest, comma- or newline-separated; and each pair of
// results <PREFIX>IMAGE_URL and <PREFIX>IMAGE_DIGEST (the same PREFIX, ""
// too), the image URL@DIGEST. Where Chains skips a result it cannot read,
// keyless refuses it: an image left out would go unsigned.
const (
	resultImages = "IMAGES"
	suffixURL    = "IMAGE_URL"
	suffixDigest = "IMAGE_DIGEST"
)

// formatTektonDir is a Tekton results directory, as the format of errors.
const formatTektonDir = "a Tekton results directory"

// maxDirEntries is the most entries of a results directory read.
const maxDirEntries = 4096

// imageResult reports whether a result names images.
func imageResult(name string) bool {
	return name == resultImages || strings.HasSuffix(name, suffixURL) || strings.HasSuffix(name, suffixDigest)
}

func resultAt(name string) string { return "result " + strconv.Quote(name) }

// tekton reads the images that a run's results name.
func tekton(results map[string]string) ([]image, error) {
	type pair struct{ url, digest string }
	pairs := map[string]*pair{}
	at := func(prefix string) *pair {
		if pairs[prefix] == nil {
			pairs[prefix] = &pair{}
		}
		return pairs[prefix]
	}
	for name, v := range results {
		v = strings.TrimSpace(v)
		switch {
		case v == "": // Chains skips an empty result; so does keyless
		case strings.HasSuffix(name, suffixURL):
			at(strings.TrimSuffix(name, suffixURL)).url = v
		case strings.HasSuffix(name, suffixDigest):
			at(strings.TrimSuffix(name, suffixDigest)).digest = v
		}
	}
	var out []image
	for _, prefix := range slices.Sorted(maps.Keys(pairs)) {
		p, url, digest := pairs[prefix], prefix+suffixURL, prefix+suffixDigest
		switch {
		case p.url == "":
			return nil, bad(resultAt(digest), "has no %s result, so it names no image: give the results of the Task that pushed the image, which wrote both", url)
		case p.digest == "":
			return nil, bad(resultAt(url), "has no %s result: a URL alone is never signed from a file; give the results of the Task that pushed the image, which wrote both", digest)
		case !isDigest(p.digest):
			return nil, bad(resultAt(digest), "%s is not a digest (algorithm:hex): give the results the Task wrote", show(p.digest))
		}
		var m image
		var err error
		if strings.Contains(p.url, "@") {
			if m, err = reference(p.url, resultAt(url)); err != nil {
				return nil, err
			}
			if m.digest != p.digest {
				return nil, bad(resultAt(url), "%s has another digest than %s, %s: the results contradict each other", show(p.url), digest, p.digest)
			}
		} else if m, err = imageName(p.url, resultAt(url)); err != nil {
			return nil, err
		}
		m.digest = p.digest
		out = append(out, m)
	}
	for _, f := range strings.FieldsFunc(results[resultImages], func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		m, err := reference(f, resultAt(resultImages))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, errors.New("names no image: no IMAGES result and no IMAGE_URL and IMAGE_DIGEST pair; give the results of the Task that pushed the image")
	}
	return out, nil
}

// tektonJSON reads Tekton results as JSON: an array of {"name", "value"},
// as a TaskRun's or PipelineRun's status holds them.
func tektonJSON(data []byte) ([]image, error) {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, errors.New(`not an array of results ({"name": …, "value": …}): give a run's status.results`)
	}
	results := map[string]string{}
	for i, r := range list {
		var name string
		if json.Unmarshal(r["name"], &name) != nil || name == "" {
			return nil, bad(fmt.Sprintf("result [%d]", i), `has no "name": give a run's status.results`)
		}
		if _, dup := results[name]; dup {
			return nil, bad(resultAt(name), "appears twice, which names two values for it: give a run's status.results")
		}
		results[name] = ""
		if !imageResult(name) {
			continue
		}
		v, err := jsonString(r["value"], resultAt(name))
		if err != nil {
			return nil, err
		}
		results[name] = v
	}
	return tekton(results)
}

// tektonRun reads the results in a TaskRun's or PipelineRun's status: v1
// results, or v1beta1 taskResults or pipelineResults.
func tektonRun(raw json.RawMessage) ([]image, error) {
	var status map[string]json.RawMessage
	if err := json.Unmarshal(raw, &status); err != nil {
		return nil, bad(`key "status"`, "is %s, not a run's status: give a TaskRun or PipelineRun", kind(raw))
	}
	for _, k := range []string{"results", "taskResults", "pipelineResults"} {
		if status[k] != nil {
			imgs, err := tektonJSON(status[k])
			if p := (*problem)(nil); errors.As(err, &p) {
				p.at = "status." + k + " " + p.at
			}
			return imgs, err
		}
	}
	return nil, bad(`key "status"`, "holds no results: give the TaskRun or PipelineRun that pushed the image, once it has succeeded")
}

// dir reads a Tekton results directory, one file a result (as a step
// finds /tekton/results): the files of results that name images, and no
// other.
func (s *set) dir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fileError(path, formatTektonDir, unwrapPath(err))
	}
	entries, err := f.ReadDir(maxDirEntries + 1)
	f.Close()
	if err != nil {
		return fileError(path, formatTektonDir, unwrapPath(err))
	}
	if len(entries) > maxDirEntries {
		return fileError(path, formatTektonDir, fmt.Errorf("holds more than %d entries, more than any Task's results: give the results directory", maxDirEntries))
	}
	results := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if !imageResult(name) {
			continue
		}
		if !e.Type().IsRegular() {
			return fileError(path, formatTektonDir, bad(resultAt(name), "is not a regular file: give the results directory the Task wrote"))
		}
		data, err := readFile(filepath.Join(path, name))
		if err != nil {
			return err
		}
		if !utf8.Valid(data) {
			return fileError(path, formatTektonDir, bad(resultAt(name), "is not UTF-8 text: give the results the Task wrote"))
		}
		if err := controls(data); err != nil {
			return fileError(path, formatTektonDir, bad(resultAt(name), "%v", err))
		}
		results[name] = string(data)
	}
	imgs, err := tekton(results)
	if err != nil {
		return fileError(path, formatTektonDir, err)
	}
	for _, m := range imgs {
		if err := s.add(path, m); err != nil {
			return fileError(path, formatTektonDir, err)
		}
	}
	return nil
}
