// Package docs reads the repository's Markdown documentation as its tests
// check it: the Markdown files, their relative links and the anchors they
// point to (GitHub's heading slugs), and their YAML examples, each sorted
// into the kind of file it is so that the e2e module can validate it
// against that kind's schema. Nothing in the keyless binary uses it.
package docs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"sigs.k8s.io/yaml"
)

// Files returns the Markdown files under root, relative to it, in lexical
// order, leaving out hidden directories (such as .git).
func Files(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

// Block is a fenced code block of a Markdown file.
type Block struct {
	// Lang is the first word of the fence's info string ("yaml", "sh").
	Lang string
	// Line is the line of the opening fence, from 1.
	Line int
	// Text is the block's content, without the fences.
	Text string
}

// fence matches the opening or closing line of a fenced code block.
var fence = regexp.MustCompile("^ {0,3}(```+|~~~+)\\s*([^\\s`]*)")

// Blocks returns the fenced code blocks of a Markdown document.
func Blocks(md []byte) []Block {
	var out []Block
	var open string
	var cur *Block
	var text strings.Builder
	for i, line := range strings.Split(string(md), "\n") {
		m := fence.FindStringSubmatch(line)
		switch {
		case cur == nil && m != nil:
			open, cur = m[1], &Block{Lang: m[2], Line: i + 1}
			text.Reset()
		case cur != nil && m != nil && strings.HasPrefix(m[1], open) && m[2] == "":
			cur.Text = text.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			text.WriteString(line + "\n")
		}
	}
	return out
}

// prose returns md with its fenced code blocks blanked (their lines kept,
// so line numbers stay right) and its inline code spans removed: what is
// left is the text whose links and headings count.
func prose(md []byte) []string {
	lines := strings.Split(string(md), "\n")
	var open string
	for i, line := range lines {
		m := fence.FindStringSubmatch(line)
		switch {
		case open == "" && m != nil:
			open, lines[i] = m[1], ""
		case open != "" && m != nil && strings.HasPrefix(m[1], open) && m[2] == "":
			open, lines[i] = "", ""
		case open != "":
			lines[i] = ""
		default:
			lines[i] = codeSpan.ReplaceAllString(line, "")
		}
	}
	return lines
}

// codeSpan matches an inline code span on one line.
var codeSpan = regexp.MustCompile("`+[^`]*`+")

// Link is a link of a Markdown file.
type Link struct {
	// Line is where it is, from 1.
	Line int
	// Target is the link's destination as written.
	Target string
}

// Relative reports whether the link points into the repository rather
// than to a URL of its own (https:, mailto:, //host).
func (l Link) Relative() bool {
	return !scheme.MatchString(l.Target) && !strings.HasPrefix(l.Target, "//")
}

var (
	scheme     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	inlineLink = regexp.MustCompile(`\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	htmlLink   = regexp.MustCompile(`(?i)<(?:a|img)\s[^>]*(?:href|src)="([^"]*)"`)
)

// Links returns the links of a Markdown document: inline links and
// images, reference definitions and HTML href and src attributes, outside
// code.
func Links(md []byte) []Link {
	var out []Link
	for i, line := range prose(md) {
		for _, re := range []*regexp.Regexp{inlineLink, refLink, htmlLink} {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				out = append(out, Link{Line: i + 1, Target: strings.Trim(m[1], "<>")})
			}
		}
	}
	return out
}

var (
	heading    = regexp.MustCompile(`^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$`)
	htmlAnchor = regexp.MustCompile(`(?i)<a\s[^>]*(?:id|name)="([^"]+)"`)
	mdLink     = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTag    = regexp.MustCompile(`<[^>]+>`)
)

