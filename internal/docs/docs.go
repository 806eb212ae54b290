// Package docs reads the repository's Markdown documentation as its tests
// check it: the Markdown files, their relative links and the anchors they
// point to (GitHub's heading slugs), and their YAML examples, each sorted
// into the kind of file it is so that the e2e module can validate it
// against that kind's schema. Nothing in the keyless binary uses it.
package docs

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
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
