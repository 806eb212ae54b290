package faultproxy

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestProxyDelayAndBucket checks the latency-only and the rate-limited
// proxy: every request waits the delay, and a request beyond the bucket
// is answered 429 with a Retry-After of the seconds until a token.
func TestProxyDelayAndBucket(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer upstream.Close()
	for _, tc := range []struct {
		name   string
		cfg    Config
		want   []string // status and Retry-After of 4 requests in a row
		faults map[Kind]int
	}{
		{"latency only", Config{Delay: 30 * time.Millisecond}, []string{"200 ", "200 ", "200 ", "200 "}, map[Kind]int{}},
		{"bucket of 2, one a second", Config{Bucket: Bucket{Rate: 1, Burst: 2}},
			[]string{"200 ", "200 ", "429 1", "429 1"}, map[Kind]int{Throttled: 2}},
		{"bucket of 1, one every 5 s", Config{Bucket: Bucket{Rate: 0.2, Burst: 1}},
			[]string{"200 ", "429 5", "429 5", "429 5"}, map[Kind]int{Throttled: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start("test", upstream.URL, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var got []string
			start := time.Now()
			for range 4 {
				resp, err := http.Get(p.URL)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				got = append(got, resp.Status[:3]+" "+resp.Header.Get("Retry-After"))
			}
			if took := time.Since(start); took < 4*tc.cfg.Delay {
				t.Errorf("4 requests took %v, under 4 delays of %v", took, tc.cfg.Delay)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			st := p.Stats()
			if diff := cmp.Diff([2]any{4, tc.faults}, [2]any{st.Requests, st.Faults}); diff != "" {
				t.Errorf("[requests, faults] (-want +got):\n%s", diff)
			}
		})
	}
}
