package registry

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReferrersTransport(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
		atOnce bool  // the 3 requests are sent together
		want   int64 // requests that reach the registry out of 3
	}{
		{"no referrers API", http.StatusNotFound, "404 page not found", false, 1},
		{"no referrers API, asked at once", http.StatusNotFound, "404 page not found", true, 1},
		{"referrers API", http.StatusOK, `{"schemaVersion":2,"manifests":[]}`, false, 3},
		{"referrers API, asked at once", http.StatusOK, `{"schemaVersion":2,"manifests":[]}`, true, 3},
		{"unknown repository", http.StatusNotFound, `{"errors":[{"code":"NAME_UNKNOWN"}]}`, false, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				time.Sleep(10 * time.Millisecond)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			client := &http.Client{Transport: ReferrersTransport(nil)}
			get := func(i int) {
				resp, err := client.Get(srv.URL + "/v2/app/referrers/sha256:0" + string(rune('a'+i)))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Errorf("request %d: status %d, want %d", i, resp.StatusCode, tt.status)
				}
			}
			var wg sync.WaitGroup
			for i := range 3 {
				if tt.atOnce {
					wg.Go(func() { get(i) })
				} else {
					get(i)
				}
			}
			wg.Wait()
			if got := n.Load(); got != tt.want {
				t.Errorf("requests reaching the registry = %d, want %d", got, tt.want)
			}
			// Other paths always reach the registry.
			resp, err := client.Get(srv.URL + "/v2/app/manifests/sha256-0a")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := n.Load(); got != tt.want+1 {
				t.Errorf("manifest request not sent: %d requests, want %d", got, tt.want+1)
			}
		})
	}
}
