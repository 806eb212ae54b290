package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestImagesFrom runs the CLI with images-from against an in-process
// registry: the files' digests are the subjects, from the flag given
// twice and from KEYLESS_IMAGES_FROM alike; a bad file exits 2 naming the
// file, the place and the fix, before any image is resolved, and nothing
// is written to the registry.
func TestImagesFrom(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tag, err := name.NewTag(host + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, tg := range []string{"v1", "v2"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag.Context().Tag(tg), img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests = append(digests, d.String())
	}
	dir := t.TempDir()
	// The same image under a tag the registry no longer gives it: the
	// file's digest is what counts, its tag is only a name.
	kaniko := writeTemp(t, dir, "kaniko-digests", host+"/app:v2@"+digests[0]+"\n")
	podman := writeTemp(t, dir, "podman-digest", digests[1])
	token := githubToken(t)
	cli := func(dryRun string, extra ...string) []string {
		return append([]string{"sign", "--dry-run", dryRun, "--identity-token", token,
			"--trusted-root", "../conformance/testdata/trusted_root.json", "--signing-config", "../conformance/testdata/signing_config.json"}, extra...)
	}
	t.Run("good files", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			env  map[string]string
		}{
			{"the flag twice", []string{"--images-from", kaniko, "--images-from", host + "/app=" + podman}, nil},
			{"the variable", nil, map[string]string{"KEYLESS_IMAGES_FROM": kaniko + "\n" + host + "/app=" + podman}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), cli("true", tc.args...), func(k string) string { return tc.env[k] }, &stdout, &stderr)
				if code != exitOK || !strings.Contains(stderr.String(), "resolved images") {
					t.Fatalf("exit %d, or no images resolved\nstderr:\n%s", code, stderr.String())
				}
				var rep struct{ Subjects []struct{ Digest string } }
				if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
					t.Fatalf("report: %v\n%s", err, stdout.String())
				}
				var got []string
				for _, s := range rep.Subjects {
					got = append(got, s.Digest)
				}
				want := []string{host + "/app@" + digests[0], host + "/app@" + digests[1]}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("subjects (-want +got):\n%s", diff)
				}
			})
		}
	})
	tagged := writeTemp(t, dir, "tagged", host+"/app:v1\n")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"a tag without digest", []string{"--images-from", kaniko, "--images-from", tagged}, []string{`images-from: "` + tagged + `" (read as a reference list`, `line 1: "` + host + `/app:v1" names no digest`}},
		{"a bare digest without a name", []string{"--images-from", podman}, []string{"read as a bare digest", "give the entry as NAME=FILE"}},
		{"one tag, two digests", []string{"--images-from", kaniko, "--images-from", host + "/app:v2=" + podman}, []string{host + "/app:v2 is named with digest " + digests[1] + " here and with " + digests[0]}},
		{"a missing file", []string{"--images-from", filepath.Join(dir, "metadata.json")}, []string{"metadata.json", "no such file"}},
		{"an image and a bad file", []string{"--images-from", tagged, "--", host + "/app@" + digests[0]}, []string{"names no digest"}},
		{"not a file but a flag", []string{"--images-from=--certificate-identity-regexp=.*"}, []string{"starts with -: a file, never an option"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), cli("false", tc.args...), func(string) string { return "" }, &stdout, &stderr)
			if code != exitInput {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitInput, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "resolved images") {
				t.Errorf("the run went on past the bad file:\n%s", stderr.String())
			}
		})
	}
	tags, err := remote.List(tag.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"v1", "v2"}, tags); diff != "" {
		t.Errorf("the registry was written to (-want +got):\n%s", diff)
	}
}
