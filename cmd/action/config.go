package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/buildmeta"
	"github.com/keyless-dev/keyless/internal/ci"
	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// settings are the values of the inputs, after flags, platform inputs and
// defaults were merged.
type settings struct {
	get func(string) string
}

func (s settings) str(name string) string { return s.get(name) }

func (s settings) boolean(name string) (bool, error) {
	v := s.get(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &job.InputError{Input: name, Err: fmt.Errorf("%q is not a boolean: use true or false", v)}
	}
	return b, nil
}

// options are the run-level settings that are not part of job.Config.
type options struct {
	timeout     time.Duration
	summary     bool
	outputDir   string
	chainsHints bool
	// policies are how the admission policies are written.
	policies policy.Options
	// tufRoot is the tuf-root path, for the summary's cosign initialize.
	tufRoot string
	audit   job.AuditSource
}

// configSource is what a run's configuration comes from on a platform.
type configSource interface {
	ci.Inputs
	ci.Credentials
	ci.Builder
}

// builtImage is a platform that hands over the image a build step of the
// same pipeline pushed (Tekton's IMAGE_URL and IMAGE_DIGEST results).
type builtImage interface {
	BuiltImage() string
}

// buildConfig turns the inputs into a job.Config, checking each input.
func buildConfig(cmd string, s settings, args []string, p configSource, getenv func(string) string, client *http.Client) (job.Config, options, error) {
	var c job.Config
	var o options
	var err error
	if in, ok := foreignInput(cmd, p); ok {
		return c, o, &job.InputError{Input: in.name, Err: fmt.Errorf("applies to keyless %s only: remove it from this %s step", strings.Join(strings.Fields(in.only), " and "), cmd)}
	}
	c.Images = registry.SplitRefs(s.str("images"))
	for _, a := range args {
		c.Images = append(c.Images, registry.SplitRefs(a)...)
	}
	if b, ok := p.(builtImage); ok {
		if img := b.BuiltImage(); img != "" {
			c.Images = append(c.Images, img)
		}
	}
	built, err := buildmeta.Load(registry.SplitRefs(s.str("images-from")))
	if err != nil {
		return c, o, err
	}
	c.Images = append(c.Images, built...)
	if cmd == "audit" {
		if o.audit, err = auditSourceOf(s, c.Images); err != nil {
			return c, o, err
		}
	} else if len(c.Images) == 0 {
		return c, o, &job.InputError{Input: "images", Err: fmt.Errorf("no image given: list the pushed images (repository:tag or repository@sha256:…), or give images-from, the file the build tool wrote them to")}
	}
	if len(c.Images) > 0 {
		if _, err := registry.Parse(c.Images); err != nil {
			return c, o, &job.InputError{Input: "images", Err: err}
		}
	}
	if c.Recursive, err = s.boolean("recursive"); err != nil {
		return c, o, err
	}
	if f := s.str("signature-format"); cmd != "sign" && strings.EqualFold(f, "any") {
		c.Formats, c.AnyFormat = []sign.Format{sign.Bundle, sign.Legacy}, true
	} else if c.Formats, err = sign.ParseFormats(f); err != nil {
		return c, o, &job.InputError{Input: "signature-format", Err: err}
	}
	if o.summary, err = s.boolean("summary"); err != nil {
		return c, o, err
	}
	if o.timeout, err = time.ParseDuration(s.str("timeout")); err != nil || o.timeout <= 0 {
		return c, o, &job.InputError{Input: "timeout", Err: fmt.Errorf("%q is not a positive duration: use e.g. 10m or 90s", s.str("timeout"))}
	}
	if c.Concurrency, err = strconv.Atoi(s.str("concurrency")); err != nil || c.Concurrency < 1 {
		return c, o, &job.InputError{Input: "concurrency", Err: fmt.Errorf("%q is not a positive number: use e.g. %d", s.str("concurrency"), job.DefaultConcurrency)}
	}
	o.outputDir = s.str("output-dir")
	c.Policy = verify.Policy{
		Identity: s.str("certificate-identity"), IdentityRegexp: s.str("certificate-identity-regexp"),
		Issuer: s.str("certificate-oidc-issuer"), IssuerRegexp: s.str("certificate-oidc-issuer-regexp"),
		SourceRepository: s.str("source-repository"), SourceRef: s.str("source-ref"),
		WorkflowTrigger: s.str("workflow-trigger"), BuildSignerDigest: s.str("build-signer-digest"),
		RunnerEnvironment: s.str("runner-environment"),
	}
	c.Trust = trust.Config{
		TrustedRoot: s.str("trusted-root"), SigningConfig: s.str("signing-config"),
		FulcioURL: s.str("fulcio-url"), RekorURL: s.str("rekor-url"), TSAURL: s.str("tsa-url"),
	}
	if o.policies, err = policyOptions(s); err != nil {
		return c, o, err
	}
	if t := o.policies.TUF; t != nil {
		// The TUF repository the policies name is where the run reads its
		// trust material too, unless a trusted-root file pins it.
		c.Trust.TUF = &trust.TUF{Mirror: t.Mirror, Root: t.Root}
		o.tufRoot = s.str("tuf-root")
	}
	if err := c.Trust.Check(); err != nil {
		return c, o, err
	}
	if c.Auth, err = auth(s, p, append(slices.Clip(c.Images), auditScope(o.audit)...), getenv); err != nil {
		return c, o, err
	}
	if cmd != "sign" {
		if c.AttestationTypes, err = attestationTypes(s.str("attestation-type")); err != nil {
			return c, o, err
		}
		if err := c.Policy.Check(); err != nil || cmd != "promote" {
			return c, o, err
		}
		return promoteConfig(c, o, s, p, getenv, client)
	}
	if c.Verify, err = s.boolean("verify"); err != nil {
		return c, o, err
	}
	if c.DryRun, err = s.boolean("dry-run"); err != nil {
		return c, o, err
	}
	if o.chainsHints, err = s.boolean("chains-type-hints"); err != nil {
		return c, o, err
	}
	if c.Annotations, err = annotations(s.str("annotations")); err != nil {
		return c, o, err
	}
	if c.Attestations, err = attestations(s); err != nil {
		return c, o, err
	}
	provenance, err := s.boolean("provenance")
	if err != nil {
		return c, o, err
	}
	if provenance {
		c.Provenance = p
	}
	c.Token, err = tokenSource(s, p, client)
	return c, o, err
}

