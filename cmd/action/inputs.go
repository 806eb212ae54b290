package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/internal/job"
)

// input is one input of keyless: a GitHub input, a Tekton param, a GitLab
// component input, a KEYLESS_* variable and a CLI flag, all of one name.
type input struct {
	name, def, usage string
	// only limits the input to some subcommands: "sign", "verify",
	// "promote", "audit", or several separated by spaces ("verify
	// promote audit").
	only string
	// policy marks an input that decides what is signed or what a
	// verification accepts: given as an argument, it may not also arrive,
	// with another value, as the platform's input variable.
	policy bool
	// repeat marks a flag that may be given more than once: its values
	// are joined, one a line.
	repeat bool
}

// inputs is the one list of inputs; action.yml, verify/action.yml,
// promote/action.yml, the Tekton Tasks and the GitLab components mirror it
// (tests check).
var inputs = []input{
	{name: "images", usage: "image references, newline- or comma-separated (also positional arguments); tags are resolved to digests once", policy: true},
	{name: "images-from", usage: "a `FILE` a build tool wrote the pushed images' digests to (repeat the flag, or separate files by newlines or commas): docker buildx --metadata-file or build-push-action's metadata, ko --image-refs, kaniko --image-name-with-digest-file, a Tekton results directory or TaskRun JSON, one repository@digest a line; NAME=FILE for a file holding a bare digest (kaniko --digest-file, buildah or podman --digestfile). The file's digest is signed; its tags are only names", policy: true, repeat: true},
	{name: "recursive", def: "false", usage: "for an image index, also sign/verify every platform manifest", policy: true},
	{name: "signature-format", def: "bundle", usage: "bundle (Sigstore bundle as OCI referrer; cosign v3), legacy (cosign .sig tag; cosign v2, Kyverno, policy-controller; needs Rekor v1) or both", only: "sign", policy: true},
	{name: "signature-format", def: "any", usage: "which signatures must verify: any (a valid bundle or legacy signature), bundle, legacy or both; promote: at the source and the destination, and the formats of the verification summaries (bundle for any)", only: "verify promote audit", policy: true},
	{name: "verify", def: "true", usage: "read the signatures back from the registry and verify them", only: "sign", policy: true},
	{name: "certificate-identity", usage: "expected certificate identity (SAN); sign: overrides the identity derived from the token", policy: true},
	{name: "certificate-identity-regexp", usage: "anchored regular expression for the certificate identity", only: "verify promote audit", policy: true},
	{name: "certificate-oidc-issuer", usage: "expected OIDC issuer; sign: overrides the token's issuer", policy: true},
	{name: "certificate-oidc-issuer-regexp", usage: "anchored regular expression for the OIDC issuer", only: "verify promote audit", policy: true},
	{name: "source-repository", usage: "required source repository URI certificate extension", only: "verify promote audit", policy: true},
	{name: "source-ref", usage: "required source repository ref certificate extension (e.g. refs/heads/main)", only: "verify promote audit", policy: true},
	{name: "workflow-trigger", usage: "required build trigger certificate extension (e.g. push)", only: "verify promote audit", policy: true},
	{name: "build-signer-digest", usage: "required build signer digest certificate extension", only: "verify promote audit", policy: true},
	{name: "attestation-type", usage: "also require, per format, an attestation of this predicate type by the same identity, its predicate checked against the certificate: slsaprovenance1, spdxjson, cyclonedx, … or a predicate type URI (newline- or comma-separated for several)", only: "verify promote audit", policy: true},
	{name: "runner-environment", usage: "required runner environment certificate extension (github-hosted refuses self-hosted runners)", only: "verify promote audit", policy: true},
	{name: "trusted-root", usage: "path of a trusted_root.json for a private Sigstore (default: public-good via TUF)", policy: true},
	{name: "signing-config", usage: "path of a signing_config.json (Fulcio, Rekor, TSA URLs)", only: "sign promote", policy: true},
	{name: "fulcio-url", usage: "Fulcio URL of a private Sigstore", only: "sign promote", policy: true},
	{name: "rekor-url", usage: "Rekor v1 URL of a private Sigstore", only: "sign promote", policy: true},
	{name: "tsa-url", usage: "RFC 3161 timestamp authority URL (full path)", only: "sign promote", policy: true},
	{name: "kyverno-policy", def: "image-validating", usage: "which Kyverno policy to write: image-validating (ImageValidatingPolicy, Kyverno 1.17+), cluster-policy (ClusterPolicy with verifyImages, older Kyverno) or both", only: "sign verify promote", policy: true},
	{name: "policy-mode", def: "enforce", usage: "what the written admission policies do with an image that does not verify: enforce (refuse it) or audit (admit it and report it)", only: "sign verify promote", policy: true},
	{name: "tuf-mirror", usage: "URL of the private Sigstore's TUF repository (as cosign initialize --mirror takes it), written into the Kyverno ImageValidatingPolicy; with tuf-root. Without trusted-root, keyless reads its own trust material from it too", policy: true},
	{name: "tuf-root", usage: "path of that TUF repository's root.json (as cosign initialize --root takes it), inlined into the Kyverno ImageValidatingPolicy", policy: true},
	{name: "registry-username", usage: "registry username (with registry-password); promote: of the source"},
	{name: "registry-password", usage: "registry password or token (masked); promote: of the source"},
	{name: "destination", usage: "the repository to promote to, REGISTRY/REPOSITORY (no tag or digest): another repository or another registry; the digest stays the source's", only: "promote", policy: true},
	{name: "destination-registry-username", usage: "username for the destination registry (with destination-registry-password)", only: "promote"},
	{name: "destination-registry-password", usage: "password or token for the destination registry, which needs write access (masked)", only: "promote"},
	{name: "destination-docker-config", usage: "a `DIR` holding a Docker config.json with the destination registry's credentials (Tekton: the destination-dockerconfig workspace)", only: "promote"},
	{name: "vsa", def: "false", usage: "also sign a SLSA verification summary (https://slsa.dev/verification_summary/v1) of each promoted digest with the job's own identity, stored at the destination", only: "promote", policy: true},
	{name: "identity-token", usage: "OIDC identity token with audience sigstore (masked); default: the platform's", only: "sign promote", policy: true},
	{name: "identity-token-file", usage: "file holding the OIDC identity token (re-read, for rotated Kubernetes tokens)", only: "sign promote", policy: true},
	{name: "annotations", usage: "key=value pairs, newline- or comma-separated, signed into every signature", only: "sign", policy: true},
	{name: "provenance", def: "false", usage: "also attest SLSA v1 provenance of this build, from the platform's own facts, for every signed digest", only: "sign", policy: true},
	{name: "sbom", usage: "path of an SPDX 2.x JSON or CycloneDX JSON SBOM to attest for every signed digest (at most 16 MB)", only: "sign", policy: true},
	{name: "predicate-type", usage: "predicate type URI of a custom attestation (with predicate)", only: "sign", policy: true},
	{name: "predicate", usage: "path of a JSON predicate to attest for every signed digest (with predicate-type; at most 16 MB)", only: "sign", policy: true},
	{name: "summary", def: "true", usage: "write the job summary"},
	{name: "dry-run", def: "false", usage: "resolve images, check push access and print the plan; sign nothing", only: "sign", policy: true},
	{name: "timeout", def: "10m", usage: "time budget for the whole run"},
	{name: "concurrency", def: strconv.Itoa(job.DefaultConcurrency), usage: "how many images are worked on at once; registry requests have their own, lower bound, and a service answering 429 gets fewer"},
	{name: "output-dir", usage: "directory for report.json and summary.md (GitLab default: keyless)"},
	{name: "chains-type-hints", def: "false", usage: "Tekton: also write the IMAGES result, so Tekton Chains picks the images up", only: "sign"},
	{name: "repository", usage: "audit every tag of this `REGISTRY/REPOSITORY` (no tag), but cosign's signature, attestation, SBOM and referrers tags", only: "audit", policy: true},
	{name: "tags", usage: "with repository, audit only the tags matching this glob (path.Match: *, ?, [a-z]; e.g. v*)", only: "audit", policy: true},
	{name: "manifests", usage: "a Kubernetes manifests `FILE` (repeat the flag, or separate files by newlines or commas) whose images are audited: the containers, initContainers and ephemeralContainers of Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and Lists, in multi-document YAML; an image named by tag fails", only: "audit", policy: true, repeat: true},
}

