package registry

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Limits on what keyless reads back from a registry, so that a hostile or
// broken registry cannot exhaust memory or time.
const (
	// MaxSignatures is the most signatures (referrers or .sig layers) read
	// per subject: far more than any real image carries.
	MaxSignatures = 64
	// MaxBlobSize caps one signature's bundle or simple-signing payload;
	// real ones are a few KiB.
	MaxBlobSize = 1 << 20
	// MaxAttestationSize caps one attestation's bundle or DSSE envelope.
	// An SBOM predicate may be 16 MiB (keyless refuses larger ones before
	// signing); base64 in the DSSE payload makes that about 21.4 MiB, plus
	// the statement, certificate, log entry and timestamps: 32 MiB leaves
	// room for them and for layout. Blobs pass LimitTransport uncapped
	// (it caps manifests and referrers lists only); this is their cap.
	MaxAttestationSize = 32 << 20
	// MaxReadSize caps the blobs read together for one subject in one
	// format, so that MaxSignatures attestations at MaxAttestationSize each
	// (2 GiB) cannot be held at once.
	MaxReadSize = 64 << 20
	// MaxConfigSize caps the config of a legacy .sig or .att image, which
	// appending a signature reads whole: cosign's are about 1 KiB, a
	// layer's history and diff ID about 200 bytes each.
	MaxConfigSize = 1 << 20
	// MaxManifestSize caps the bytes of one manifest, index or referrers
	// list, checked as they arrive and before any parsing: decoding JSON
	// takes several times its size in memory (a 29 MiB .sig manifest of
	// 100k layers took 243 MiB of heap). 4 MiB is the size the OCI
	// distribution spec asks registries to accept, and the limit of
	// distribution's registry and Docker Hub, so no manifest a registry
	// stores for real is refused; keyless's own are a few KiB.
	MaxManifestSize = 4 << 20
	// MaxReferrers is the most entries read in one referrers list, of any
	// artifact type: far more than the signatures, attestations and SBOMs
	// of a real image.
	MaxReferrers = 1024
	// MaxIndexManifests is the most manifests a recursive expansion of one
	// image reads, its nested indexes included: a multi-platform image
	// lists a few dozen.
	MaxIndexManifests = 1024
	// MaxIndexDepth is how deep indexes may nest under the image given (an
	// index of platform images is 1, an index of such indexes 2): deeper
	// ones are refused rather than signed in part.
	MaxIndexDepth = 8
	// MaxTagListSize caps one page of a repository's tag list: a page of
	// the 1000 tags keyless asks for is at most 130 KiB, and a registry
	// that answers with every tag at once still fits 100,000 of them.
	MaxTagListSize = 16 << 20
)

// LimitTransport wraps rt so that keyless never reads more than
// MaxManifestSize bytes of a manifest or referrers response, or
// MaxTagListSize of a page of tags: a larger one fails as soon as its
// Content-Length or its bytes pass the limit. The limit follows
// redirects: a GET answered with a redirect to any other URL is capped at
// every hop by what its first URL asked for. Every registry transport
// keyless uses must be wrapped by it.
func LimitTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return limitTransport{rt}
}

type limitTransport struct{ rt http.RoundTripper }

func (l limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(req)
	first := origin(req)
	// What the first URL asked for decides, across every hop; a hop to a
	// manifest path is capped too.
	limit := readLimit(first.URL.Path)
	if limit == 0 {
		limit = readLimit(req.URL.Path)
	}
	if err != nil || req.Method != http.MethodGet || limit == 0 ||
		resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, err
	}
	if resp.ContentLength > limit {
		resp.Body.Close()
		return nil, tooLarge(first, limit)
	}
	resp.Body = &limitBody{ReadCloser: resp.Body, req: first, left: limit, limit: limit}
	return resp, nil
}

// origin returns the request that req's chain of redirects started from:
// an http.Client makes each hop's request with the redirect response that
// led to it, whose Request is the hop before. The URL the registry was
// asked for, not where it sent keyless, decides what is a manifest.
func origin(req *http.Request) *http.Request {
	for req.Response != nil && req.Response.Request != nil {
		req = req.Response.Request
	}
	return req
}

// readLimit is the most bytes read of a response to a GET of path; 0
// for no limit (blobs: their readers cap them).
func readLimit(path string) int64 {
	switch {
	case isManifestPath(path):
		return MaxManifestSize
	case strings.HasPrefix(path, "/v2/") && strings.HasSuffix(path, "/tags/list"):
		return MaxTagListSize
	}
	return 0
}

// isManifestPath reports whether path is /v2/<repo>/manifests/<ref> or
// /v2/<repo>/referrers/<digest>.
func isManifestPath(path string) bool {
	if !strings.HasPrefix(path, "/v2/") {
		return false
	}
	i := strings.LastIndex(path, "/")
	dir := path[:max(i, 0)]
	return strings.HasSuffix(dir, "/manifests") || strings.HasSuffix(dir, "/referrers")
}

func tooLarge(req *http.Request, limit int64) error {
	what := "a manifest"
	if limit == MaxTagListSize {
		what = "a page of tags"
	}
	return fmt.Errorf("%s is over keyless's limit of %d bytes for %s: refusing to read it", req.URL.Redacted(), limit, what)
}

// limitBody fails a read that passes the limit, before the bytes reach
// the JSON decoder.
type limitBody struct {
	io.ReadCloser
	req         *http.Request
	left, limit int64
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a larger one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, tooLarge(b.req, b.limit)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
