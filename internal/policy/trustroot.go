package policy

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// trustMaterial is the PEM-encoded key material of a private trusted root.
type trustMaterial struct {
	cas    []chain // Fulcio
	tsas   []chain
	tlogs  []logKey // Rekor, sorted by base URL
	ctlogs []logKey // sorted by base URL
}

type chain struct {
	uri, organization, commonName string
	pem                           string // leaf-most first, root last
}

type logKey struct {
	baseURL, hash, pem string
}

// newTrustMaterial encodes the CAs, logs and TSAs of a parsed trusted root.
func newTrustMaterial(tr *root.TrustedRoot) (*trustMaterial, error) {
	var err error
	tm := &trustMaterial{}
	for _, ca := range tr.FulcioCertificateAuthorities() {
		f, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok || f.Root == nil {
			continue
		}
		tm.cas = append(tm.cas, newChain(f.URI, nil, f.Intermediates, f.Root))
	}
	for _, ta := range tr.TimestampingAuthorities() {
		t, ok := ta.(*root.SigstoreTimestampingAuthority)
		if !ok || t.Root == nil {
			continue
		}
		tm.tsas = append(tm.tsas, newChain(t.URI, t.Leaf, t.Intermediates, t.Root))
	}
	if len(tm.cas) == 0 {
		return nil, errors.New("parsing trusted root: no Fulcio certificate authority")
	}
	if tm.tlogs, err = logKeys(tr.RekorLogs()); err != nil {
		return nil, fmt.Errorf("parsing trusted root: Rekor log: %w", err)
	}
	if tm.ctlogs, err = logKeys(tr.CTLogs()); err != nil {
		return nil, fmt.Errorf("parsing trusted root: CT log: %w", err)
	}
	return tm, nil
}

func newChain(uri string, leaf *x509.Certificate, intermediates []*x509.Certificate, rootCert *x509.Certificate) chain {
	var certs []*x509.Certificate
	if leaf != nil {
		certs = append(certs, leaf)
	}
	certs = append(certs, intermediates...)
	certs = append(certs, rootCert)
	var b strings.Builder
	for _, c := range certs {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	c := chain{uri: uri, commonName: rootCert.Subject.CommonName, pem: b.String()}
	if len(rootCert.Subject.Organization) > 0 {
		c.organization = rootCert.Subject.Organization[0]
	}
	return c
}

func logKeys(logs map[string]*root.TransparencyLog) ([]logKey, error) {
	var keys []logKey
	for _, l := range logs {
		der, err := x509.MarshalPKIXPublicKey(l.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.BaseURL, err)
		}
		hash := "sha-256"
		switch l.HashFunc.String() {
		case "SHA-384":
			hash = "sha-384"
		case "SHA-512":
			hash = "sha-512"
		}
		keys = append(keys, logKey{
			baseURL: l.BaseURL,
			hash:    hash,
			pem:     string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		})
	}
	slices.SortFunc(keys, func(a, b logKey) int {
		return strings.Compare(a.baseURL+a.pem, b.baseURL+b.pem)
	})
	return keys, nil
}

// pickLog returns the key of the log at url, else the first one.
func pickLog(logs []logKey, url string) (logKey, bool) {
	for _, l := range logs {
		if strings.TrimSuffix(l.baseURL, "/") == strings.TrimSuffix(url, "/") {
			return l, true
		}
	}
	if len(logs) > 0 {
		return logs[0], true
	}
	return logKey{}, false
}
