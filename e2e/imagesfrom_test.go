package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/e2e/manifests"
)

// buildFile writes, into dir, a file of one build tool's format naming
// freshly pushed images, and returns the images-from entry for it and the
// repository@digest references keyless must sign, in order.
type buildFile func(t *testing.T, dir string) (entry string, want []string)

// TestImagesFrom signs, as a GitHub step, the images that a file of each
// build tool's format names: written by ko and crane themselves, and in the
// documented shape of buildx, bake, kaniko and Tekton otherwise. The
// digests signed are the file's, and cosign verifies each.
func TestImagesFrom(t *testing.T) {
	for _, tc := range []struct {
		name string
		file buildFile
	}{
		{"ko build --image-refs", koImageRefs},
		{"crane digest as a bare digest", craneDigest},
		{"docker buildx --metadata-file", buildxMetadata},
		{"docker buildx bake --metadata-file", bakeMetadata},
		{"kaniko --image-name-with-digest-file", kanikoDigests},
		{"TaskRun results", taskRunResults},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entry, want := tc.file(t, t.TempDir())
			r := runKeyless(t, githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images-from": entry})))
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			if diff := cmp.Diff(want, strings.Split(r.outputs["digests"], "\n")); diff != "" {
				t.Errorf("digests (-want +got):\n%s", diff)
			}
			for _, img := range want {
				cosignCheck{stk.CosignV3, nil}.accepts(t, img, githubIdentity, stk.Issuer("github"))
			}
		})
	}
}

// TestImagesFromCLI signs what ko and crane wrote with the CLI, the
// --images-from flag given once per file.
func TestImagesFromCLI(t *testing.T) {
	ko, koWant := koImageRefs(t, t.TempDir())
	bare, bareWant := craneDigest(t, t.TempDir())
	r := runKeyless(t, map[string]string{"SIGSTORE_ID_TOKEN": mint(t, "github")}, "sign",
		"--trusted-root", stk.TrustedRoot, "--signing-config", stk.SigningConfig, "--images-from", ko, "--images-from", bare)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var rep struct{ Subjects []struct{ Digest string } }
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, r.stdout)
	}
	var got []string
	for _, s := range rep.Subjects {
		got = append(got, s.Digest)
	}
	want := append(koWant, bareWant...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signed (-want +got):\n%s", diff)
	}
	for _, img := range want {
		cosignCheck{stk.CosignV3, nil}.accepts(t, img, githubIdentity, stk.Issuer("github"))
	}
}

// TestImagesFromBadFile shows that a file that names no digest, names one
// image with two digests, or names its image only by a bare digest exits 2
// naming the file and the fix, on each front end, and writes nothing.
func TestImagesFromBadFile(t *testing.T) {
	img := pushImage(t)
	repo := img[:strings.Index(img, "@")]
	other, err := stk.PushRandomImage(context.Background(), strings.TrimPrefix(repo, stk.Registry+"/"), "v2")
	if err != nil {
		t.Fatal(err)
	}
	before := tags(t, img)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tagOnly := write("image-refs", repo+":latest\n")
	twice := write("metadata.json", fmt.Sprintf(`{"a": {"containerimage.digest": %q, "image.name": "%s:latest"}, "b": {"containerimage.digest": %q, "image.name": "%s:latest"}}`,
		img[strings.Index(img, "@")+1:], repo, other[strings.Index(other, "@")+1:], repo))
	bare := write("digest", img[strings.Index(img, "@")+1:])
	cases := []struct {
		name, file string
		want       []string
	}{
		{"a tag and no digest", tagOnly, []string{tagOnly, "line 1", "names no digest"}},
		{"one tag, two digests", twice, []string{twice, `target "b", key "image.name"`, "is named with digest"}},
		{"a bare digest without a name", bare, []string{bare, "NAME=FILE"}},
	}
	check := func(t *testing.T, r result, want []string) {
		t.Helper()
		if r.code != 2 {
			t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
			}
		}
	}
	task, err := manifests.LoadTask("tekton/keyless-sign/0.1/keyless-sign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run("GitHub: "+tc.name, func(t *testing.T) {
			check(t, runKeyless(t, githubEnv(merge(trustInputs(stk.SigningConfig), map[string]string{"images-from": tc.file}))), tc.want)
		})
		t.Run("GitLab: "+tc.name, func(t *testing.T) {
			vars, script := componentJob(t, "gitlab/templates/sign.yml", map[string]string{
				"images-from": tc.file, "trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig,
			})
			check(t, runScript(t, gitlabEnv(vars, mint(t, "gitlab")), script), tc.want)
		})
		t.Run("Tekton: "+tc.name, func(t *testing.T) {
			work := t.TempDir()
			env, args := taskStep(t, task, work, map[string]string{"images-from": tc.file, "trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig}, nil, nil)
			if err := os.WriteFile(env["KEYLESS_IDENTITY_TOKEN_FILE"], []byte(mint(t, "kubernetes")), 0o600); err != nil {
				t.Fatal(err)
			}
			check(t, runKeyless(t, env, args...), tc.want)
		})
	}
	if after := tags(t, img); !cmp.Equal(before, after) {
		t.Errorf("registry changed: %v → %v", before, after)
	}
}

// TestImagesFromPlatforms signs what a build step left in a Tekton results
// directory, through the keyless-sign Task's images-from param, and a
// kaniko file through the GitLab sign component.
func TestImagesFromPlatforms(t *testing.T) {
	t.Run("Tekton results directory", func(t *testing.T) {
		task, err := manifests.LoadTask("tekton/keyless-sign/0.1/keyless-sign.yaml")
		if err != nil {
			t.Fatal(err)
		}
		img := pushImage(t)
		at := strings.Index(img, "@")
		built := t.TempDir()
		for name, v := range map[string]string{"IMAGE_URL": img[:at] + ":latest\n", "IMAGE_DIGEST": img[at+1:], "BUILD_LOG": "built"} {
			if err := os.WriteFile(filepath.Join(built, name), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		work := t.TempDir()
		env, args := taskStep(t, task, work, map[string]string{"images-from": built, "trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig}, nil, nil)
		if err := os.WriteFile(env["KEYLESS_IDENTITY_TOKEN_FILE"], []byte(mint(t, "kubernetes")), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runKeyless(t, env, args...)
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if got := results(t, env["KEYLESS_RESULTS_DIR"])["digests"]; strings.TrimSpace(got) != img {
			t.Errorf("digests result = %q, want %s", got, img)
		}
		cosignCheck{stk.CosignV3, nil}.accepts(t, img, kubernetesIdentity, stk.Issuer("kubernetes"))
	})
	t.Run("GitLab kaniko", func(t *testing.T) {
		entry, want := kanikoDigests(t, t.TempDir())
		vars, script := componentJob(t, "gitlab/templates/sign.yml", map[string]string{
			"images-from": entry, "trusted-root": stk.TrustedRoot, "signing-config": stk.SigningConfig,
		})
		r := runScript(t, gitlabEnv(vars, mint(t, "gitlab")), script)
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if dotenv := boundedDotenv(t, r); !strings.Contains(dotenv, "KEYLESS_DIGESTS="+strings.Join(want, ",")+"\n") {
			t.Errorf("dotenv lacks the digests %v:\n%s", want, dotenv)
		}
		for _, img := range want {
			cosignCheck{stk.CosignV3, nil}.accepts(t, img, gitlabIdentity, stk.Issuer("gitlab"))
		}
	})
}
