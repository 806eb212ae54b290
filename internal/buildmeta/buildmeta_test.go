package buildmeta_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/buildmeta"
	"github.com/keyless-dev/keyless/internal/input"
)

var (
	dA = "sha256:" + strings.Repeat("a", 64)
	dB = "sha256:" + strings.Repeat("b", 64)
	dC = "sha256:" + strings.Repeat("c", 64)
	dD = "sha256:" + strings.Repeat("d", 64)
)

// TestLoadFormats reads a file of every format, in the shape each tool
// writes it (testdata: the tools' documented output and source).
func TestLoadFormats(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []string
		want    []string
	}{
		{"buildx --metadata-file, two tags of one index", []string{"testdata/buildx-metadata.json"}, []string{"ghcr.io/example/app@" + dA}},
		{"buildx bake, a target without an image", []string{"testdata/bake-metadata.json"}, []string{"index.docker.io/example/db@" + dB, "index.docker.io/example/webapp@" + dA}},
		{"ko --image-refs, an index and its manifests", []string{"testdata/ko-image-refs.txt"}, []string{
			"registry.example.com/ko/app-8f2a@" + dA, "registry.example.com/ko/app-8f2a@" + dB, "registry.example.com/ko/app-8f2a@" + dC}},
		{"kaniko --image-name-with-digest-file", []string{"testdata/kaniko-image-name-with-digest.txt"}, []string{
			"registry.example.com/team/app@" + dB, "index.docker.io/team/app@" + dB}},
		{"kaniko --image-name-tag-with-digest-file", []string{"testdata/kaniko-image-name-tag-with-digest.txt"}, []string{
			"registry.example.com/team/app@" + dB, "index.docker.io/team/app@" + dB}},
		{"kaniko --digest-file with NAME=", []string{"registry.example.com/team/app=testdata/kaniko-digest"}, []string{"registry.example.com/team/app@" + dC}},
		{"podman --digestfile with a tagged NAME=", []string{"registry.example.com/team/app:v2=testdata/podman-digestfile"}, []string{"registry.example.com/team/app@" + dC}},
		{"a TaskRun's results", []string{"testdata/taskrun.json"}, []string{"registry.example.com/team/app@" + dB}},
		{"a Tekton results directory", []string{"testdata/results"}, []string{
			"registry.example.com/team/app@" + dB, "registry.example.com/team/cli@" + dC, "registry.example.com/team/cli@" + dD}},
		{"files of one build, once each", []string{"testdata/kaniko-image-name-tag-with-digest.txt", "testdata/results", "testdata/taskrun.json"}, []string{
			"registry.example.com/team/app@" + dB, "index.docker.io/team/app@" + dB, "registry.example.com/team/cli@" + dC, "registry.example.com/team/cli@" + dD}},
		{"none", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := buildmeta.Load(tc.entries)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Load(%q) (-want +got):\n%s", tc.entries, diff)
			}
		})
	}
}

// TestLoadBad shows each entry that cannot be read: an input error (exit
// status 2) that names the file and says why and what to do.
func TestLoadBad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	digest := write("digest", dC)
	big := write("big.json", `{"image.name": "r.example/a:1", "containerimage.digest": "`+dA+`", "x": "`+strings.Repeat("x", buildmeta.MaxFile)+`"}`)
	equals := write("x=y.txt", "r.example/app@"+dA+"\n")
	tagged := write("a.txt", "r.example/app:v1@"+dA+"\n")
	retagged := write("b.txt", "# another build\nr.example/app:v1@"+dB+"\n")
	write("results-url/IMAGE_URL", "r.example/app:v1")
	write("results-link/IMAGE_URL", "r.example/app")
	if err := os.Symlink(digest, filepath.Join(dir, "results-link", "IMAGE_DIGEST")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		entries []string
		want    []string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.json")}, []string{`nope.json"`, "no such file", "give the file the build tool wrote"}},
		{"an option", []string{"--certificate-identity-regexp=.*"}, []string{"starts with -", "never an option"}},
		{"control characters in the entry", []string{"meta\x1b[2J.json"}, []string{`"meta\x1b[2J.json"`, "control characters"}},
		{"no NAME before =", []string{"=" + digest}, []string{"no NAME before ="}},
		{"a file whose name has =", []string{equals}, []string{`x=y.txt"`, "an entry with = is read as NAME=FILE", "rename it"}},
		{"NAME= and no file", []string{"r.example/app="}, []string{"no file"}},
		{"not a regular file", []string{"/dev/null"}, []string{`"/dev/null"`, "not a regular file"}},
		{"too large", []string{big}, []string{"big.json", "larger than 4194304 bytes", "BUILDX_METADATA_PROVENANCE=disabled"}},
		{"a bare digest without NAME", []string{digest}, []string{"read as a bare digest", "NAME=FILE"}},
		{"NAME= with a digest", []string{"r.example/app@" + dA + "=" + digest}, []string{"NAME: ", "holds a digest"}},
		{"NAME= without a registry", []string{"app=" + digest}, []string{"NAME: ", `"app" is not registry/repository`}},
		{"NAME= on a file that names its images", []string{"r.example/app=" + tagged}, []string{"a.txt", "read as a reference list", "give FILE alone"}},
		{"NAME= on a directory", []string{"r.example/app=testdata/results"}, []string{"testdata/results", "give the directory alone"}},
		{"one tag, two digests in two files", []string{tagged, retagged}, []string{"b.txt", "line 2: r.example/app:v1 is named with digest " + dB, "with " + dA + " at", "a.txt\" line 1", "give the files of one build"}},
		{"a results directory without the digest", []string{filepath.Join(dir, "results-url")}, []string{"results-url", "read as a Tekton results directory", `result "IMAGE_URL": has no IMAGE_DIGEST result`}},
		{"a result that is a symlink", []string{filepath.Join(dir, "results-link")}, []string{`result "IMAGE_DIGEST": is not a regular file`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := buildmeta.Load(tc.entries)
			if err == nil {
				t.Fatalf("Load(%q) = %q, want an error", tc.entries, got)
			}
			if !input.Is(err) {
				t.Errorf("error %v is not bad input", err)
			}
			if !strings.HasPrefix(err.Error(), "images-from: ") {
				t.Errorf("error %q does not name the input", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
