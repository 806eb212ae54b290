package ci

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// GitLab is a GitLab CI job.
type GitLab struct {
	getenv func(string) string
	out    io.Writer
	now    func() time.Time
}

// NewGitLab returns the GitLab CI adapter.
func NewGitLab(getenv func(string) string, stdout io.Writer) *GitLab {
	return &GitLab{getenv: getenv, out: stdout, now: time.Now}
}

// Name returns "gitlab".
func (g *GitLab) Name() string { return "gitlab" }

// Input reads KEYLESS_<NAME>, as the component's job variables set them.
func (g *GitLab) Input(name string) string { return envInput(g.getenv, name) }

// Mask does nothing: GitLab masks only variables defined as masked in its
// settings, and id_tokens are never echoed; keyless itself never logs them.
func (g *GitLab) Mask(string) {}

var sectionName = regexp.MustCompile(`[^a-z0-9_]+`)

// Section starts a collapsed GitLab log section.
func (g *GitLab) Section(title string) func() {
	title = OneLine(title)
	id := sectionName.ReplaceAllString(strings.ToLower(title), "_")
	if len(id) > 40 {
		id = id[:40]
	}
	fmt.Fprintf(g.out, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", g.now().Unix(), id, title)
	return func() { fmt.Fprintf(g.out, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", g.now().Unix(), id) }
}

// dotenvLimit is GitLab's size limit for an artifacts:reports:dotenv file.
const dotenvLimit = 5 * 1024

// Publish writes keyless.env (dotenv), summary.md, annotations.json and
// report.json into the output directory (default "keyless").
func (g *GitLab) Publish(a Artifacts) error {
	dir := a.OutputDir
	if dir == "" {
		dir = "keyless"
	}
	outputs, note := fit(a.Outputs, dotenvLimit, func(o [][2]string) int { return len(Dotenv(o)) }, filepath.Join(dir, "report.json"))
	if note != "" {
		fmt.Fprintf(g.out, "keyless: %s\n", note)
	}
	env := Dotenv(outputs)
	if len(env) > dotenvLimit {
		return fmt.Errorf("dotenv report is %d bytes, over GitLab's %d-byte limit: sign fewer images per job", len(env), dotenvLimit)
	}
	ann, err := json.MarshalIndent(map[string]any{"keyless": linksJSON(a.Annotations)}, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"keyless.env", []byte(env)}, {"summary.md", []byte(a.Summary)}, {"annotations.json", ann}, {"report.json", a.Report}} {
		if _, err := writeFile(dir, f.name, f.data); err != nil {
			return err
		}
	}
	_, err = writeFiles(dir, "", a.Files)
	return err
}

// Dotenv renders outputs as KEYLESS_NAME=value lines. Multi-line values are
// joined with commas: dotenv reports hold one line per variable.
func Dotenv(outputs [][2]string) string {
	var b strings.Builder
	for _, o := range outputs {
		k := "KEYLESS_" + strings.ToUpper(strings.ReplaceAll(o[0], "-", "_"))
		v := strings.ReplaceAll(strings.TrimSpace(o[1]), "\n", ",")
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return b.String()
}

func linksJSON(links []Link) []map[string]any {
	out := []map[string]any{}
	for _, l := range links {
		out = append(out, map[string]any{"external_link": map[string]string{"label": l.Label, "url": l.URL}})
	}
	return out
}
