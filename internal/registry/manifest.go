package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// PutManifest stores m, marshalled to JSON, as an OCI image manifest in
// repo by its digest, and returns that digest reference (also when the
// write fails, so the error can name it). A manifest with a subject is a
// referrer: ggcr also updates the referrers tag schema where the registry
// has no referrers API.
func PutManifest(repo name.Repository, m any, opts ...remote.Option) (name.Digest, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return name.Digest{}, err
	}
	dst := repo.Digest(h.String())
	return dst, remote.Put(dst, rawManifest{raw, types.OCIManifestSchema1}, opts...)
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
