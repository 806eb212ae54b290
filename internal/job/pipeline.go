package job

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/store"
	"github.com/keyless-dev/keyless/internal/verify"
)

// signing is what every subject's pipeline of a run shares.
type signing struct {
	c      Config
	signer *sign.Signer
	kinds  []payload.Kind
	// reader reads what a subject already has, before the certificate is
	// issued; ready returns the verifier once it is (or why it is not).
	reader *verify.Reader
	ready  func() (*verify.Verifier, error)
	// warm sets up the writes to a repository ahead of them.
	warm func(ctx context.Context, repo name.Repository)
}

// all signs and verifies subjects, c.Concurrency at a time, keeping
// order. Each subject runs its own pipeline — read what it has, sign,
// log, timestamp, write, read back — and each format its own branch of
// it, so that no step waits for another subject (or format) to finish a
// step.
func (p *signing) all(ctx context.Context, subjects []registry.Subject) []Subject {
	out := make([]Subject, len(subjects))
	prog := startProgress(p.c.Log, "signing", len(subjects))
	defer prog.stop()
	forEach(p.c.Concurrency, len(subjects), func(i int) {
		s := subjects[i]
		out[i] = p.subject(ctx, s)
		prog.done(s, out[i], p.c.Verify)
	})
	return out
}

// subject signs every kind of s in every format at once, then reports
// them in their order: kinds first, then formats.
func (p *signing) subject(ctx context.Context, s registry.Subject) Subject {
	type branch struct {
		sig *sign.Signature
		res *verify.Result
		err error
	}
	formats := p.c.Formats
	branches := make([]branch, len(p.kinds)*len(formats))
	var wg sync.WaitGroup
	for i := range branches {
		k, f := p.kinds[i/len(formats)], formats[i%len(formats)]
		wg.Go(func() {
			b := &branches[i]
			// What s already has is read while the certificate is issued.
			items, readErr := p.reader.Read(ctx, s.Digest, k, f)
			v, err := p.ready()
			if err != nil {
				b.err = err
				return
			}
			if res, ok := reusable(v, s, k, f, items, readErr); ok {
				// Just read and verified: kept instead of read again.
				b.sig = &sign.Signature{Format: f, PredicateType: res.PredicateType, Location: res.Location, LogURL: res.LogURL, LogIndex: res.LogIndex, Reused: true}
				b.res = &res
				return
			}
			go p.warm(ctx, s.Digest.Context())
			if b.sig, b.err = p.signer.Sign(ctx, s, k, f); b.err != nil {
				return
			}
			b.sig.Bundle = slim(b.sig.Bundle)
			if !p.c.Verify {
				return
			}
			res := verifyOne(ctx, v, s, k, f)
			b.res = &res
		})
	}
	wg.Wait()
	r := newSubject(s)
	for _, b := range branches {
		if b.err != nil && r.Err == nil {
			r.Err = b.err
		}
		if b.sig != nil {
			r.Signatures = append(r.Signatures, *b.sig)
		}
	}
	if r.Err == nil && p.c.Verify {
		for _, b := range branches {
			r.Verifications = append(r.Verifications, *b.res)
		}
	}
	return r
}

// reusable returns the verification of a signature already stored for s
// in format f (items, as read) when it verifies with this run's identity
// and carries exactly this run's annotations (the verifier checks both):
// a re-run then signs nothing new, so re-runs neither fail nor pile up
// signatures and log entries, while a run asked for other annotations
// signs anew. What could not be read is signed anew.
func reusable(v *verify.Verifier, s registry.Subject, k payload.Kind, f sign.Format, items []store.Item, readErr error) (verify.Result, bool) {
	if readErr != nil {
		return verify.Result{}, false
	}
	res, err := v.Check(s, k, f, items)
	return res, err == nil && res.Verified
}

// slim keeps of a signed bundle what the report reads (the kinds of its
// log entries): 1000 images would otherwise hold on to 2000 certificates,
// inclusion proofs and timestamps until the run ends.
func slim(b *protobundle.Bundle) *protobundle.Bundle {
	if b == nil {
		return nil
	}
	var entries []*protorekor.TransparencyLogEntry
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		entries = append(entries, &protorekor.TransparencyLogEntry{LogIndex: e.GetLogIndex(), KindVersion: e.GetKindVersion()})
	}
	return &protobundle.Bundle{MediaType: b.GetMediaType(), VerificationMaterial: &protobundle.VerificationMaterial{TlogEntries: entries}}
}

// forEach calls f(0) … f(n-1), at most limit at a time, and waits.
func forEach(limit, n int, f func(i int)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// progressInterval is how often a long run logs its counts.
const progressInterval = 5 * time.Second

// progress logs a failed subject at once, and the counts every
// progressInterval: one line every few seconds, not one per image.
type progress struct {
	log          *slog.Logger
	what         string
	total        int
	ok, failed   atomic.Int64
	started      time.Time
	quit, exited chan struct{}
}

func startProgress(log *slog.Logger, what string, total int) *progress {
	p := &progress{log: log, what: what, total: total, started: time.Now(), quit: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(p.exited)
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.line()
			}
		}
	}()
	return p
}

func (p *progress) line() {
	p.log.Info(p.what, "done", p.ok.Load()+p.failed.Load(), "of", p.total, "failed", p.failed.Load(),
		"elapsed", time.Since(p.started).Round(time.Second))
}

// done counts one subject; a failure is logged at once.
func (p *progress) done(s registry.Subject, r Subject, verified bool) {
	if r.ok(verified) {
		p.ok.Add(1)
		return
	}
	p.failed.Add(1)
	attrs := []any{"image", s.Digest.String()}
	if s.Platform != "" {
		attrs = append(attrs, "platform", s.Platform)
	}
	p.log.Error(p.what+": failed", attrs...) // the reasons close the run's output
}

// stop ends the progress lines.
func (p *progress) stop() {
	close(p.quit)
	<-p.exited
}
