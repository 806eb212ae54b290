package buildmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxDepth is the deepest nesting of a JSON file read: the files keyless
// reads nest a few levels (buildx provenance some more).
const maxDepth = 64

// parseJSON reads a JSON file: buildx metadata (an object holding
// containerimage.digest and image.name), buildx bake metadata (an object of
// targets holding them), or Tekton results (an array of name and value, or
// a TaskRun or PipelineRun with status results).
func parseJSON(data []byte) (string, []image, error) {
	if err := checkJSON(data); err != nil {
		return formatJSON, nil, err
	}
	if data[0] == '[' {
		imgs, err := tektonJSON(data)
		return formatTekton, imgs, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return formatJSON, nil, fmt.Errorf("not valid JSON (%v): give the file the build tool wrote", err)
	}
	switch {
	case top[keyDigest] != nil || top[keyName] != nil:
		imgs, err := buildx(top, "")
		return formatBuildx, imgs, err
	case isBake(top):
		imgs, err := bake(top)
		return formatBake, imgs, err
	case top["status"] != nil:
		imgs, err := tektonRun(top["status"])
		return formatTekton, imgs, err
	}
	return formatJSON, nil, errors.New("neither buildx metadata (containerimage.digest and image.name), buildx bake metadata (targets that hold them) nor Tekton results (an array of name and value, or a run's status): give the file the build tool wrote")
}

// checkJSON refuses what encoding/json lets through or reports without a
// place: an object that holds one key twice (of which it keeps the last),
// nesting deeper than maxDepth, a second value after the first, and a
// syntax error, named by its line.
func checkJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, "", 0); err != nil {
		return jsonError(data, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad(lineAt(data, dec.InputOffset()), "a second JSON value after the first: give the file the build tool wrote")
	}
	return nil
}

// walk reads one JSON value at path.
func walk(dec *json.Decoder, path string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxDepth {
		return bad(keyAt(path), "nested deeper than %d: give the file the build tool wrote", maxDepth)
	}
	if d == '[' {
		for i := 0; dec.More(); i++ {
			if err := walk(dec, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := tok.(string)
		p := path + "." + strconv.Quote(k)
		if path == "" {
			p = strconv.Quote(k)
		}
		if seen[k] {
			return bad(keyAt(p), "appears twice in one object, which names two values for it: give the file the build tool wrote")
		}
		seen[k] = true
		if err := walk(dec, p, depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// keyAt names a JSON path for a message.
func keyAt(path string) string {
	if path == "" {
		return "the top level"
	}
	return "key " + path
}

// jsonError places a decoding error.
func jsonError(data []byte, dec *json.Decoder, err error) error {
	var p *problem
	if errors.As(err, &p) {
		return err
	}
	off := dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return bad(lineAt(data, off), "the JSON ends early: the file is cut short; give the whole file the build tool wrote")
	}
	return bad(lineAt(data, off), "not valid JSON (%v): give the file the build tool wrote", err)
}

// lineAt names the line of a byte offset.
func lineAt(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	return fmt.Sprintf("line %d", bytes.Count(data[:off], []byte("\n"))+1)
}

// jsonString decodes a value that must be a JSON string, at a place.
func jsonString(raw json.RawMessage, at string) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", bad(at, "is %s, not a string: give the file the build tool wrote", kind(raw))
	}
	return s, nil
}

// kind names the JSON type of a value.
func kind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "empty"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "an array"
	case b[0] == '"':
		return "a string"
	case string(b) == "null":
		return "null"
	case string(b) == "true" || string(b) == "false":
		return "a boolean"
	}
	return "a number"
}
