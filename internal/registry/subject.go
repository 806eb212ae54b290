// Package registry resolves the images keyless signs and stores and reads
// their signatures in OCI registries, in cosign's two formats: the Sigstore
// bundle as an OCI 1.1 referrer, and the legacy sha256-<hex>.sig tag.
package registry

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
)

// Subject is one manifest to sign or verify, addressed by digest.
type Subject struct {
	// Digest is repository@sha256:… — the only reference used after resolution.
	Digest name.Digest
	// Input is the reference as the user gave it.
	Input string
	// Descriptor describes the manifest (media type, size, digest).
	Descriptor v1.Descriptor
	// Platform is os/arch[/variant] for a manifest of an index, else empty.
	Platform string
	// Index is the digest of the index this manifest was found in, if any.
	Index string
}

// InputError is an image reference that cannot be used.
type InputError struct {
	Ref string
	Err error
}

// Error returns the message.
func (e *InputError) Error() string { return fmt.Sprintf("image %q: %v", e.Ref, e.Err) }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// BadInput reports that the user must fix the reference: exit status 2.
func (e *InputError) BadInput() bool { return true }

// SplitRefs splits a newline- or comma-separated list of references,
// dropping blanks and comments.
func SplitRefs(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' }) {
		f = strings.TrimSpace(f)
		if f != "" && !strings.HasPrefix(f, "#") {
			out = append(out, f)
		}
	}
	return out
}

// Parse parses every reference, without touching the network.
func Parse(refs []string) ([]name.Reference, error) {
	if len(refs) == 0 {
		return nil, &InputError{Ref: "", Err: errors.New("no image given: list image references (repository:tag or repository@sha256:…)")}
	}
	out := make([]name.Reference, 0, len(refs))
	for _, r := range refs {
		if strings.HasPrefix(r, "-") {
			// A flag passed where an image was expected (say, a Tekton
			// array param element "--certificate-identity-regexp=.*").
			return nil, &InputError{Ref: r, Err: errors.New("starts with -: an image reference, never an option; remove it from the images")}
		}
		ref, err := name.ParseReference(r, name.StrictValidation)
		if err != nil {
			// Retry without strict validation only to give a better message.
			if _, err2 := name.ParseReference(r); err2 == nil {
				err = errors.New("no tag or digest: give repository:tag or repository@sha256:<digest>, never an implied :latest")
			}
			return nil, &InputError{Ref: r, Err: err}
		}
		out = append(out, ref)
	}
	return out, nil
}

// Resolve parses refs, resolves tags to digests once, expands indexes when
// recursive, and drops duplicates: each digest appears once, in input order.
func Resolve(ctx context.Context, refs []string, recursive bool, opts ...remote.Option) ([]Subject, error) {
	parsed, err := Parse(refs)
	if err != nil {
		return nil, err
	}
	opts = append(slices.Clip(opts), remote.WithContext(ctx)) // never write into the caller's array
	seen := map[string]bool{}
	var out []Subject
	add := func(s Subject) {
		if k := s.Digest.String(); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	for i, ref := range parsed {
		desc, err := remote.Head(ref, opts...)
		if err != nil {
			return nil, classify(refs[i], "resolving", err)
		}
		d := ref.Context().Digest(desc.Digest.String())
		if dr, ok := ref.(name.Digest); ok && dr.DigestStr() != desc.Digest.String() {
			return nil, &InputError{Ref: refs[i], Err: fmt.Errorf("registry returned digest %s", desc.Digest)}
		}
		add(Subject{Digest: d, Input: refs[i], Descriptor: *desc})
		if !recursive || !desc.MediaType.IsIndex() {
			continue
		}
		idx, err := remote.Index(d, opts...)
		if err != nil {
			return nil, classify(refs[i], "reading index", err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, classify(refs[i], "reading index", err)
		}
		for _, m := range im.Manifests {
			p := ""
			if m.Platform != nil {
				p = m.Platform.String()
			}
			add(Subject{Digest: ref.Context().Digest(m.Digest.String()), Input: refs[i], Descriptor: m, Platform: p, Index: desc.Digest.String()})
		}
	}
	return out, nil
}

// classify turns a registry error into an InputError when the user must fix
// the reference or the credentials, and wraps it otherwise.
func classify(ref, step string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return &InputError{Ref: ref, Err: errors.New("not found in the registry: push the image before signing it, and check the repository name")}
		case http.StatusUnauthorized, http.StatusForbidden:
			return &InputError{Ref: ref, Err: fmt.Errorf("access denied (HTTP %d): give registry-username and registry-password, or log in (DOCKER_CONFIG)", te.StatusCode)}
		}
	}
	return fmt.Errorf("%s %s: %w", step, ref, err)
}
