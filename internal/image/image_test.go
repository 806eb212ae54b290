package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func spec(created time.Time, debug bool) Spec {
	b := LocalBase{CACerts: []byte("certs\n"), Created: created}
	if debug {
		b.Busybox = map[string][]byte{"amd64": []byte("bb-amd64"), "arm64": []byte("bb-arm64")}
		b.Applets = []string{"sh", "ls", "busybox", "../evil"}
	}
	return Spec{
		Base:     b,
		Binaries: map[string][]byte{"amd64": []byte("keyless-amd64"), "arm64": []byte("keyless-arm64")},
		Debug:    debug, Version: "v1.2.3", Created: created,
	}
}

func digest(t *testing.T, s Spec) v1.Hash {
	t.Helper()
	idx, err := Build(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBuildReproducible(t *testing.T) {
	t0 := time.Unix(1767225600, 0).UTC()
	for _, debug := range []bool{false, true} {
		a, b := digest(t, spec(t0, debug)), digest(t, spec(t0, debug))
		if a != b {
			t.Errorf("debug=%v: two builds of the same inputs differ: %s, %s", debug, a, b)
		}
		if c := digest(t, spec(t0.Add(time.Second), debug)); c == a {
			t.Errorf("debug=%v: a different time gave the same digest", debug)
		}
	}
}

// files lists a platform image's files as "mode uid path[->target]".
func files(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			v := strings.TrimPrefix(strings.TrimSuffix(h.Name, "/"), "")
			out[v] = h.FileInfo().Mode().String() + " " + itoa(h.Uid) + " " + h.Linkname
		}
		rc.Close()
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestBuildLayout(t *testing.T) {
	idx, err := Build(context.Background(), spec(time.Unix(0, 0), true))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, m := range im.Manifests {
		plats = append(plats, m.Platform.String())
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64/v8"}, plats); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
	img, err := idx.Image(im.Manifests[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "" || cfg.Architecture != "arm64" {
		t.Errorf("user %q arch %q: want no USER (root, as GitHub requires) and arm64", cfg.Config.User, cfg.Architecture)
	}
	if diff := cmp.Diff([]string{"/keyless"}, cfg.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(cfg.Config.Env[0], ":/busybox") {
		t.Errorf("debug PATH %q lacks /busybox", cfg.Config.Env[0])
	}
	want := map[string]string{
		"keyless":         "-rwxr-xr-x 0 ",
		"tmp":             "dtrwxrwxrwx 0 ",
		"home/nonroot":    "drwx------ 65532 ",
		"busybox/sh":      "Lrwxrwxrwx 0 busybox",
		"busybox/busybox": "-rwxr-xr-x 0 ",
		"etc/passwd":      "-rw-r--r-- 0 ",
	}
	got := files(t, img)
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("%s: got %q, want %q", k, got[k], want[k])
		}
	}
	if _, ok := got["../evil"]; ok || len(got) != 16 {
		t.Errorf("unexpected files: %v", got)
	}
}

func TestSBOMAttached(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := SBOM(bin, "v1.2.3", Platforms[0], time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var d spdxDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range d.Packages {
		names[p.Name] = true
	}
	// A test binary records no module dependencies; the e2e release test
	// checks a real binary's.
	if !names["stdlib"] || d.Packages[0].VersionInfo != "v1.2.3" || len(d.Packages[0].Checksums) != 1 {
		t.Errorf("SBOM lacks the main package, its checksum or the standard library: %s", doc)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	idx, err := Build(context.Background(), spec(time.Unix(0, 0), false))
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(host + "/keyless:v1")
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	m := im.Manifests[0]
	subject := tag.Context().Digest(m.Digest.String())
	if _, err := AttachSBOM(context.Background(), subject, m, doc); err != nil {
		t.Fatal(err)
	}
	refs, err := remote.Referrers(subject)
	if err != nil {
		t.Fatal(err)
	}
	rm, _ := refs.IndexManifest()
	if len(rm.Manifests) != 1 || rm.Manifests[0].ArtifactType != SPDXMediaType {
		t.Fatalf("referrers = %+v, want one SPDX SBOM", rm.Manifests)
	}
}
