package store

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"

	"github.com/keyless-dev/keyless/internal/registry/registrytest"
)

// typed is a kind of any predicate type.
type typed string

func (k typed) PredicateType() string                 { return string(k) }
func (k typed) Statement(name.Digest) ([]byte, error) { return []byte("{}"), nil }

// TestReferrerWritesOfOneSubjectAtOnce writes the referrers of several
// kinds of one subject at once, as a run signs them, to a registry without
// the referrers API: every one is in the fallback index afterwards (each
// write reads, extends and writes the index).
func TestReferrerWritesOfOneSubjectAtOnce(t *testing.T) {
	ctx := context.Background()
	s := pushed(t, registrytest.New(t, false)+"/app:v1")
	const n = 8
	r := NewReferrer()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := r.Write(ctx, s, typed(fmt.Sprintf("https://example.com/kind/%d", i)), Content{}, &protobundle.Bundle{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	idx, err := remote.Referrers(s.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != n {
		t.Errorf("the fallback index lists %d referrers, want %d", len(im.Manifests), n)
	}
}

func TestKeyedMutex(t *testing.T) {
	var k keyedMutex
	var wg sync.WaitGroup
	var counts [3]int
	for i := range 300 {
		wg.Go(func() {
			defer k.lock(fmt.Sprint(i % 3))()
			n := counts[i%3]
			runtime.Gosched()
			counts[i%3] = n + 1 // lost when two holders of one key overlap
		})
	}
	wg.Wait()
	if counts != [3]int{100, 100, 100} {
		t.Errorf("counts = %v, want 100 each: holders of one key overlapped", counts)
	}
	if len(k.locks) != 0 {
		t.Errorf("%d locks left after use", len(k.locks))
	}
}
