// Package trust loads the Sigstore trust material keyless signs and verifies
// with: the trusted root (CA certificates, transparency-log, CT-log and TSA
// keys) and the signing config (which Fulcio, Rekor and TSA to call).
package trust

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/keyless-dev/keyless/internal/input"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// PublicGoodRekorURL is the public-good Sigstore transparency log: the one
// admission controllers use when given no private trusted root, and the
// one whose entries search.sigstore.dev shows.
const PublicGoodRekorURL = "https://rekor.sigstore.dev"

// Material is the trust material of one run.
type Material struct {
	// Root verifies certificates, log entries and timestamps.
	Root *root.TrustedRoot
	// Signing says which services sign. It is nil when only verifying.
	Signing *root.SigningConfig
	// Source says where the material came from, for the summary.
	Source string
}

// Config says where to get the trust material.
type Config struct {
	// TrustedRoot is a trusted_root.json path; empty means public-good TUF.
	TrustedRoot string
	// SigningConfig is a signing_config.json path.
	SigningConfig string
	// FulcioURL, RekorURL and TSAURL, when set, replace the signing config's
	// services. RekorURL names a Rekor v1 log.
	FulcioURL, RekorURL, TSAURL string
	// TUF is a private Sigstore's TUF repository: when TrustedRoot is
	// empty, the trusted root (and, without SigningConfig, the signing
	// config) are read through it instead of the public-good one.
	TUF *TUF
	// TUFCache is where TUF metadata is cached.
	TUFCache string
	// Transport carries the TUF requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// ReadFile reads the trusted root file; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
}

// TUF is a TUF repository, as cosign initialize --mirror --root takes it.
type TUF struct {
	// Mirror is the repository's base URL.
	Mirror string
	// Root is its root.json, the trust anchor of every later update.
	Root []byte
}

// Private reports whether c names a private Sigstore: a trusted root file
// or a private TUF repository.
func (c Config) Private() bool {
	return c.TrustedRoot != "" || c.TUF != nil
}

// InputError is trust configuration that cannot be used.
type InputError = input.Error

// Check validates the configuration without touching the network.
func (c Config) Check() error {
	for _, f := range []struct{ input, path string }{{"trusted-root", c.TrustedRoot}, {"signing-config", c.SigningConfig}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return &InputError{Input: f.input, Err: fmt.Errorf("cannot read %s: give the path of a readable JSON file", f.path)}
		}
	}
	for _, u := range []struct{ input, url string }{{"fulcio-url", c.FulcioURL}, {"rekor-url", c.RekorURL}, {"tsa-url", c.TSAURL}} {
		if u.url == "" {
			continue
		}
		p, err := url.Parse(u.url)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return &InputError{Input: u.input, Err: fmt.Errorf("%q is not an http(s) URL: give e.g. https://fulcio.example.com", u.url)}
		}
	}
	if (c.FulcioURL != "" || c.RekorURL != "" || c.TSAURL != "") && !c.Private() {
		return &InputError{Input: "trusted-root", Err: errors.New("fulcio-url, rekor-url and tsa-url name a private Sigstore: give its trusted_root.json too, or its TUF repository (tuf-mirror and tuf-root)")}
	}
	return nil
}

// Load reads the trust material. withSigning also loads a signing config.
func Load(c Config, withSigning bool) (*Material, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	m := &Material{Source: "Sigstore public-good instance (TUF)"}
	var tufClient *tuf.Client
	if c.TrustedRoot != "" {
		tr, err := readTrustedRoot(c)
		if err != nil {
			return nil, &InputError{Input: "trusted-root", Err: fmt.Errorf("parsing %s: %w", c.TrustedRoot, err)}
		}
		m.Root, m.Source = tr, c.TrustedRoot
	} else {
		opts := tuf.DefaultOptions()
		if c.TUFCache != "" {
			opts.CachePath = c.TUFCache
		}
		what := "public-good trust metadata"
		if c.TUF != nil {
			opts.Root, opts.RepositoryBaseURL = c.TUF.Root, c.TUF.Mirror
			what = "trust metadata from the TUF repository " + c.TUF.Mirror
			m.Source = "TUF repository " + c.TUF.Mirror
		}
		if c.Transport != nil {
			f := fetcher.NewDefaultFetcher()
			f.SetHTTPClient(&http.Client{Transport: c.Transport})
			opts.Fetcher = f
		}
		var err error
		if tufClient, err = tuf.New(opts); err != nil {
			return nil, fmt.Errorf("fetching %s: %w", what, err)
		}
		if m.Root, err = root.GetTrustedRoot(tufClient); err != nil {
			return nil, fmt.Errorf("fetching the trusted root (trusted_root.json) from the %s: %w", what, err)
		}
	}
	if !withSigning {
		return m, nil
	}
	sc, err := signingConfig(c, tufClient)
	if err != nil {
		return nil, err
	}
	m.Signing = sc
	return m, nil
}

// readTrustedRoot reads and parses the trusted root file, the one time a
// run does: the run carries the parsed root on.
func readTrustedRoot(c Config) (*root.TrustedRoot, error) {
	read := c.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	b, err := read(c.TrustedRoot)
	if err != nil {
		return nil, err
	}
	return root.NewTrustedRootFromJSON(b)
}

func signingConfig(c Config, tufClient *tuf.Client) (*root.SigningConfig, error) {
	var sc *root.SigningConfig
	switch {
	case c.SigningConfig != "":
		var err error
		if sc, err = root.NewSigningConfigFromPath(c.SigningConfig); err != nil {
			return nil, &InputError{Input: "signing-config", Err: fmt.Errorf("parsing %s: %w", c.SigningConfig, err)}
		}
	case tufClient != nil:
		var err error
		if sc, err = root.GetSigningConfig(tufClient); err != nil {
			return nil, fmt.Errorf("fetching signing config through TUF: %w", err)
		}
	default:
		empty, err := root.NewSigningConfig(root.SigningConfigMediaType02, nil, nil, nil,
			root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}, nil,
			root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
		if err != nil {
			return nil, err
		}
		sc = empty
	}
	// since is when the overriding services became valid: the distant past,
	// so that they are valid at any signing time.
	since := time.Unix(0, 0)
	if c.FulcioURL != "" {
		sc = sc.WithFulcioCertificateAuthorityURLs(root.Service{URL: c.FulcioURL, MajorAPIVersion: 1, ValidityPeriodStart: since})
	}
	if c.RekorURL != "" {
		sc = sc.WithRekorLogURLs(root.Service{URL: c.RekorURL, MajorAPIVersion: 1, ValidityPeriodStart: since}).
			WithRekorTlogConfig(prototrustroot.ServiceSelector_ANY, 1)
	}
	if c.TSAURL != "" {
		sc = sc.WithTimestampAuthorityURLs(root.Service{URL: c.TSAURL, MajorAPIVersion: 1, ValidityPeriodStart: since}).
			WithTsaConfig(prototrustroot.ServiceSelector_ANY, 1)
	}
	if len(sc.FulcioCertificateAuthorityURLs()) == 0 {
		return nil, &InputError{Input: "signing-config", Err: errors.New("no Fulcio is configured: give signing-config, or fulcio-url and rekor-url")}
	}
	if len(sc.RekorLogURLs()) == 0 {
		return nil, &InputError{Input: "signing-config", Err: errors.New("no Rekor log is configured: give signing-config, or rekor-url")}
	}
	return sc, nil
}
