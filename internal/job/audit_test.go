package job

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/trust"
)

// pushTag writes a random image to host/repo:tag and returns its digest.
func pushTag(t *testing.T, host, repo, tag string) name.Digest {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

// signWith signs images in formats with the in-process Sigstore st, whose
// signatures no trusted root of these tests accepts.
func signWith(t *testing.T, st *sigstoretest.Stack, formats []sign.Format, images ...name.Digest) {
	t.Helper()
	c := Config{
		Formats: formats,
		Trust:   trust.Config{TrustedRoot: trustedRoot, SigningConfig: st.SigningConfig},
		Token:   sequence(jwt(t, time.Now().Add(10*time.Minute))),
	}
	for _, d := range images {
		c.Images = append(c.Images, d.String())
	}
	if _, err := Sign(context.Background(), c); err != nil {
		t.Fatalf("signing: %v", err)
	}
}

// auditConfig audits against a gate of formats.
func auditConfig(formats ...sign.Format) Config {
	return Config{Formats: formats, Policy: testPolicy, Trust: trust.Config{TrustedRoot: trustedRoot}}
}

type audited struct {
	Image  string
	Digest string
	Reason Reason
}

func auditSummary(r *AuditResult) []audited {
	var out []audited
	for _, a := range r.Images {
		out = append(out, audited{a.Image, a.Digest, a.Reason})
	}
	return out
}

// TestAuditRepository audits every tag of a repository that matches a
// pattern: cosign's tags are skipped, and each image fails for its reason.
func TestAuditRepository(t *testing.T) {
	st := sigstoretest.New(t)
	host := memRegistry(t)
	const repo = "demo/app"
	unsigned := pushTag(t, host, repo, "a-unsigned")
	signed := pushTag(t, host, repo, "b-signed")
	sigless := pushTag(t, host, repo, "c-sigless")
	blobless := pushTag(t, host, repo, "d-blobless")
	pushTag(t, host, repo, "other")
	signWith(t, st, []sign.Format{sign.Legacy}, signed, blobless)
	signWith(t, st, []sign.Format{sign.Bundle, sign.Legacy}, sigless)
	// Retention: the .sig tag of one, the signature blob of the other.
	if err := remote.Delete(store.TagOf(sigless, "sig")); err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(store.TagOf(blobless, "sig"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+host+"/v2/"+repo+"/blobs/"+m.Layers[0].Digest.String(), nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting the signature blob: %v %v", resp, err)
	}

	res, err := Audit(context.Background(), auditConfig(sign.Legacy), AuditSource{Repository: host + "/" + repo, Tags: "?-*"})
	if err != nil {
		t.Fatalf("Audit() error = %v", err)
	}
	tag := func(s string) string { return host + "/" + repo + ":" + s }
	want := []audited{
		{tag("a-unsigned"), unsigned.String(), Unsigned},
		{tag("b-signed"), signed.String(), InvalidSignature},
		{tag("c-sigless"), sigless.String(), Retention},
		{tag("d-blobless"), blobless.String(), Retention},
	}
	if diff := cmp.Diff(want, auditSummary(res)); diff != "" {
		t.Errorf("audited (-want +got):\n%s", diff)
	}
	// b-signed's and d-blobless's .sig, c-sigless's referrers fallback tag.
	if res.Skipped != 3 || res.Unmatched != 1 || res.Failed() != 4 {
		t.Errorf("skipped %d, unmatched %d, failed %d; want 3, 1, 4", res.Skipped, res.Unmatched, res.Failed())
	}
	for i, want := range []string{
		"no legacy signature found",
		"failed to verify log inclusion",
		"a bundle signature is stored",
		"reading signature in " + store.TagOf(blobless, "sig").String(),
	} {
		if !strings.Contains(res.Images[i].Detail, want) {
			t.Errorf("%s: detail %q, want it to say %q", res.Images[i].Image, res.Images[i].Detail, want)
		}
	}
}

// TestAuditTargets audits images named by manifests: a tag fails even
// where its image would, and an image that is not there fails.
func TestAuditTargets(t *testing.T) {
	host := memRegistry(t)
	unsigned := pushTag(t, host, "demo/app", "v1")
	missing := unsigned.Context().Digest("sha256:" + strings.Repeat("0", 64))
	res, err := Audit(context.Background(), auditConfig(sign.Bundle), AuditSource{Targets: []Target{
		{Ref: unsigned.String(), Pinned: true, Sources: []string{"a.yaml:1: Pod p, container a"}},
		{Ref: host + "/demo/app:v1", Pinned: true},
		{Ref: host + "/demo/app:v1"},
		{Ref: missing.String(), Pinned: true},
		{Ref: host + "/demo/app:gone", Pinned: true},
		{Ref: "UPPER/case", Pinned: true},
	}})
	if err != nil {
		t.Fatalf("Audit() error = %v", err)
	}
	want := []audited{
		{unsigned.String(), unsigned.String(), Unsigned},
		{host + "/demo/app:v1", unsigned.String(), TagReference},
		{host + "/demo/app:v1", unsigned.String(), Unsigned},
		{missing.String(), "", Unreadable},
		{host + "/demo/app:gone", "", TagReference},
		{"UPPER/case", "", Unreadable},
	}
	if diff := cmp.Diff(want, auditSummary(res)); diff != "" {
		t.Errorf("audited (-want +got):\n%s", diff)
	}
	for i, want := range []string{
		"no bundle signature found",
		"named by tag, not by digest: pin it as " + unsigned.String() + "; the tag names " + unsigned.DigestStr() + " now, which fails too (unsigned: no bundle signature",
		"no bundle signature found",
		"not found",
		"named by tag, not by digest; the tag does not resolve",
		"not an image reference",
	} {
		if !strings.Contains(res.Images[i].Detail, want) {
			t.Errorf("%s: detail %q, want it to say %q", res.Images[i].Image, res.Images[i].Detail, want)
		}
	}
	if diff := cmp.Diff([]string{"a.yaml:1: Pod p, container a"}, res.Images[0].Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
}

func TestAuditRefusesBadInput(t *testing.T) {
	host := memRegistry(t)
	pushTag(t, host, "demo/app", "v1")
	for _, tc := range []struct {
		name string
		src  AuditSource
		c    Config
		want string
	}{
		{"a tags pattern that is no glob", AuditSource{Repository: host + "/demo/app", Tags: "[a-"}, auditConfig(sign.Bundle), "tags"},
		{"a repository with a tag", AuditSource{Repository: host + "/demo/app:v1"}, auditConfig(sign.Bundle), "repository"},
		{"no such repository", AuditSource{Repository: host + "/demo/none"}, auditConfig(sign.Bundle), "no such repository"},
		{"no tag matches", AuditSource{Repository: host + "/demo/app", Tags: "release-*"}, auditConfig(sign.Bundle), `no tag matching "release-*" that is an image (of 1 tags, 0 signature tags)`},
		{"no identity", AuditSource{Repository: host + "/demo/app"}, Config{Trust: trust.Config{TrustedRoot: trustedRoot}}, "certificate-oidc-issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Audit(context.Background(), tc.c, tc.src)
			if err == nil || !IsInput(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Audit() error = %v, want bad input naming %q", err, tc.want)
			}
		})
	}
}
