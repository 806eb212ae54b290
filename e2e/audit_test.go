package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/e2e/stack"
)

// auditGroups are the tags of the audited repository: how many images of
// each kind, named <group>-<n>.
var auditGroups = []struct {
	name string
	n    int
}{
	{"pass", 400},     // signed in both formats by the release workflow
	{"unsigned", 200}, // never signed
	{"other", 150},    // signed in both formats by another repository's workflow
	{"nosig", 100},    // signed in both formats; the .sig tag deleted
	{"noref", 100},    // signed in both formats; the bundle referrer's manifest deleted
	{"noblob", 50},    // signed in both formats; the .sig tag's signature blob deleted
}

// auditReport is what the tests read of an audit's JSON report.
type auditReport struct {
	Total, Passed, Failed int
	Reasons               map[string]int
	SkippedTags           int
	Images                []struct {
		Image, Digest, Reason, Detail string
		Passed                        bool
		Sources                       []string
	}
}

// TestAuditThousandTags audits a repository of 1,000 tags as the GitHub
// runner runs audit/action.yml: signed, unsigned, signed by another
// identity, and signed with half their signatures deleted through the
// registry API, each counted exactly and each image for its own reason.
// Then the same repository against other gates, with the binary.
func TestAuditThousandTags(t *testing.T) {
	repo := fmt.Sprintf("e2e/audit-%d", time.Now().UnixNano())
	groups := pushGroups(t, repo)
	signGroup(t, groups["pass"])
	signGroup(t, groups["other"], stack.WithClaims(map[string]any{"repository": "keyless-dev/other"}))
	for _, g := range []string{"nosig", "noref", "noblob"} {
		signGroup(t, groups[g])
	}
	forAll(t, groups["nosig"], deleteSigTag)
	forAll(t, groups["noref"], deleteReferrers)
	forAll(t, groups["noblob"], deleteSigBlob)

	static, _ := images(t)
	r := runAction(t, repoFile("audit/action.yml"), static, map[string]string{
		"repository": stk.Registry + "/" + repo, "signature-format": "both",
		"certificate-identity": githubIdentity, "certificate-oidc-issuer": stk.Issuer("github"),
		"trusted-root": "/github/workspace/" + filepath.Base(stk.TrustedRoot),
	}, []string{stk.TrustedRoot}, "")
	if r.code != 1 {
		t.Fatalf("audit action: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	wantOutputs := map[string]string{"total": "1000", "passed": "400", "failed": "600",
		"reasons": `{"attestation":0,"error":0,"identity":150,"invalid":0,"retention":250,"tag":0,"unsigned":200}`, "report": "keyless-report.json"}
	for k, want := range wantOutputs {
		if r.outputs[k] != want {
			t.Errorf("output %s = %q, want %q", k, r.outputs[k], want)
		}
	}
	b, err := os.ReadFile(filepath.Join(r.workspace, "keyless-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep auditReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pass": "", "unsigned": "unsigned", "other": "identity", "nosig": "retention", "noref": "retention", "noblob": "retention"}
	checkAudit(t, rep, repo, want, 1000)
	// Each image signed in both formats left a .sig tag and a referrers
	// fallback tag; 100 .sig tags were deleted.
	if rep.SkippedTags != 2*800-100 {
		t.Errorf("skipped %d signature tags, want %d", rep.SkippedTags, 2*800-100)
	}
	for _, s := range []string{"## keyless audit — ❌ 600 of 1000 images would be refused", "| unsigned: no signature in any format (`unsigned`) | 200 |",
		"| signed by another identity (`identity`) | 150 |", "❌ 500 more refused images: the report lists every one.", "✅ 400 images passed"} {
		if !strings.Contains(r.summary, s) {
			t.Errorf("summary lacks %q", s)
		}
	}
	if len(r.summary) > 64<<10 {
		t.Errorf("summary is %d bytes", len(r.summary))
	}

	gate := []string{"audit", "--trusted-root", stk.TrustedRoot, "--certificate-identity", githubIdentity, "--certificate-oidc-issuer", stk.Issuer("github"),
		"--repository", stk.Registry + "/" + repo}
	for _, tc := range []struct {
		name  string
		flags []string
		code  int
		total int
		want  map[string]string
	}{
		// One format suffices: a signature lost in one format is not missed.
		{"any format", nil, 1, 1000, map[string]string{"pass": "", "unsigned": "unsigned", "other": "identity", "nosig": "", "noref": "", "noblob": ""}},
		{"the tags of one group", []string{"--signature-format", "both", "--tags", "pass-*"}, 0, 400, map[string]string{"pass": ""}},
		{"legacy, as policy-controller reads it", []string{"--signature-format", "legacy", "--tags", "no*"}, 1, 250, map[string]string{"nosig": "retention", "noref": "", "noblob": "retention"}},
		{"an attestation the images lack", []string{"--tags", "pass-*", "--attestation-type", "slsaprovenance1"}, 1, 400, map[string]string{"pass": "attestation"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runKeyless(t, map[string]string{"KEYLESS_PLATFORM": "cli"}, append(slices.Clone(gate), tc.flags...)...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", res.code, tc.code, res.stderr)
			}
			var rep auditReport
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
				t.Fatalf("no JSON report: %v\n%s", err, res.stdout)
			}
			checkAudit(t, rep, repo, tc.want, tc.total)
		})
	}
}

// TestAuditManifests audits the images a Deployment and a CronJob run, as
// the GitHub runner runs audit/action.yml: by digest, signed or not, and
// one by tag, which fails although its image is signed.
func TestAuditManifests(t *testing.T) {
	repo := fmt.Sprintf("e2e/audit-manifests-%d", time.Now().UnixNano())
	signed, err := stk.PushRandomImage(t.Context(), repo, "v1")
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := stk.PushRandomImage(t.Context(), repo, "unsigned")
	if err != nil {
		t.Fatal(err)
	}
	signGroup(t, []string{signed})
	tagged := stk.Registry + "/" + repo + ":v1"
	file := filepath.Join(t.TempDir(), "deploy.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - {name: migrate, image: "`+unsigned+`"}
      containers:
        - {name: app, image: "`+signed+`"}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: prod}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - {name: job, image: "`+tagged+`"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	static, _ := images(t)
	r := runAction(t, repoFile("audit/action.yml"), static, map[string]string{
		"manifests":            "deploy.yaml",
		"certificate-identity": githubIdentity, "certificate-oidc-issuer": stk.Issuer("github"),
		"trusted-root": "/github/workspace/" + filepath.Base(stk.TrustedRoot),
	}, []string{stk.TrustedRoot, file}, "")
	if r.code != 1 || r.outputs["passed"] != "1" || r.outputs["failed"] != "2" {
		t.Fatalf("audit action: exit %d, outputs %v\nstdout:\n%s\nstderr:\n%s", r.code, r.outputs, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(r.workspace, "keyless-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep auditReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	type img struct{ Image, Reason, Source string }
	var got []img
	for _, i := range rep.Images {
		got = append(got, img{i.Image, i.Reason, strings.Join(i.Sources, "; ")})
	}
	want := []img{
		{unsigned, "unsigned", "deploy.yaml:1: Deployment prod/web, initContainer migrate"},
		{tagged, "tag", "deploy.yaml:14: CronJob prod/nightly, container job"},
		{signed, "", "deploy.yaml:1: Deployment prod/web, container app"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	if d := rep.Images[1].Detail; !strings.Contains(d, "pin it as "+signed) || !strings.Contains(d, "which passes the gate") {
		t.Errorf("the tag's detail %q does not say which digest to pin, and that it passes", d)
	}
}

// checkAudit checks an audit report against the reason each group's
// images fail for ("" passes): every image once, and the counts.
func checkAudit(t *testing.T, rep auditReport, repo string, want map[string]string, total int) {
	t.Helper()
	counts := map[string]int{}
	passed := 0
	for _, img := range rep.Images {
		tag := strings.TrimPrefix(img.Image, stk.Registry+"/"+repo+":")
		group, _, _ := strings.Cut(tag, "-")
		reason, ok := want[group]
		if !ok {
			t.Errorf("%s audited, which the case does not expect", img.Image)
			continue
		}
		if img.Reason != reason || img.Passed != (reason == "") {
			t.Errorf("%s: reason %q (passed %v), want %q: %s", img.Image, img.Reason, img.Passed, reason, img.Detail)
		}
		if reason == "" {
			passed++
		} else {
			counts[reason]++
		}
	}
	wantCounts := map[string]int{}
	wantPassed := 0
	for _, g := range auditGroups {
		if reason, ok := want[g.name]; ok && reason != "" {
			wantCounts[reason] += g.n
		} else if ok {
			wantPassed += g.n
		}
	}
	for _, r := range []string{"unsigned", "identity", "retention", "attestation", "tag", "invalid", "error"} {
		if rep.Reasons[r] != wantCounts[r] || counts[r] != wantCounts[r] {
			t.Errorf("reason %s: counted %d, listed %d, want %d", r, rep.Reasons[r], counts[r], wantCounts[r])
		}
	}
	if rep.Total != total || len(rep.Images) != total || rep.Passed != wantPassed || passed != wantPassed || rep.Failed != total-wantPassed {
		t.Errorf("total %d (%d listed), passed %d (%d listed), failed %d; want %d, %d, %d", rep.Total, len(rep.Images), rep.Passed, passed, rep.Failed, total, wantPassed, total-wantPassed)
	}
	for i := 1; i < len(rep.Images); i++ {
		if rep.Images[i].Passed == false && rep.Images[i-1].Passed {
			t.Errorf("%s failed after %s passed: the failures come first", rep.Images[i].Image, rep.Images[i-1].Image)
			break
		}
	}
}

// pushGroups pushes the images of auditGroups to repo, 16 at a time, and
// returns their digest references by group.
func pushGroups(t *testing.T, repo string) map[string][]string {
	t.Helper()
	var tags []string
	for _, g := range auditGroups {
		for i := range g.n {
			tags = append(tags, fmt.Sprintf("%s-%03d", g.name, i))
		}
	}
	refs := make([]string, len(tags))
	forEach(t, len(tags), func(i int) {
		ref, err := stk.PushRandomImage(context.Background(), repo, tags[i])
		if err != nil {
			t.Error(err)
		}
		refs[i] = ref
	})
	out := map[string][]string{}
	for i, tag := range tags {
		group, _, _ := strings.Cut(tag, "-")
		out[group] = append(out[group], refs[i])
	}
	return out
}

// signGroup signs refs in both formats in one keyless run, as the GitHub
// runner runs the sign action, with a token minted with opts.
func signGroup(t *testing.T, refs []string, opts ...stack.MintOption) {
	t.Helper()
	inputs := merge(trustInputs(stk.SigningConfigAll), map[string]string{"images": strings.Join(refs, "\n"), "signature-format": "both"})
	if len(opts) > 0 {
		inputs["identity-token"] = mint(t, "github", opts...)
	}
	if r := runKeyless(t, githubEnv(inputs)); r.code != 0 {
		t.Fatalf("keyless sign of %d images: exit %d\n%s", len(refs), r.code, r.stderr)
	}
}

// forEach runs f(0) … f(n-1), 16 at a time, and ends the test if one
// failed it (f reports with t.Error: it runs on other goroutines).
func forEach(t *testing.T, n int, f func(i int)) {
	t.Helper()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// forAll runs f on every image reference, 16 at a time.
func forAll(t *testing.T, refs []string, f func(t *testing.T, d name.Digest)) {
	t.Helper()
	forEach(t, len(refs), func(i int) {
		d, err := name.NewDigest(refs[i], name.Insecure)
		if err != nil {
			t.Error(err)
			return
		}
		f(t, d)
	})
}

// sigTag is the legacy signature tag of d.
func sigTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// deleteSigTag deletes ref's .sig tag through the registry API: the
// manifest it names, by digest, as distribution deletes tags.
func deleteSigTag(t *testing.T, d name.Digest) {
	tag := sigTag(d)
	desc, err := remote.Head(tag)
	if err != nil {
		t.Errorf("%s: %v", tag, err)
		return
	}
	if err := remote.Delete(tag.Context().Digest(desc.Digest.String())); err != nil {
		t.Errorf("deleting %s: %v", tag, err)
	}
}

// deleteReferrers deletes the manifest of each of ref's referrers, leaving
// what lists them (the referrers tag schema's index) as it is.
func deleteReferrers(t *testing.T, d name.Digest) {
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Errorf("referrers of %s: %v", d, err)
		return
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) == 0 {
		t.Errorf("referrers of %s: %v %v", d, im, err)
		return
	}
	for _, m := range im.Manifests {
		if err := remote.Delete(d.Context().Digest(m.Digest.String())); err != nil {
			t.Errorf("deleting referrer %s: %v", m.Digest, err)
		}
	}
}

// deleteSigBlob deletes the signature blob of ref's .sig tag through the
// registry API, leaving the tag's manifest naming it.
func deleteSigBlob(t *testing.T, d name.Digest) {
	tag := sigTag(d)
	img, err := remote.Image(tag)
	if err != nil {
		t.Errorf("%s: %v", tag, err)
		return
	}
	m, err := img.Manifest()
	if err != nil || len(m.Layers) != 1 {
		t.Errorf("%s: %v %v", tag, m, err)
		return
	}
	deleteBlob(t, tag.Context(), m.Layers[0].Digest)
}

// deleteBlob deletes a blob of repo through the registry API.
func deleteBlob(t *testing.T, repo name.Repository, h v1.Hash) {
	req, err := http.NewRequest(http.MethodDelete, "http://"+repo.RegistryStr()+"/v2/"+repo.RepositoryStr()+"/blobs/"+h.String(), nil)
	if err != nil {
		t.Error(err)
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("deleting blob %s of %s: HTTP %d", h, repo, resp.StatusCode)
	}
}
