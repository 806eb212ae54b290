// Package policy writes the admission policies that enforce a run's
// signatures in a Kubernetes cluster: a Kyverno ClusterPolicy and a sigstore
// policy-controller ClusterImagePolicy (with a TrustRoot for a private
// Sigstore), for the identity that signed and the repositories it signed.
// The e2e tests prove them with the real controllers.
package policy

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// Input is what the policies are built from: the images a run signed (or
// verified), the identity that signed them, and where their signatures are.
type Input struct {
	// Images are the manifests, repository@digest; the policies cover
	// their repositories. An image without a digest is skipped.
	Images []string
	// Identity is who must have signed: the certificate's issuer and
	// identity, or anchored patterns for them, and the certificate
	// extension values that verification required.
	Identity verify.Policy
	// Formats are the storage formats the run wrote or checked.
	Formats []sign.Format
	// Signatures are the run's signatures, written or verified.
	Signatures []Signature
	// SignedTimestamps is true when the signatures carry RFC 3161
	// timestamps, which the policies then require.
	SignedTimestamps bool
	// Attestations are the predicate types of the attestations the run
	// signed, each a URI; the policies require one of each.
	Attestations []string
	// Source is the source repository and ref that a required SLSA
	// provenance must name when the Identity requires none: those of the
	// signing certificate, for a sign run.
	Source Source
}

// Source is a build's source: a repository URI and a git ref.
type Source struct {
	Repository, Ref string
}

// Signature is where one of the run's signatures is logged.
type Signature struct {
	// Format is how it is stored.
	Format sign.Format
	// LogURL is the base URL of its transparency log.
	LogURL string
	// Rekor is its log's major version, 1 or 2; 0 when not known (a
	// signature that was verified rather than written).
	Rekor int
}

// githubActionsIssuer is the OIDC issuer of GitHub Actions, the only
// issuer whose certificates carry the legacy GitHub extensions (OIDs
// 1.3.6.1.4.1.57264.1.2–.6) that Kyverno's additionalExtensions check.
const githubActionsIssuer = "https://token.actions.githubusercontent.com"

// parse sets TrustedRoot from TrustedRootJSON when only the JSON is given.
func (o *Options) parse() error {
	if o.TrustedRoot != nil || o.TrustedRootJSON == nil {
		return nil
	}
	tr, err := root.NewTrustedRootFromJSON(o.TrustedRootJSON)
	if err != nil {
		return fmt.Errorf("parsing trusted root: %w", err)
	}
	o.TrustedRoot = tr
	return nil
}

func (o Options) name() string {
	if o.Name == "" {
		return "keyless-signed-images"
	}
	return o.Name
}

// terms is what both policy kinds are built from, derived from an Input.
type terms struct {
	repos                         []string // sorted, deduplicated
	subject, subjectRE            string
	issuer, issuerRE              string
	rekorURL                      string
	rekorV2Only                   bool
	bundleOnly                    bool
	trust                         *trustMaterial // nil for public-good
	signedTimestamps              bool
	githubExtensions              map[string]string
	source                        Source // what a provenance must name
	unenforcedKyverno, unenforced []string
}

