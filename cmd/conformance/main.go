// Command conformance is keyless's client for the Sigstore conformance suite
// (github.com/sigstore/sigstore-conformance). It implements the suite's
// client CLI protocol (docs/cli_protocol.md there):
//
//	conformance sign-bundle [--staging] [--in-toto] --identity-token TOKEN --bundle FILE
//	    [--trusted-root FILE] [--signing-config FILE] FILE
//	conformance verify-bundle [--staging] --bundle FILE
//	    (--certificate-identity IDENTITY --certificate-oidc-issuer URL | --key PATH)
//	    [--trusted-root FILE] FILE_OR_DIGEST
//
// on the signing and verification code the keyless action uses
// (internal/sign, internal/verify, internal/trust). Without --trusted-root
// the trust material is the Sigstore public-good instance's, through TUF
// (cached under $TUF_ROOT when set). It exits 0 on success, 1 when signing
// or verification fails and 2 on bad arguments.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/sign"
	"github.com/keyless-dev/keyless/internal/trust"
	"github.com/keyless-dev/keyless/internal/verify"
)

// Exit statuses.
const (
	exitOK     = 0 // signed, or verified
	exitFailed = 1 // signing or verification failed
	exitUsage  = 2 // bad arguments; nothing was done
)

const usage = `Usage:
  conformance sign-bundle [--staging] [--in-toto] --identity-token TOKEN --bundle FILE [--trusted-root FILE] [--signing-config FILE] FILE
  conformance verify-bundle [--staging] --bundle FILE --certificate-identity IDENTITY --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST
  conformance verify-bundle [--staging] --bundle FILE --key PATH_TO_KEY [--trusted-root FILE] FILE_OR_DIGEST

FILE_OR_DIGEST is a path, or sha256:<64 hex digits> when no such file exists.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a bad command line: it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// run is main without the process: testable with any arguments and
// environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "sign-bundle":
		err = signBundle(ctx, rest, getenv, stdout, stderr)
	case "verify-bundle":
		err = verifyBundle(rest, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = usagef("unknown command %q: use sign-bundle or verify-bundle", cmd)
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "conformance: %v\n\n%s", err, usage)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "conformance: %v\n", err)
		return exitFailed
	}
}

// parse parses fs's flags and returns the one positional argument, which
// the protocol always gives last.
func parse(fs *flag.FlagSet, args []string, what string) (string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", err
		}
		return "", &usageError{err.Error()}
	}
	switch fs.NArg() {
	case 0:
		return "", usagef("%s: missing %s", fs.Name(), what)
	case 1:
		return fs.Arg(0), nil
	}
	return "", usagef("%s: want one %s after the flags, got %q", fs.Name(), what, fs.Args())
}

// trustConfig is the trust configuration for the given flags. --staging
// is only supported with explicit trust material: keyless has no TUF
// mirror of the staging instance.
func trustConfig(staging bool, trustedRoot, signingConfig string, signing bool, getenv func(string) string) (trust.Config, error) {
	if staging && (trustedRoot == "" || (signing && signingConfig == "")) {
		need := "--trusted-root"
		if signing {
			need = "--trusted-root and --signing-config"
		}
		return trust.Config{}, usagef("--staging is not supported: keyless has no TUF mirror of the Sigstore staging instance; give %s of the staging instance", need)
	}
	return trust.Config{TrustedRoot: trustedRoot, SigningConfig: signingConfig, TUFCache: getenv("TUF_ROOT")}, nil
}

func signBundle(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sign-bundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	staging := fs.Bool("staging", false, "use the Sigstore staging instance (needs --trusted-root and --signing-config)")
	inToto := fs.Bool("in-toto", false, "FILE is an in-toto statement: sign it as a DSSE envelope")
	token := fs.String("identity-token", "", "the OIDC identity token (required)")
	bundlePath := fs.String("bundle", "", "path to write the bundle to (required)")
	trustedRoot := fs.String("trusted-root", "", "path of a trusted_root.json (default: public-good via TUF)")
	signingConfig := fs.String("signing-config", "", "path of a signing_config.json (default: public-good via TUF)")
	file, err := parse(fs, args, "FILE to sign")
	if err != nil {
		return err
	}
	tok := strings.TrimSpace(*token)
	switch {
	case tok == "":
		return usagef("sign-bundle: --identity-token is required")
	case *bundlePath == "":
		return usagef("sign-bundle: --bundle is required")
	}
	tc, err := trustConfig(*staging, *trustedRoot, *signingConfig, true, getenv)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading artifact: %w", err)
	}
	material, err := trust.Load(tc, true)
	if err != nil {
		return fmt.Errorf("loading trust material: %w", err)
	}
	signer, err := sign.New(tok, material, []sign.Format{sign.Bundle})
	if err != nil {
		return fmt.Errorf("selecting services: %w", err)
	}
	var pb *protobundle.Bundle
	if *inToto {
		pb, err = signer.SignStatement(ctx, data)
	} else {
		pb, err = signer.SignBlob(ctx, data)
	}
	if err != nil {
		return err
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		return fmt.Errorf("encoding bundle: %w", err)
	}
	if err := os.WriteFile(*bundlePath, raw, 0o644); err != nil {
		return fmt.Errorf("writing bundle: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *bundlePath)
	return nil
}

func verifyBundle(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-bundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	staging := fs.Bool("staging", false, "use the Sigstore staging instance (needs --trusted-root)")
	bundlePath := fs.String("bundle", "", "path of the bundle to verify (required)")
	identity := fs.String("certificate-identity", "", "the exact identity (SAN) the certificate must show")
	issuer := fs.String("certificate-oidc-issuer", "", "the exact OIDC issuer the certificate must show")
	keyPath := fs.String("key", "", "path of a PEM public key the bundle must be signed with (instead of an identity)")
	trustedRoot := fs.String("trusted-root", "", "path of a trusted_root.json (default: public-good via TUF)")
	input, err := parse(fs, args, "FILE_OR_DIGEST to verify")
	if err != nil {
		return err
	}
	switch {
	case *bundlePath == "":
		return usagef("verify-bundle: --bundle is required")
	case *keyPath != "" && (*identity != "" || *issuer != ""):
		return usagef("verify-bundle: give --key or --certificate-identity and --certificate-oidc-issuer, not both")
	case *keyPath == "" && (*identity == "" || *issuer == ""):
		return usagef("verify-bundle: --certificate-identity and --certificate-oidc-issuer are required (or --key)")
	}
	tc, err := trustConfig(*staging, *trustedRoot, "", false, getenv)
	if err != nil {
		return err
	}
	b, err := bundle.LoadJSONFromPath(*bundlePath)
	if err != nil {
		return fmt.Errorf("reading bundle: %w", err)
	}
	material, err := trust.Load(tc, false)
	if err != nil {
		return fmt.Errorf("loading trust material: %w", err)
	}
	var v *verify.Verifier
	if *keyPath != "" {
		pemBytes, err := os.ReadFile(*keyPath)
		if err != nil {
			return fmt.Errorf("reading key: %w", err)
		}
		pub, err := verify.ParsePublicKey(pemBytes)
		if err != nil {
			return err
		}
		if v, err = verify.NewKey(material.Root, pub); err != nil {
			return err
		}
	} else {
		if v, err = verify.New(material.Root, verify.Policy{Identity: *identity, Issuer: *issuer}); err != nil {
			return err
		}
	}
	if digest, ok := parseDigest(input); ok {
		if _, err := v.VerifyBlobDigest(b, "sha256", digest); err != nil {
			return fmt.Errorf("verifying %s: %w", input, err)
		}
	} else {
		f, err := os.Open(input)
		if err != nil {
			return fmt.Errorf("reading artifact: %w", err)
		}
		defer f.Close()
		if _, err := v.VerifyBlob(b, f); err != nil {
			return fmt.Errorf("verifying %s: %w", input, err)
		}
	}
	fmt.Fprintf(stdout, "verified %s\n", input)
	return nil
}

// parseDigest reads FILE_OR_DIGEST as a digest when, as the protocol says,
// it starts with sha256:, has the length of a hex SHA-256 digest and is not
// a path on disk. Otherwise it is a path.
func parseDigest(s string) ([]byte, bool) {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return nil, false
	}
	d, err := hex.DecodeString(h)
	if err != nil {
		return nil, false
	}
	if _, err := os.Stat(s); err == nil {
		return nil, false
	}
	return d, true
}
