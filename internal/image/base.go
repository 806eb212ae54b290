package image

import (
	"context"
	"fmt"
	"path"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Base gives the base image of one platform.
type Base interface {
	Image(ctx context.Context, p v1.Platform) (v1.Image, error)
}

// RemoteBase is a published multi-platform base (distroless), which must be
// named by digest so that a build is repeatable.
type RemoteBase struct {
	Ref     name.Digest
	Options []remote.Option
}

// Image fetches the base's manifest for platform p.
func (b RemoteBase) Image(ctx context.Context, p v1.Platform) (v1.Image, error) {
	opts := append(append([]remote.Option(nil), b.Options...), remote.WithContext(ctx), remote.WithPlatform(p))
	img, err := remote.Image(b.Ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("fetching base %s for %s: %w", b.Ref, p, err)
	}
	return img, nil
}

// LocalBase is distroless's static layout made from local files, for
// machines that cannot pull the real base: CA certificates, passwd and group
// with root and nonroot (65532), /tmp, /home/nonroot and, for the debug
// variant, busybox in /busybox.
type LocalBase struct {
	CACerts []byte
	// Busybox maps an architecture to a static busybox binary; empty for
	// the static variant.
	Busybox map[string][]byte
	// Applets are the names linked to busybox in /busybox.
	Applets []string
	Created time.Time
}

const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
	nss   = "passwd: files\ngroup: files\nhosts: files dns\n"
)

// Image builds the base layer for platform p.
func (b LocalBase) Image(_ context.Context, p v1.Platform) (v1.Image, error) {
	es := []entry{
		dir("etc", 0o755, 0), file("etc/passwd", 0o644, []byte(passwd)),
		file("etc/group", 0o644, []byte(group)), file("etc/nsswitch.conf", 0o644, []byte(nss)),
		dir("etc/ssl", 0o755, 0), dir("etc/ssl/certs", 0o755, 0),
		file("etc/ssl/certs/ca-certificates.crt", 0o644, b.CACerts),
		dir("home", 0o755, 0), dir("home/nonroot", 0o700, 65532),
		dir("root", 0o700, 0), dir("tmp", 0o1777, 0),
	}
	if b.Busybox != nil {
		bb, ok := b.Busybox[p.Architecture]
		if !ok {
			return nil, fmt.Errorf("no busybox binary for %s", p.Architecture)
		}
		es = append(es, dir("busybox", 0o755, 0), file("busybox/busybox", 0o755, bb))
		for _, a := range b.Applets {
			if a != "busybox" && a == path.Base(a) {
				es = append(es, symlink("busybox/"+a, "busybox"))
			}
		}
	}
	l, err := layer(es, b.Created, types.OCILayer)
	if err != nil {
		return nil, fmt.Errorf("building the base layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{
		Created: v1.Time{Time: b.Created}, CreatedBy: "keyless image: distroless static layout from local files",
	}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	return mutate.ConfigFile(img, cfg)
}
