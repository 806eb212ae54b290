package manifests

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// jobInputs are the inputs that shape the GitLab job itself, not keyless.
var jobInputs = map[string]bool{"job-name": true, "stage": true, "image": true, "rules": true, "retry": true}

// token is a word of a script line; an interpolation block is part of its
// word.
var token = regexp.MustCompile(`(?:\$\[\[[^\]]*\]\]|[^\s$]|\$)+`)

// argument is one --name="$[[ inputs.name ]]" of a script line.
var argument = regexp.MustCompile(`^--([a-z-]+)="\$\[\[ inputs\.([a-z-]+) \]\]"$`)

// TestGitLabInputsAreArguments checks that every component passes every
// keyless input as an argument, never as a job variable: GitLab lets an
// earlier job's dotenv report override any job variable, but no
// variable overrides an argument. The images come last, after --, so
// that no image can be read as a flag.
func TestGitLabInputsAreArguments(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(templates)) {
		t.Run(name, func(t *testing.T) {
			tpl := loadTemplate(t, name)
			if diff := cmp.Diff([]string(nil), argumentProblems(tpl, templates[name])); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// argumentProblems inspects a template's uninterpolated job.
func argumentProblems(tpl template, command string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var doc map[string]map[string]any
	if err := yaml.Unmarshal(tpl.body, &doc); err != nil || len(doc) != 1 {
		return []string{fmt.Sprintf("body is not one job: %v", err)}
	}
	var job map[string]any
	for _, j := range doc {
		job = j
	}
	if vars, ok := job["variables"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			if strings.HasPrefix(k, "KEYLESS_") {
				add("job variable %s: a dotenv report of an earlier job overrides it; pass the input as an argument", k)
			}
		}
	}
	script, _ := job["script"].([]any)
	if len(script) != 1 {
		return append(problems, fmt.Sprintf("script has %d lines, want one", len(script)))
	}
	fields := token.FindAllString(fmt.Sprint(script[0]), -1)
	want := []string{"/keyless", command}
	if len(fields) < 4 || !slices.Equal(fields[:2], want) || !slices.Equal(fields[len(fields)-2:], []string{"--", `"$[[ inputs.images ]]"`}) {
		return append(problems, fmt.Sprintf("script %q, want /keyless %s, the arguments, then -- \"$[[ inputs.images ]]\"", script[0], command))
	}
	given := map[string]bool{"images": true}
	for _, f := range fields[2 : len(fields)-2] {
		m := argument.FindStringSubmatch(f)
		switch {
		case m == nil:
			add("argument %q is not --NAME=\"$[[ inputs.NAME ]]\"", f)
		case m[1] != m[2]:
			add("argument --%s takes input %s", m[1], m[2])
		case given[m[1]]:
			add("argument --%s given twice", m[1])
		default:
			given[m[1]] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tpl.header.Spec.Inputs)) {
		in := tpl.header.Spec.Inputs[name]
		if !jobInputs[name] && !given[name] {
			add("input %s is not passed as an argument", name)
		}
		if given[name] && in.Type == "string" && len(in.Options) == 0 && !refusesShell(in.Regex) {
			add("input %s: its regex %q lets a value end the argument's quotes or run a command", name, in.Regex)
		}
	}
	return problems
}

// refusesShell reports whether an input regex refuses what would escape
// the argument's double quotes in the job's shell (a quote, a backquote, a
// command substitution).
func refusesShell(expr string) bool {
	re, err := regexp.Compile(expr)
	if err != nil || expr == "" {
		return false
	}
	for _, bad := range []string{`a"b`, "a`id`", "$(id)", `a\"`, `https://x"$(id)"`} {
		if re.MatchString(bad) {
			return false
		}
	}
	return true
}

// TestGitLabArgumentCheckersBite shows that argumentProblems finds each
// way back to the variables GitLab lets a dotenv report rewrite.
func TestGitLabArgumentCheckersBite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(string) string
		want  string
	}{
		{"a policy input as a job variable", func(b string) string {
			return strings.Replace(b, "  script:", "  variables:\n    KEYLESS_CERTIFICATE_IDENTITY: \"$[[ inputs.certificate-identity ]]\"\n  script:", 1)
		}, "job variable KEYLESS_CERTIFICATE_IDENTITY"},
		{"an input left out", func(b string) string {
			return strings.Replace(b, "\n      --certificate-identity-regexp=\"$[[ inputs.certificate-identity-regexp ]]\"", "", 1)
		}, "input certificate-identity-regexp is not passed"},
		{"images before --", func(b string) string {
			return strings.Replace(b, `-- "$[[ inputs.images ]]"`, `--images="$[[ inputs.images ]]"`, 1)
		}, "then --"},
		{"an unquoted argument", func(b string) string {
			return strings.Replace(b, `--source-ref="$[[ inputs.source-ref ]]"`, `--source-ref=$[[ inputs.source-ref ]]`, 1)
		}, "is not --NAME="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := loadTemplate(t, "verify.yml")
			tpl.body = []byte(tc.spoil(string(tpl.body)))
			got := strings.Join(argumentProblems(tpl, "verify"), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one about %q", got, tc.want)
			}
		})
	}
	t.Run("a regex that lets a quote through", func(t *testing.T) {
		tpl := loadTemplate(t, "verify.yml")
		in := tpl.header.Spec.Inputs["source-ref"]
		in.Regex = `^\S*$`
		tpl.header.Spec.Inputs["source-ref"] = in
		if got := strings.Join(argumentProblems(tpl, "verify"), "\n"); !strings.Contains(got, "input source-ref: its regex") {
			t.Errorf("problems %q, want one about source-ref's regex", got)
		}
	})
}
