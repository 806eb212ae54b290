// Command image builds the keyless image index (linux/amd64 and
// linux/arm64) from prebuilt static binaries, without a container engine,
// pushes it and prints its digest reference as the last line.
//
//	image -binary amd64=bin/keyless-amd64,arm64=bin/keyless-arm64 \
//	      -base local -cacerts /etc/ssl/certs/ca-certificates.crt \
//	      -version v0.1.0 -created 1767225600 -push 127.0.0.1:5400/keyless:v0.1.0
//
// -base is "local" (distroless's layout made from local files: CA
// certificates, passwd, group, /tmp, and busybox with -debug) or a base
// image index named by digest, e.g. gcr.io/distroless/static-debian12@sha256:….
// The same flags give the same digest. -sbom attaches an SPDX SBOM made from
// each binary's build information to each platform's manifest; -sbom-refs
// names a file to which each SBOM's digest reference is appended, one a
// line, for the release to sign them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/image"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(2)
	}
}

type flags struct {
	binaries, busybox                            map[string]string
	base, cacerts, applets, version, source, rev string
	push, sbomRefs                               string
	created                                      int64
	debug, sbom, insecure                        bool
}

func parse(args []string, stderr io.Writer) (flags, error) {
	var f flags
	var bins, bbs string
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&bins, "binary", "", "arch=path of each static keyless binary, comma-separated")
	fs.StringVar(&f.base, "base", "local", `"local" or a base image index by digest (repo@sha256:…)`)
	fs.StringVar(&f.cacerts, "cacerts", "/etc/ssl/certs/ca-certificates.crt", "local base: the CA bundle")
	fs.StringVar(&bbs, "busybox", "", "local base with -debug: arch=path of each static busybox, comma-separated")
	fs.StringVar(&f.applets, "applets", "", "local base with -debug: file listing busybox's applets (busybox --list)")
	fs.BoolVar(&f.debug, "debug", false, "the debug variant: busybox in /busybox, on PATH")
	fs.StringVar(&f.version, "version", "devel", "version label")
	fs.StringVar(&f.source, "source", "https://github.com/keyless-dev/keyless", "source label")
	fs.StringVar(&f.rev, "revision", "", "revision label (commit)")
	fs.Int64Var(&f.created, "created", 0, "every timestamp in the image, in Unix seconds (SOURCE_DATE_EPOCH)")
	fs.StringVar(&f.push, "push", "", "where to push the index (repo:tag)")
	fs.BoolVar(&f.sbom, "sbom", false, "attach an SPDX SBOM to each platform's manifest")
	fs.StringVar(&f.sbomRefs, "sbom-refs", "", "with -sbom: the file to append each SBOM's digest reference to, one a line")
	fs.BoolVar(&f.insecure, "insecure", false, "allow a plain-HTTP registry")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	var err error
	if f.binaries, err = pairs("binary", bins); err != nil {
		return f, err
	}
	if f.busybox, err = pairs("busybox", bbs); err != nil {
		return f, err
	}
	if f.push == "" {
		return f, errors.New("-push is required: the repository and tag to push to")
	}
	if f.sbomRefs != "" && !f.sbom {
		return f, errors.New("-sbom-refs needs -sbom: there is no SBOM to name")
	}
	return f, nil
}

// pairs parses "arch=path,arch=path".
func pairs(flagName, s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("-%s %q: want arch=path", flagName, kv)
		}
		out[k] = v
	}
	return out, nil
}

func readAll(paths map[string]string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for k, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out[k] = b
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parse(args, stderr)
	if err != nil {
		return err
	}
	nameOpts := []name.Option{}
	if f.insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	remoteOpts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	created := time.Unix(f.created, 0).UTC()
	spec := image.Spec{Debug: f.debug, Version: f.version, Source: f.source, Revision: f.rev, Created: created}
	if spec.Binaries, err = readAll(f.binaries); err != nil {
		return err
	}
	if spec.Base, err = base(f, created, remoteOpts); err != nil {
		return err
	}
	idx, err := image.Build(ctx, spec)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(f.push, nameOpts...)
	if err != nil {
		return fmt.Errorf("-push %q: %w", f.push, err)
	}
	if err := remote.WriteIndex(tag, idx, append(remoteOpts, remote.WithContext(ctx))...); err != nil {
		return fmt.Errorf("pushing %s: %w", tag, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		if err := report(ctx, f, tag, idx, m, created, remoteOpts, stderr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s@%s\n", tag, d)
	return nil
}

// report prints a platform image's compressed size and attaches its SBOM.
func report(ctx context.Context, f flags, tag name.Tag, idx v1.ImageIndex, m v1.Descriptor, created time.Time, opts []remote.Option, stderr io.Writer) error {
	img, err := idx.Image(m.Digest)
	if err != nil {
		return err
	}
	man, err := img.Manifest()
	if err != nil {
		return err
	}
	size := man.Config.Size + m.Size
	for _, l := range man.Layers {
		size += l.Size
	}
	fmt.Fprintf(stderr, "%s %s: %d bytes compressed (%s)\n", tag, m.Platform, size, m.Digest)
	if !f.sbom {
		return nil
	}
	bin, err := os.ReadFile(f.binaries[m.Platform.Architecture])
	if err != nil {
		return err
	}
	doc, err := image.SBOM(bin, f.version, *m.Platform, created)
	if err != nil {
		return err
	}
	ref, err := image.AttachSBOM(ctx, tag.Context().Digest(m.Digest.String()), m, doc, opts...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s %s: SBOM %s\n", tag, m.Platform, ref)
	if f.sbomRefs == "" {
		return nil
	}
	return appendLine(f.sbomRefs, ref.String())
}

// appendLine appends line to the file at path, creating it.
func appendLine(path, line string) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("-sbom-refs: %w", err)
	}
	if _, err := fmt.Fprintln(out, line); err != nil {
		out.Close()
		return fmt.Errorf("-sbom-refs: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("-sbom-refs: %w", err)
	}
	return nil
}

func base(f flags, created time.Time, opts []remote.Option) (image.Base, error) {
	if f.base != "local" {
		d, err := name.NewDigest(f.base)
		if err != nil {
			return nil, fmt.Errorf("-base %q: name the base image by digest (repo@sha256:…): %w", f.base, err)
		}
		return image.RemoteBase{Ref: d, Options: opts}, nil
	}
	certs, err := os.ReadFile(f.cacerts)
	if err != nil {
		return nil, fmt.Errorf("-cacerts: %w (install Debian's ca-certificates)", err)
	}
	b := image.LocalBase{CACerts: certs, Created: created}
	if !f.debug {
		return b, nil
	}
	if b.Busybox, err = readAll(f.busybox); err != nil {
		return nil, fmt.Errorf("-busybox: %w (install Debian's busybox-static)", err)
	}
	list, err := os.ReadFile(f.applets)
	if err != nil {
		return nil, fmt.Errorf("-applets: %w", err)
	}
	b.Applets = strings.Fields(string(list))
	return b, nil
}
