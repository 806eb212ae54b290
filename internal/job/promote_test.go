package job

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/promote"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/sigstoretest"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/trust"
)

const otherIdentity = "https://github.com/keyless-dev/other/.github/workflows/release.yml@refs/heads/main"

// at is d in repository dst.
func at(t *testing.T, dst string, d string) name.Digest {
	t.Helper()
	src, err := name.NewDigest(d)
	if err != nil {
		t.Fatal(err)
	}
	out, err := name.NewDigest(dst + "@" + src.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stored is what a registry holds for d: whether its manifest is there,
// the layers of its .sig and .att tags, and how many referrers it lists.
type stored struct {
	Manifest            bool
	Sig, Att, Referrers int
}

func storedAt(t *testing.T, d name.Digest) stored {
	t.Helper()
	ctx := context.Background()
	var s stored
	if _, err := remote.Head(d); err == nil {
		s.Manifest = true
	}
	for suffix, n := range map[string]*int{"sig": &s.Sig, "att": &s.Att} {
		img, err := remote.Image(store.TagOf(d, suffix))
		if err != nil {
			continue
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		*n = len(m.Layers)
	}
	idx, err := remote.Referrers(d, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	s.Referrers = len(im.Manifests)
	return s
}

func TestPromote(t *testing.T) {
	for _, tc := range []struct {
		name          string
		otherRegistry bool
		referrers     bool
		index         bool
	}{
		{"two repositories of one registry", false, false, false},
		{"two registries", true, false, false},
		{"two registries with the referrers API", true, true, false},
		{"an index and its manifests, recursive, two registries", true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newFaulty(t, tc.referrers)
			dstReg := src
			if tc.otherRegistry {
				dstReg = newFaulty(t, tc.referrers)
			}
			var digests []string
			image := src.host + "/dev/app:v1"
			if tc.index {
				idx, children := pushIndex(t, src.host, "dev/app", 2)
				digests, image = append([]string{idx.String()}, children...), src.host+"/dev/app:multi"
			} else {
				digests = []string{pushImage(t, src.host, "dev/app").String()}
			}
			for _, d := range digests {
				signEverything(t, at(t, src.host+"/dev/app", d), testPolicy.Identity)
			}
			dst := dstReg.host + "/prod/app"
			c := promoteConfig(dst, image)
			c.Recursive = tc.index
			run, err := Promote(context.Background(), c)
			if err != nil {
				t.Fatalf("Promote() error = %v", err)
			}
			if !run.Verified || run.Destination != dst {
				t.Fatalf("Promote() Verified = %v, Destination = %q; subjects %+v", run.Verified, run.Destination, run.Subjects)
			}
			var got []string
			for _, s := range run.Subjects {
				got = append(got, s.Digest)
				p := s.Promotion
				if s.Err != nil || p == nil {
					t.Fatalf("%s: Err = %v, Promotion = %+v", s.Digest, s.Err, p)
				}
				if want := at(t, dst, s.Digest).String(); p.Destination != want {
					t.Errorf("%s: Destination = %s, want %s", s.Digest, p.Destination, want)
				}
				if len(p.Verifications) != 4 || !allVerified(p.Verifications) {
					t.Errorf("%s: destination verifications = %+v, want 4 that verified", s.Digest, p.Verifications)
				}
				for _, v := range p.Verifications {
					if !strings.HasPrefix(v.Location, dst) {
						t.Errorf("%s: verified at %s, not read back from %s", s.Digest, v.Location, dst)
					}
				}
				var formats []promote.Format
				for _, pr := range p.Copied.Proofs {
					formats = append(formats, pr.Format)
				}
				if diff := cmp.Diff([]promote.Format{promote.Legacy, promote.Legacy, promote.Bundle, promote.Bundle}, formats); diff != "" {
					t.Errorf("%s: proofs copied (-want +got):\n%s", s.Digest, diff)
				}
				if diff := cmp.Diff(storedAt(t, at(t, src.host+"/dev/app", s.Digest)), storedAt(t, at(t, dst, s.Digest))); diff != "" {
					t.Errorf("%s: stored (-source +destination):\n%s", s.Digest, diff)
				}
			}
			if diff := cmp.Diff(digests, got); diff != "" {
				t.Errorf("subjects (-want +got):\n%s", diff)
			}
			if !run.Subjects[0].Promotion.Copied.Manifest {
				t.Error("the image's manifest was not reported copied")
			}

			// A re-run finds everything promoted and writes nothing.
			before := dstReg.writes.Load()
			again, err := Promote(context.Background(), c)
			if err != nil || !again.Verified {
				t.Fatalf("re-run: Promote() = %+v, %v", again, err)
			}
			if n := dstReg.writes.Load() - before; n != 0 {
				t.Errorf("a re-run made %d writes, want none", n)
			}
			for _, s := range again.Subjects {
				if s.Promotion.Copied.Manifest || slices.ContainsFunc(s.Promotion.Copied.Proofs, func(p promote.Proof) bool { return p.Copied }) {
					t.Errorf("%s: a re-run copied %+v", s.Digest, s.Promotion.Copied)
				}
			}
		})
	}
}

// TestPromoteFailsClosed: when one image of two does not verify at the
// source, neither is copied.
func TestPromoteFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sign   func(t *testing.T, d name.Digest)
		reason string
	}{
		{"unsigned", func(*testing.T, name.Digest) {}, "none found"},
		{"another identity", func(t *testing.T, d name.Digest) { signEverything(t, d, otherIdentity) }, "not " + testPolicy.Identity},
		{"a missing attestation", func(t *testing.T, d name.Digest) {
			for _, f := range bothFormats {
				storeSigned(t, d, testPolicy.Identity, payload.Signature{}, f)
			}
		}, "none found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dstReg := newFaulty(t, false), newFaulty(t, false)
			good := pushImage(t, src.host, "dev/good")
			bad := pushImage(t, src.host, "dev/bad")
			signEverything(t, good, testPolicy.Identity)
			tc.sign(t, bad)
			run, err := Promote(context.Background(), promoteConfig(dstReg.host+"/prod/app", good.String(), bad.String()))
			if err != nil {
				t.Fatalf("Promote() error = %v, want a failed run", err)
			}
			if run.Verified {
				t.Fatal("Promote() Verified = true")
			}
			if n := dstReg.writes.Load(); n != 0 {
				t.Errorf("the destination got %d writes, want none", n)
			}
			g, b := run.Subjects[0], run.Subjects[1]
			if g.Promotion != nil || g.Err == nil || !strings.Contains(g.Err.Error(), "not promoted: 1 of the 2 images failed verification at the source") {
				t.Errorf("the image that verified: Err = %v, Promotion = %+v; want it not promoted, saying why", g.Err, g.Promotion)
			}
			var reasons []string
			for _, v := range b.Verifications {
				reasons = append(reasons, v.Reasons...)
			}
			if b.Promotion != nil || b.ok(true) || !strings.Contains(strings.Join(reasons, "; "), tc.reason) {
				t.Errorf("the image that failed: verifications %+v; want a failure saying %q", b.Verifications, tc.reason)
			}
		})
	}
}

