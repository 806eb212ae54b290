package stack

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	trustedRootMediaType   = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
	signingConfigMediaType = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
	operator               = "keyless-e2e"
)

// fetchFulcioChain reads Fulcio's CA chain (leaf-most first) from its
// trust bundle API.
func fetchFulcioChain(ctx context.Context, fulcioURL string) ([]*x509.Certificate, error) {
	b, err := get(ctx, fulcioURL+"/api/v2/trustBundle")
	if err != nil {
		return nil, fmt.Errorf("fetching fulcio trust bundle: %w", err)
	}
	var bundle struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		return nil, fmt.Errorf("decoding fulcio trust bundle: %w", err)
	}
	if len(bundle.Chains) == 0 {
		return nil, fmt.Errorf("fulcio trust bundle has no chains")
	}
	var all []byte
	for _, c := range bundle.Chains[0].Certificates {
		all = append(all, c...)
		all = append(all, '\n')
	}
	return parseCerts(all)
}

// fetchTSAChain reads the timestamp authority's chain (leaf first).
func fetchTSAChain(ctx context.Context, tsaBase string) ([]*x509.Certificate, error) {
	b, err := get(ctx, tsaBase+"/api/v1/timestamp/certchain")
	if err != nil {
		return nil, fmt.Errorf("fetching tsa chain: %w", err)
	}
	return parseCerts(b)
}

func get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return b, nil
}

func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificates found")
	}
	return certs, nil
}

func pemCerts(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func chain(certs []*x509.Certificate) *protocommon.X509CertificateChain {
	ch := &protocommon.X509CertificateChain{}
	for _, c := range certs {
		ch.Certificates = append(ch.Certificates, &protocommon.X509Certificate{RawBytes: c.Raw})
	}
	return ch
}

func subject(n pkix.Name) *protocommon.DistinguishedName {
	d := &protocommon.DistinguishedName{CommonName: n.CommonName}
	if len(n.Organization) > 0 {
		d.Organization = n.Organization[0]
	}
	return d
}

func logInstance(baseURL string, k logKey, since *protocommon.TimeRange) *prototrustroot.TransparencyLogInstance {
	id := &protocommon.LogId{KeyId: k.id()}
	return &prototrustroot.TransparencyLogInstance{
		BaseUrl:       baseURL,
		HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
		PublicKey: &protocommon.PublicKey{
			RawBytes:   k.pubDER,
			KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
			ValidFor:   since,
		},
		LogId:           id,
		CheckpointKeyId: id,
		Operator:        operator,
	}
}

// writeTrust writes trusted_root.json and the three signing configs, and
// checks that sigstore-go v1.3.0 loads them.
func (u *upper) writeTrust() error {
	since := &protocommon.TimeRange{Start: timestamppb.New(time.Now().Add(-time.Hour).Truncate(time.Second))}
	tr := &prototrustroot.TrustedRoot{
		MediaType: trustedRootMediaType,
		Tlogs: []*prototrustroot.TransparencyLogInstance{
			logInstance(u.stack.RekorV1URL, u.rekorV1Key, since),
			logInstance(u.stack.RekorURL, u.rekorV2Key, since),
		},
		CertificateAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   subject(u.fulcioChain[len(u.fulcioChain)-1].Subject),
			Uri:       u.stack.FulcioURL,
			CertChain: chain(u.fulcioChain),
			ValidFor:  since,
			Operator:  operator,
		}},
		Ctlogs: []*prototrustroot.TransparencyLogInstance{logInstance(u.stack.CTURL, u.ctKey, since)},
		TimestampAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   subject(u.tsaChain[len(u.tsaChain)-1].Subject),
			Uri:       u.stack.TSAURL,
			CertChain: chain(u.tsaChain),
			ValidFor:  since,
			Operator:  operator,
		}},
	}
	b, err := marshal(tr)
	if err != nil {
		return err
	}
	if _, err := root.NewTrustedRootFromJSON(b); err != nil {
		return fmt.Errorf("trusted root does not load in sigstore-go: %w", err)
	}
	if err := writeFile(u.stack.TrustedRoot, b); err != nil {
		return err
	}

	svc := func(url string, version uint32) *prototrustroot.Service {
		return &prototrustroot.Service{Url: url, MajorApiVersion: version, ValidFor: since, Operator: operator}
	}
	rekorV1 := svc(u.stack.RekorV1URL, 1)
	rekorV2 := svc(u.stack.RekorURL, 2)
	configs := map[string][]*prototrustroot.Service{
		u.stack.SigningConfig:    {rekorV2},
		u.stack.SigningConfigV1:  {rekorV1},
		u.stack.SigningConfigAll: {rekorV2, rekorV1},
	}
	// sigstore-go only ever selects services of one (the highest supported)
	// API version, so with both Rekors listed a client picks v2 if it can
	// and v1 otherwise; the selector does not change that.
	for path, rekors := range configs {
		selector := prototrustroot.ServiceSelector_ANY
		sc := &prototrustroot.SigningConfig{
			MediaType:       signingConfigMediaType,
			CaUrls:          []*prototrustroot.Service{svc(u.stack.FulcioURL, 1)},
			OidcUrls:        []*prototrustroot.Service{svc(u.stack.OIDCIssuerGitHub, 1)},
			RekorTlogUrls:   rekors,
			RekorTlogConfig: &prototrustroot.ServiceConfiguration{Selector: selector},
			TsaUrls:         []*prototrustroot.Service{svc(u.stack.TSAURL, 1)},
			TsaConfig:       &prototrustroot.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		}
		b, err := marshal(sc)
		if err != nil {
			return err
		}
		if _, err := root.NewSigningConfigFromJSON(b); err != nil {
			return fmt.Errorf("%s does not load in sigstore-go: %w", filepath.Base(path), err)
		}
		if err := writeFile(path, b); err != nil {
			return err
		}
	}
	return nil
}

func marshal(m proto.Message) ([]byte, error) {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
