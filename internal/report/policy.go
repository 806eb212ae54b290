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
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/internal/sign"
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

// anchor makes a regular expression match whole values, as keyless's own
// verification does: cosign (under Kyverno and policy-controller) does not.
func anchor(re string) string {
	return "^(?:" + strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$") + ")$"
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
		in.subjectRE = anchor(r.IdentityRegexp)
	case r.Identity != "":
		in.subject = r.Identity
	default:
		return nil, errors.New("no certificate identity to build a policy for")
	}
	switch {
	case r.IssuerRegexp != "":
		in.issuerRE = anchor(r.IssuerRegexp)
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

// Kyverno kyverno.io/v1 ClusterPolicy, as much of it as keyless writes.
type kyvernoPolicy struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Metadata   objectMeta  `json:"metadata"`
	Spec       kyvernoSpec `json:"spec"`
}

type objectMeta struct {
	Name        string            `json:"name"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type kyvernoSpec struct {
	Background           bool                 `json:"background"`
	WebhookConfiguration kyvernoWebhookConfig `json:"webhookConfiguration"`
	Rules                []kyvernoRule        `json:"rules"`
}

type kyvernoWebhookConfig struct {
	FailurePolicy  string `json:"failurePolicy"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
}

type kyvernoRule struct {
	Name         string               `json:"name"`
	Match        kyvernoMatch         `json:"match"`
	VerifyImages []kyvernoVerifyImage `json:"verifyImages"`
}

type kyvernoMatch struct {
	Any []kyvernoFilter `json:"any"`
}

type kyvernoFilter struct {
	Resources kyvernoResources `json:"resources"`
}

type kyvernoResources struct {
	Kinds []string `json:"kinds"`
}

type kyvernoVerifyImage struct {
	ImageReferences []string          `json:"imageReferences"`
	Type            string            `json:"type"`
	FailureAction   string            `json:"failureAction"`
	Required        bool              `json:"required"`
	MutateDigest    bool              `json:"mutateDigest"`
	VerifyDigest    bool              `json:"verifyDigest"`
	Attestors       []kyvernoAttestor `json:"attestors"`
}

type kyvernoAttestor struct {
	Count   int            `json:"count"`
	Entries []kyvernoEntry `json:"entries"`
}

type kyvernoEntry struct {
	Keyless kyvernoKeyless `json:"keyless"`
}

type kyvernoKeyless struct {
	Subject              string            `json:"subject,omitempty"`
	SubjectRegExp        string            `json:"subjectRegExp,omitempty"`
	Issuer               string            `json:"issuer,omitempty"`
	IssuerRegExp         string            `json:"issuerRegExp,omitempty"`
	AdditionalExtensions map[string]string `json:"additionalExtensions,omitempty"`
	Rekor                kyvernoRekor      `json:"rekor"`
	CTLog                *kyvernoCTLog     `json:"ctlog,omitempty"`
	Roots                string            `json:"roots,omitempty"`
}

type kyvernoRekor struct {
	URL    string `json:"url"`
	PubKey string `json:"pubkey,omitempty"`
}

type kyvernoCTLog struct {
	PubKey       string `json:"pubkey,omitempty"`
	TSACertChain string `json:"tsaCertChain,omitempty"`
}

// kyvernoImageReferences turns repositories into Kyverno patterns: any tag
// ("repo:*", which also covers "repo:tag@digest") or digest ("repo@*").
// Kyverno names Docker Hub "docker.io".
func kyvernoImageReferences(repos []string) []string {
	var refs []string
	for _, repo := range repos {
		if rest, ok := strings.CutPrefix(repo, "index.docker.io/"); ok {
			repo = "docker.io/" + rest
		}
		for _, p := range []string{repo + ":*", repo + "@*"} {
			if !slices.Contains(refs, p) {
				refs = append(refs, p)
			}
		}
	}
	slices.Sort(refs)
	return refs
}

