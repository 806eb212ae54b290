// Package image builds the keyless container images without a container
// engine: the static binary on a distroless-shaped base, one manifest per
// platform under one index, every byte determined by the inputs (sorted
// layers, fixed owners and times), so that the same inputs always give the
// same digest.
package image

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Platforms are the platforms every image is built for.
var Platforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
}

// Paths inside the image.
const (
	// Entrypoint is the keyless binary.
	Entrypoint  = "/keyless"
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	certFile    = "/etc/ssl/certs/ca-certificates.crt"
)

// Spec says what to build.
type Spec struct {
	Base Base
	// Binaries maps an architecture (amd64, arm64) to a static keyless binary.
	Binaries map[string][]byte
	// Debug puts /busybox on PATH (the debug base holds busybox there).
	Debug bool
	// Version, Source and Revision become the OCI image labels.
	Version, Source, Revision string
	// Created is every timestamp in the image (the commit time for releases).
	Created time.Time
}

// Build builds the index of one image per platform. The images have no USER:
// they run as the runtime's default user, root, which GitHub requires of
// container actions (its runner's mounts are owned by the runner's user).
// Tekton's Task sets runAsUser instead.
func Build(ctx context.Context, s Spec) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range Platforms {
		img, err := platformImage(ctx, s, p)
		if err != nil {
			return nil, fmt.Errorf("building %s: %w", p, err)
		}
		plat := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plat}})
	}
	return idx, nil
}

func platformImage(ctx context.Context, s Spec, p v1.Platform) (v1.Image, error) {
	bin, ok := s.Binaries[p.Architecture]
	if !ok {
		return nil, fmt.Errorf("no keyless binary for %s", p.Architecture)
	}
	base, err := s.Base.Image(ctx, p)
	if err != nil {
		return nil, err
	}
	mt, err := base.MediaType()
	if err != nil {
		return nil, err
	}
	lt := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		lt = types.DockerLayer
	}
	l, err := layer([]entry{file(Entrypoint[1:], 0o755, bin)}, s.Created, lt)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: l, History: v1.History{
		Created: v1.Time{Time: s.Created}, CreatedBy: "keyless image: the keyless binary " + s.Version,
	}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Created = v1.Time{Time: s.Created}
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	env := defaultPath
	if s.Debug {
		env += ":/busybox"
	}
	cfg.Config.Env = []string{"PATH=" + env, "SSL_CERT_FILE=" + certFile}
	cfg.Config.Entrypoint = []string{Entrypoint}
	cfg.Config.Cmd = nil
	cfg.Config.User = ""
	cfg.Config.WorkingDir = ""
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "keyless",
		"org.opencontainers.image.version":  s.Version,
		"org.opencontainers.image.source":   s.Source,
		"org.opencontainers.image.revision": s.Revision,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	return mutate.ConfigFile(img, cfg)
}
