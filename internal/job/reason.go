package job

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/verify"
)

// Reason is why an audit says admission would refuse an image.
type Reason string

// The reasons an audited image fails.
const (
	// Unsigned: no signature is stored in any format.
	Unsigned Reason = "unsigned"
	// OtherIdentity: a signature is stored, by an identity (or issuer, or
	// with certificate extensions) the policy does not accept.
	OtherIdentity Reason = "identity"
	// Retention: a signature was lost: the format the gate requires is
	// missing while the other is stored, or what is stored names a
	// signature manifest or blob the registry no longer has.
	Retention Reason = "retention"
	// NoAttestation: the signature verifies, a required attestation does
	// not (missing, by another identity, or contradicting its certificate).
	NoAttestation Reason = "attestation"
	// TagReference: a manifest names the image by tag, not by digest.
	TagReference Reason = "tag"
	// InvalidSignature: a stored signature fails another check (its
	// certificate chain, log entry, timestamps, signature or digest).
	InvalidSignature Reason = "invalid"
	// Unreadable: the image or its signatures could not be read.
	Unreadable Reason = "error"
)

// Reasons are every reason, in the order reports count them.
var Reasons = []Reason{Unsigned, OtherIdentity, Retention, NoAttestation, TagReference, InvalidSignature, Unreadable}

// allFormats are the formats a signature can be stored in.
var allFormats = []sign.Format{sign.Bundle, sign.Legacy}

// classify says why a subject that failed the gate failed, from its
// verifications (the signature in the gate's formats, then each
// attestation type, as gate.verify made them). probe verifies the
// signature in a format the gate does not check, to tell a signature lost
// in one format from an image never signed.
func classify(gateFormats []sign.Format, vs []verify.Result, probe func(sign.Format) verify.Result) (Reason, string) {
	var sigs, atts []verify.Result
	for _, v := range vs {
		if v.PredicateType == "" {
			sigs = append(sigs, v)
		} else {
			atts = append(atts, v)
		}
	}
	if len(sigs) > 0 && !slices.ContainsFunc(sigs, failed) {
		for _, v := range atts {
			if failed(v) {
				return NoAttestation, fmt.Sprintf("no %s attestation verifies: %s", v.PredicateType, reasons(v))
			}
		}
	}
	var bad []verify.Result
	for _, v := range sigs {
		if failed(v) {
			bad = append(bad, v)
		}
	}
	detail := func(pick func(verify.Result) bool) string {
		var parts []string
		for _, v := range bad {
			if pick(v) {
				parts = append(parts, reasons(v))
			}
		}
		return strings.Join(parts, "; ")
	}
	for _, c := range []struct {
		cause  verify.Cause
		reason Reason
	}{{verify.Dangling, Retention}, {verify.OtherIdentity, OtherIdentity}, {verify.Invalid, InvalidSignature}, {verify.Unreadable, Unreadable}} {
		is := func(v verify.Result) bool { return causeOf(v) == c.cause }
		if slices.ContainsFunc(bad, is) {
			return c.reason, detail(is)
		}
	}
	// Every failed format holds nothing: is the signature stored in
	// another?
	for _, f := range allFormats {
		if slices.Contains(gateFormats, f) {
			continue
		}
		other := probe(f)
		switch other.Cause {
		case verify.Absent:
			continue
		case verify.OtherIdentity:
			return OtherIdentity, fmt.Sprintf("%s; the %s signature is by another identity: %s", detail(always), f, reasons(other))
		case verify.Unreadable:
			return Unreadable, fmt.Sprintf("%s; reading the %s signature: %s", detail(always), f, reasons(other))
		}
		return Retention, fmt.Sprintf("%s; a %s signature is stored: the other format's was deleted, or never written", detail(always), f)
	}
	for _, f := range gateFormats {
		if !slices.ContainsFunc(bad, func(v verify.Result) bool { return v.Format == f }) {
			return Retention, fmt.Sprintf("%s; a %s signature is stored: the other format's was deleted, or never written", detail(always), f)
		}
	}
	return Unsigned, detail(always)
}

func failed(v verify.Result) bool { return !v.Verified }

// causeOf is v's cause; a failure without one is invalid.
func causeOf(v verify.Result) verify.Cause {
	if v.Cause == "" && !v.Verified {
		return verify.Invalid
	}
	return v.Cause
}

func always(verify.Result) bool { return true }

// reasons is v's reasons on one line.
func reasons(v verify.Result) string {
	if len(v.Reasons) == 0 {
		return fmt.Sprintf("%s: not verified", v.Format)
	}
	return strings.Join(v.Reasons, "; ")
}