var bothFormats = []sign.Format{sign.Bundle, sign.Legacy}

// TestPromoteCompletesWhatARefusedRunLeft: the destination refuses every
// write after the first n, for each n a whole promotion makes: the run
// fails (exit 1), and a re-run completes it with nothing stored twice.
func TestPromoteCompletesWhatARefusedRunLeft(t *testing.T) {
	src := newFaulty(t, false)
	d := pushImage(t, src.host, "dev/app")
	signEverything(t, d, testPolicy.Identity)
	want := storedAt(t, d)

	whole := newFaulty(t, false)
	if run, err := Promote(context.Background(), promoteConfig(whole.host+"/prod/app", d.String())); err != nil || !run.Verified {
		t.Fatalf("Promote() = %+v, %v", run, err)
	}
	writes := whole.writes.Load()
	if writes < 5 {
		t.Fatalf("a promotion made %d writes: too few to stop it partway", writes)
	}
	for n := range writes {
		dstReg := newFaulty(t, false)
		dst := dstReg.host + "/prod/app"
		dstReg.refuseAfter.Store(n)
		run, err := Promote(context.Background(), promoteConfig(dst, d.String()))
		if err != nil {
			t.Fatalf("refused after %d writes: Promote() error = %v, want a failed run", n, err)
		}
		if run.Verified || run.Subjects[0].Err == nil || !strings.Contains(run.Subjects[0].Err.Error(), "quota exceeded") {
			t.Fatalf("refused after %d writes: Verified = %v, Err = %v; want the refusal", n, run.Verified, run.Subjects[0].Err)
		}
		dstReg.refuseAfter.Store(-1)
		run, err = Promote(context.Background(), promoteConfig(dst, d.String()))
		if err != nil || !run.Verified {
			t.Fatalf("refused after %d writes, then re-run: Promote() = %+v, %v", n, run, err)
		}
		if diff := cmp.Diff(want, storedAt(t, at(t, dst, d.String()))); diff != "" {
			t.Errorf("refused after %d writes, then re-run: stored (-source +destination):\n%s", n, diff)
		}
		before := dstReg.writes.Load()
		if run, err := Promote(context.Background(), promoteConfig(dst, d.String())); err != nil || !run.Verified {
			t.Fatalf("third run: Promote() = %+v, %v", run, err)
		}
		if got := dstReg.writes.Load() - before; got != 0 {
			t.Errorf("refused after %d writes: the run after the re-run made %d writes, want none", n, got)
		}
	}
}

