package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{"two arches", []string{"-binary", "amd64=a,arm64=b", "-push", "r/k:v"}, map[string]string{"amd64": "a", "arm64": "b"}, ""},
		{"no push", []string{"-binary", "amd64=a"}, nil, "-push is required"},
		{"bad pair", []string{"-binary", "amd64", "-push", "r/k:v"}, nil, `-binary "amd64": want arch=path`},
		{"empty path", []string{"-busybox", "arm64=", "-push", "r/k:v"}, nil, `-busybox "arm64=": want arch=path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parse(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, f.binaries); diff != "" {
				t.Errorf("binaries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaseNeedsDigest(t *testing.T) {
	_, err := base(flags{base: "gcr.io/distroless/static-debian12:latest"}, time.Unix(0, 0), nil)
	if err == nil || !strings.Contains(err.Error(), "by digest") {
		t.Errorf("a base by tag: err = %v, want a request for a digest", err)
	}
}