func newTerms(in Input, o Options) (*terms, error) {
	t := &terms{signedTimestamps: in.SignedTimestamps}
	for _, image := range in.Images {
		repo, _, ok := strings.Cut(image, "@")
		if !ok || repo == "" {
			continue
		}
		if !slices.Contains(t.repos, repo) {
			t.repos = append(t.repos, repo)
		}
	}
	if len(t.repos) == 0 {
		return nil, errors.New("no subject digest to build a policy for")
	}
	slices.Sort(t.repos)

	p := in.Identity
	var err error
	if t.subject, t.subjectRE, err = exactOrRegexp("identity", p.Identity, p.IdentityRegexp); err != nil {
		return nil, err
	}
	if t.issuer, t.issuerRE, err = exactOrRegexp("OIDC issuer", p.Issuer, p.IssuerRegexp); err != nil {
		return nil, err
	}

	t.bundleOnly = !slices.Contains(in.Formats, sign.Legacy)
	t.source = Source{Repository: cmp.Or(p.SourceRepository, in.Source.Repository), Ref: cmp.Or(p.SourceRef, in.Source.Ref)}

	// The log of the signatures the policies read, and whether all of them
	// are t Rekor v2. Kyverno type Cosign and policy-controller read the
	// legacy .sig whenever the run wrote it; t a "both" run the bundles may
	// sit t another log (Rekor v2), whose key would refuse every .sig.
	read := sign.Legacy
	if t.bundleOnly {
		read = sign.Bundle
	}
	var logURLs []string
	v1, v2 := 0, 0
	for _, sig := range in.Signatures {
		if sig.Format != read {
			continue
		}
		if sig.LogURL != "" && !slices.Contains(logURLs, sig.LogURL) {
			logURLs = append(logURLs, sig.LogURL)
		}
		switch sig.Rekor {
		case 1:
			v1++
		case 2:
			v2++
		}
	}
	t.rekorV2Only = v2 > 0 && v1 == 0
	slices.Sort(logURLs)
	switch {
	case o.RekorURL != "":
		t.rekorURL = o.RekorURL
	case len(logURLs) > 0:
		t.rekorURL = logURLs[0]
	}
	if err := o.parse(); err != nil {
		return nil, err
	}
	if o.TrustedRoot != nil {
		tm, err := newTrustMaterial(o.TrustedRoot)
		if err != nil {
			return nil, err
		}
		t.trust = tm
		if t.rekorURL == "" && len(tm.tlogs) > 0 {
			t.rekorURL = tm.tlogs[0].baseURL
		}
	}
	if t.rekorURL == "" {
		t.rekorURL = trust.PublicGoodRekorURL
	}

	// Extension constraints. Kyverno checks only the legacy GitHub
	// extensions, which Fulcio writes for GitHub Actions alone; the
	// policy-controller checks none.
	github := t.issuer == githubActionsIssuer
	if t.issuerRE != "" {
		// Fail-closed: a pattern that admits GitHub Actions gets the
		// GitHub extension checks for every issuer it admits.
		github, _ = regexp.MatchString(t.issuerRE, githubActionsIssuer)
	}
	t.githubExtensions = map[string]string{}
	add := func(label, value, key, kyvernoValue string) {
		if value == "" {
			return
		}
		// The value comes from the certificate: quoted, it stays on its
		// comment line whatever it holds.
		c := label + "=" + strconv.Quote(value)
		t.unenforced = append(t.unenforced, c)
		if github && key != "" && kyvernoValue != "" {
			t.githubExtensions[key] = kyvernoValue
			return
		}
		t.unenforcedKyverno = append(t.unenforcedKyverno, c)
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
	return t, nil
}

// check refuses a value that YAML cannot carry as it is: the YAML library
// turns U+0085 into a space and refuses the other C1 control characters,
// so the policy would hold another value than the certificate's (it
// escapes the rest). Extension values are checked only where they are
// written into the policy (Kyverno's).
func (t *terms) check(extensions bool) error {
	values := [][2]string{
		{"certificate identity", t.subject}, {"certificate identity regexp", t.subjectRE},
		{"certificate OIDC issuer", t.issuer}, {"certificate OIDC issuer regexp", t.issuerRE},
		{"transparency log URL", t.rekorURL},
	}
	for _, repo := range t.repos {
		values = append(values, [2]string{"repository", repo})
	}
	if extensions {
		for _, k := range slices.Sorted(maps.Keys(t.githubExtensions)) {
			values = append(values, [2]string{"certificate extension " + k, t.githubExtensions[k]})
		}
	}
	for _, v := range values {
		if strings.ContainsFunc(v[1], func(c rune) bool { return c >= 0x80 && c <= 0x9f }) {
			return fmt.Errorf("%s %s holds a C1 control character, which YAML cannot carry: no policy is written for it", v[0], strconv.Quote(v[1]))
		}
	}
	return nil
}

// unsafeRune reports whether YAML could take c for a line break, or c is
// another control character.
func unsafeRune(c rune) bool {
	return unicode.IsControl(c) || c == '\u2028' || c == '\u2029'
}

// withComments prefixes a YAML document with comment lines. Outside values
// reach the lines quoted; as a second guard, any character a YAML parser
// could take for a line break (or another control character) is written
// as a \uXXXX escape, so no line can end its comment early.
func withComments(lines []string, body []byte) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("# ")
		for _, c := range l {
			if unsafeRune(c) {
				fmt.Fprintf(&b, "\\u%04x", c)
				continue
			}
			b.WriteRune(c)
		}
		b.WriteString("\n")
	}
	b.Write(body)
	return []byte(b.String())
}

// Manifest is one generated admission policy.
type Manifest struct {
	// Title names the controller and kind.
	Title string
	// File is the file name it is written to.
	File string
	// YAML is the manifest.
	YAML []byte
}

// Manifests returns the Kyverno policies o.Kyverno names and the
// policy-controller ClusterImagePolicy for in. The first Kyverno policy is
// kyverno-policy.yaml; with both kinds, the ClusterPolicy is
// kyverno-cluster-policy.yaml.
func Manifests(in Input, o Options) ([]Manifest, error) {
	if err := o.parse(); err != nil { // once for every policy
		return nil, err
	}
	var out []Manifest
	if o.Kyverno != ClusterPolicyKind {
		iv, err := ImageValidatingPolicy(in, o)
		if err != nil {
			return nil, fmt.Errorf("building Kyverno ImageValidatingPolicy: %w", err)
		}
		out = append(out, Manifest{Title: "Kyverno ImageValidatingPolicy", File: "kyverno-policy.yaml", YAML: iv})
	}
	if o.Kyverno != ImageValidating {
		k, err := Kyverno(in, o)
		if err != nil {
			return nil, fmt.Errorf("building Kyverno ClusterPolicy: %w", err)
		}
		file := "kyverno-policy.yaml"
		if o.Kyverno == BothKinds {
			file = "kyverno-cluster-policy.yaml"
		}
		out = append(out, Manifest{Title: "Kyverno ClusterPolicy", File: file, YAML: k})
	}
	c, err := ClusterImagePolicy(in, o)
	if err != nil {
		return nil, fmt.Errorf("building ClusterImagePolicy: %w", err)
	}
	return append(out, Manifest{Title: "sigstore policy-controller ClusterImagePolicy", File: "cluster-image-policy.yaml", YAML: c}), nil
}

// exactOrRegexp is the exact value or the anchored regexp a policy matches
// a certificate's what by: the regexp when given, else the exact value.
func exactOrRegexp(what, exact, re string) (string, string, error) {
	switch {
	case re != "":
		return "", verify.Anchor(re), nil
	case exact != "":
		return exact, "", nil
	}
	return "", "", fmt.Errorf("no certificate %s to build a policy for", what)
}
