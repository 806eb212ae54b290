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
// recursive (at any depth, up to MaxIndexDepth), and drops duplicates: each
// digest appears once, in input order, an index before its manifests. What
// is an index is decided from each manifest's digest-checked bytes, never
// from the Content-Type a registry labels it with.
func Resolve(ctx context.Context, refs []string, recursive bool, opts ...remote.Option) ([]Subject, error) {
	parsed, err := Parse(refs)
	if err != nil {
		return nil, err
	}
	opts = append(slices.Clip(opts), remote.WithContext(ctx)) // never write into the caller's array
	// Every input is read at once, then they are merged in their order:
	// the first error in that order is the one returned.
	each := make([]resolver, len(parsed))
	errs := make([]error, len(parsed))
	all(len(parsed), func(i int) {
		each[i] = resolver{opts: opts, seen: map[string]bool{}}
		errs[i] = each[i].resolve(refs[i], parsed[i], recursive)
	})
	merged := resolver{seen: map[string]bool{}}
	for i := range each {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, s := range each[i].out {
			merged.add(s)
		}
	}
	return merged.out, nil
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
