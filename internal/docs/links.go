package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

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
