package image

import (
	"archive/tar"
	"bytes"
	"io"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one file, directory or symlink of a layer.
type entry struct {
	path     string // relative, no leading slash
	mode     int64  // permission bits, with 01000 for sticky
	uid, gid int
	data     []byte // file contents
	link     string // symlink target; empty unless a symlink
	dir      bool
}

func dir(path string, mode int64, uid int) entry {
	return entry{path: path, mode: mode, uid: uid, gid: uid, dir: true}
}

func file(path string, mode int64, data []byte) entry {
	return entry{path: path, mode: mode, data: data}
}

func symlink(path, target string) entry { return entry{path: path, mode: 0o777, link: target} }

// layer turns entries into a gzip layer that depends only on its inputs:
// entries sorted by path, fixed owners and modes, every time set to mtime.
func layer(entries []entry, mtime time.Time, mt types.MediaType) (v1.Layer, error) {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].path < sorted[j].path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range sorted {
		h := &tar.Header{
			Name: e.path, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			ModTime: mtime,
		}
		switch {
		case e.dir:
			h.Typeflag, h.Name = tar.TypeDir, e.path+"/"
		case e.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(mt))
}