// flags registers the inputs of cmd as string flags and returns a lookup
// that yields a flag's value only when it was set on the command line.
func flags(cmd string, fs *flag.FlagSet) func(string) (string, bool) {
	vals := map[string]func() string{}
	for _, in := range inputs {
		if !in.applies(cmd) {
			continue
		}
		usage := in.usage
		if in.def != "" {
			usage += fmt.Sprintf(" (default %s)", in.def)
		}
		if in.repeat {
			l := new(lines)
			fs.Var(l, in.name, usage)
			vals[in.name] = l.String
			continue
		}
		v := fs.String(in.name, "", usage)
		vals[in.name] = func() string { return *v }
	}
	return func(name string) (string, bool) {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
		if !set {
			return "", false
		}
		return vals[name](), true
	}
}

// lines is a repeatable flag: its values, one a line.
type lines []string

func (l *lines) String() string     { return strings.Join(*l, "\n") }
func (l *lines) Set(v string) error { *l = append(*l, v); return nil }

func usage(w io.Writer, cmd string, fs *flag.FlagSet) func() {
	return func() {
		switch cmd {
		case "sign":
			fmt.Fprintf(w, "Usage: keyless sign [flags] [IMAGE...]\n\n")
			fmt.Fprint(w, "Signs image digests with Sigstore keyless signing, stores the signatures in\nthe registry, reads them back and verifies them.\n\n")
		case "promote":
			fmt.Fprintf(w, "Usage: keyless promote --destination REGISTRY/REPOSITORY [flags] [IMAGE...]\n\n")
			fmt.Fprint(w, "Verifies image digests against an identity policy, copies each with every\nsignature, attestation and SBOM to the destination, verifies it again there,\nand (vsa) signs a SLSA verification summary of it. Nothing is copied unless\nevery image verifies.\n\n")
		case "audit":
			fmt.Fprint(w, "Usage: keyless audit [flags] (--repository REGISTRY/REPO [--tags GLOB] | --manifests FILE... | IMAGE...)\n\n"+
				"Verifies every tag of a repository, the images of Kubernetes manifests, or\nthe images given, against the verify gate's policy, and reports which ones\nadmission would refuse, and why.\n\n")
		default:
			fmt.Fprintf(w, "Usage: keyless verify [flags] [IMAGE...]\n\n")
			fmt.Fprint(w, "Verifies the signatures of image digests against an identity policy.\n\n")
		}
		fmt.Fprint(w, "Every flag is also read from KEYLESS_<NAME> (GitHub: INPUT_<NAME>).\n\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// lookup returns cmd's input called name, and whether cmd has one.
func lookup(cmd, name string) (input, bool) {
	for _, in := range inputs {
		if in.name == name && in.applies(cmd) {
			return in, true
		}
	}
	return input{}, false
}

// applies reports whether in is an input of cmd.
func (in input) applies(cmd string) bool {
	return in.only == "" || slices.Contains(strings.Fields(in.only), cmd)
}