// policyOptions are how the admission policies are written: the kinds of
// Kyverno policy, the mode, and a private Sigstore's TUF repository, whose
// root is read now.
func policyOptions(s settings) (policy.Options, error) {
	var o policy.Options
	var err error
	if o.Kyverno, err = policy.ParseKyvernoKinds(s.str("kyverno-policy")); err != nil {
		return o, &job.InputError{Input: "kyverno-policy", Err: err}
	}
	if o.Mode, err = policy.ParseMode(s.str("policy-mode")); err != nil {
		return o, &job.InputError{Input: "policy-mode", Err: err}
	}
	mirror, rootPath := s.str("tuf-mirror"), s.str("tuf-root")
	switch {
	case mirror == "" && rootPath == "":
		return o, nil
	case rootPath == "":
		return o, &job.InputError{Input: "tuf-root", Err: fmt.Errorf("tuf-mirror %q has no root: give the path of the TUF repository's root.json too", mirror)}
	case mirror == "":
		return o, &job.InputError{Input: "tuf-mirror", Err: fmt.Errorf("tuf-root %s has no mirror: give the TUF repository's URL too", rootPath)}
	}
	if err := policy.CheckTUFMirror(mirror); err != nil {
		return o, &job.InputError{Input: "tuf-mirror", Err: err}
	}
	root, err := readSmall(rootPath, policy.MaxTUFRoot)
	if err != nil {
		return o, &job.InputError{Input: "tuf-root", Err: err}
	}
	if err := policy.CheckTUFRoot(root); err != nil {
		return o, &job.InputError{Input: "tuf-root", Err: fmt.Errorf("%s: %w", rootPath, err)}
	}
	o.TUF = &policy.TUF{Mirror: mirror, Root: root}
	return o, nil
}

// readSmall reads the file at path, refusing one over limit bytes.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes: give the TUF repository's root.json", path, limit)
	}
	return b, nil
}

