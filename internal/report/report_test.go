package report

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
)

const (
	hexA = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
	hexB = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222"
	ghID = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"
	ghIS = "https://token.actions.githubusercontent.com"
)

// signRun is a sign run of two subjects in both formats.
func signRun() *Run {
	return &Run{
		Command: "sign",
		Identity: Identity{
			Issuer: ghIS,
			SAN:    ghID,
			Certificate: &Certificate{
				CertificateIssuer:      "CN=sigstore-intermediate,O=sigstore.dev",
				SubjectAlternativeName: ghID,
				SourceRepositoryURI:    "https://github.com/octo/app",
				SourceRepositoryRef:    "refs/heads/main",
				SourceRepositoryDigest: "0123456789abcdef0123456789abcdef01234567",
				BuildTrigger:           "push",
				RunnerEnvironment:      "github-hosted",
			},
		},
		Formats:  []sign.Format{sign.Bundle, sign.Legacy},
		Trust:    "public-good (TUF)",
		Verified: true,
		Subjects: []Subject{
			{
				Input: "ghcr.io/octo/app:v1", Digest: "ghcr.io/octo/app@sha256:" + hexA,
				Signatures: []Signature{
					{Format: sign.Bundle, Location: "ghcr.io/octo/app@sha256:" + strings.Repeat("1", 64), LogURL: "https://rekor.sigstore.dev", LogIndex: 100},
					{Format: sign.Legacy, Location: "ghcr.io/octo/app:sha256-" + hexA + ".sig", LogURL: "https://rekor.sigstore.dev", LogIndex: 101},
				},
				Verifications: []Verification{
					{Format: sign.Bundle, Verified: true, Location: "ghcr.io/octo/app@sha256:" + strings.Repeat("1", 64), LogIndex: 100},
					{Format: sign.Legacy, Verified: true, Location: "ghcr.io/octo/app:sha256-" + hexA + ".sig", LogIndex: 101},
				},
			},
			{
				Input: "ghcr.io/octo/app:v1", Digest: "ghcr.io/octo/app@sha256:" + hexB, Platform: "linux/arm64",
				Signatures: []Signature{
					{Format: sign.Bundle, Location: "ghcr.io/octo/app@sha256:" + strings.Repeat("2", 64), LogURL: "https://rekor.example", LogIndex: 7},
					{Format: sign.Legacy, Location: "ghcr.io/octo/app:sha256-" + hexB + ".sig", LogURL: "https://rekor.example", LogIndex: 8},
				},
				Verifications: []Verification{
					{Format: sign.Bundle, Verified: true, Location: "ghcr.io/octo/app@sha256:" + strings.Repeat("2", 64), LogIndex: 7},
					{Format: sign.Legacy, Verified: false, LogIndex: -1, Reasons: []string{"no signature found", "tag a|b"}},
				},
			},
		},
	}
}

