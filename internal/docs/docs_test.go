package docs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repoRoot is the repository root, two levels above this package.
const repoRoot = "../.."

// TestFrontDoorAndPages checks that the documentation this package checks
// is there: the front door, the architecture and the pages it links to.
func TestFrontDoorAndPages(t *testing.T) {
	files, err := Files(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"README.md", "ARCHITECTURE.md", "docs/github.md", "docs/gitlab.md", "docs/tekton.md", "docs/buildkite.md", "docs/circleci.md", "docs/cli.md",
		"docs/policies.md", "docs/attestations.md", "docs/verify.md", "docs/audit.md", "docs/performance.md", "docs/reliability.md", "docs/stack.md"} {
		if !slices.Contains(files, want) {
			t.Errorf("%s is missing (found %v)", want, files)
		}
	}
}

// TestLinks checks that every relative link of every Markdown file in the
// repository resolves: the file or directory exists, and an anchor names a
// heading of the Markdown file it points into (GitHub's slug of it).
func TestLinks(t *testing.T) {
	files, err := Files(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			problems, err := CheckLinks(repoRoot, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string(nil), problems); diff != "" {
				t.Errorf("links that do not resolve (-want +got):\n%s", diff)
			}
		})
	}
}

// TestYAMLExamples checks that every YAML example of every Markdown file
// parses and is a complete file of a kind the e2e module validates (or
// says it is a part of one).
func TestYAMLExamples(t *testing.T) {
	files, err := Files(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, f := range files {
		ex, err := Examples(repoRoot, f)
		if err != nil {
			t.Error(err)
		}
		n += len(ex)
	}
	if n < 10 {
		t.Errorf("%d YAML examples in the documentation, want the examples of every front end", n)
	}
}

// TestCheckLinksBites checks the link checker on a small repository of its
// own: each kind of broken link is found, and links that resolve are not.
func TestCheckLinksBites(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/page.md", "# A page\n\n## The `sign` step: inputs & outputs\n\n## Twice\n\n## Twice\n\n<a id=\"custom\"></a>\n")
	write("action.yml", "name: x\n")
	write("README.md", strings.Join([]string{
		"# Front door",
		"[ok](docs/page.md) [ok](docs/page.md#a-page) [ok](docs/page.md#the-sign-step-inputs--outputs)",
		"[ok](docs/page.md#twice-1) [ok](docs/page.md#custom) [ok](docs/) [ok](action.yml#L1) [ok](#front-door)",
		"[ok](https://example.com/missing.md) [ok](mailto:a@example.com) `[ignored](missing.md)`",
		"```md",
		"[ignored](missing.md)",
		"```",
		"[missing file](docs/nope.md)",
		"[missing anchor](docs/page.md#nope)",
		"[third twice](docs/page.md#twice-2)",
		"[missing local anchor](#nope)",
		"[outside](../elsewhere.md)",
		"[not a line](action.yml#inputs)",
		"[ref]: docs/gone.md",
	}, "\n"))
	got, err := CheckLinks(root, "README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`README.md:8: docs/nope.md: no file or directory docs/nope.md`,
		`README.md:9: docs/page.md#nope: no heading or anchor "nope" in docs/page.md`,
		`README.md:10: docs/page.md#twice-2: no heading or anchor "twice-2" in docs/page.md`,
		`README.md:11: #nope: no heading or anchor "nope" in README.md`,
		`README.md:12: ../elsewhere.md: points outside the repository`,
		`README.md:13: action.yml#inputs: "inputs" is not a line anchor (#L12 or #L12-L20) of action.yml`,
		`README.md:14: docs/gone.md: no file or directory docs/gone.md`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestSlug checks headings against the anchors GitHub gives them.
func TestSlug(t *testing.T) {
	for _, tt := range []struct{ heading, want string }{
		{"Which signature format", "which-signature-format"},
		{"`keyless sign` and `keyless verify`", "keyless-sign-and-keyless-verify"},
		{"Inputs & outputs", "inputs--outputs"},
		{"Rekor v1.5.4 (on MariaDB)", "rekor-v154-on-mariadb"},
		{"A [linked](https://example.com) word", "a-linked-word"},
		{"snake_case stays", "snake_case-stays"},
		{"Ünïcödé letters", "ünïcödé-letters"},
	} {
		t.Run(tt.heading, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Slug(tt.heading)); diff != "" {
				t.Errorf("Slug(%q) (-want +got):\n%s", tt.heading, diff)
			}
		})
	}
}

// TestExamplesKinds checks how YAML examples are sorted, and that one that
// does not parse or is of no kind is refused with its line.
func TestExamplesKinds(t *testing.T) {
	root := t.TempDir()
	md := strings.Join([]string{
		"```yaml", "on: push", "jobs: {a: {runs-on: x, steps: [{run: echo}]}}", "```",
		"```yml", "include:", "  - component: x/y@1", "```",
		"```yaml", "apiVersion: v1", "kind: ServiceAccount", "---", "apiVersion: v1", "kind: Secret", "```",
		"```yaml", "# Part of a Pipeline's tasks:", "- name: sign", "```",
		"```sh", "not: [yaml", "```",
		"```yaml", "steps:", "  - command: make", "```",
		"```yaml", "version: 2.1", "workflows: {w: {jobs: [j]}}", "```",
	}, "\n")
	if err := os.WriteFile(filepath.Join(root, "a.md"), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	ex, err := Examples(root, "a.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ex {
		got = append(got, e.String()+" "+string(e.Kind))
	}
	want := []string{"a.md:1 GitHub workflow", "a.md:5 GitLab CI file", "a.md:9 Kubernetes manifests", "a.md:16 part of a file",
		"a.md:23 Buildkite pipeline", "a.md:27 CircleCI config"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ name, block, want string }{
		{"does not parse", "with: {username: ${{ github.actor }}}", "b.md:1: document 0 does not parse"},
		{"no kind", "permissions:\n  id-token: write", "not a complete GitHub workflow"},
		{"half Kubernetes", "apiVersion: v1\nkind: Secret\n---\nfoo: bar", "1 of 2 documents are Kubernetes objects"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(root, "b.md"), []byte("```yaml\n"+tt.block+"\n```\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Examples(root, "b.md")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
