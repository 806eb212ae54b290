package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHighest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release string
		tags    []string
		want    string
		wantErr string
	}{
		{"a patch to an older minor does not move the major", "v1.0.5", []string{"v1.0.4", "v1.2.0", "v1.0.5"}, "v1.2.0", ""},
		{"a new minor moves it", "v1.3.0", []string{"v1.0.5", "v1.2.0", "v1.3.0"}, "v1.3.0", ""},
		{"the first release of a major", "v2.0.0", []string{"v1.9.9", "v2.0.0"}, "v2.0.0", ""},
		{"pre-releases are ignored", "v1.3.0", []string{"v1.3.0", "v1.4.0-rc.1", "v1.3.1-beta"}, "v1.3.0", ""},
		{"numbers compare as numbers", "v1.9.0", []string{"v1.9.0", "v1.10.0"}, "v1.10.0", ""},
		{"patches compare as numbers", "v1.2.9", []string{"v1.2.10", "v1.2.9"}, "v1.2.10", ""},
		{"other majors are ignored", "v1.2.0", []string{"v1.2.0", "v2.0.0", "v10.0.0"}, "v1.2.0", ""},
		{"tags that are not releases are ignored", "v1.2.0", []string{"v1", "v1.3", "v01.5.0", "v1.05.0", "1.9.0", "latest", "v1.2.0", "v1.9.0.1"}, "v1.2.0", ""},
		{"huge numbers do not overflow", "v1.2.0", []string{"v1.2.0", "v1.99999999999999999999999.0"}, "v1.99999999999999999999999.0", ""},
		{"build metadata is a release", "v1.2.0", []string{"v1.2.0", "v1.3.0+build.5"}, "v1.3.0+build.5", ""},
		{"no release of the major read", "v1.2.0", []string{"v2.0.0"}, "", ""},
		{"a pre-release never moves it", "v1.4.0-rc.1", []string{"v1.4.0-rc.1"}, "", "not a release tag"},
		{"nor a major tag", "v1", []string{"v1.0.0"}, "", "not a release tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := highest(tc.release, tc.tags)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("highest(%q) = %q, %v; want an error with %q", tc.release, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("highest(%q, %q) (-want +got):\n%s", tc.release, tc.tags, diff)
			}
		})
	}
}
