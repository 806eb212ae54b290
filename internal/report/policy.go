package report

import (
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
	// TrustedRoot is the private Sigstore's trusted root, already parsed;
	// when set, TrustedRootJSON is not read.
	TrustedRoot *root.TrustedRoot
	// RekorURL is the transparency log the signatures were written to. When
	// empty it is taken from the run's signatures, else the public-good log.
	RekorURL string
	// WebhookTimeoutSeconds bounds Kyverno's admission webhook, which must
	// fetch signatures from the registry; 30 when zero (Kyverno allows 1–30).
	WebhookTimeoutSeconds int
}

// parse sets TrustedRoot from TrustedRootJSON when only the JSON is given.
func (o *PolicyOptions) parse() error {
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

	// The log of the signatures the policies read, and whether all of them
	// are in Rekor v2. Kyverno type Cosign and policy-controller read the
	// legacy .sig whenever the run wrote it; in a "both" run the bundles may
	// sit in another log (Rekor v2), whose key would refuse every .sig.
	read := sign.Legacy
	if in.bundleOnly {
		read = sign.Bundle
	}
	var logURLs []string
	v1, v2 := 0, 0
	addLog := func(u string) {
		if u != "" && !slices.Contains(logURLs, u) {
			logURLs = append(logURLs, u)
		}
	}
	for _, s := range r.Subjects {
		// A reused signature, and every one a verify run checked, is
		// known by its verification: its log is the one that verified.
		for _, v := range s.Verifications {
			if v.Format == read && v.Verified {
				addLog(v.LogURL)
			}
		}
		for _, sig := range s.Signatures {
			if sig.Format != read {
				continue
			}
			addLog(sig.LogURL)
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
	if err := o.parse(); err != nil {
		return nil, err
	}
	if o.TrustedRoot != nil {
		tm, err := newTrustMaterial(o.TrustedRoot)
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
		// The value comes from the certificate: quoted, it stays on its
		// comment line whatever it holds.
		c := label + "=" + strconv.Quote(value)
		in.unenforced = append(in.unenforced, c)
		if github && key != "" && kyvernoValue != "" {
			in.githubExtensions[key] = kyvernoValue
			return
		}
		in.unenforcedKyverno = append(in.unenforcedKyverno, c)
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

// check refuses a value that YAML cannot carry as it is: the YAML library
// turns U+0085 into a space and refuses the other C1 control characters,
// so the policy would hold another value than the certificate's (it
// escapes the rest). Extension values are checked only where they are
// written into the policy (Kyverno's).
func (in *policyInputs) check(extensions bool) error {
	values := [][2]string{
		{"certificate identity", in.subject}, {"certificate identity regexp", in.subjectRE},
		{"certificate OIDC issuer", in.issuer}, {"certificate OIDC issuer regexp", in.issuerRE},
		{"transparency log URL", in.rekorURL},
	}
	for _, repo := range in.repos {
		values = append(values, [2]string{"repository", repo})
	}
	if extensions {
		for _, k := range slices.Sorted(maps.Keys(in.githubExtensions)) {
			values = append(values, [2]string{"certificate extension " + k, in.githubExtensions[k]})
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
	if err := o.parse(); err != nil { // once for both policies
		return nil, err
	}
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