// TestPromoteRefusesBadInput: exit 2 and nothing written.
func TestPromoteRefusesBadInput(t *testing.T) {
	r := newFaulty(t, false)
	d := pushImage(t, r.host, "dev/app")
	signEverything(t, d, testPolicy.Identity)
	before := r.writes.Load()
	for _, tc := range []struct{ name, destination, want string }{
		{"no destination", "", "required"},
		{"a destination with a tag", r.host + "/prod/app:v1", "has a tag"},
		{"a destination with a digest", r.host + "/prod/app@" + d.DigestStr(), "has a digest"},
		{"the source repository", r.host + "/dev/app", "is the repository of"},
		{"an option", "--recursive", "starts with -"},
		{"not a repository", r.host + "/Prod/App", "not a repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := Promote(context.Background(), promoteConfig(tc.destination, d.String()))
			if err == nil {
				t.Fatalf("Promote() = %+v, want an error", run)
			}
			if !IsInput(err) || !strings.Contains(err.Error(), "destination") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Promote() error = %q (input: %v), want an input error naming destination and saying %q", err, IsInput(err), tc.want)
			}
		})
	}
	if n := r.writes.Load() - before; n != 0 {
		t.Errorf("bad input made %d writes, want none", n)
	}
}

// TestPromoteSignsAVerificationSummary: with VSA, each promoted digest
// gets a SLSA verification summary at the destination, signed with the
// job's identity, in each format; a re-run signs none again.
func TestPromoteSignsAVerificationSummary(t *testing.T) {
	st := sigstoretest.New(t)
	src, dstReg := newFaulty(t, false), newFaulty(t, false)
	d := pushImage(t, src.host, "dev/app")
	signEverything(t, d, testPolicy.Identity)
	dst := dstReg.host + "/prod/app"
	c := promoteConfig(dst, d.String())
	c.VSA, c.Version = true, "v9.9.9"
	c.Trust = trust.Config{TrustedRoot: trustedRoot, SigningConfig: st.SigningConfig}
	c.Token = sequence(jwt(t, time.Now().Add(10*time.Minute)), jwt(t, time.Now().Add(10*time.Minute)))
	run, err := Promote(context.Background(), c)
	if err != nil {
		t.Fatalf("Promote() error = %v", err)
	}
	if !run.Verified || run.VSAPolicy.Identity != sigstoretest.Identity {
		t.Fatalf("Promote() Verified = %v, VSA identity = %q; subject %+v", run.Verified, run.VSAPolicy.Identity, run.Subjects[0])
	}
	p := run.Subjects[0].Promotion
	var formats []sign.Format
	for _, v := range p.VSAs {
		formats = append(formats, v.Format)
		if v.Reused || v.PredicateType != payload.VSAType {
			t.Errorf("VSA %+v: want a new one of type %s", v, payload.VSAType)
		}
	}
	if diff := cmp.Diff(bothFormats, formats); diff != "" {
		t.Errorf("VSA formats (-want +got):\n%s", diff)
	}
	target := at(t, dst, d.String())
	items, err := store.NewReferrer().Read(context.Background(), target, payload.Expected(payload.VSAType))
	if err != nil || len(items) != 1 {
		t.Fatalf("VSA referrers at the destination: %d, %v; want 1", len(items), err)
	}
	stmt, err := payload.Decode(items[0].Bundle.GetDsseEnvelope().GetPayload())
	if err != nil {
		t.Fatal(err)
	}
	var pred struct {
		Verifier           struct{ ID string }
		ResourceURI        string
		VerificationResult string
		VerifiedLevels     []string
		InputAttestations  []struct {
			URI    string
			Digest map[string]string
		}
	}
	if err := json.Unmarshal(stmt.Predicate, &pred); err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, in := range pred.InputAttestations {
		inputs = append(inputs, in.URI+" sha256:"+in.Digest["sha256"])
	}
	var verified []string
	for _, v := range p.Verifications {
		verified = append(verified, v.Location+" "+v.Digest)
	}
	type summary struct {
		Verifier, Resource, Result string
		Levels, Inputs             []string
	}
	want := summary{payload.VerifierID, payload.OCIPurl(target), "PASSED", []string{payload.BuildLevel0}, verified}
	if diff := cmp.Diff(want, summary{pred.Verifier.ID, pred.ResourceURI, pred.VerificationResult, pred.VerifiedLevels, inputs}); diff != "" {
		t.Errorf("the summary (-want +got):\n%s", diff)
	}

	entries := st.Entries
	again, err := Promote(context.Background(), c)
	if err != nil || !again.Verified {
		t.Fatalf("re-run: Promote() = %+v, %v", again, err)
	}
	for _, v := range again.Subjects[0].Promotion.VSAs {
		if !v.Reused {
			t.Errorf("re-run: VSA %+v signed again", v)
		}
	}
	if st.Entries != entries {
		t.Errorf("re-run logged %d entries, want none", st.Entries-entries)
	}
}

