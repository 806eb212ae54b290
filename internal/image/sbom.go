package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/registry"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// SPDXMediaType is the media type of an SPDX JSON document, and the
// artifactType of the SBOM referrer.
const SPDXMediaType = "application/spdx+json"

type spdxDoc struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      spdxCreation   `json:"creationInfo"`
	Packages          []spdxPackage  `json:"packages"`
	Relationships     []spdxRelation `json:"relationships"`
}

type spdxCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name             string         `json:"name"`
	SPDXID           string         `json:"SPDXID"`
	VersionInfo      string         `json:"versionInfo"`
	DownloadLocation string         `json:"downloadLocation"`
	FilesAnalyzed    bool           `json:"filesAnalyzed"`
	Checksums        []spdxChecksum `json:"checksums,omitempty"`
	ExternalRefs     []spdxRef      `json:"externalRefs"`
}

type spdxChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelation struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// SBOM is an SPDX 2.3 JSON document of a Go binary, made from the build
// information the Go toolchain embeds: the main module at version, every
// module it links (with its go.sum hash) and the standard library.
func SBOM(binary []byte, version string, p v1.Platform, created time.Time) ([]byte, error) {
	bi, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		return nil, fmt.Errorf("reading the binary's build information: %w", err)
	}
	sum := sha256.Sum256(binary)
	main := pkg("SPDXRef-Package-main", bi.Main.Path, version, "")
	main.Checksums = []spdxChecksum{{"SHA256", hex.EncodeToString(sum[:])}}
	doc := spdxDoc{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
		Name:              fmt.Sprintf("keyless %s %s", version, p),
		DocumentNamespace: fmt.Sprintf("https://%s/spdx/%s/%s", bi.Main.Path, version, hex.EncodeToString(sum[:])),
		CreationInfo:      spdxCreation{Created: created.UTC().Format(time.RFC3339), Creators: []string{"Tool: keyless-image"}},
		Packages:          []spdxPackage{main},
		Relationships:     []spdxRelation{{"SPDXRef-DOCUMENT", "DESCRIBES", main.SPDXID}},
	}
	add := func(p spdxPackage) {
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, spdxRelation{main.SPDXID, "DEPENDS_ON", p.SPDXID})
	}
	add(pkg("SPDXRef-Package-stdlib", "stdlib", strings.TrimPrefix(bi.GoVersion, "go"), ""))
	for i, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		add(pkg(fmt.Sprintf("SPDXRef-Package-dep-%d", i), d.Path, d.Version, d.Sum))
	}
	return json.MarshalIndent(doc, "", "  ")
}

func pkg(id, path, version, h1 string) spdxPackage {
	p := spdxPackage{
		Name: path, SPDXID: id, VersionInfo: version, DownloadLocation: "NOASSERTION",
		ExternalRefs: []spdxRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/" + path + "@" + version}},
	}
	if h1 != "" {
		// go.sum's h1: hash is a SHA-256 of the module's file list.
		if raw, err := decodeH1(h1); err == nil {
			p.Checksums = []spdxChecksum{{"SHA256", raw}}
		}
	}
	return p
}

// AttachSBOM stores an SBOM as an OCI 1.1 referrer of subject (with the
// referrers tag-schema fallback for registries without the API) and returns
// the referrer's digest reference.
func AttachSBOM(ctx context.Context, subject name.Digest, desc v1.Descriptor, sbom []byte, opts ...remote.Option) (name.Digest, error) {
	opts = append(append([]remote.Option(nil), opts...), remote.WithContext(ctx))
	repo := subject.Context()
	layer := static.NewLayer(sbom, SPDXMediaType)
	config := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	var descs []v1.Descriptor
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return name.Digest{}, fmt.Errorf("uploading the SBOM to %s: %w", repo, err)
		}
		d, _ := l.Digest()
		sz, _ := l.Size()
		mt, _ := l.MediaType()
		descs = append(descs, v1.Descriptor{MediaType: mt, Digest: d, Size: sz})
	}
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: SPDXMediaType,
		Config: descs[0], Layers: descs[1:],
		Subject: &v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size},
	}
	dst, err := registry.PutManifest(repo, m, opts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("writing the SBOM referrer %s: %w", dst, err)
	}
	return dst, nil
}

// decodeH1 turns go.sum's "h1:<base64>" into hex.
func decodeH1(h1 string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h1, "h1:"))
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
