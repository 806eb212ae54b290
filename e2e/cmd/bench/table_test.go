package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/e2e/faultproxy"
	"github.com/keyless-dev/keyless/e2e/stack"
)

func TestPrintTable(t *testing.T) {
	k := func(wall time.Duration) measure {
		return measure{wall: wall, cpu: 100 * time.Millisecond, maxRSS: 35 * 1024}
	}
	c := func(wall time.Duration) measure { return measure{wall: wall, maxRSS: 63 * 1024} }
	rows := []row{
		{format: "bundle", images: 1000, keyless: []measure{{wall: 12640 * time.Millisecond, cpu: 6 * time.Second, maxRSS: 65 * 1024,
			stack: stack.CPU{"registry": 9 * time.Second, "rekor-v2": 5 * time.Second}}}},
		{format: "legacy", images: 1, keyless: []measure{k(650 * time.Millisecond)}, cosign: []measure{c(1300 * time.Millisecond)}},
		{format: "bundle", images: 1, rtt: 50 * time.Millisecond,
			keyless: []measure{k(time.Second), k(900 * time.Millisecond), k(2 * time.Second)},
			cosign:  []measure{c(time.Second), c(950 * time.Millisecond), c(1950 * time.Millisecond)}},
	}
	var b strings.Builder
	printTable(&b, rows, 2)
	want := `| format | images | RTT | keyless | keyless peak RSS | cosign | cosign peak RSS | keyless/cosign | keyless − cosign, worst turn | CPU, keyless + stack | CPU floor on 2 cores | keyless bounded by |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
| bundle | 1000 | 0 ms | 12.64 s | 65 MB | — | — | — | — | 6.00 + 14.00 s | 10.00 s | CPU |
| legacy | 1 | 0 ms | 0.65 s | 35 MB | 1.30 s | 63 MB | 0.50 | -0.65 s | 0.10 + 0.00 s | 0.05 s | services' waits |
| bundle | 1 | 50 ms | 1.00 s (0.90–2.00 s) | 35 MB | 1.00 s (0.95–1.95 s) | 63 MB | 1.00 | +0.05 s | 0.10 + 0.00 s | 0.05 s | services' waits |
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestPrintRequests(t *testing.T) {
	req := func(registry, fulcio, rekor, tsa int) *requests {
		return &requests{count: map[string]int{faultproxy.Registry: registry, faultproxy.Fulcio: fulcio, faultproxy.RekorV2: rekor, faultproxy.TSA: tsa}}
	}
	rows := []row{
		{format: "bundle", images: 10, keyless: []measure{{req: req(101, 1, 10, 10)}}, cosign: []measure{{req: req(170, 10, 10, 10)}}},
		{format: "legacy", images: 1000, keyless: []measure{{}}},
	}
	var b strings.Builder
	printRequests(&b, rows)
	want := `| format | images | keyless: registry + Sigstore requests per image | cosign: registry + Sigstore | the format's minimum |
|---|---:|---:|---:|---:|
| bundle | 10 | 10.1 + 2.1 | 17.0 + 3.0 | 9 + 2 |
| legacy | 1000 | — | — | 9 + 2 |
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
