// Package manifest reads the container images that Kubernetes manifests
// run: the containers, initContainers and ephemeralContainers of Pods and
// of the pod templates of workloads (Deployment, StatefulSet, DaemonSet,
// ReplicaSet, ReplicationController, Job, CronJob, PodTemplate), in
// multi-document YAML or JSON, and in Lists of them.
//
// Documents are decoded as kubectl decodes them (sigs.k8s.io/yaml, YAML
// 1.1, anchors and merge keys expanded) and strictly: a duplicate key is
// refused (Kubernetes and this package could otherwise read different
// values), and a key that a merge brought in may be overridden. Fields are read by their exact names: "Image" is not
// "image". A manifest is outside input: its documents, their aliases and
// the images it names are bounded.
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/internal/input"
)

// Limits on what one run reads of manifests.
const (
	// MaxDocumentSize caps one YAML document: a Kubernetes object is at
	// most 1.5 MiB (etcd's limit), and a request at most 3 MiB.
	MaxDocumentSize = 4 << 20
	// MaxFileSize caps one manifests file.
	MaxFileSize = 64 << 20
	// MaxImages caps the images read from all the files of a run.
	MaxImages = 100_000
	// maxListDepth caps Lists nested in Lists.
	maxListDepth = 4
)

// Image is one container image that a manifest names.
type Image struct {
	// Ref is the image field, as written.
	Ref string
	// Source says where: the file and line of the document, its kind and
	// namespace/name, and the container ("deploy.yaml:12: Deployment
	// prod/web, initContainer migrate").
	Source string
}

// Reader reads manifests files and keeps the images they name, within
// MaxImages for all of them.
type Reader struct {
	// Images are the images read so far, in the order named.
	Images []Image
	// Skipped counts the documents of other kinds (Services, ConfigMaps…).
	Skipped int
}

// ReadFile reads the manifests of the file at path.
func (r *Reader) ReadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return bad(fmt.Errorf("reading %s: %w: give the path of a Kubernetes manifests file", path, err))
	}
	defer f.Close()
	return r.Read(f, path)
}

// Read reads the manifests of src, which messages call name.
func (r *Reader) Read(src io.Reader, name string) error {
	br := bufio.NewReader(io.LimitReader(src, MaxFileSize+1))
	var doc bytes.Buffer
	line, start, read := 0, 0, int64(0)
	for {
		l, err := readLine(br, MaxDocumentSize-doc.Len()+1)
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, errTooLong) {
				at := start
				if at == 0 {
					at = line + 1
				}
				return bad(fmt.Errorf("%s:%d: the document is over keyless's limit of %d bytes: split it", name, at, MaxDocumentSize))
			}
			return bad(fmt.Errorf("reading %s: %w", name, err))
		}
		read += int64(len(l))
		if read > MaxFileSize {
			return bad(fmt.Errorf("%s is over keyless's limit of %d bytes: split it into several files", name, MaxFileSize))
		}
		line++
		sep, err := separator(l)
		if err != nil {
			return bad(fmt.Errorf("%s:%d: %w", name, line, err))
		}
		if sep || len(l) == 0 {
			if derr := r.document(doc.Bytes(), name, start); derr != nil {
				return derr
			}
			doc.Reset()
			start = 0
			if len(l) == 0 {
				return nil
			}
			continue
		}
		if t := bytes.TrimSpace(l); start == 0 && len(t) > 0 && t[0] != '#' {
			start = line // the document's first line of content
		}
		doc.Write(l)
		if doc.Len() > MaxDocumentSize {
			return bad(fmt.Errorf("%s:%d: the document is over keyless's limit of %d bytes: split it", name, start, MaxDocumentSize))
		}
	}
}

var errTooLong = errors.New("line too long")

// readLine reads one line, with its newline, of at most limit bytes; an
// empty line with io.EOF ends the input.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > limit {
			return nil, errTooLong
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) && len(out) > 0 {
				return out, nil
			}
			return out, err
		}
	}
}

// separator reports whether line is a document separator as kubectl reads
// one: "---" at the start of the line, then nothing but spaces or a
// comment. Anything else after it is refused, as kubectl refuses it.
func separator(line []byte) (bool, error) {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false, nil
	}
	rest = bytes.TrimSpace(rest)
	if len(rest) > 0 && rest[0] != '#' {
		return false, fmt.Errorf("a document separator followed by %q: put the document on the lines after ---, as kubectl requires", truncate(rest, 40))
	}
	return true, nil
}

// truncate cuts b to at most n bytes, for messages.
func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// document reads one YAML document that starts at line start of name.
func (r *Reader) document(doc []byte, name string, start int) error {
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil
	}
	// yaml.v3 refuses a duplicate key and allows a key a merge brought
	// in to be overridden, as the YAML spec does; sigs.k8s.io/yaml then
	// reads the values as kubectl does (its strict mode refuses an
	// override of a merged key).
	dec := yaml3.NewDecoder(bytes.NewReader(doc))
	var dup any
	if err := dec.Decode(&dup); errors.Is(err, io.EOF) {
		return nil // only comments
	} else if err != nil {
		return bad(fmt.Errorf("%s:%d: not a YAML document kubectl would read: %w", name, start, err))
	}
	// kubectl reads the first document of the part between separators:
	// another one there (after "..." or "--- !tag") would be hidden.
	if err := dec.Decode(&dup); !errors.Is(err, io.EOF) {
		return bad(fmt.Errorf("%s:%d: the part between two --- lines holds more than one YAML document, of which kubectl reads only the first: separate documents with --- lines", name, start))
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return bad(fmt.Errorf("%s:%d: not a YAML document kubectl would read: %w", name, start, err))
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		return bad(fmt.Errorf("%s:%d: %w", name, start, err))
	}
	switch obj := v.(type) {
	case nil:
		return nil // only comments
	case map[string]any:
		return r.object(obj, fmt.Sprintf("%s:%d", name, start), 0)
	default:
		return bad(fmt.Errorf("%s:%d: the document is a %s, not a Kubernetes object", name, start, typeName(v)))
	}
}

// add keeps one image.
func (r *Reader) add(ref, source string) error {
	if len(r.Images) == MaxImages {
		return bad(fmt.Errorf("the manifests name more than %d images, keyless's limit for one run: audit them in parts", MaxImages))
	}
	r.Images = append(r.Images, Image{Ref: ref, Source: source})
	return nil
}

// bad is an error in the manifests input: exit status 2.
func bad(err error) error { return &input.Error{Input: "manifests", Err: err} }

// typeName names a decoded JSON value's type for messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "mapping"
	}
	return fmt.Sprintf("%T", v)
}
