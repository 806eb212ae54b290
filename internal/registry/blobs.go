package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/keyless-dev/keyless/internal/retry"
)

// Blobs uploads the blobs of one run. Each new blob takes the two requests
// of the OCI distribution spec's monolithic upload, a POST for a session
// and a PUT with the body, where ggcr's streamed upload takes three (POST,
// PATCH, PUT). A blob this run has put in a repository, or found there, is
// not asked about again, nor while it is going up: every referrer shares
// the empty config.
type Blobs struct {
	keychain authn.Keychain
	rt       http.RoundTripper

	mu      sync.Mutex
	repos   map[string]*repoTransport // by repository
	known   map[string]bool           // repository@digest
	pending map[string]chan struct{}  // repository@digest going up; closed when done
}

// repoTransport is one repository's authenticated transport, made once:
// one ping and one token exchange per repository and run. A failure to
// make it is not kept: the next upload tries again.
type repoTransport struct {
	mu sync.Mutex
	rt http.RoundTripper
}

// NewBlobs returns the uploader of a run that authenticates with kc and
// sends its requests through rt (http.DefaultTransport when nil).
func NewBlobs(kc authn.Keychain, rt http.RoundTripper) *Blobs {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &Blobs{keychain: kc, rt: rt, repos: map[string]*repoTransport{}, known: map[string]bool{}, pending: map[string]chan struct{}{}}
}

// uploadAttempts bounds the redos of one upload whose session was lost
// (a PUT retried after its first answer was lost finds the session gone):
// the retrying transport has already retried each request.
const uploadAttempts = 4

// Upload puts blob in repo and returns its digest. A fresh blob, one the
// registry cannot hold yet (a new signature), is uploaded without asking;
// another is asked about first, once per run.
func (b *Blobs) Upload(ctx context.Context, repo name.Repository, blob []byte, fresh bool) (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(blob))
	if err != nil {
		return v1.Hash{}, err
	}
	key := repo.String() + "@" + h.String()
	for {
		b.mu.Lock()
		known, pending := b.known[key], b.pending[key]
		if !known && pending == nil {
			done := make(chan struct{})
			b.pending[key] = done
			defer func() {
				b.mu.Lock()
				delete(b.pending, key)
				b.mu.Unlock()
				close(done)
			}()
		}
		b.mu.Unlock()
		if known {
			return h, nil
		}
		if pending == nil {
			break
		}
		// The same blob is going up to the same repository: wait for it,
		// and upload it only if that failed.
		select {
		case <-pending:
		case <-ctx.Done():
			return v1.Hash{}, ctx.Err()
		}
	}
	rt, err := b.transport(ctx, repo)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("uploading blob to %s: %w", repo, err)
	}
	u := blobUpload{ctx: ctx, rt: rt, repo: repo, blob: blob, digest: h}
	if err := u.run(fresh); err != nil {
		return v1.Hash{}, fmt.Errorf("uploading blob %s to %s: %w", h, repo, err)
	}
	b.mu.Lock()
	b.known[key] = true
	b.mu.Unlock()
	return h, nil
}

// Warm sets up the uploads to repo (the ping and the token exchange)
// ahead of the first, which then finds them done.
func (b *Blobs) Warm(ctx context.Context, repo name.Repository) error {
	_, err := b.transport(ctx, repo)
	return err
}

func (b *Blobs) transport(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	b.mu.Lock()
	t, ok := b.repos[repo.String()]
	if !ok {
		t = &repoTransport{}
		b.repos[repo.String()] = t
	}
	b.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rt != nil {
		return t.rt, nil
	}
	auth, err := b.keychain.Resolve(repo)
	if err != nil {
		return nil, fmt.Errorf("resolving credentials for %s: %w", repo, err)
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, b.rt, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, err
	}
	t.rt = rt
	return rt, nil
}

// blobUpload is one blob's upload to one repository.
type blobUpload struct {
	ctx    context.Context
	rt     http.RoundTripper
	repo   name.Repository
	blob   []byte
	digest v1.Hash
}

// run uploads the blob, first asking whether the registry has it unless
// it is fresh. A failed upload whose blob is nonetheless there (its PUT's
// answer was lost) succeeded; one whose session was lost is redone.
func (u blobUpload) run(fresh bool) error {
	if !fresh {
		if ok, err := u.exists(); err != nil || ok {
			return err
		}
	}
	return retry.Do(u.ctx, func() error {
		err := u.put()
		if err == nil {
			return nil
		}
		if ok, herr := u.exists(); herr == nil && ok {
			return nil
		}
		return err
	}, redo, retry.WithAttempts(uploadAttempts), retry.WithBackoff(100*time.Millisecond, time.Second))
}

// redo reports whether an upload that failed with err is worth starting
// again: its session was lost, or the failure was transient.
func redo(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		for _, d := range te.Errors {
			if d.Code == transport.BlobUploadUnknownErrorCode {
				return true
			}
		}
		return retry.TemporaryStatus(te.StatusCode)
	}
	return retry.Redo(err)
}

func (u blobUpload) url(path string) *url.URL {
	return &url.URL{Scheme: u.repo.Scheme(), Host: u.repo.RegistryStr(), Path: "/v2/" + u.repo.RepositoryStr() + path}
}

// exists asks the registry whether it has the blob.
func (u blobUpload) exists() (bool, error) {
	resp, err := u.do(http.MethodHead, u.url("/blobs/"+u.digest.String()), nil, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK, nil
}

// put is the monolithic upload: a session, then the whole blob.
func (u blobUpload) put() error {
	start := u.url("/blobs/uploads/")
	resp, err := u.do(http.MethodPost, start, nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	loc, err := start.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return fmt.Errorf("the registry answered an upload with no usable Location (%q)", resp.Header.Get("Location"))
	}
	q := loc.Query()
	q.Set("digest", u.digest.String())
	loc.RawQuery = q.Encode()
	_, err = u.do(http.MethodPut, loc, u.blob, http.StatusCreated)
	return err
}

// do sends one request and checks its status against want; the body is
// drained and closed, so the connection is reused.
func (u blobUpload) do(method string, target *url.URL, body []byte, want ...int) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(u.ctx, method, target.String(), r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := u.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, want...); err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp, nil
}