// KyvernoPolicy returns a Kyverno kyverno.io/v1 ClusterPolicy (Kyverno
// 1.13 or later) that admits Pods whose images from the run's repositories
// carry a keyless signature by the run's identity and issuer. It reads the
// .sig tag (type Cosign) when the run wrote the legacy format, else the
// Sigstore bundle referrer (type SigstoreBundle).
func (r *Run) KyvernoPolicy(o PolicyOptions) ([]byte, error) {
	in, err := r.policyInputs(o)
	if err != nil {
		return nil, err
	}
	timeout := o.WebhookTimeoutSeconds
	if timeout == 0 {
		timeout = 30
	}
	if timeout < 1 || timeout > 30 {
		return nil, fmt.Errorf("webhook timeout %ds: Kyverno allows 1 to 30 seconds", timeout)
	}
	kl := kyvernoKeyless{
		Subject:       in.subject,
		SubjectRegExp: in.subjectRE,
		Issuer:        in.issuer,
		IssuerRegExp:  in.issuerRE,
		Rekor:         kyvernoRekor{URL: in.rekorURL},
	}
	if len(in.githubExtensions) > 0 {
		kl.AdditionalExtensions = in.githubExtensions
	}
	if t := in.trust; t != nil {
		if l, ok := pickLog(t.tlogs, in.rekorURL); ok {
			kl.Rekor.PubKey = l.pem
		}
		ct := &kyvernoCTLog{}
		if l, ok := pickLog(t.ctlogs, ""); ok {
			ct.PubKey = l.pem
		}
		if r.SignedTimestamps && len(t.tsas) > 0 {
			ct.TSACertChain = t.tsas[0].pem
		}
		if *ct != (kyvernoCTLog{}) {
			kl.CTLog = ct
		}
		var roots strings.Builder
		for _, c := range t.cas {
			roots.WriteString(c.pem)
		}
		kl.Roots = roots.String()
	}
	typ := "Cosign"
	if in.bundleOnly {
		typ = "SigstoreBundle"
	}
	p := kyvernoPolicy{
		APIVersion: "kyverno.io/v1",
		Kind:       "ClusterPolicy",
		Metadata: objectMeta{
			Name: o.name(),
			Annotations: map[string]string{
				"policies.kyverno.io/title":       "Keyless-signed images",
				"policies.kyverno.io/description": "Images from " + strings.Join(in.repos, ", ") + " must carry a Sigstore keyless signature by the identity that signed them with keyless.",
			},
		},
		Spec: kyvernoSpec{
			Background:           false,
			WebhookConfiguration: kyvernoWebhookConfig{FailurePolicy: "Fail", TimeoutSeconds: timeout},
			Rules: []kyvernoRule{{
				Name:  "verify-keyless-signature",
				Match: kyvernoMatch{Any: []kyvernoFilter{{Resources: kyvernoResources{Kinds: []string{"Pod"}}}}},
				VerifyImages: []kyvernoVerifyImage{{
					ImageReferences: kyvernoImageReferences(in.repos),
					Type:            typ,
					FailureAction:   "Enforce",
					Required:        true,
					MutateDigest:    true,
					VerifyDigest:    true,
					Attestors:       []kyvernoAttestor{{Count: 1, Entries: []kyvernoEntry{{Keyless: kl}}}},
				}},
			}},
		},
	}
	body, err := yaml.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("rendering Kyverno policy: %w", err)
	}
	var head []string
	head = append(head, "Kyverno 1.13+ ClusterPolicy generated by keyless.")
	if in.bundleOnly {
		head = append(head, "type SigstoreBundle reads the Sigstore bundle attached as an OCI 1.1 referrer;",
			"Kyverno releases without it need the .sig tag: sign with signature-format both and use type Cosign.")
	}
	if in.rekorV2Only {
		head = append(head, "The signatures are logged in Rekor v2 only: type Cosign cannot check them",
			"online; the bundle carries the inclusion proof (type SigstoreBundle).")
	}
	if len(in.unenforcedKyverno) > 0 {
		head = append(head, "Not enforced by this policy (Kyverno checks only GitHub Actions' legacy extensions): "+strings.Join(in.unenforcedKyverno, ", "))
	}
	return withComments(head, body), nil
}

// policy-controller policy.sigstore.dev/v1beta1 ClusterImagePolicy.
type clusterImagePolicy struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       cipSpec    `json:"spec"`
}

type cipSpec struct {
	Images      []cipImage     `json:"images"`
	Authorities []cipAuthority `json:"authorities"`
}

type cipImage struct {
	Glob string `json:"glob"`
}

type cipAuthority struct {
	Name             string     `json:"name"`
	Keyless          cipKeyless `json:"keyless"`
	CTLog            cipCTLog   `json:"ctlog"`
	RFC3161Timestamp *cipTSARef `json:"rfc3161timestamp,omitempty"`
}

type cipKeyless struct {
	URL          string        `json:"url,omitempty"`
	Identities   []cipIdentity `json:"identities"`
	TrustRootRef string        `json:"trustRootRef,omitempty"`
}

type cipIdentity struct {
	Issuer        string `json:"issuer,omitempty"`
	IssuerRegExp  string `json:"issuerRegExp,omitempty"`
	Subject       string `json:"subject,omitempty"`
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
}

type cipCTLog struct {
	URL          string `json:"url"`
	TrustRootRef string `json:"trustRootRef,omitempty"`
}

type cipTSARef struct {
	TrustRootRef string `json:"trustRootRef"`
}

// policy-controller policy.sigstore.dev/v1alpha1 TrustRoot. Its key and
// certificate fields are Go []byte holding PEM, so JSON carries them as
// base64 of the PEM text.
type trustRoot struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   objectMeta    `json:"metadata"`
	Spec       trustRootSpec `json:"spec"`
}

type trustRootSpec struct {
	SigstoreKeys sigstoreKeys `json:"sigstoreKeys"`
}

type sigstoreKeys struct {
	CertificateAuthorities []trCA  `json:"certificateAuthorities"`
	TLogs                  []trLog `json:"tLogs"`
	CTLogs                 []trLog `json:"ctLogs,omitempty"`
	TimestampAuthorities   []trCA  `json:"timestampAuthorities,omitempty"`
}