// attestationTypes are the predicate types that the attestation-type input
// names, once each.
func attestationTypes(v string) ([]string, error) {
	var out []string
	for _, name := range registry.SplitRefs(v) {
		t, err := payload.AttestationType(name)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// attestations are the sbom input's SBOM and the predicate input's custom
// predicate, read and checked now: before anything is signed.
func attestations(s settings) ([]payload.Kind, error) {
	var kinds []payload.Kind
	if path := s.str("sbom"); path != "" {
		sbom, err := payload.SBOMFile(path)
		if err != nil {
			return nil, err
		}
		kinds = append(kinds, sbom)
	}
	typ, path := s.str("predicate-type"), s.str("predicate")
	switch {
	case typ == "" && path == "":
		return kinds, nil
	case path == "":
		return nil, &job.InputError{Input: "predicate", Err: fmt.Errorf("predicate-type %q has no predicate: give the path of the JSON predicate too", typ)}
	case typ == "":
		return nil, &job.InputError{Input: "predicate-type", Err: fmt.Errorf("predicate %s has no type: give its predicate type URI too", path)}
	}
	custom, err := payload.CustomFile(typ, path)
	if err != nil {
		return nil, err
	}
	return append(kinds, custom), nil
}

// foreignInput returns a set input that belongs to other commands only
// (say, certificate-identity-regexp in a sign step).
func foreignInput(cmd string, p ci.Inputs) (input, bool) {
	for _, in := range inputs {
		if _, ok := lookup(cmd, in.name); ok || in.applies(cmd) {
			continue
		}
		if p.Input(in.name) != "" {
			return in, true
		}
	}
	return input{}, false
}

// promoteConfig adds to c, a verify gate's configuration, what promote
// needs: the destination and its credentials and, with vsa, the token
// the verification summaries are signed with.
func promoteConfig(c job.Config, o options, s settings, p configSource, getenv func(string) string, client *http.Client) (job.Config, options, error) {
	var err error
	// job.Promote refuses a destination that is missing, or not a
	// repository, before anything is read.
	c.Destination.Repository = s.str("destination")
	c.Destination.Auth = registry.Auth{
		Username: s.str("destination-registry-username"), Password: s.str("destination-registry-password"),
		DockerConfig: s.str("destination-docker-config"),
		GitHubToken:  getenv("GITHUB_TOKEN"), GitHubActor: getenv("GITHUB_ACTOR"),
		DockerAuthConfig: getenv("DOCKER_AUTH_CONFIG"),
	}
	if (c.Destination.Auth.Username == "") != (c.Destination.Auth.Password == "") {
		return c, o, &job.InputError{Input: "destination-registry-username", Err: fmt.Errorf("give destination-registry-username and destination-registry-password together")}
	}
	if dst, err := name.NewRepository(c.Destination.Repository); err == nil {
		c.Destination.Auth.Registries = []string{dst.RegistryStr()}
	}
	if l, ok := p.RegistryLogin(); ok && c.Destination.Auth.Username == "" {
		c.Destination.Auth.Username, c.Destination.Auth.Password, c.Destination.Auth.Registries = l.Username, l.Password, l.Registries
	}
	if c.VSA, err = s.boolean("vsa"); err != nil || !c.VSA {
		return c, o, err
	}
	c.Version = version
	c.Token, err = tokenSource(s, p, client)
	return c, o, err
}

func annotations(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range registry.SplitRefs(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, &job.InputError{Input: "annotations", Err: fmt.Errorf("%q is not key=value", kv)}
		}
		k = strings.TrimSpace(k)
		for other := range out {
			if other != k && strings.EqualFold(other, k) {
				return nil, &job.InputError{Input: "annotations", Err: fmt.Errorf("keys %q and %q differ only in case, and verifiers refuse a statement that holds both: spell each key one way", other, k)}
			}
		}
		out[k] = strings.TrimSpace(v)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// auth is the registry credentials: the registry-username and
// registry-password inputs, else the platform's own login, and the logins
// every platform may give (GITHUB_TOKEN for ghcr.io, DOCKER_AUTH_CONFIG).
func auth(s settings, p ci.Credentials, images []string, getenv func(string) string) (registry.Auth, error) {
	a := registry.Auth{
		Username: s.str("registry-username"), Password: s.str("registry-password"),
		GitHubToken: getenv("GITHUB_TOKEN"), GitHubActor: getenv("GITHUB_ACTOR"),
		DockerAuthConfig: getenv("DOCKER_AUTH_CONFIG"),
	}
	if (a.Username == "") != (a.Password == "") {
		return a, &job.InputError{Input: "registry-username", Err: fmt.Errorf("give registry-username and registry-password together")}
	}
	if l, ok := p.RegistryLogin(); ok && a.Username == "" {
		a.Username, a.Password, a.Registries = l.Username, l.Password, l.Registries
		return a, nil
	}
	for _, img := range images {
		if r, err := name.ParseReference(img); err == nil {
			a.Registries = append(a.Registries, r.Context().RegistryStr())
		}
	}
	return a, nil
}

// tokenSource is the identity-token or identity-token-file input, else the
// platform's token.
func tokenSource(s settings, p ci.Credentials, client *http.Client) (job.TokenSource, error) {
	tok, file := s.str("identity-token"), s.str("identity-token-file")
	switch {
	case tok != "" && file != "":
		return nil, &job.InputError{Input: "identity-token", Err: fmt.Errorf("give identity-token or identity-token-file, not both")}
	case tok != "":
		return oidc.Static(tok), nil
	case file != "":
		return oidc.File(file), nil
	}
	src, err := p.TokenSource(client)
	if err != nil {
		return nil, err
	}
	return src, nil
}
