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
// fallback index update of a referrer write alike. Requests made while
// the first is unanswered wait for its answer rather than ask too. A
// registry with the API is never answered for. Each call returns a
// transport with its own memory: build one per run.
func ReferrersTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &referrersTransport{rt: rt, hosts: map[string]*referrersAPI{}}
}

type referrersTransport struct {
	rt    http.RoundTripper
	mu    sync.Mutex
	hosts map[string]*referrersAPI // registry host → what it answered
}

// referrersAPI is what a host is known to answer: asking is closed when
// the first request has its answer; missing, then, says it has no API.
type referrersAPI struct {
	asking  chan struct{}
	known   bool
	missing bool
}

func (t *referrersTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || !isReferrersPath(req.URL.Path) {
		return t.rt.RoundTrip(req)
	}
	host := req.URL.Host
	for {
		t.mu.Lock()
		api, ok := t.hosts[host]
		if !ok {
			api = &referrersAPI{asking: make(chan struct{})}
			t.hosts[host] = api
			t.mu.Unlock()
			return t.ask(req, host, api)
		}
		t.mu.Unlock()
		select {
		case <-api.asking:
		case <-req.Context().Done():
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, req.Context().Err()
		}
		switch {
		case api.known && api.missing:
			if req.Body != nil {
				req.Body.Close()
			}
			return &http.Response{
				Status: "404 Not Found", StatusCode: http.StatusNotFound,
				Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
				Body:   http.NoBody, Request: req,
			}, nil
		case api.known:
			return t.rt.RoundTrip(req)
		}
		// The first answer said nothing about the API: ask again.
	}
}

// ask sends req, the first referrers request to host, and records what
// its answer says about the API.
func (t *referrersTransport) ask(req *http.Request, host string, api *referrersAPI) (resp *http.Response, err error) {
	defer func() {
		t.mu.Lock()
		if !api.known {
			delete(t.hosts, host) // the next request asks again
		}
		t.mu.Unlock()
		close(api.asking)
	}()
	resp, err = t.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusNotFound {
		api.known = resp.StatusCode == http.StatusOK
		return resp, nil
	}
	// A 404 naming an unknown repository says nothing about the API.
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr == nil && !nameUnknown(body) {
		api.known, api.missing = true, true
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