type trCA struct {
	Subject   trSubject `json:"subject"`
	URI       string    `json:"uri,omitempty"`
	CertChain []byte    `json:"certChain"`
}

type trSubject struct {
	Organization string `json:"organization"`
	CommonName   string `json:"commonName"`
}

type trLog struct {
	BaseURL       string `json:"baseURL"`
	HashAlgorithm string `json:"hashAlgorithm"`
	PublicKey     []byte `json:"publicKey"`
}

// cipGlobs turns repositories into policy-controller globs. Its globs
// cannot hold "@", and "*" stops at "/", so "repo*" matches the repository
// with any tag or digest (and, fail-closed, sibling repositories sharing
// the prefix, which then need this signature too).
func cipGlobs(repos []string) []cipImage {
	var globs []cipImage
	for _, repo := range repos {
		globs = append(globs, cipImage{Glob: repo + "*"})
	}
	return globs
}

// ClusterImagePolicy returns a sigstore policy-controller
// policy.sigstore.dev/v1beta1 ClusterImagePolicy with one keyless
// authority for the run's identity and issuer; for a private Sigstore it
// is followed by a policy.sigstore.dev/v1alpha1 TrustRoot document holding
// the trusted root's CAs, logs and timestamp authorities.
func (r *Run) ClusterImagePolicy(o PolicyOptions) ([]byte, error) {
	in, err := r.policyInputs(o)
	if err != nil {
		return nil, err
	}
	name := o.name()
	auth := cipAuthority{
		Name: "keyless",
		Keyless: cipKeyless{Identities: []cipIdentity{{
			Issuer: in.issuer, IssuerRegExp: in.issuerRE,
			Subject: in.subject, SubjectRegExp: in.subjectRE,
		}}},
		CTLog: cipCTLog{URL: in.rekorURL},
	}
	if in.trust != nil {
		auth.Keyless.TrustRootRef = name
		auth.CTLog.TrustRootRef = name
		if len(in.trust.cas) > 0 && in.trust.cas[0].uri != "" {
			auth.Keyless.URL = in.trust.cas[0].uri
		}
		if r.SignedTimestamps && len(in.trust.tsas) > 0 {
			auth.RFC3161Timestamp = &cipTSARef{TrustRootRef: name}
		}
	}
	cip := clusterImagePolicy{
		APIVersion: "policy.sigstore.dev/v1beta1",
		Kind:       "ClusterImagePolicy",
		Metadata:   objectMeta{Name: name},
		Spec:       cipSpec{Images: cipGlobs(in.repos), Authorities: []cipAuthority{auth}},
	}
	body, err := yaml.Marshal(cip)
	if err != nil {
		return nil, fmt.Errorf("rendering ClusterImagePolicy: %w", err)
	}
	head := []string{"sigstore policy-controller ClusterImagePolicy generated by keyless."}
	if in.bundleOnly {
		head = append(head, "policy-controller reads cosign's .sig tag: a bundle-only run needs signature-format both.")
	}
	if in.rekorV2Only {
		head = append(head, "The signatures are logged in Rekor v2 only, which policy-controller cannot check.")
	}
	if len(in.unenforced) > 0 {
		head = append(head, "Not enforced by this policy (policy-controller matches issuer and subject only): "+strings.Join(in.unenforced, ", "))
	}
	out := withComments(head, body)
	if in.trust == nil {
		return out, nil
	}
	t := in.trust
	keys := sigstoreKeys{}
	for _, c := range t.cas {
		keys.CertificateAuthorities = append(keys.CertificateAuthorities, trCA{
			Subject: trSubject{Organization: c.organization, CommonName: c.commonName},
			URI:     c.uri, CertChain: []byte(c.pem),
		})
	}
	for _, c := range t.tsas {
		keys.TimestampAuthorities = append(keys.TimestampAuthorities, trCA{
			Subject: trSubject{Organization: c.organization, CommonName: c.commonName},
			URI:     c.uri, CertChain: []byte(c.pem),
		})
	}
	for _, l := range t.tlogs {
		keys.TLogs = append(keys.TLogs, trLog{BaseURL: l.baseURL, HashAlgorithm: l.hash, PublicKey: []byte(l.pem)})
	}
	for _, l := range t.ctlogs {
		keys.CTLogs = append(keys.CTLogs, trLog{BaseURL: l.baseURL, HashAlgorithm: l.hash, PublicKey: []byte(l.pem)})
	}
	tr := trustRoot{
		APIVersion: "policy.sigstore.dev/v1alpha1",
		Kind:       "TrustRoot",
		Metadata:   objectMeta{Name: name},
		Spec:       trustRootSpec{SigstoreKeys: keys},
	}
	trBody, err := yaml.Marshal(tr)
	if err != nil {
		return nil, fmt.Errorf("rendering TrustRoot: %w", err)
	}
	out = append(out, "---\n"...)
	return append(out, withComments([]string{"The private Sigstore's keys, from its trusted_root.json (base64 of PEM)."}, trBody)...), nil
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