// TestPromoteRefusedTokenCopiesNothing: a token Fulcio refuses stops a
// run that would sign summaries before anything is copied.
func TestPromoteRefusedTokenCopiesNothing(t *testing.T) {
	st := sigstoretest.New(t)
	st.Refuse["fulcio"] = 400
	src, dstReg := newFaulty(t, false), newFaulty(t, false)
	d := pushImage(t, src.host, "dev/app")
	signEverything(t, d, testPolicy.Identity)
	c := promoteConfig(dstReg.host+"/prod/app", d.String())
	c.VSA = true
	c.Trust = trust.Config{TrustedRoot: trustedRoot, SigningConfig: st.SigningConfig}
	c.Token = sequence(jwt(t, time.Now().Add(10*time.Minute)))
	run, err := Promote(context.Background(), c)
	if err == nil || !IsInput(err) || !strings.Contains(err.Error(), "identity-token") {
		t.Fatalf("Promote() = %+v, %v; want an input error naming identity-token", run, err)
	}
	if n := dstReg.writes.Load(); n != 0 {
		t.Errorf("the destination got %d writes, want none", n)
	}
	c.Token = nil
	if _, err := Promote(context.Background(), c); err == nil || !IsInput(err) || !strings.Contains(err.Error(), "identity-token") {
		t.Errorf("Promote() without a token: %v, want an input error naming identity-token", err)
	}
}
