package registry

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// ReferrersTransport wraps rt so that a registry without the OCI referrers
// API is asked about it once per run, not once per call: after a registry
// host answers 404 to GET /v2/<repo>/referrers/<digest>, the transport
// answers the host's later referrers requests with that 404 itself, and
// ggcr goes straight to the sha256-<hex> tag fallback, on reads and on the
// fallback index update of a referrer write alike. A registry with the API
// is never answered for. Each call returns a transport with its own memory:
// build one per run.
func ReferrersTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &referrersTransport{rt: rt, missing: map[string]bool{}}
}

type referrersTransport struct {
	rt      http.RoundTripper
	mu      sync.Mutex
	missing map[string]bool // registry host → no referrers API
}

func (t *referrersTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || !isReferrersPath(req.URL.Path) {
		return t.rt.RoundTrip(req)
	}
	host := req.URL.Host
	t.mu.Lock()
	missing := t.missing[host]
	t.mu.Unlock()
	if missing {
		if req.Body != nil {
			req.Body.Close()
		}
		return &http.Response{
			Status: "404 Not Found", StatusCode: http.StatusNotFound,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			Body:   http.NoBody, Request: req,
		}, nil
	}
	resp, err := t.rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		return resp, err
	}
	// A 404 naming an unknown repository says nothing about the API.
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr == nil && !nameUnknown(body) {
		t.mu.Lock()
		t.missing[host] = true
		t.mu.Unlock()
	}
	return resp, nil
}

// isReferrersPath reports whether path is /v2/<repo>/referrers/<digest>.
func isReferrersPath(path string) bool {
	i := strings.LastIndex(path, "/")
	return strings.HasPrefix(path, "/v2/") && i > 0 && strings.HasSuffix(path[:i], "/referrers")
}

// nameUnknown reports whether body is a registry error about an unknown
// repository.
func nameUnknown(body []byte) bool {
	var e struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	for _, x := range e.Errors {
		if x.Code == "NAME_UNKNOWN" {
			return true
		}
	}
	return false
}
