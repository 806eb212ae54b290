package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyless-dev/keyless/e2e/stack"
)

func TestPrintTable(t *testing.T) {
	rows := []row{
		{format: "bundle", images: 1000, keyless: measure{wall: 12640 * time.Millisecond, cpu: 6 * time.Second, maxRSS: 65 * 1024,
			stack: stack.CPU{"registry": 9 * time.Second, "rekor-v2": 5 * time.Second}}},
		{format: "legacy", images: 1, keyless: measure{wall: 650 * time.Millisecond, cpu: 100 * time.Millisecond, maxRSS: 35 * 1024},
			cosign: &measure{wall: 1300 * time.Millisecond, maxRSS: 63 * 1024}},
	}
	var b strings.Builder
	printTable(&b, rows, 2)
	want := `| format | images | keyless | keyless peak RSS | cosign | cosign peak RSS | keyless/cosign | CPU, keyless + stack | CPU floor on 2 cores |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
| bundle | 1000 | 12.64 s | 65 MB | — | — | — | 6.00 + 14.00 s | 10.00 s |
| legacy | 1 | 0.65 s | 35 MB | 1.30 s | 63 MB | 0.50 | 0.10 + 0.00 s | 0.05 s |
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}
