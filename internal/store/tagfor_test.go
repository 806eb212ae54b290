package store

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/payload"
)

func TestTagFor(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		digest, want string
	}{
		{"ghcr.io/o/app@sha256:" + hex, "ghcr.io/o/app:sha256-" + hex + ".sig"},
		{"localhost:5000/a/b/c@sha256:" + hex, "localhost:5000/a/b/c:sha256-" + hex + ".sig"},
	}
	att, err := name.NewDigest("ghcr.io/o/app@sha256:" + hex)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("ghcr.io/o/app:sha256-"+hex+".att", TagFor(att, attestation{}).String()); diff != "" {
		t.Errorf("TagFor(attestation) mismatch (-want +got):\n%s", diff)
	}
	for _, tt := range tests {
		t.Run(tt.digest, func(t *testing.T) {
			d, err := name.NewDigest(tt.digest)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, TagFor(d, payload.Signature{}).String()); diff != "" {
				t.Errorf("TagFor mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