func TestOutputs(t *testing.T) {
	verifyRun := signRun()
	verifyRun.Command = "verify"
	for i := range verifyRun.Subjects {
		verifyRun.Subjects[i].Signatures = nil
	}
	verifyRun.Verified = false

	tests := []struct {
		name string
		run  *Run
		want []Output
	}{
		{
			name: "sign, two subjects, two formats",
			run:  signRun(),
			want: []Output{
				{"digests", "ghcr.io/octo/app@sha256:" + hexA + "\nghcr.io/octo/app@sha256:" + hexB},
				{"signatures", strings.Join([]string{
					"ghcr.io/octo/app@sha256:" + strings.Repeat("1", 64),
					"ghcr.io/octo/app:sha256-" + hexA + ".sig",
					"ghcr.io/octo/app@sha256:" + strings.Repeat("2", 64),
					"ghcr.io/octo/app:sha256-" + hexB + ".sig",
				}, "\n")},
				{"rekor-log-indexes", "100\n101\n7\n8"},
				{"certificate-identity", ghID},
				{"certificate-oidc-issuer", ghIS},
				{"verified", "true"},
			},
		},
		{
			name: "verify lists the verified locations only",
			run:  verifyRun,
			want: []Output{
				{"digests", "ghcr.io/octo/app@sha256:" + hexA + "\nghcr.io/octo/app@sha256:" + hexB},
				{"signatures", strings.Join([]string{
					"ghcr.io/octo/app@sha256:" + strings.Repeat("1", 64),
					"ghcr.io/octo/app:sha256-" + hexA + ".sig",
					"ghcr.io/octo/app@sha256:" + strings.Repeat("2", 64),
				}, "\n")},
				{"rekor-log-indexes", "100\n101\n7"},
				{"certificate-identity", ghID},
				{"certificate-oidc-issuer", ghIS},
				{"verified", "false"},
			},
		},
		{
			name: "empty run",
			run:  &Run{Command: "sign"},
			want: []Output{{"digests", ""}, {"signatures", ""}, {"rekor-log-indexes", ""}, {"certificate-identity", ""}, {"certificate-oidc-issuer", ""}, {"verified", "false"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.run.Outputs()); diff != "" {
				t.Errorf("Outputs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubjectOK(t *testing.T) {
	ok := Verification{Format: sign.Bundle, Verified: true}
	bad := Verification{Format: sign.Legacy, Reasons: []string{"no signature"}}
	tests := []struct {
		name       string
		subject    Subject
		wantVerify bool
		want       bool
	}{
		{"signed, no verify wanted", Subject{}, false, true},
		{"error, no verify wanted", Subject{Error: "push failed"}, false, false},
		{"verify wanted, none done", Subject{}, true, false},
		{"all verified", Subject{Verifications: []Verification{ok, ok}}, true, true},
		{"one failed", Subject{Verifications: []Verification{ok, bad}}, true, false},
		{"verified but error", Subject{Verifications: []Verification{ok}, Error: "x"}, true, false},
		{"failed verifications ignored without verify", Subject{Verifications: []Verification{bad}}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.subject.OK(tt.wantVerify); got != tt.want {
				t.Errorf("OK(%v) = %v, want %v", tt.wantVerify, got, tt.want)
			}
		})
	}
}

func TestEntryURL(t *testing.T) {
	tests := []struct {
		logURL string
		index  int64
		want   string
	}{
		{"https://rekor.sigstore.dev", 123456789, "https://search.sigstore.dev/?logIndex=123456789"},
		{"https://rekor.sigstage.dev", 5, "https://rekor.sigstage.dev/api/v1/log/entries?logIndex=5"},
		{"http://rekor.internal:3000", 0, "http://rekor.internal:3000/api/v1/log/entries?logIndex=0"},
	}
	for _, tt := range tests {
		t.Run(tt.logURL, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, EntryURL(tt.logURL, tt.index)); diff != "" {
				t.Errorf("EntryURL mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// shellWords splits a command line the way a POSIX shell would, for the
// quoting keyless uses: single quotes, $'…' with \xHH, \\ and \' escapes,
// backslash escapes and backslash-newline continuations.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case !quoted && strings.HasPrefix(line[i:], "$'"):
			n := ansiC(t, line[i+2:], &cur)
			i += 2 + n
			in = true
		case quoted:
			if c == '\'' {
				quoted = false
			} else {
				cur.WriteByte(c)
			}
		case c == '\'':
			quoted, in = true, true
		case c == '\\':
			if i+1 == len(line) {
				t.Fatalf("trailing backslash in %q", line)
			}
			i++
			if line[i] != '\n' {
				cur.WriteByte(line[i])
				in = true
			}
		case c == ' ' || c == '\n' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %q", line)
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// ansiC reads the body of a $'…' word up to its closing quote into cur and
// returns how many bytes it consumed, the quote included.
func ansiC(t *testing.T, s string, cur *strings.Builder) int {
	t.Helper()
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			return i + 1
		case s[i] == '\n':
			t.Fatalf("a $'…' word spans lines: %q", s)
		case s[i] != '\\':
			cur.WriteByte(s[i])
		case i+1 < len(s) && (s[i+1] == '\\' || s[i+1] == '\''):
			cur.WriteByte(s[i+1])
			i++
		case i+3 < len(s) && s[i+1] == 'x':
			b, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				t.Fatalf("bad \\x escape in %q", s)
			}
			cur.WriteByte(byte(b))
			i += 3
		default:
			t.Fatalf("unexpected escape in %q", s)
		}
	}
	t.Fatalf("unterminated $' in %q", s)
	return 0
}

func TestVerifyCommands(t *testing.T) {
	image := "ghcr.io/octo/app@sha256:" + hexA
	tests := []struct {
		name        string
		run         Run
		trustedRoot string
		want        [][]string // argv per command
		wantTitles  []string
	}{
		{
			name: "bundle",
			run:  Run{Identity: Identity{SAN: ghID, Issuer: ghIS}, Formats: []sign.Format{sign.Bundle}},
			want: [][]string{
				{"cosign", "verify", "--certificate-identity", ghID, "--certificate-oidc-issuer", ghIS, image},
				{"cosign", "verify", "--certificate-identity", ghID, "--certificate-oidc-issuer", ghIS, image},
			},
			wantTitles: []string{"cosign v3 (bundle format)", "cosign v2.6 (bundle format)"},
		},
		{
			name: "bundle with signed timestamps",
			run:  Run{Identity: Identity{SAN: ghID, Issuer: ghIS}, Formats: []sign.Format{sign.Bundle}, SignedTimestamps: true},
			want: [][]string{
				{"cosign", "verify", "--certificate-identity", ghID, "--certificate-oidc-issuer", ghIS, image},
				{"cosign", "verify", "--use-signed-timestamps", "--certificate-identity", ghID, "--certificate-oidc-issuer", ghIS, image},
			},
			wantTitles: []string{"cosign v3 (bundle format)", "cosign v2.6 (bundle format)"},
		},
		{
			name: "legacy",
			run:  Run{Identity: Identity{SAN: ghID, Issuer: ghIS}, Formats: []sign.Format{sign.Legacy}},
			want: [][]string{
				{"cosign", "verify", "--certificate-identity", ghID, "--certificate-oidc-issuer", ghIS, image},
				{"cosign", "verify", "--new-bundle-format=false", "--certificate-identity", ghID, "--certificate-oidc-issuer", ghIS, image},
			},
			wantTitles: []string{"cosign v2 (legacy .sig format)", "cosign v3 (legacy .sig format)"},
		},
		{
			name: "identity with a single quote",
			run:  Run{Identity: Identity{SAN: "dev'o@example.com", Issuer: "https://accounts.example/it's"}, Formats: []sign.Format{sign.Legacy}},
			want: [][]string{
				{"cosign", "verify", "--certificate-identity", "dev'o@example.com", "--certificate-oidc-issuer", "https://accounts.example/it's", image},
				{"cosign", "verify", "--new-bundle-format=false", "--certificate-identity", "dev'o@example.com", "--certificate-oidc-issuer", "https://accounts.example/it's", image},
			},
			wantTitles: []string{"cosign v2 (legacy .sig format)", "cosign v3 (legacy .sig format)"},
		},
		{
			name: "regexp flags used when set",
			run: Run{Identity: Identity{SAN: ghID, Issuer: ghIS, SANRegexp: `^https://github\.com/octo/.*$`, IssuerRegexp: `https://token\.actions\..*`},
				Formats: []sign.Format{sign.Bundle}},
			want: [][]string{
				{"cosign", "verify", "--certificate-identity-regexp", `^(?:https://github\.com/octo/.*)$`, "--certificate-oidc-issuer-regexp", `^(?:https://token\.actions\..*)$`, image},
				{"cosign", "verify", "--certificate-identity-regexp", `^(?:https://github\.com/octo/.*)$`, "--certificate-oidc-issuer-regexp", `^(?:https://token\.actions\..*)$`, image},
			},
			wantTitles: []string{"cosign v3 (bundle format)", "cosign v2.6 (bundle format)"},
		},
		{
			// cosign searches an unanchored pattern anywhere: "a|b" would
			// admit any identity containing a "b".
			name: "regexp alternatives anchored as a whole",
			run:  Run{Identity: Identity{SANRegexp: `https://github\.com/octo/app/.*|https://github\.com/octo/lib/.*`, Issuer: ghIS}, Formats: []sign.Format{sign.Legacy}},
			want: [][]string{
				{"cosign", "verify", "--certificate-identity-regexp", `^(?:https://github\.com/octo/app/.*|https://github\.com/octo/lib/.*)$`, "--certificate-oidc-issuer", ghIS, image},
				{"cosign", "verify", "--new-bundle-format=false", "--certificate-identity-regexp", `^(?:https://github\.com/octo/app/.*|https://github\.com/octo/lib/.*)$`, "--certificate-oidc-issuer", ghIS, image},
			},
			wantTitles: []string{"cosign v2 (legacy .sig format)", "cosign v3 (legacy .sig format)"},
		},
		{
			name:        "values with control characters stay on their line",
			run:         Run{Identity: Identity{SAN: "a\n```\nb", Issuer: "https://i\x1b[2J'x"}, Formats: []sign.Format{sign.Bundle}},
			trustedRoot: "/tmp/x\nrm -rf ~",
			want: [][]string{
				{"cosign", "verify", "--certificate-identity", "a\n```\nb", "--certificate-oidc-issuer", "https://i\x1b[2J'x", "--trusted-root", "/tmp/x\nrm -rf ~", image},
				{"cosign", "verify", "--certificate-identity", "a\n```\nb", "--certificate-oidc-issuer", "https://i\x1b[2J'x", "--trusted-root", "/tmp/x\nrm -rf ~", image},
			},
			wantTitles: []string{"cosign v3 (bundle format)", "cosign v2.6 (bundle format)"},
		},
		{
			name:        "trusted root",
			run:         Run{Identity: Identity{SAN: ghID, Issuer: ghIS}, Formats: []sign.Format{sign.Legacy}},
			trustedRoot: "/work/trusted root.json",
			want: [][]string{
				{"cosign", "verify", "--certificate-identity", ghID, "--certificate-oidc-issuer", ghIS, "--trusted-root", "/work/trusted root.json", image},
				{"cosign", "verify", "--new-bundle-format=false", "--certificate-identity", ghID, "--certificate-oidc-issuer", ghIS, "--trusted-root", "/work/trusted root.json", image},
			},
			wantTitles: []string{"cosign v2 (legacy .sig format)", "cosign v3 (legacy .sig format)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := tt.run.VerifyCommands(image, tt.trustedRoot)
			var argv [][]string
			var titles []string
			for _, c := range cmds {
				if got, want := strings.Count(c.Line, "\n"), strings.Count(c.Line, "\\\n"); got != want {
					t.Errorf("%d line breaks, only %d of them continuations:\n%s", got, want, c.Line)
				}
				argv = append(argv, shellWords(t, c.Line))
				titles = append(titles, c.Title)
			}
			if diff := cmp.Diff(tt.want, argv); diff != "" {
				t.Errorf("command arguments mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTitles, titles); diff != "" {
				t.Errorf("titles mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain", `'plain'`},
		{"", `''`},
		{"it's", `'it'\''s'`},
		{"$(rm -rf /) `x` \"y\"", `'$(rm -rf /) ` + "`x`" + ` "y"'`},
		{"a\nb", `$'a\x0ab'`},
		{"it's\r\n\\", `$'it\'s\x0d\x0a\\'`},
		{"\u2028é\xff", `$'\xe2\x80\xa8é\xff'`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := shellQuote(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("shellQuote mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tt.in}, shellWords(t, got)); tt.in != "" && diff != "" {
				t.Errorf("shellQuote does not round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func markdown(t *testing.T, r *Run, o SummaryOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.Markdown(&b, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// images is the image section of a summary: from its first line to the
// Identity heading.
func images(t *testing.T, md string) string {
	t.Helper()
	_, rest, ok := strings.Cut(md, "\n\n")
	section, _, found := strings.Cut(rest, "### Identity\n")
	if !ok || !found {
		t.Fatalf("summary has no image section:\n%s", md)
	}
	return section
}

func TestMarkdown(t *testing.T) {
	md := markdown(t, signRun(), SummaryOptions{})
	want := "#### `ghcr.io/octo/app:v1`\n\n" +
		"| result | digest | platform | bundle | legacy |\n" +
		"|---|---|---|---|---|\n" +
		"| ✅ | `sha256:aaaaaaaaaaaa…` | — | ✅ entry [100](https://search.sigstore.dev/?logIndex=100) | ✅ entry [101](https://search.sigstore.dev/?logIndex=101) |\n" +
		"| ❌ | `sha256:bbbbbbbbbbbb…` | linux/arm64 | ✅ entry 7 | ❌ entry 8 |\n\n" +
		"- ❌ `sha256:bbbbbbbbbbbb…` (linux/arm64): verification failed: legacy: no signature found; tag a\\|b\n\n"
	if diff := cmp.Diff(want, images(t, md)); diff != "" {
		t.Errorf("image tables mismatch (-want +got):\n%s", diff)
	}

	for _, want := range []string{
		"## keyless sign — ❌ failed\n",
		"| certificate identity | `" + ghID + "` |\n",
		"| OIDC issuer | `" + ghIS + "` |\n",
		"| source repository | `https://github.com/octo/app` |\n",
		"| source ref | `refs/heads/main` |\n",
		"| source commit | `0123456789abcdef0123456789abcdef01234567` |\n",
		"| trigger | `push` |\n",
		"| runner environment | `github-hosted` |\n",
		"| trust | public-good (TUF) |\n",
		"Signed as this identity.",
		"### How to verify",
		"cosign v3 (bundle format):\n\n```sh\ncosign verify \\\n  --certificate-identity '" + ghID + "' \\\n  --certificate-oidc-issuer '" + ghIS + "' \\\n  'ghcr.io/octo/app@sha256:" + hexA + "'\n```\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	// An extension that is not in the certificate gets no row.
	if strings.Contains(md, "build signer digest") {
		t.Errorf("summary has a row for the absent build signer digest:\n%s", md)
	}
}

// passing makes signRun's failed verification pass.
func passing(r *Run) {
	r.Subjects[1].Verifications[1] = Verification{Format: sign.Legacy, Verified: true, LogIndex: 8}
	r.Verified = true
}

func TestMarkdownStatus(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Run)
		want   string
	}{
		{"signed and verified", passing, "## keyless sign — ✅ signed and verified\n"},
		{"sign failed", func(*Run) {}, "## keyless sign — ❌ failed\n"},
		{"signed, not verified", func(r *Run) { passing(r); r.Unverified, r.Verified = true, false }, "## keyless sign — ✅ signed (not verified: the verify input is false)\n"},
		{"verify ok", func(r *Run) { passing(r); r.Command = "verify" }, "## keyless verify — ✅ verified\n"},
		{"verify failed", func(r *Run) { r.Command = "verify"; r.Verified = false }, "## keyless verify — ❌ failed\n"},
		{"dry run", func(r *Run) { r.DryRun = true; r.Verified = false }, "## keyless sign — 📝 dry run: nothing was signed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signRun()
			tt.modify(r)
			md := markdown(t, r, SummaryOptions{})
			if !strings.HasPrefix(md, tt.want) {
				t.Errorf("summary starts %q, want %q", strings.SplitN(md, "\n", 2)[0], tt.want)
			}
			if hasHowTo := strings.Contains(md, "### How to verify"); hasHowTo == r.DryRun {
				t.Errorf("How to verify present = %v with DryRun = %v", hasHowTo, r.DryRun)
			}
		})
	}
}

func TestMarkdownRows(t *testing.T) {
	digest := "r.example/app@sha256:" + hexA
	const header = "| result | digest | platform | bundle |\n|---|---|---|---|\n"
	tests := []struct {
		name     string
		modify   func(*Run)
		subjects []Subject
		want     string
	}{
		{
			name: "an error fails the image and is listed under its table",
			subjects: []Subject{{Input: "r.example/app:v1", Digest: digest, Error: "writing referrer: HTTP 403\ndenied",
				Verifications: []Verification{{Format: sign.Bundle, Verified: true, LogIndex: 3}}}},
			want: "#### `r.example/app:v1`\n\n" + header +
				"| ❌ | `sha256:aaaaaaaaaaaa…` | — | ✅ entry 3 |\n\n" +
				"- ❌ `sha256:aaaaaaaaaaaa…`: writing referrer: HTTP 403 denied\n\n",
		},
		{
			name: "a verify run links the public-good entries it verified",
			subjects: []Subject{{Input: digest, Digest: digest,
				Verifications: []Verification{{Format: sign.Bundle, Verified: true, LogURL: trust.PublicGoodRekorURL, LogIndex: 42}}}},
			want: "#### `r.example/app`\n\n" + header +
				"| ✅ | `sha256:aaaaaaaaaaaa…` | — | ✅ entry [42](https://search.sigstore.dev/?logIndex=42) |\n\n",
		},
		{
			name:   "signed, not verified: the entry and whether it was already signed",
			modify: func(r *Run) { r.Command, r.Unverified = "sign", true },
			subjects: []Subject{{Input: "r.example/app:v1", Digest: digest,
				Signatures: []Signature{{Format: sign.Bundle, LogURL: "https://rekor.example", LogIndex: 9, Reused: true}}}},
			want: "#### `r.example/app:v1`\n\n" + header +
				"| ✅ | `sha256:aaaaaaaaaaaa…` | — | entry 9 (already signed) |\n\n",
		},
		{
			name:     "a dry run plans",
			modify:   func(r *Run) { r.Command, r.DryRun = "sign", true },
			subjects: []Subject{{Input: "r.example/app:v1", Digest: digest}},
			want:     "#### `r.example/app:v1`\n\n" + header + "| 📝 | `sha256:aaaaaaaaaaaa…` | — | — |\n\n",
		},
		{
			name: "one table per image, a row per manifest, not verified is a failure",
			subjects: []Subject{
				{Input: "r.example/app:v1", Digest: digest, Verifications: []Verification{{Format: sign.Bundle, Verified: true, LogIndex: 1}}},
				{Input: "r.example/app:v1", Digest: "r.example/app@sha256:" + hexB, Platform: "linux/arm64"},
				{Input: "r.example/other@sha256:" + hexB, Digest: "r.example/other@sha256:" + hexB, Verifications: []Verification{{Format: sign.Bundle, Verified: true, LogIndex: 2}}},
			},
			want: "#### `r.example/app:v1`\n\n" + header +
				"| ✅ | `sha256:aaaaaaaaaaaa…` | — | ✅ entry 1 |\n" +
				"| ❌ | `sha256:bbbbbbbbbbbb…` | linux/arm64 | — |\n\n" +
				"- ❌ `sha256:bbbbbbbbbbbb…` (linux/arm64): not verified\n\n" +
				"#### `r.example/other`\n\n" + header +
				"| ✅ | `sha256:bbbbbbbbbbbb…` | — | ✅ entry 2 |\n\n",
		},
		{
			name:     "input with pipe and backtick escaped",
			subjects: []Subject{{Input: "a|b`c", Digest: digest, Error: "x"}},
			want:     "#### ``a\\|b`c``\n\n" + header + "| ❌ | `sha256:aaaaaaaaaaaa…` | — | — |\n\n- ❌ `sha256:aaaaaaaaaaaa…`: x\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Command: "verify", Formats: []sign.Format{sign.Bundle}, Subjects: tt.subjects}
			if tt.modify != nil {
				tt.modify(r)
			}
			if diff := cmp.Diff(tt.want, images(t, markdown(t, r, SummaryOptions{}))); diff != "" {
				t.Errorf("image tables mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMarkdownColumns checks that the header and every row of an image
// table have the same cells, with one column per format.
func TestMarkdownColumns(t *testing.T) {
	for _, formats := range [][]sign.Format{{sign.Bundle}, {sign.Legacy}, {sign.Bundle, sign.Legacy}} {
		r := signRun()
		r.Formats = formats
		var rows []int
		for _, l := range strings.Split(images(t, markdown(t, r, SummaryOptions{})), "\n") {
			if strings.HasPrefix(l, "|") {
				rows = append(rows, cells(l))
			}
		}
		want := []int{3 + len(formats), 3 + len(formats), 3 + len(formats), 3 + len(formats)} // header, rule, two manifests
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("formats %v: cells per row (-want +got):\n%s", formats, diff)
		}
	}
}

func TestMarkdownRegexpAndTrustedRoot(t *testing.T) {
	r := &Run{
		Command: "verify", Verified: true, Formats: []sign.Format{sign.Bundle},
		Identity: Identity{SANRegexp: `^https://github\.com/octo/.*$`, IssuerRegexp: `^https://token\.actions\.githubusercontent\.com$`},
		Subjects: []Subject{{Input: "r/a:1", Digest: "r/a@sha256:" + hexA}},
	}
	md := markdown(t, r, SummaryOptions{TrustedRoot: "/etc/keyless/trusted_root.json"})
	for _, want := range []string{
		"| certificate identity | `~ ^https://github\\.com/octo/.*$` |",
		"| OIDC issuer | `~ ^https://token\\.actions\\.githubusercontent\\.com$` |",
		"--certificate-identity-regexp '^(?:https://github\\.com/octo/.*)$'",
		"--certificate-oidc-issuer-regexp '^(?:https://token\\.actions\\.githubusercontent\\.com)$'",
		"--trusted-root '/etc/keyless/trusted_root.json'",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Signed as this identity") {
		t.Errorf("verify summary claims to have signed:\n%s", md)
	}
}

// TestMarkdownSize checks that the summary of 1000 images stays far under
// GitHub's 1 MiB: every failed image up to a bound is a row, and the totals
// are always there.
func TestMarkdownSize(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		subjects             int
		failedEvery          int // every n-th subject fails; 0: none
		wantRows             int
		wantTotals, wantMore string
	}{
		{"few images: one row per manifest", 50, 2, 50, "", ""},
		{"1000 images, none failed", 1000, 0, 0, "**1000 images** (bundle, legacy): ✅ 1000 signed and verified;", ""},
		{"1000 images, 10 failed", 1000, 100, 10, "✅ 990 signed and verified, ❌ 10 failed", ""},
		{"1000 images, half failed", 1000, 2, maxFailedRows, "✅ 500 signed and verified, ❌ 500 failed", "❌ 450 more failed images"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := signRun()
			ok, bad := r.Subjects[0], r.Subjects[1]
			if ok.OK(true) == bad.OK(true) {
				t.Fatal("the template run needs a passed and a failed subject")
			}
			r.Subjects = nil
			for i := range tc.subjects {
				s := ok
				if tc.failedEvery > 0 && i%tc.failedEvery == 0 {
					s = bad
				}
				s.Input = fmt.Sprintf("registry.example.com/organisation/some-long-image-name-%03d:v1.2.3", i)
				s.Digest = fmt.Sprintf("registry.example.com/organisation/some-long-image-name-%03d@sha256:%064x", i, i)
				r.Subjects = append(r.Subjects, s)
			}
			md := markdown(t, r, SummaryOptions{TrustedRoot: "/trusted_root.json"})
			if got := strings.Count(md, " | `sha256:"); got != tc.wantRows {
				t.Errorf("summary has %d manifest rows, want %d", got, tc.wantRows)
			}
			for _, want := range []string{tc.wantTotals, tc.wantMore} {
				if !strings.Contains(md, want) {
					t.Errorf("summary lacks %q", want)
				}
			}
			const limit = 1 << 20 // GitHub's step summary limit
			if len(md) > limit/4 {
				t.Errorf("summary of %d subjects is %d bytes, want well under %d", tc.subjects, len(md), limit)
			}
		})
	}
}

// TestShellQuoteInBash gives the quoted words to a real shell, which must
// read back exactly the values.
func TestShellQuoteInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	values := []string{"plain", "it's", "a\nb", "x\x1b[2J'\\\r", "\u2028é", "$(id) `id` ${HOME}", "--certificate-identity-regexp=.*"}
	var script strings.Builder
	script.WriteString("printf '%s\\0'")
	for _, v := range values {
		script.WriteString(" " + shellQuote(v))
	}
	out, err := exec.Command(bash, "-c", script.String()).Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if diff := cmp.Diff(values, got); diff != "" {
		t.Errorf("bash read other words (-want +got):\n%s", diff)
	}
}

// skeleton describes the block structure of Markdown: headings, table rows
// with their number of cells (split as GitHub splits them: at pipes not
// escaped by a backslash), code fences and their contents' line count,
// HTML block lines, and text lines.
func skeleton(md string) []string {
	var out []string
	fence := ""
	for _, l := range strings.Split(md, "\n") {
		switch {
		case fence != "":
			if strings.TrimRight(l, " ") == fence || (strings.HasPrefix(l, fence) && strings.Trim(l, "` ") == "") {
				out, fence = append(out, "fence end"), ""
			} else {
				out = append(out, "code")
			}
		case strings.HasPrefix(l, "```"):
			fence = l[:len(l)-len(strings.TrimLeft(l, "`"))]
			out = append(out, "fence "+strings.TrimLeft(l, "`"))
		case strings.HasPrefix(l, "|"):
			out = append(out, fmt.Sprintf("row of %d cells", cells(l)))
		case strings.HasPrefix(l, "#"):
			out = append(out, "heading "+strings.Fields(l)[0])
		case strings.HasPrefix(l, "<"):
			out = append(out, "html "+strings.Fields(l)[0])
		case l == "":
			out = append(out, "")
		default:
			out = append(out, "text")
		}
	}
	return out
}

// cells counts a table row's cells: pipes not escaped by a backslash, less
// the leading and trailing ones.
func cells(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n - 1
}

// TestMarkdownHostileValues writes a failed run whose every outside value
// tries to break out of its place (a newline and a fence, a pipe, HTML, a
// link) and checks that the summary has exactly the structure of the same
// run with plain values, and that no hostile line survives.
func TestMarkdownHostileValues(t *testing.T) {
	const evil = "x\n```\n## injected\n| a | b |\n<img src=x onerror=alert(1)>\n[click](https://evil.example)`|"
	hostile := func(plain bool) *Run {
		v := func(s string) string {
			if plain {
				return "plain"
			}
			return s + evil
		}
		r := signRun()
		r.Command = "verify"
		r.Identity.SANRegexp, r.Identity.IssuerRegexp = v("^https://github\\.com/"), v("https://token")
		r.Trust = v("/etc/trusted_root.json")
		r.Identity.Certificate.SourceRepositoryURI, r.Identity.Certificate.BuildSignerDigest = v("https://github.com/o/r"), v("sha256")
		r.Subjects[0].Input, r.Subjects[1].Platform = v("ghcr.io/octo/app:v1"), v("linux/arm64")
		r.Subjects[1].Verifications[1].Reasons = []string{v("no signature")}
		return r
	}
	o := func(plain bool) SummaryOptions {
		p := policy.Manifest{Title: "Kyverno ClusterPolicy", File: "kyverno.yaml", YAML: []byte("kind: ClusterPolicy\n# plain\n")}
		if !plain {
			p.Title, p.File, p.YAML = p.Title+evil, p.File+evil, []byte("kind: ClusterPolicy\n# "+strings.ReplaceAll(evil, "\n", " ")+"\n")
		}
		return SummaryOptions{TrustedRoot: map[bool]string{true: "/root.json", false: "/root.json" + evil}[plain], Policies: []policy.Manifest{p}}
	}
	want, md := skeleton(markdown(t, hostile(true), o(true))), markdown(t, hostile(false), o(false))
	if diff := cmp.Diff(want, skeleton(md)); diff != "" {
		t.Errorf("hostile values changed the summary's structure (-plain +hostile):\n%s\n%s", diff, md)
	}
	for _, l := range strings.Split(md, "\n") {
		for _, bad := range []string{"## injected", "| a | b |", "<img", "[click]"} {
			if strings.HasPrefix(l, bad) {
				t.Errorf("a hostile value made its own line %q:\n%s", l, md)
			}
		}
	}
}

func TestMdCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "`plain`"},
		{"a|b", "`a\\|b`"},
		{`a\|b`, "`a\\\\\\|b`"},
		{`a\\|b`, "`a\\\\\\|b`"},
		{"a`b", "``a`b``"},
		{"`a``", "``` `a`` ```"},
		{"a\nb\x1b", "`a\\nb\\x1b`"},
	} {
		if got := mdCode(tc.in); got != tc.want {
			t.Errorf("mdCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMdText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"a|b\\|c", `a\|b\\\|c`},
		{"<b>&[x](y)!*_~`", `&lt;b&gt;&amp;\[x\](y)\!\*\_\~\` + "`"},
		{"a\nb\rc\u2028d", "a b c d"},
	} {
		if got := mdText(tc.in); got != tc.want {
			t.Errorf("mdText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if cells("|"+mdText(tc.in)+"|") != 1 {
			t.Errorf("mdText(%q) splits a table cell", tc.in)
		}
	}
}
