package buildmeta_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/internal/buildmeta"
	"github.com/keyless-dev/keyless/internal/input"
)

// TestRead reads each format's variations from content alone.
func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"one reference", "r.example/app@" + dA, []string{"r.example/app@" + dA}},
		{"CRLF, a byte order mark, comments, blanks and repeats", "\ufeff# built by ko\r\n\r\nr.example/app@" + dA + "\r\n  r.example/app@" + dA + "  \r\n", []string{"r.example/app@" + dA}},
		{"a tag is only a name", "r.example/app:v1@" + dA + "\nr.example/app:v2@" + dB, []string{"r.example/app@" + dA, "r.example/app@" + dB}},
		{"a registry with a port", "127.0.0.1:5000/team/app:v1@" + dA, []string{"127.0.0.1:5000/team/app@" + dA}},
		{"comma-separated, as IMAGES", "r.example/a@" + dA + ", r.example/b@" + dB + ",\n", []string{"r.example/a@" + dA, "r.example/b@" + dB}},
		{"buildx, one name", `{"containerimage.digest": "` + dA + `", "image.name": "r.example/app:v1"}`, []string{"r.example/app@" + dA}},
		{"buildx, names of two repositories", `{"containerimage.digest": "` + dA + `", "image.name": "r.example/app:v1,q.example/mirror/app:v1"}`, []string{"r.example/app@" + dA, "q.example/mirror/app@" + dA}},
		{"buildx, a name pushed by digest", `{"containerimage.digest": "` + dA + `", "image.name": "r.example/app@` + dA + `"}`, []string{"r.example/app@" + dA}},
		{"bake, targets in name order", `{"z": {"containerimage.digest": "` + dA + `", "image.name": "r.example/z:1"}, "a": {"containerimage.digest": "` + dB + `", "image.name": "r.example/a:1"}}`, []string{"r.example/a@" + dB, "r.example/z@" + dA}},
		{"bake, one repository by digest per platform", `{"amd64": {"containerimage.digest": "` + dA + `", "image.name": "r.example/app"}, "arm64": {"containerimage.digest": "` + dB + `", "image.name": "r.example/app"}}`, []string{"r.example/app@" + dA, "r.example/app@" + dB}},
		{"Tekton results, a prefixed pair", `[{"name": "APP_IMAGE_URL", "value": "r.example/app:v1"}, {"name": "APP_IMAGE_DIGEST", "value": " ` + dA + `\n"}, {"name": "other", "value": ["x"]}]`, []string{"r.example/app@" + dA}},
		{"Tekton results, pairs by prefix then IMAGES", `[{"name": "IMAGES", "value": "r.example/c@` + dC + `\nr.example/d@` + dD + `"}, {"name": "B_IMAGE_URL", "value": "r.example/b"}, {"name": "B_IMAGE_DIGEST", "value": "` + dB + `"}, {"name": "IMAGE_URL", "value": "r.example/a@` + dA + `"}, {"name": "IMAGE_DIGEST", "value": "` + dA + `"}]`, []string{"r.example/a@" + dA, "r.example/b@" + dB, "r.example/c@" + dC, "r.example/d@" + dD}},
		{"Tekton results, empty ones skipped as Chains skips them", `[{"name": "IMAGE_URL", "value": ""}, {"name": "IMAGE_DIGEST", "value": ""}, {"name": "IMAGES", "value": "r.example/c@` + dC + `"}]`, []string{"r.example/c@" + dC}},
		{"bake, a target called status", `{"status": {"containerimage.digest": "` + dA + `", "image.name": "r.example/status:1"}}`, []string{"r.example/status@" + dA}},
		{"a v1beta1 TaskRun", `{"kind": "TaskRun", "status": {"taskResults": [{"name": "IMAGE_URL", "value": "r.example/app"}, {"name": "IMAGE_DIGEST", "value": "` + dA + `"}]}}`, []string{"r.example/app@" + dA}},
		{"a v1beta1 PipelineRun", `{"kind": "PipelineRun", "status": {"pipelineResults": [{"name": "IMAGES", "value": "r.example/app@` + dA + `"}]}}`, []string{"r.example/app@" + dA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := buildmeta.Read("f", []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadBad shows every file that is refused: an input error naming the
// file, the format it was read as, the line, key or result, and the fix.
func TestReadBad(t *testing.T) {
	const list, bx, bake, tekton = "read as a reference list", "read as docker buildx metadata", "read as docker buildx bake metadata", "read as Tekton results"
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		// Any format.
		{"empty", " \n\t\n", []string{`"meta": empty`, "check that it pushed"}},
		{"not UTF-8", "r.example/app@" + dA + "\xff\n", []string{"not UTF-8 text"}},
		{"an escape sequence", "r.example/a@" + dA + "\n\nr.example/b\x1b[2K@" + dB, []string{"line 3: holds the control character U+001B"}},
		{"a bidirectional override", "r.example/a@" + dA + "\u202e", []string{"line 1: holds the control character U+202E"}},
		{"a NUL in JSON", "{\"image.name\": \"r.example/a:1\",\x00}", []string{"line 1: holds the control character U+0000"}},
		// Reference lists.
		{"only comments", "# nothing was pushed\n\n", []string{list, "names no image, only blank lines and comments"}},
		{"a tag and no digest", "r.example/a@" + dA + "\nr.example/b:v1\n", []string{list, `line 2: "r.example/b:v1" names no digest`, "a tag alone is never signed from a file"}},
		{"a repository and no digest", "r.example/b", []string{list, `line 1: "r.example/b" names no digest`}},
		{"no registry", "app@" + dA, []string{list, `line 1: "app" is not registry/repository`, "give the full name"}},
		{"a short digest", "r.example/app@sha256:abc", []string{list, `"sha256:abc" is not algorithm:hex`}},
		{"an unknown algorithm", "r.example/app@md5:" + strings.Repeat("a", 32), []string{list, "is not algorithm:hex"}},
		{"two digests", "r.example/app@" + dA + "@" + dB, []string{list, "more than one @"}},
		{"an option", "r.example/a@" + dA + "\n--certificate-identity-regexp=.*@" + dB, []string{list, `line 2: "--certificate-identity-regexp=.*" starts with -`}},
		{"a space inside", "r.example/my app@" + dA, []string{list, "holds spaces"}},
		{"upper case", "r.example/App@" + dA, []string{list, `"r.example/App" is not registry/repository`}},
		{"a bad tag", "r.example/app:v1!@" + dA, []string{list, `"r.example/app:v1!" is not registry/repository:tag`}},
		{"one tag, two digests", "r.example/app:v1@" + dA + "\nr.example/app:v1@" + dB, []string{list, `line 2: r.example/app:v1 is named with digest ` + dB + ` here and with ` + dA + ` at "meta" line 1`}},
		{"a long value is cut", strings.Repeat("x", 300), []string{list, `"` + strings.Repeat("x", 100) + `…" names no digest`}},
		// JSON.
		{"broken JSON", "{\n  \"image.name\": \"r.example/a:1\"\n  \"containerimage.digest\": \"" + dA + "\"\n}", []string{"read as JSON", "line 3: not valid JSON"}},
		{"cut short", `{"image.name": "r.example/a:1", "containerimage.digest": "`, []string{"read as JSON", "the JSON ends early"}},
		{"a second value", `{"image.name": "r.example/a:1", "containerimage.digest": "` + dA + `"} {}`, []string{"read as JSON", "a second JSON value"}},
		{"nested deeply", strings.Repeat("[", 100) + strings.Repeat("]", 100), []string{"read as JSON", "nested deeper than 64"}},
		{"a key twice", `{"image.name": "r.example/a:1", "containerimage.digest": "` + dA + `", "containerimage.digest": "` + dB + `"}`, []string{"read as JSON", `key "containerimage.digest": appears twice`}},
		{"a key twice deeper", `{"app": {"image.name": "r.example/a:1", "image.name": "r.example/b:1"}}`, []string{`key "app"."image.name": appears twice`}},
		{"an unknown object", `{"digest": "` + dA + `"}`, []string{"read as JSON", "neither buildx metadata"}},
		// buildx.
		{"no digest", `{"image.name": "r.example/app:v1"}`, []string{bx, `key "containerimage.digest": missing`, "--push"}},
		{"no name", `{"containerimage.digest": "` + dA + `"}`, []string{bx, `key "image.name": missing`, "-t"}},
		{"empty names", `{"containerimage.digest": "` + dA + `", "image.name": " , "}`, []string{bx, `key "image.name": missing`}},
		{"a digest that is a number", `{"containerimage.digest": 5, "image.name": "r.example/a:1"}`, []string{bx, `key "containerimage.digest": is a number, not a string`}},
		{"names that are an array", `{"containerimage.digest": "` + dA + `", "image.name": ["r.example/a:1"]}`, []string{bx, `key "image.name": is an array, not a string`}},
		{"a digest that is not one", `{"containerimage.digest": "sha256:xyz", "image.name": "r.example/a:1"}`, []string{bx, `"sha256:xyz" is not a digest`}},
		{"a descriptor with another digest", `{"containerimage.digest": "` + dA + `", "containerimage.descriptor": {"digest": "` + dB + `"}, "image.name": "r.example/a:1"}`, []string{bx, `key "containerimage.descriptor": names digest`, "contradicts itself"}},
		{"a descriptor that is not one", `{"containerimage.digest": "` + dA + `", "containerimage.descriptor": "x", "image.name": "r.example/a:1"}`, []string{bx, `key "containerimage.descriptor": is a string, not an OCI descriptor`}},
		{"a name with another digest", `{"containerimage.digest": "` + dA + `", "image.name": "r.example/a@` + dB + `"}`, []string{bx, `key "image.name": "r.example/a@` + dB + `" has another digest`}},
		{"a name without registry", `{"containerimage.digest": "` + dA + `", "image.name": "app:v1"}`, []string{bx, `key "image.name": "app:v1" is not registry/repository:tag`}},
		// bake.
		{"bake: a target without digest", `{"a": {"containerimage.digest": "` + dA + `", "image.name": "r.example/a:1"}, "b": {"image.name": "r.example/b:1"}}`, []string{bake, `target "b", key "containerimage.digest": missing`}},
		{"bake: a target that is no object", `{"a": {"containerimage.digest": "` + dA + `", "image.name": "r.example/a:1"}, "b": "x"}`, []string{bake, `target "b": is a string, not a target's metadata`}},
		{"bake: one tag, two digests", `{"a": {"containerimage.digest": "` + dA + `", "image.name": "r.example/app:latest"}, "b": {"containerimage.digest": "` + dB + `", "image.name": "r.example/app:latest"}}`, []string{bake, `target "b", key "image.name": r.example/app:latest is named with digest ` + dB + ` here and with ` + dA + ` at "meta" target "a", key "image.name"`}},
		// Tekton.
		{"Tekton: not results", `[1, 2]`, []string{tekton, "not an array of results"}},
		{"Tekton: a result without name", `[{"name": "IMAGES", "value": "r.example/a@` + dA + `"}, {"value": "x"}]`, []string{tekton, `result [1]: has no "name"`}},
		{"Tekton: a result twice", `[{"name": "IMAGES", "value": "r.example/a@` + dA + `"}, {"name": "IMAGES", "value": "r.example/b@` + dB + `"}]`, []string{tekton, `result "IMAGES": appears twice`}},
		{"Tekton: a URL that is an array", `[{"name": "IMAGE_URL", "value": ["r.example/a"]}, {"name": "IMAGE_DIGEST", "value": "` + dA + `"}]`, []string{tekton, `result "IMAGE_URL": is an array, not a string`}},
		{"Tekton: IMAGES with a tag only", `[{"name": "IMAGES", "value": "r.example/a@` + dA + `,r.example/b:v1"}]`, []string{tekton, `result "IMAGES": "r.example/b:v1" names no digest`}},
		{"Tekton: a digest without URL", `[{"name": "APP_IMAGE_DIGEST", "value": "` + dA + `"}, {"name": "IMAGE_URL", "value": "r.example/a"}, {"name": "IMAGE_DIGEST", "value": "` + dA + `"}]`, []string{tekton, `result "APP_IMAGE_DIGEST": has no APP_IMAGE_URL result`}},
		{"Tekton: a URL without digest", `[{"name": "IMAGE_URL", "value": "r.example/a:v1"}, {"name": "IMAGE_DIGEST", "value": " "}]`, []string{tekton, `result "IMAGE_URL": has no IMAGE_DIGEST result`, "a URL alone is never signed"}},
		{"Tekton: a digest that is not one", `[{"name": "IMAGE_URL", "value": "r.example/a"}, {"name": "IMAGE_DIGEST", "value": "latest"}]`, []string{tekton, `result "IMAGE_DIGEST": "latest" is not a digest`}},
		{"Tekton: a URL with another digest", `[{"name": "IMAGE_URL", "value": "r.example/a@` + dB + `"}, {"name": "IMAGE_DIGEST", "value": "` + dA + `"}]`, []string{tekton, `result "IMAGE_URL": "r.example/a@` + dB + `" has another digest than IMAGE_DIGEST`}},
		{"Tekton: a URL without registry", `[{"name": "IMAGE_URL", "value": "app"}, {"name": "IMAGE_DIGEST", "value": "` + dA + `"}]`, []string{tekton, `result "IMAGE_URL": "app" is not registry/repository`}},
		{"Tekton: no image results", `[{"name": "LOG_URL", "value": "https://example.com"}]`, []string{tekton, "names no image: no IMAGES result and no IMAGE_URL and IMAGE_DIGEST pair"}},
		{"Tekton: a run without results", `{"kind": "TaskRun", "status": {"conditions": []}}`, []string{tekton, `key "status": holds no results`}},
		{"Tekton: a status that is no object", `{"kind": "TaskRun", "status": "Succeeded"}`, []string{tekton, `key "status": is a string, not a run's status`}},
		{"Tekton: a run's bad result", `{"status": {"results": [{"value": "x"}]}}`, []string{tekton, `status.results result [0]: has no "name"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := buildmeta.Read("meta", []byte(tc.data))
			if err == nil {
				t.Fatalf("Read = %q, want an error", got)
			}
			if !input.Is(err) {
				t.Errorf("error %v is not bad input", err)
			}
			if !strings.HasPrefix(err.Error(), `images-from: "meta"`) {
				t.Errorf("error %q does not name the input and the file", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
