// Package secret keeps the secrets of a run out of everything keyless
// prints and writes. A Set holds every secret the run knows of (tokens,
// passwords) with the forms in which they travel: base64, as in a Basic
// Authorization header, and JSON-escaped, as in a report. It redacts them
// from text, from a stream, and from the error bodies of the services the
// run talks to, which may echo a request's credentials back.
package secret

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces a secret in text.
const Redacted = "***"

// minLen is the shortest form that is redacted: a shorter one would
// garble ordinary text and hides next to nothing.
const minLen = 4

// Set is the secrets of one run. It is safe for concurrent use.
type Set struct {
	mu    sync.Mutex
	mask  func(string)
	seen  map[string]bool
	forms []string // longest first
}

// New returns an empty set that calls mask with each secret, and each
// base64 form of it, the first time it is added: a CI platform then hides
// them from its log.
func New(mask func(string)) *Set {
	if mask == nil {
		mask = func(string) {}
	}
	return &Set{mask: mask, seen: map[string]bool{}}
}

// Add adds secrets, with their base64 forms; empty ones are ignored.
func (s *Set) Add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, secret := range secrets {
		if secret != "" && !s.seen[secret] {
			s.add(secret)
			for _, b := range encodings(secret) {
				s.add(b)
			}
		}
	}
}

// AddBasic adds a username and password, and the base64 user:password
// that a Basic Authorization header carries.
func (s *Set) AddBasic(username, password string) {
	if password == "" {
		return
	}
	s.Add(password)
	s.addEncoded(base64.StdEncoding.EncodeToString([]byte(username + ":" + password)))
}

// addEncoded adds a secret that is already an encoding of others (a Basic
// header's credentials), without encoding it again.
func (s *Set) addEncoded(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(secret)
}

// add masks and records a form and its JSON-escaped form; s.mu is held.
// The mask function must not call back into s.
func (s *Set) add(form string) {
	if form == "" || s.seen[form] {
		return
	}
	s.seen[form] = true
	s.mask(form)
	for _, f := range []string{form, jsonEscaped(form)} {
		if len(f) >= minLen && !slices.Contains(s.forms, f) {
			s.forms = append(s.forms, f)
		}
	}
	// Longest first, so that a secret inside a longer one does not leave
	// the rest of the longer one behind.
	slices.SortStableFunc(s.forms, func(a, b string) int { return len(b) - len(a) })
}

// encodings are the base64 forms of secret. Unpadded forms are prefixes of
// the padded ones, so redacting them covers both.
func encodings(secret string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b := enc.EncodeToString([]byte(secret)); !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// jsonEscaped is secret as it appears inside a JSON string.
func jsonEscaped(secret string) string {
	b, err := json.Marshal(secret)
	if err != nil {
		return secret
	}
	return string(b[1 : len(b)-1])
}

// Redact returns text with every secret replaced by Redacted.
func (s *Set) Redact(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.forms {
		if strings.Contains(text, f) {
			text = strings.ReplaceAll(text, f, Redacted)
		}
	}
	return text
}

// Writer returns a writer that redacts each write before passing it to w.
// Each write must hold whole lines, as fmt.Fprint and log/slog do.
func (s *Set) Writer(w io.Writer) io.Writer {
	return writer{s: s, w: w}
}

type writer struct {
	s *Set
	w io.Writer
}

var _ io.Writer = writer{}

// Write redacts p and writes it. It reports len(p) written on success.
func (w writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, w.s.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
