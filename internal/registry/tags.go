package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// MaxTags is the most tags read of one repository: an audit of more is
// refused rather than done in part.
const MaxTags = 100_000

// Tags lists every tag of repo, page by page (the registry's Link
// headers; each page capped by LimitTransport), at most MaxTags.
func Tags(ctx context.Context, repo name.Repository, opts ...remote.Option) ([]string, error) {
	opts = append(slices.Clip(opts), remote.WithContext(ctx))
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	lister, err := puller.Lister(ctx, repo)
	if err != nil {
		return nil, classifyRepo(repo, err)
	}
	var out []string
	for lister.HasNext() {
		page, err := lister.Next(ctx)
		if err != nil {
			return nil, classifyRepo(repo, err)
		}
		if len(out)+len(page.Tags) > MaxTags {
			return nil, &InputError{Ref: repo.String(), Err: fmt.Errorf("has more than %d tags, keyless's limit for one run: audit it in parts, with tags patterns", MaxTags)}
		}
		out = append(out, page.Tags...)
	}
	return out, nil
}

// classifyRepo turns the error of a tag list into an InputError when the
// user must fix the repository or the credentials.
func classifyRepo(repo name.Repository, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return &InputError{Ref: repo.String(), Err: errors.New("no such repository in the registry: check its name (REGISTRY/REPOSITORY, no tag)")}
	}
	return classify(repo.String(), "listing the tags of", err)
}

// signatureTag matches the tags that cosign and the referrers tag schema
// keep a digest's signatures, attestations, SBOMs and referrers under
// (sha256-<hex>, sha256-<hex>.sig, .att, .sbom…): they are no images.
var signatureTag = regexp.MustCompile(`^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})(\.[A-Za-z0-9_-]+)?$`)

// IsSignatureTag reports whether tag holds a digest's signatures,
// attestations, SBOMs or referrers rather than an image.
func IsSignatureTag(tag string) bool { return signatureTag.MatchString(tag) }
