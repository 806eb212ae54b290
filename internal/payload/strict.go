package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A JSON document can read two ways when one of its objects holds a key
// twice, or two keys equal except for case: encoding/json matches struct
// fields ignoring case and keeps the last match, a map or a JMESPath, CUE,
// Rego or jq reader matches exactly, and some readers keep the first. A
// statement that reads two ways is refused, so that every reader of a
// statement keyless passes reads what keyless checked.

// KeyError is a JSON object holding two keys that readers may take for one.
type KeyError struct {
	// Path is the later key's path, e.g. predicate.runDetails.Builder.
	Path string
	// Key is the later key and Earlier the one before it in the same
	// object, equal to Key or equal except for case.
	Key, Earlier string
}

// Error names the key path and both keys, quoted and cut short.
func (e *KeyError) Error() string {
	if e.Key == e.Earlier {
		return fmt.Sprintf("key %s appears twice in one object: readers that keep the first and readers that keep the last read different values", e.Path)
	}
	return fmt.Sprintf("key %s differs only in case from %s in the same object: readers that ignore case and readers that do not read different values", e.Path, quoteKey(e.Earlier))
}

// maxDepth is how deeply CheckKeys lets arrays and objects nest, as
// encoding/json does.
const maxDepth = 10000

// CheckKeys reports whether the JSON document b holds, in any object at
// any depth, a key twice or two keys equal except for case (as
// encoding/json compares them); the error is a *KeyError whose path starts
// with root (e.g. "predicate"; "" for a whole statement). A document that
// is not JSON is an error too.
func CheckKeys(b []byte, root string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	w := &keyWalker{dec: dec}
	if root != "" {
		w.path = []string{root}
	}
	if err := w.value(0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("parsing JSON: data after the top-level value")
	}
	return nil
}

// keyWalker reads a document token by token, keeping the path it is at.
type keyWalker struct {
	dec  *json.Decoder
	path []string // rendered segments
}

func (w *keyWalker) value(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("parsing JSON: nested more than %d deep", maxDepth)
	}
	tok, err := w.dec.Token()
	if err != nil {
		return fmt.Errorf("parsing JSON: %w", err)
	}
	switch tok {
	case json.Delim('{'):
		return w.object(depth + 1)
	case json.Delim('['):
		return w.array(depth + 1)
	}
	return nil
}

func (w *keyWalker) object(depth int) error {
	seen := map[string]string{} // folded key -> key as written
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return fmt.Errorf("parsing JSON: %w", err)
		}
		k, _ := tok.(string)
		w.path = append(w.path, keySegment(k, len(w.path) == 0))
		f := foldKey(k)
		if earlier, ok := seen[f]; ok {
			return &KeyError{Path: renderPath(w.path), Key: k, Earlier: earlier}
		}
		seen[f] = k
		if err := w.value(depth); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
	}
	_, err := w.dec.Token() // '}'
	return err
}

func (w *keyWalker) array(depth int) error {
	for i := 0; w.dec.More(); i++ {
		w.path = append(w.path, "["+strconv.Itoa(i)+"]")
		if err := w.value(depth); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
	}
	_, err := w.dec.Token() // ']'
	return err
}

// foldKey maps keys that encoding/json takes for one (bytes.EqualFold) to
// one string: each rune to the smallest of its case-folding orbit.
func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				r = next
				break
			}
			r = next
		}
		b.WriteRune(r)
	}
	return b.String()
}

// maxKeyShown is how much of a key an error shows.
const maxKeyShown = 64

// keySegment is key k as a path segment: .k for a plain name, ["k"]
// (quoted, cut short) for any other.
func keySegment(k string, first bool) string {
	plain := k != "" && len(k) <= maxKeyShown && strings.IndexFunc(k, func(r rune) bool {
		return r >= utf8.RuneSelf || !(r == '_' || r == '-' || r == '$' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}) < 0
	switch {
	case !plain:
		return "[" + quoteKey(k) + "]"
	case first:
		return k
	}
	return "." + k
}

// quoteKey quotes k in ASCII (a look-alike letter shows as \u…), cut to
// maxKeyShown bytes.
func quoteKey(k string) string {
	if len(k) <= maxKeyShown {
		return strconv.QuoteToASCII(k)
	}
	cut := maxKeyShown
	for cut > 0 && !utf8.RuneStart(k[cut]) {
		cut--
	}
	return strconv.QuoteToASCII(k[:cut]) + "…"
}

// renderPath joins segments, eliding the middle of a deep path.
func renderPath(segs []string) string {
	if len(segs) > 16 {
		segs = slices.Concat(segs[:4], []string{"…"}, segs[len(segs)-12:])
	}
	return strings.Join(segs, "")
}

// decodeExact decodes b into v (a pointer to a struct) as encoding/json
// does, but refuses a key that encoding/json would match to one of v's
// fields ignoring case and that is not spelled as the field is: a reader
// that matches keys exactly would not read it. With strict, a key no
// field names is refused too. b's path in errors starts with root.
func decodeExact(b []byte, v any, root string, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	return exactKeys(doc, reflect.TypeOf(v), root)
}

// exactKeys walks doc beside type t: each object key that a struct field
// matches must spell the field's JSON name exactly.
func exactKeys(doc any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, _ := doc.(map[string]any)
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			p := path + keySegment(k, path == "")
			if ft, ok := fields[k]; ok {
				if err := exactKeys(obj[k], ft, p); err != nil {
					return err
				}
				continue
			}
			for name := range fields {
				if strings.EqualFold(name, k) {
					return fmt.Errorf("key %s is not spelled %q: keyless reads keys exactly as the format spells them", p, name)
				}
			}
		}
	case reflect.Slice, reflect.Array:
		arr, _ := doc.([]any)
		for i, e := range arr {
			if err := exactKeys(e, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, _ := doc.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if err := exactKeys(obj[k], t.Elem(), path+keySegment(k, path == "")); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonFields maps struct t's JSON field names to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
