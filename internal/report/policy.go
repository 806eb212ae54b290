package report

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// PublicGoodRekorURL is the public-good Sigstore transparency log, which
// admission controllers use when no private trusted root is given.
const PublicGoodRekorURL = "https://rekor.sigstore.dev"

// githubActionsIssuer is the OIDC issuer of GitHub Actions, the only
// issuer whose certificates carry the legacy GitHub extensions (OIDs
// 1.3.6.1.4.1.57264.1.2–.6) that Kyverno's additionalExtensions check.
const githubActionsIssuer = "https://token.actions.githubusercontent.com"

// PolicyOptions configures the admission policies built from a Run.
type PolicyOptions struct {
	// Name is the policy's metadata.name (and the TrustRoot's, for a
	// private Sigstore); "keyless-signed-images" when empty.
	Name string
	// TrustedRootJSON is the private Sigstore's trusted_root.json; nil for
	// the public-good instance, whose keys the controllers already have.
	TrustedRootJSON []byte
	// RekorURL is the transparency log the signatures were written to. When
	// empty it is taken from the run's signatures, else the public-good log.
	RekorURL string
	// WebhookTimeoutSeconds bounds Kyverno's admission webhook, which must
	// fetch signatures from the registry; 30 when zero (Kyverno allows 1–30).
	WebhookTimeoutSeconds int
}

func (o PolicyOptions) name() string {
	if o.Name == "" {
		return "keyless-signed-images"
	}
	return o.Name
}

// policyInputs is what both policy kinds are built from.
type policyInputs struct {
	repos                         []string // sorted, deduplicated
	subject, subjectRE            string
	issuer, issuerRE              string
	rekorURL                      string
	rekorV2Only                   bool
	bundleOnly                    bool
	trust                         *trustMaterial // nil for public-good
	githubExtensions              map[string]string
	unenforcedKyverno, unenforced []string
}

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

func (r *Run) policyInputs(o PolicyOptions) (*policyInputs, error) {
	in := &policyInputs{}
	for _, s := range r.Subjects {
		repo, _, ok := strings.Cut(s.Digest, "@")
		if !ok || repo == "" {
			continue
		}
		if !slices.Contains(in.repos, repo) {
			in.repos = append(in.repos, repo)
		}
	}
	if len(in.repos) == 0 {
		return nil, errors.New("no subject digest to build a policy for")
	}
	slices.Sort(in.repos)

	switch {
	case r.IdentityRegexp != "":
		in.subjectRE = verify.Anchor(r.IdentityRegexp)
	case r.Identity != "":
		in.subject = r.Identity
	default:
		return nil, errors.New("no certificate identity to build a policy for")
	}
	switch {
	case r.IssuerRegexp != "":
		in.issuerRE = verify.Anchor(r.IssuerRegexp)
	case r.Issuer != "":
		in.issuer = r.Issuer
	default:
		return nil, errors.New("no certificate OIDC issuer to build a policy for")
	}

	in.bundleOnly = !slices.Contains(r.Formats, sign.Legacy)

	// The log the run wrote to, and whether every entry is in Rekor v2.
	var logURLs []string
	v1, v2 := 0, 0
	for _, s := range r.Subjects {
		for _, sig := range s.Signatures {
			if sig.LogURL != "" && !slices.Contains(logURLs, sig.LogURL) {
				logURLs = append(logURLs, sig.LogURL)
			}
			if sig.Bundle == nil {
				continue
			}
			for _, e := range sig.Bundle.GetVerificationMaterial().GetTlogEntries() {
				if e.GetKindVersion().GetVersion() == "0.0.2" {
					v2++
				} else {
					v1++
				}
			}
		}
	}
	in.rekorV2Only = v2 > 0 && v1 == 0
	slices.Sort(logURLs)
	switch {
	case o.RekorURL != "":
		in.rekorURL = o.RekorURL
	case len(logURLs) > 0:
		in.rekorURL = logURLs[0]
	}
	if o.TrustedRootJSON != nil {
		tm, err := parseTrustMaterial(o.TrustedRootJSON)
		if err != nil {
			return nil, err
		}
		in.trust = tm
		if in.rekorURL == "" && len(tm.tlogs) > 0 {
			in.rekorURL = tm.tlogs[0].baseURL
		}
	}
	if in.rekorURL == "" {
		in.rekorURL = PublicGoodRekorURL
	}

	// Extension constraints. Kyverno checks only the legacy GitHub
	// extensions, which Fulcio writes for GitHub Actions alone; the
	// policy-controller checks none.
	p := r.Policy
	github := in.issuer == githubActionsIssuer
	if in.issuerRE != "" {
		// Fail-closed: a pattern that admits GitHub Actions gets the
		// GitHub extension checks for every issuer it admits.
		github, _ = regexp.MatchString(in.issuerRE, githubActionsIssuer)
	}
	in.githubExtensions = map[string]string{}
	add := func(label, value, key, kyvernoValue string) {
		if value == "" {
			return
		}
		in.unenforced = append(in.unenforced, fmt.Sprintf("%s=%s", label, value))
		if github && key != "" && kyvernoValue != "" {
			in.githubExtensions[key] = kyvernoValue
			return
		}
		in.unenforcedKyverno = append(in.unenforcedKyverno, fmt.Sprintf("%s=%s", label, value))
	}
	repoName, ok := strings.CutPrefix(p.SourceRepository, "https://github.com/")
	if !ok {
		repoName = ""
	}
	add("source-repository", p.SourceRepository, "githubWorkflowRepository", repoName)
	add("source-ref", p.SourceRef, "githubWorkflowRef", p.SourceRef)
	add("workflow-trigger", p.WorkflowTrigger, "githubWorkflowTrigger", p.WorkflowTrigger)
	add("build-signer-digest", p.BuildSignerDigest, "", "")
	add("runner-environment", p.RunnerEnvironment, "", "")
	return in, nil
}

// parseTrustMaterial reads the CAs, logs and TSAs of a trusted root.
func parseTrustMaterial(b []byte) (*trustMaterial, error) {
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("parsing trusted root: %w", err)
	}
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

// withComments prefixes a YAML document with comment lines.
func withComments(lines []string, body []byte) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("# " + l + "\n")
	}
	b.Write(body)
	return []byte(b.String())
}

// Policy is one generated admission policy.
type Policy struct {
	// Title names the controller and kind.
	Title string
	// File is the file name it is written to.
	File string
	// YAML is the manifest.
	YAML []byte
}

// Policies returns the Kyverno ClusterPolicy and the policy-controller
// ClusterImagePolicy for r.
func (r *Run) Policies(o PolicyOptions) ([]Policy, error) {
	k, err := r.KyvernoPolicy(o)
	if err != nil {
		return nil, fmt.Errorf("building Kyverno policy: %w", err)
	}
	c, err := r.ClusterImagePolicy(o)
	if err != nil {
		return nil, fmt.Errorf("building ClusterImagePolicy: %w", err)
	}
	return []Policy{
		{Title: "Kyverno ClusterPolicy", File: "kyverno-policy.yaml", YAML: k},
		{Title: "sigstore policy-controller ClusterImagePolicy", File: "cluster-image-policy.yaml", YAML: c},
	}, nil
}
