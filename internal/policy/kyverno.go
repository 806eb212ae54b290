package policy

import (
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

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
	ImageReferences []string             `json:"imageReferences"`
	Type            string               `json:"type"`
	FailureAction   string               `json:"failureAction"`
	Required        bool                 `json:"required"`
	MutateDigest    bool                 `json:"mutateDigest"`
	VerifyDigest    bool                 `json:"verifyDigest"`
	Attestors       []kyvernoAttestor    `json:"attestors"`
	Attestations    []kyvernoAttestation `json:"attestations,omitempty"`
}

type kyvernoAttestation struct {
	Type      string            `json:"type"`
	Attestors []kyvernoAttestor `json:"attestors"`
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

// Kyverno returns a Kyverno kyverno.io/v1 ClusterPolicy (Kyverno 1.13 or
// later) that admits Pods whose images from the repositories of in carry a
// keyless signature by its identity and issuer. It reads the .sig tag
// (type Cosign) when in has the legacy format, else the Sigstore bundle
// referrer (type SigstoreBundle).
func Kyverno(in Input, o Options) ([]byte, error) {
	t, err := newTerms(in, o)
	if err != nil {
		return nil, err
	}
	if err := t.check(true); err != nil {
		return nil, err
	}
	timeout, err := o.webhookTimeout()
	if err != nil {
		return nil, err
	}
	kl := kyvernoKeyless{
		Subject:       t.subject,
		SubjectRegExp: t.subjectRE,
		Issuer:        t.issuer,
		IssuerRegExp:  t.issuerRE,
		Rekor:         kyvernoRekor{URL: t.rekorURL},
	}
	if len(t.githubExtensions) > 0 {
		kl.AdditionalExtensions = t.githubExtensions
	}
	// type SigstoreBundle verifies against the trusted root Kyverno gets
	// through TUF and ignores the attestor's keys (Kyverno's validation
	// still requires rekor.url or roots): only type Cosign gets them.
	if tm := t.trust; tm != nil && !t.bundleOnly {
		if l, ok := pickLog(tm.tlogs, t.rekorURL); ok {
			kl.Rekor.PubKey = l.pem
		}
		ct := &kyvernoCTLog{}
		if l, ok := pickLog(tm.ctlogs, ""); ok {
			ct.PubKey = l.pem
		}
		if t.signedTimestamps && len(tm.tsas) > 0 {
			ct.TSACertChain = tm.tsas[0].pem
		}
		if *ct != (kyvernoCTLog{}) {
			kl.CTLog = ct
		}
		var roots strings.Builder
		for _, c := range tm.cas {
			roots.WriteString(c.pem)
		}
		kl.Roots = roots.String()
	}
	atts, err := predicateTypes(in.Attestations)
	if err != nil {
		return nil, err
	}
	var kas []kyvernoAttestation
	for _, a := range atts {
		kas = append(kas, kyvernoAttestation{Type: a, Attestors: []kyvernoAttestor{{Count: 1, Entries: []kyvernoEntry{{Keyless: kl}}}}})
	}
	action := "Enforce"
	if o.Mode == Audit {
		action = "Audit"
	}
	typ := "Cosign"
	if t.bundleOnly {
		typ = "SigstoreBundle"
	}
	p := kyvernoPolicy{
		APIVersion: "kyverno.io/v1",
		Kind:       "ClusterPolicy",
		Metadata: objectMeta{
			Name: o.name(),
			Annotations: map[string]string{
				"policies.kyverno.io/title":       "Keyless-signed images",
				"policies.kyverno.io/description": "Images from " + strings.Join(t.repos, ", ") + " must carry a Sigstore keyless signature by the identity that signed them with keyless.",
			},
		},
		Spec: kyvernoSpec{
			Background:           false,
			WebhookConfiguration: kyvernoWebhookConfig{FailurePolicy: "Fail", TimeoutSeconds: timeout},
			Rules: []kyvernoRule{{
				Name:  "verify-keyless-signature",
				Match: kyvernoMatch{Any: []kyvernoFilter{{Resources: kyvernoResources{Kinds: []string{"Pod"}}}}},
				VerifyImages: []kyvernoVerifyImage{{
					ImageReferences: kyvernoImageReferences(t.repos),
					Type:            typ,
					FailureAction:   action,
					Required:        true,
					MutateDigest:    o.Mode != Audit, // Kyverno refuses it with Audit
					VerifyDigest:    true,
					Attestors:       []kyvernoAttestor{{Count: 1, Entries: []kyvernoEntry{{Keyless: kl}}}},
					Attestations:    kas,
				}},
			}},
		},
	}
	body, err := yaml.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("rendering Kyverno policy: %w", err)
	}
	return withComments(kyvernoHeader(t, o.Mode), body), nil
}

