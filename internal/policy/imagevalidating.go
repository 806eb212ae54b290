package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"sigs.k8s.io/yaml"
)

// Kyverno policies.kyverno.io/v1 ImageValidatingPolicy, as much of it as
// keyless writes (Kyverno's api/policies.kyverno.io/v1alpha1 types, which
// v1 aliases).
type ivPolicy struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       ivSpec     `json:"spec"`
}

type ivSpec struct {
	WebhookConfiguration     ivWebhook       `json:"webhookConfiguration"`
	FailurePolicy            string          `json:"failurePolicy"`
	ValidationActions        []string        `json:"validationActions"`
	MatchConstraints         ivMatch         `json:"matchConstraints"`
	MatchImageReferences     []ivImageRef    `json:"matchImageReferences"`
	ValidationConfigurations ivConfig        `json:"validationConfigurations"`
	Attestors                []ivAttestor    `json:"attestors"`
	Attestations             []ivAttestation `json:"attestations,omitempty"`
	Validations              []ivValidation  `json:"validations"`
}

type ivWebhook struct {
	TimeoutSeconds int `json:"timeoutSeconds"`
}

type ivMatch struct {
	ResourceRules []ivResourceRule `json:"resourceRules"`
}

type ivResourceRule struct {
	APIGroups   []string `json:"apiGroups"`
	APIVersions []string `json:"apiVersions"`
	Operations  []string `json:"operations"`
	Resources   []string `json:"resources"`
}

type ivImageRef struct {
	Glob       string `json:"glob,omitempty"`
	Expression string `json:"expression,omitempty"`
}

type ivConfig struct {
	MutateDigest bool `json:"mutateDigest"`
	VerifyDigest bool `json:"verifyDigest"`
	Required     bool `json:"required"`
}

type ivAttestor struct {
	Name   string   `json:"name"`
	Cosign ivCosign `json:"cosign"`
}

type ivCosign struct {
	Keyless     ivKeyless `json:"keyless"`
	CTLog       ivCTLog   `json:"ctlog"`
	TUF         *ivTUF    `json:"tuf,omitempty"`
	TrustedRoot *ivValue  `json:"trustedRoot,omitempty"`
}

type ivKeyless struct {
	Identities           []ivIdentity      `json:"identities"`
	Roots                string            `json:"roots,omitempty"`
	AdditionalExtensions map[string]string `json:"additionalExtensions,omitempty"`
}

type ivIdentity struct {
	Issuer        string `json:"issuer,omitempty"`
	Subject       string `json:"subject,omitempty"`
	IssuerRegExp  string `json:"issuerRegExp,omitempty"`
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
}

type ivCTLog struct {
	URL          string `json:"url"`
	RekorPubKey  string `json:"rekorPubKey,omitempty"`
	CTLogPubKey  string `json:"ctLogPubKey,omitempty"`
	TSACertChain string `json:"tsaCertChain,omitempty"`
}

type ivTUF struct {
	Mirror string    `json:"mirror"`
	Root   ivTUFRoot `json:"root"`
}

type ivTUFRoot struct {
	Data string `json:"data"`
}

type ivValue struct {
	Value string `json:"value"`
}

type ivAttestation struct {
	Name   string   `json:"name"`
	InToto ivInToto `json:"intoto"`
}

type ivInToto struct {
	Type string `json:"type"`
}

type ivValidation struct {
	Expression string `json:"expression"`
	Message    string `json:"message"`
}

// maxTrustedRoot is the largest inline trustedRoot Kyverno 1.19 parses.
const maxTrustedRoot = 1 << 20

// ivImages is the CEL list of every image of the workload that the
// policy's matchImageReferences select.
const ivImages = "(images.containers + images.initContainers + images.ephemeralContainers)"

// ivAttestationName is the CEL identifier an attestation is known by.
func ivAttestationName(pt string, i int) string {
	if n, ok := attestationNames[pt]; ok {
		return n
	}
	return fmt.Sprintf("attestation%d", i+1)
}

