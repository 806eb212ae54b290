package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFormats(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []Format
		wantErr bool
	}{
		{"", []Format{Bundle}, false},
		{"bundle", []Format{Bundle}, false},
		{" Legacy ", []Format{Legacy}, false},
		{"both", []Format{Bundle, Legacy}, false},
		{"cosign", nil, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFormats(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseFormats(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseFormats(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}
