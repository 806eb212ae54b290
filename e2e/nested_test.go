package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushNestedIndex pushes an index that lists an index of two platform
// images and a plain image, and returns the digest references of all
// five manifests, each index before what it lists.
func pushNestedIndex(t *testing.T, repo string) []string {
	t.Helper()
	image := func() v1.Image {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	index := func(adds ...mutate.IndexAddendum) v1.ImageIndex {
		return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	}
	amd, arm, plain := image(), image(), image()
	inner := index(
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	top := index(mutate.IndexAddendum{Add: inner}, mutate.IndexAddendum{Add: plain})
	tag, err := name.NewTag(stk.Registry+"/"+repo+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, top, remote.WithContext(context.Background())); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range []interface{ Digest() (v1.Hash, error) }{top, inner, amd, arm, plain} {
		d, err := m.Digest()
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, tag.Context().Digest(d.String()).String())
	}
	return refs
}

// TestNestedIndexRecursive signs an index of indexes with recursive: every
// manifest at every depth is signed, cosign accepts a platform image two
// levels down, and keyless verify --recursive checks all five.
func TestNestedIndexRecursive(t *testing.T) {
	refs := pushNestedIndex(t, "e2e/nested-index")
	top, grandchild := refs[0], refs[2]
	r := runKeyless(t, githubEnv(merge(trustInputs(stk.SigningConfigAll), map[string]string{
		"images": top, "recursive": "true", "signature-format": "both",
	})))
	if r.code != 0 {
		t.Fatalf("keyless sign: exit %d\n%s", r.code, r.stderr)
	}
	if diff := cmp.Diff(refs, strings.Split(r.outputs["digests"], "\n")); diff != "" {
		t.Errorf("signed digests mismatch (-want +got):\n%s", diff)
	}
	issuer := stk.Issuer("github")
	cosignCheck{stk.CosignV3, nil}.accepts(t, grandchild, githubIdentity, issuer)
	cosignCheck{stk.CosignV2, []string{"--use-signed-timestamps"}}.accepts(t, grandchild, githubIdentity, issuer)

	v, rep := verifyRun(t, "--recursive", "true", "--signature-format", "both",
		"--certificate-identity", githubIdentity, "--certificate-oidc-issuer", issuer, top)
	if v.code != 0 || rep["verified"] != true {
		t.Fatalf("keyless verify --recursive: exit %d, verified %v\n%s", v.code, rep["verified"], v.stderr)
	}
	for _, ref := range refs {
		if !strings.Contains(v.stdout, ref[strings.Index(ref, "@")+1:]) {
			t.Errorf("verify report lacks %s:\n%s", ref, v.stdout)
		}
	}
}
