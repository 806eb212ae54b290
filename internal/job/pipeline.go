package job

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// signAll signs and verifies subjects, c.Concurrency at a time, keeping
// order. Each subject runs its own pipeline — sign, log, timestamp, write,
// read back — and each format its own branch of it, so that no step waits
// for another subject (or format) to finish a step.
func signAll(ctx context.Context, c Config, signer *sign.Signer, verifier *verify.Verifier, kinds []payload.Kind, subjects []registry.Subject) []Subject {
	out := make([]Subject, len(subjects))
	p := startProgress(c.Log, "signing", len(subjects))
	defer p.stop()
	forEach(c.Concurrency, len(subjects), func(i int) {
		s := subjects[i]
		out[i] = signSubject(ctx, c, signer, verifier, kinds, s)
		p.done(s, out[i], c.Verify)
	})
	return out
}

// signSubject signs every kind of s in every format at once, then reports
// them in their order: kinds first, then formats.
func signSubject(ctx context.Context, c Config, signer *sign.Signer, verifier *verify.Verifier, kinds []payload.Kind, s registry.Subject) Subject {
	type branch struct {
		sig *sign.Signature
		res *verify.Result
		err error
	}
	branches := make([]branch, len(kinds)*len(c.Formats))
	var wg sync.WaitGroup
	for i := range branches {
		k, f := kinds[i/len(c.Formats)], c.Formats[i%len(c.Formats)]
		wg.Go(func() {
			b := &branches[i]
			// A reused signature was just read back and verified: keep that
			// result instead of reading it again.
			if res, ok := existing(ctx, verifier, s, k, f); ok {
				b.sig = &sign.Signature{Format: f, PredicateType: res.PredicateType, Location: res.Location, LogURL: res.LogURL, LogIndex: res.LogIndex, Reused: true}
				b.res = &res
				return
			}
			if b.sig, b.err = signer.Sign(ctx, s, k, f); b.err != nil {
				return
			}
			b.sig.Bundle = slim(b.sig.Bundle)
			if !c.Verify {
				return
			}
			res := verifyOne(ctx, verifier, s, k, f)
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
	if r.Err == nil && c.Verify {
		for _, b := range branches {
			r.Verifications = append(r.Verifications, *b.res)
		}
	}
	return r
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
