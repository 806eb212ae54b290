package promote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/store"
)

// Format is how a proof is stored beside the digest it proves.
type Format string

// The formats of proofs.
const (
	// Legacy is one of cosign's tags beside the digest, sha256-<hex>.sig
	// (signatures), .att (attestations) or .sbom (an attached SBOM).
	Legacy Format = "legacy"
	// Bundle is a Sigstore bundle attached as an OCI referrer: a cosign v3
	// or keyless signature or attestation.
	Bundle Format = "bundle"
	// SBOM is an SBOM attached as an OCI referrer (SPDX, CycloneDX, Syft).
	SBOM Format = "sbom"
	// Referrer is any other OCI referrer (a Notation signature, a scan
	// report…): it is attached to the digest, so it goes with it.
	Referrer Format = "referrer"
)

// LegacySuffixes are the suffixes of cosign's tags beside a digest, in the
// order they are copied.
var LegacySuffixes = []string{"sig", "att", "sbom"}

// maxDepth is how deep referrers of referrers are followed: an image, its
// referrers (an SBOM), and theirs (the SBOM's signature).
const maxDepth = 2

// Attached is one thing stored beside a digest that proves it: a legacy
// tag or a referrer.
type Attached struct {
	// Format is how it is stored.
	Format Format
	// Tag is a legacy tag's name (sha256-<hex>.sig); empty for a referrer.
	Tag string
	// Descriptor is the manifest's: a referrer's as its listing gives it,
	// a legacy tag's as the registry serves it.
	Descriptor v1.Descriptor
}

// Attachments lists what is stored beside d in its repository and proves
// it: cosign's legacy tags that exist (LegacySuffixes), then every OCI
// referrer of d, through the referrers API or its tag-schema fallback (at
// most registry.MaxReferrers). This is the one list of what proves a
// digest: what promotion copies with it.
func Attachments(ctx context.Context, d name.Digest, opts ...remote.Option) ([]Attached, error) {
	opts = append(slices.Clip(opts), remote.WithContext(ctx))
	var out []Attached
	for _, suffix := range LegacySuffixes {
		tag := store.TagOf(d, suffix)
		desc, err := remote.Head(tag, opts...)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", tag, err)
		}
		out = append(out, Attached{Format: Legacy, Tag: tag.TagStr(), Descriptor: *desc})
	}
	refs, err := referrers(d, opts)
	if err != nil {
		return nil, err
	}
	for _, desc := range refs {
		out = append(out, Attached{Format: Classify(desc.ArtifactType), Descriptor: desc})
	}
	return out, nil
}

// referrers lists the referrers of d, at most registry.MaxReferrers.
func referrers(d name.Digest, opts []remote.Option) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, err)
	}
	if len(im.Manifests) > registry.MaxReferrers {
		return nil, fmt.Errorf("%s has %d referrers, over keyless's limit of %d: refusing to copy part of them", d, len(im.Manifests), registry.MaxReferrers)
	}
	return im.Manifests, nil
}

// Classify names the format of a referrer from its artifact type.
func Classify(artifactType string) Format {
	t := strings.ToLower(artifactType)
	switch {
	case strings.HasPrefix(t, "application/vnd.dev.sigstore.bundle"):
		return Bundle
	case strings.Contains(t, "spdx"), strings.Contains(t, "cyclonedx"), strings.Contains(t, "syft"):
		return SBOM
	}
	return Referrer
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