// ImageValidatingPolicy returns a Kyverno policies.kyverno.io/v1
// ImageValidatingPolicy (Kyverno 1.17 or later; tested with 1.19.1) that
// admits Pods, and through Kyverno's autogen their controllers, whose
// images from the repositories of in carry a keyless signature by its
// identity and issuer, and each attestation the run signed or required,
// its predicate checked by CEL. Kyverno's cosign attestor reads the
// Sigstore bundle referrer when there is one, else the .sig tag.
func ImageValidatingPolicy(in Input, o Options) ([]byte, error) {
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
	cosign := ivCosign{
		Keyless: ivKeyless{Identities: []ivIdentity{{
			Issuer: t.issuer, IssuerRegExp: t.issuerRE, Subject: t.subject, SubjectRegExp: t.subjectRE,
		}}},
		CTLog: ivCTLog{URL: t.rekorURL},
	}
	if len(t.githubExtensions) > 0 {
		cosign.Keyless.AdditionalExtensions = maps.Clone(t.githubExtensions)
	}
	if err := ivTrust(&cosign, t, o); err != nil {
		return nil, err
	}
	atts, err := predicateTypes(in.Attestations)
	if err != nil {
		return nil, err
	}
	refs, err := ivImageReferences(t.repos)
	if err != nil {
		return nil, err
	}
	validations := []ivValidation{{
		Expression: ivImages + ".all(image, verifyImageSignatures(image, [attestors.keyless]) > 0)",
		Message:    "an image is not signed by the identity this policy names",
	}}
	var ivAtts []ivAttestation
	for i, pt := range atts {
		name := ivAttestationName(pt, i)
		ivAtts = append(ivAtts, ivAttestation{Name: name, InToto: ivInToto{Type: pt}})
		check, err := statementCheck(pt, t)
		if err != nil {
			return nil, fmt.Errorf("attestation %s: %w", pt, err)
		}
		validations = append(validations,
			ivValidation{
				Expression: ivImages + ".all(image, verifyAttestationSignatures(image, attestations." + name + ", [attestors.keyless]) > 0)",
				Message:    "an image has no " + pt + " attestation by the identity this policy names",
			},
			ivValidation{
				Expression: ivImages + ".all(image, [extractPayload(image, attestations." + name + ")].all(s, " + check + "))",
				Message:    "the " + pt + " attestation of an image does not say what this policy requires of it",
			})
	}
	action := "Deny"
	if o.Mode == Audit {
		action = "Audit"
	}
	p := ivPolicy{
		APIVersion: "policies.kyverno.io/v1",
		Kind:       "ImageValidatingPolicy",
		Metadata: objectMeta{
			Name: o.name(),
			Annotations: map[string]string{
				"policies.kyverno.io/title":       "Keyless-signed images",
				"policies.kyverno.io/description": "Images from " + strings.Join(t.repos, ", ") + " must carry a Sigstore keyless signature by the identity that signed them with keyless.",
			},
		},
		Spec: ivSpec{
			WebhookConfiguration: ivWebhook{TimeoutSeconds: timeout},
			FailurePolicy:        "Fail",
			ValidationActions:    []string{action},
			MatchConstraints: ivMatch{ResourceRules: []ivResourceRule{{
				APIGroups: []string{""}, APIVersions: []string{"v1"},
				Operations: []string{"CREATE", "UPDATE"}, Resources: []string{"pods"},
			}}},
			MatchImageReferences:     refs,
			ValidationConfigurations: ivConfig{MutateDigest: o.Mode != Audit, VerifyDigest: true, Required: true},
			Attestors:                []ivAttestor{{Name: "keyless", Cosign: cosign}},
			Attestations:             ivAtts,
			Validations:              validations,
		},
	}
	body, err := yaml.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("rendering ImageValidatingPolicy: %w", err)
	}
	return withComments(ivHeader(t, o, atts), body), nil
}

// ivTrust writes a private Sigstore's material into the attestor: the
// trusted root inline (bundles), the Fulcio roots and the log keys (the
// .sig tag), the TSA chain when the signatures carry timestamps, and the
// TUF repository every keyless check of Kyverno 1.19 starts a client for.
func ivTrust(c *ivCosign, t *terms, o Options) error {
	if err := o.parse(); err != nil {
		return err
	}
	if o.TUF != nil {
		if err := o.TUF.Check(); err != nil {
			return err
		}
		c.TUF = &ivTUF{Mirror: o.TUF.Mirror, Root: ivTUFRoot{Data: o.TUF.rootData()}}
	}
	tm := t.trust
	if tm == nil {
		return nil
	}
	raw, err := trustedRootJSON(o.TrustedRoot)
	if err != nil {
		return err
	}
	if len(raw) > maxTrustedRoot {
		return fmt.Errorf("trusted root is %d bytes: Kyverno takes at most %d inline", len(raw), maxTrustedRoot)
	}
	c.TrustedRoot = &ivValue{Value: string(raw)}
	var roots strings.Builder
	for _, ca := range tm.cas {
		roots.WriteString(ca.pem)
	}
	c.Keyless.Roots = roots.String()
	if l, ok := pickLog(tm.tlogs, t.rekorURL); ok {
		c.CTLog.RekorPubKey = l.pem
	}
	if l, ok := pickLog(tm.ctlogs, ""); ok {
		c.CTLog.CTLogPubKey = l.pem
	}
	if t.signedTimestamps && len(tm.tsas) > 0 {
		c.CTLog.TSACertChain = tm.tsas[0].pem
	}
	return nil
}

// trustedRootJSON is the parsed root encoded again, the same bytes whether
// it came as a file or parsed: sigstore-go writes its logs in map order and
// protojson varies its spaces, so the logs are sorted and the JSON
// compacted.
func trustedRootJSON(tr *root.TrustedRoot) ([]byte, error) {
	raw, err := json.Marshal(tr)
	if err != nil {
		return nil, fmt.Errorf("encoding trusted root: %w", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("encoding trusted root: %w", err)
	}
	for _, k := range []string{"tlogs", "ctlogs"} {
		var logs []json.RawMessage
		if doc[k] == nil {
			continue
		}
		if err := json.Unmarshal(doc[k], &logs); err != nil {
			return nil, fmt.Errorf("encoding trusted root: %s: %w", k, err)
		}
		slices.SortFunc(logs, func(a, b json.RawMessage) int { return bytes.Compare(a, b) })
		if doc[k], err = json.Marshal(logs); err != nil {
			return nil, err
		}
	}
	out, err := json.Marshal(doc) // sorted keys, compact
	if err != nil {
		return nil, fmt.Errorf("encoding trusted root: %w", err)
	}
	return out, nil
}