// Anchors returns the fragment identifiers a Markdown document has on
// GitHub: a slug per heading (numbered -1, -2, … when repeated) and the
// ids and names of HTML anchors.
func Anchors(md []byte) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	lines := strings.Split(string(md), "\n")
	for i, line := range prose(md) {
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			out[m[1]] = true
		}
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		// The slug is made of the heading's text with its code spans,
		// which prose removed: take those from the original line.
		h := heading.FindStringSubmatch(lines[i])[1]
		s := Slug(h)
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// Slug is the anchor GitHub gives a heading: its text without Markdown
// markup, lower case, with every character but letters, digits, spaces,
// hyphens and underscores dropped and each space made a hyphen.
func Slug(h string) string {
	h = mdLink.ReplaceAllString(h, "$1")
	h = htmlTag.ReplaceAllString(h, "")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lineAnchor is GitHub's anchor of a line (or lines) of a file shown as code.
var lineAnchor = regexp.MustCompile(`^L[0-9]+(-L[0-9]+)?$`)

// CheckLinks returns a problem for each relative link of file (relative to
// root) that does not resolve: a file or directory that does not exist or
// lies outside root, or an anchor its Markdown file lacks.
func CheckLinks(root, file string) ([]string, error) {
	md, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, l := range Links(md) {
		if !l.Relative() {
			continue
		}
		if p := checkLink(root, file, md, l.Target); p != "" {
			problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", file, l.Line, l.Target, p))
		}
	}
	return problems, nil
}

// checkLink says why target, a link of file, does not resolve, or "".
func checkLink(root, file string, md []byte, target string) string {
	path, frag, _ := strings.Cut(target, "#")
	target = path
	if path == "" {
		if frag == "" {
			return "empty link"
		}
		if !Anchors(md)[frag] {
			return fmt.Sprintf("no heading or anchor %q in %s", frag, file)
		}
		return ""
	}
	path = strings.ReplaceAll(path, "%20", " ")
	var abs string
	if strings.HasPrefix(path, "/") {
		abs = filepath.Join(root, filepath.FromSlash(path))
	} else {
		abs = filepath.Join(root, filepath.Dir(filepath.FromSlash(file)), filepath.FromSlash(path))
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "points outside the repository"
	}
	info, err := os.Stat(abs)
	if err != nil {
		return fmt.Sprintf("no file or directory %s", filepath.ToSlash(rel))
	}
	if frag == "" {
		return ""
	}
	switch {
	case info.IsDir():
		return "an anchor on a directory"
	case strings.HasSuffix(abs, ".md"):
		target, err := os.ReadFile(abs)
		if err != nil {
			return err.Error()
		}
		if !Anchors(target)[frag] {
			return fmt.Sprintf("no heading or anchor %q in %s", frag, filepath.ToSlash(rel))
		}
	case !lineAnchor.MatchString(frag):
		return fmt.Sprintf("%q is not a line anchor (#L12 or #L12-L20) of %s", frag, filepath.ToSlash(rel))
	}
	return ""
}

// Kind is what a YAML example is.
type Kind string

// The kinds of YAML examples.
const (
	// GitHubWorkflow is a complete GitHub Actions workflow (on, jobs).
	GitHubWorkflow Kind = "GitHub workflow"
	// GitLabCI is a complete .gitlab-ci.yml.
	GitLabCI Kind = "GitLab CI file"
	// Kubernetes is one or more complete Kubernetes objects (Tekton's,
	// Kyverno's, policy-controller's, core ones), each with apiVersion and
	// kind.
	Kubernetes Kind = "Kubernetes manifests"
	// Part is an excerpt of a larger file, which says so on its first line
	// (a comment starting "# Part of"): it must parse, and has no schema
	// of its own.
	Part Kind = "part of a file"
)

// PartMarker starts the first line of a YAML example that is an excerpt.
const PartMarker = "# Part of"

// Example is a YAML example of a Markdown file.
type Example struct {
	// File is the Markdown file, relative to the repository root.
	File string
	// Line is the line of the block's opening fence, from 1.
	Line int
	// Kind is what the example is.
	Kind Kind
	// Docs are its YAML documents (split at --- lines), as written.
	Docs [][]byte
	// Values are the documents parsed (YAML read as JSON is, so a bare
	// "on" key is "true").
	Values []any
}

// String names the example for test output.
func (e Example) String() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// gitlabKeys are top-level keywords that only a GitLab CI file has.
var gitlabKeys = []string{"include", "stages", "workflow", "default", "variables"}

// Examples returns the YAML examples (```yaml and ```yml blocks) of the
// Markdown file, parsed and sorted into their kinds. Each block that does
// not parse, or is none of the kinds, is an error naming its line; the
// others are returned all the same.
func Examples(root, file string) ([]Example, error) {
	md, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, err
	}
	var out []Example
	var errs []error
	for _, b := range Blocks(md) {
		if b.Lang != "yaml" && b.Lang != "yml" {
			continue
		}
		if e, err := example(file, b); err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, e)
		}
	}
	return out, errors.Join(errs...)
}

// example parses one YAML block of file.
func example(file string, b Block) (Example, error) {
	e := Example{File: file, Line: b.Line}
	for i, doc := range splitDocuments([]byte(b.Text)) {
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return e, fmt.Errorf("%s: document %d does not parse: %w", e, i, err)
		}
		e.Docs, e.Values = append(e.Docs, doc), append(e.Values, v)
	}
	var err error
	if e.Kind, err = kindOf(b.Text, e.Values); err != nil {
		return e, fmt.Errorf("%s: %w", e, err)
	}
	return e, nil
}

// kindOf sorts an example's parsed documents into a Kind.
func kindOf(text string, values []any) (Kind, error) {
	first, _, _ := strings.Cut(strings.TrimLeft(text, "\n"), "\n")
	if strings.HasPrefix(strings.TrimSpace(first), PartMarker) {
		return Part, nil
	}
	if len(values) == 0 {
		return "", fmt.Errorf("an empty YAML example")
	}
	k8s := 0
	for _, doc := range values {
		if v, _ := doc.(map[string]any); v["apiVersion"] != nil && v["kind"] != nil {
			k8s++
		}
	}
	switch {
	case k8s == len(values):
		return Kubernetes, nil
	case k8s > 0:
		return "", fmt.Errorf("%d of %d documents are Kubernetes objects: give every one apiVersion and kind", k8s, len(values))
	case len(values) > 1:
		return "", fmt.Errorf("%d documents: only Kubernetes manifests may hold several", len(values))
	}
	v, _ := values[0].(map[string]any)
	if v["jobs"] != nil && (v["on"] != nil || v["true"] != nil) {
		return GitHubWorkflow, nil
	}
	if slices.ContainsFunc(gitlabKeys, func(k string) bool { return v[k] != nil }) || hasJob(v) {
		return GitLabCI, nil
	}
	return "", fmt.Errorf("not a complete GitHub workflow, GitLab CI file or Kubernetes manifest: complete it, or start it with a line %q saying where it goes", PartMarker+" …")
}

// hasJob reports whether a GitLab CI file has a job: a mapping with a
// script, a trigger or an extends.
func hasJob(v map[string]any) bool {
	for _, j := range v {
		if m, ok := j.(map[string]any); ok && (m["script"] != nil || m["trigger"] != nil || m["extends"] != nil) {
			return true
		}
	}
	return false
}

// splitDocuments splits a YAML stream at its --- lines, dropping documents
// of nothing but comments and blank lines.
func splitDocuments(data []byte) [][]byte {
	var out [][]byte
	var cur bytes.Buffer
	flush := func() {
		for _, l := range strings.Split(cur.String(), "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
				out = append(out, bytes.Clone(cur.Bytes()))
				break
			}
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return out
}
