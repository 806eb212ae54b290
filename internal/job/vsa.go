package job

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/internal/payload"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/retry"
	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// summarizer signs a promote run's verification summaries at the
// destination: one key and one certificate for the run, of the job's own
// identity.
type summarizer struct {
	signer  *sign.Signer
	formats []sign.Format
	// check finds a summary of the same verification that an earlier run
	// signed with this identity: a re-run signs none again.
	check   checker
	policy  json.RawMessage
	version string
	now     func() time.Time
}

// newSummarizer gets the token and the certificate, so that a token
// Fulcio refuses stops the run before anything is written, and records
// the identity the summaries are signed as in run. A summary is written
// in the formats the gate checks (bundle when any passes).
func newSummarizer(ctx context.Context, c Config, run *Result, material *trust.Material, dst name.Repository, dstOpts []remote.Option, kc authn.Keychain, subjects int) (*summarizer, error) {
	if c.Token == nil {
		return nil, &InputError{Input: "identity-token", Err: errors.New("a verification summary is signed with the job's own identity: give the job an identity token, or leave vsa false")}
	}
	tok, err := identityToken(ctx, c)
	if err != nil {
		return nil, err
	}
	if c.Trust.TrustedRoot == "" {
		if err := tok.CheckPublicGoodKubernetes(); err != nil {
			return nil, err
		}
	}
	formats := c.Formats
	if c.AnyFormat {
		formats = []sign.Format{sign.Bundle}
	}
	signer, err := sign.New(tok.Raw, material, formats, sign.WithRemote(dstOpts...), sign.WithBlobs(c.blobsWith(kc)),
		sign.WithTransport(retry.New(c.svc.sigstore, retry.WithBudget(ctx))), sign.WithLogTransport(c.svc.log), sign.WithClock(c.Now))
	if err != nil {
		return nil, err
	}
	cert, err := certificateOf(ctx, signer, tok.Issuer)
	if err != nil {
		return nil, err
	}
	id, _ := tok.Identity()
	run.VSAPolicy = verify.Policy{Identity: id.SAN, Issuer: id.Issuer}
	if run.VSACertificate = summarize(cert); run.VSACertificate != nil {
		run.VSAPolicy.Identity = cmp.Or(run.VSACertificate.SubjectAlternativeName, id.SAN)
		run.VSAPolicy.Issuer = cmp.Or(run.VSACertificate.Issuer, id.Issuer)
	}
	policy, err := gatePolicy(c)
	if err != nil {
		return nil, err
	}
	check, err := c.newChecker(material.Root, run.VSAPolicy, sameSummary(policy), dstOpts...)
	if err != nil {
		return nil, err
	}
	signer.ExpectWrites(min(subjects, c.Concurrency) * len(formats))
	return &summarizer{signer: signer, formats: formats, check: check, policy: policy, version: c.Version, now: c.Now}, nil
}

// summarize signs target's verification summary in each format, from
// the verifications at the destination; a summary an earlier run signed
// of the same verification is kept instead.
func (s *summarizer) summarize(ctx context.Context, target registry.Subject, verified []verify.Result) ([]sign.Signature, error) {
	k := payload.VSA{Version: s.version, Time: s.now(), Policy: s.policy, Inputs: inputs(verified), Levels: levels(verified)}
	var out []sign.Signature
	for _, f := range s.formats {
		if res, err := s.check.Verify(ctx, target, payload.Expected(payload.VSAType), f); err == nil && res.Verified {
			out = append(out, sign.Signature{Format: f, PredicateType: payload.VSAType, Location: res.Location, LogURL: res.LogURL, LogIndex: res.LogIndex, Reused: true})
			continue
		}
		sig, err := s.signer.Sign(ctx, target, k, f)
		if err != nil {
			return out, fmt.Errorf("signing the verification summary of %s: %w", target.Digest, err)
		}
		sig.Bundle = slim(sig.Bundle)
		out = append(out, *sig)
	}
	return out, nil
}

// sameSummary accepts a verification summary of the subject, by this
// run's policy, that passed.
func sameSummary(policy json.RawMessage) verify.Accept {
	want := payload.PolicyDigest(policy)
	return func(d name.Digest, _ string, predicate json.RawMessage) error {
		got, err := payload.ReadVSA(predicate)
		switch {
		case err != nil:
			return err
		case got.Result != "PASSED":
			return fmt.Errorf("the verification summary says %q", got.Result)
		case got.ResourceURI != payload.OCIPurl(d):
			return fmt.Errorf("the verification summary is of %s", got.ResourceURI)
		case got.PolicyDigest != want:
			return errors.New("the verification summary is of another policy")
		}
		return nil
	}
}

// inputs are the signatures and attestations that verified, once each.
func inputs(verified []verify.Result) []payload.VSAInput {
	var out []payload.VSAInput
	seen := map[payload.VSAInput]bool{}
	for _, v := range verified {
		in := payload.VSAInput{URI: v.Location, Digest: v.Digest}
		if v.Verified && v.Digest != "" && !seen[in] {
			seen[in] = true
			out = append(out, in)
		}
	}
	return out
}

// levels are the SLSA levels verified: build level 1 when SLSA provenance
// verified, else 0.
func levels(verified []verify.Result) []string {
	for _, v := range verified {
		if v.Verified && v.PredicateType == payload.ProvenanceType {
			return []string{payload.BuildLevel1}
		}
	}
	return []string{payload.BuildLevel0}
}

// gateRecord is the policy a verification summary records: what the
// gate required, and the trusted root it required it against.
type gateRecord struct {
	Identity         verify.Policy `json:"identity"`
	AttestationTypes []string      `json:"attestationTypes,omitempty"`
	SignatureFormat  string        `json:"signatureFormat"`
	TrustedRoot      string        `json:"trustedRoot"`
}

// gatePolicy is c's gate as JSON: the same gate, the same bytes, on
// every runner (a private trusted root by its digest, not its path).
func gatePolicy(c Config) (json.RawMessage, error) {
	r := gateRecord{Identity: c.Policy, AttestationTypes: c.AttestationTypes, TrustedRoot: "public-good"}
	var formats []string
	for _, f := range c.Formats {
		formats = append(formats, string(f))
	}
	r.SignatureFormat = strings.Join(formats, "+")
	if c.AnyFormat {
		r.SignatureFormat = "any"
	}
	if c.Trust.TrustedRoot != "" {
		b, err := os.ReadFile(c.Trust.TrustedRoot)
		if err != nil {
			return nil, &InputError{Input: "trusted-root", Err: err}
		}
		sum := sha256.Sum256(b)
		r.TrustedRoot = "sha256:" + hex.EncodeToString(sum[:])
	}
	return json.Marshal(r)
}