// kyvernoHeader says what the policy needs from Kyverno.
func kyvernoHeader(t *terms, mode Mode) []string {
	head := []string{"Kyverno 1.13+ ClusterPolicy generated by keyless (kyverno.io/v1, deprecated since Kyverno 1.17: prefer the ImageValidatingPolicy)."}
	if mode == Audit {
		head = append(head, "Mode audit (failureAction: Audit): Kyverno admits what does not verify and records it in its policy reports;",
			"it leaves tags as they are (Kyverno requires mutateDigest: false with Audit).")
	}
	switch {
	case t.bundleOnly:
		head = append(head,
			"type SigstoreBundle reads the Sigstore bundle attached as an OCI 1.1 referrer and verifies it",
			"against the trusted root Kyverno gets through TUF; it ignores the attestor's roots, ctlog and",
			"rekor (rekor.url is there because Kyverno's validation requires it).")
		if t.trust != nil {
			head = append(head,
				"For this private Sigstore, Kyverno must read its trusted_root.json from a TUF repository:",
				"run Kyverno with --enableTuf --tufMirror=<mirror URL> --tufRoot=<path or URL of its root.json>",
				"(Helm: features.tuf.enabled, features.tuf.mirror, features.tuf.root or rootRaw).",
				"The Kyverno CLI reads the TUF cache of the v1 sigstore TUF client (TUF_ROOT, default ~/.sigstore/root).")
		}
		head = append(head, "Kyverno releases without SigstoreBundle need the .sig tag: sign with signature-format both.")
	case t.trust != nil:
		head = append(head,
			"type Cosign reads cosign's .sig tag, logged in the Rekor v1 log at rekor.url; the attestor",
			"carries this private Sigstore's Fulcio roots, its CT log key and that Rekor log's key.")
	default:
		head = append(head, "type Cosign reads cosign's .sig tag, logged in the Rekor v1 log at rekor.url.")
	}
	if t.rekorV2Only {
		head = append(head, "The signatures are logged in Rekor v2 only: their bundles carry the inclusion proofs.")
		if !t.signedTimestamps {
			head = append(head, "SigstoreBundle requires a timestamp, which Rekor v2 entries lack: sign with a timestamp authority.")
		}
	}
	if len(t.unenforcedKyverno) > 0 {
		head = append(head, "Not enforced by this policy (Kyverno checks only GitHub Actions' legacy extensions): "+strings.Join(t.unenforcedKyverno, ", "))
	}
	return head
}

// webhookTimeout is the Kyverno admission webhook's timeout: 30 s unless
// o says otherwise, within the 1 to 30 s Kyverno allows.
func (o Options) webhookTimeout() (int, error) {
	timeout := o.WebhookTimeoutSeconds
	if timeout == 0 {
		timeout = 30
	}
	if timeout < 1 || timeout > 30 {
		return 0, fmt.Errorf("webhook timeout %ds: Kyverno allows 1 to 30 seconds", timeout)
	}
	return timeout, nil
}
