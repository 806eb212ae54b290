package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
)

// The files of each build tool, as buildFile writes them.

// tool is a build tool that e2e/tools/build.sh built, run with env in dir.
func tool(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	bin := filepath.Join(stk.Tools, name)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s not built (run e2e/tools/build.sh): %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// koImageRefs builds a two-platform Go program with ko onto a pushed base
// index: ko's --image-refs file lists the index and each of its manifests.
func koImageRefs(t *testing.T, dir string) (string, []string) {
	base, err := stk.PushPlatformIndex(context.Background(), "e2e/images-from-ko-base", "v1")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src")
	writeFiles(t, src, map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() { println(\"hello\") }\n",
	})
	refs := filepath.Join(dir, "image-refs")
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOPROXY=off",
		"GOCACHE=" + goEnv(t, "GOCACHE"), "GOMODCACHE=" + filepath.Join(dir, "mod"),
		"KO_DOCKER_REPO=" + stk.Registry + "/e2e/images-from-ko", "KO_DEFAULTBASEIMAGE=" + base}
	tool(t, src, env, "ko", "build", "--bare", "--sbom=none", "--platform=linux/amd64,linux/arm64", "--tags=v1", "--image-refs", refs, ".")
	data, err := os.ReadFile(refs)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(data))
	if len(want) != 3 {
		t.Fatalf("ko wrote %q, want an index and its two manifests", data)
	}
	return refs, want
}

// goEnv is a go env variable of the go that runs the test.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// craneDigest asks crane for a tag's digest and keeps it as a bare digest
// file, the shape of kaniko's --digest-file and buildah's and podman's
// --digestfile: the entry is NAME=FILE.
func craneDigest(t *testing.T, dir string) (string, []string) {
	img := pushImage(t)
	repo := img[:strings.Index(img, "@")]
	out := tool(t, dir, []string{"HOME=" + dir}, "crane", "digest", repo+":latest")
	file := filepath.Join(dir, "digest")
	writeFiles(t, dir, map[string]string{"digest": strings.TrimSpace(out)})
	return repo + ":latest=" + file, []string{img}
}

// buildxMetadata writes docker buildx's --metadata-file for a pushed
// two-platform index tagged twice (BuildKit's exporter response, as buildx
// decodes it; the shape of build-push-action's metadata output too).
func buildxMetadata(t *testing.T, dir string) (string, []string) {
	idx, err := stk.PushPlatformIndex(context.Background(), "e2e/images-from-buildx", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	repo, digest, _ := strings.Cut(idx, "@")
	meta := map[string]any{
		"buildx.build.ref":             "builder/builder0/ygx3lqqgiqxt7mdphvsscw9q6",
		"containerimage.config.digest": "sha256:" + strings.Repeat("0", 64),
		"containerimage.descriptor":    map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": 1609},
		"containerimage.digest":        digest,
		"image.name":                   repo + ":1.0," + repo + ":latest",
	}
	return writeJSON(t, dir, "metadata.json", meta), []string{idx}
}

// bakeMetadata writes docker buildx bake's --metadata-file: one object per
// target, one of which (a local output) exported no image.
func bakeMetadata(t *testing.T, dir string) (string, []string) {
	api, err := stk.PushRandomImage(context.Background(), "e2e/images-from-bake-api", "v1")
	if err != nil {
		t.Fatal(err)
	}
	web, err := stk.PushRandomImage(context.Background(), "e2e/images-from-bake-web", "v1")
	if err != nil {
		t.Fatal(err)
	}
	target := func(ref string) map[string]any {
		repo, digest, _ := strings.Cut(ref, "@")
		return map[string]any{"buildx.build.ref": "builder/builder0/" + digest[7:19], "containerimage.digest": digest, "image.name": repo + ":v1",
			"containerimage.descriptor": map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 1052}}
	}
	meta := map[string]any{"api": target(api), "docs": map[string]any{"buildx.build.ref": "builder/builder0/docs"}, "web": target(web)}
	return writeJSON(t, dir, "bake-metadata.json", meta), []string{api, web}
}

// kanikoDigests writes kaniko's --image-name-with-digest-file for an image
// pushed to two destinations: repository@digest, one a destination.
func kanikoDigests(t *testing.T, dir string) (string, []string) {
	a := pushImage(t)
	repo, digest, _ := strings.Cut(a, "@")
	mirror := strings.Replace(repo, "/e2e/", "/e2e/mirror-", 1)
	if err := crane.Copy(a, mirror+":latest"); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"digests": repo + "@" + digest + "\n" + mirror + "@" + digest + "\n"})
	return filepath.Join(dir, "digests"), []string{a, mirror + "@" + digest}
}

// taskRunResults writes a TaskRun (kubectl get taskrun -o json) whose
// build step wrote IMAGE_URL, a tag, and IMAGE_DIGEST.
func taskRunResults(t *testing.T, dir string) (string, []string) {
	img := pushImage(t)
	repo, digest, _ := strings.Cut(img, "@")
	run := map[string]any{
		"apiVersion": "tekton.dev/v1", "kind": "TaskRun",
		"metadata": map[string]any{"name": "build-app-run", "namespace": "ci"},
		"status": map[string]any{
			"conditions": []any{map[string]any{"type": "Succeeded", "status": "True"}},
			"results": []any{
				map[string]any{"name": "IMAGE_DIGEST", "type": "string", "value": digest},
				map[string]any{"name": "IMAGE_URL", "type": "string", "value": repo + ":latest\n"},
			},
		},
	}
	return writeJSON(t, dir, "taskrun.json", run), []string{img}
}

func writeJSON(t *testing.T, dir, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{name: string(b) + "\n"})
	return filepath.Join(dir, name)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
