// Command keyless signs container image digests with Sigstore keyless
// signing, verifies them, promotes them to another repository with their
// signatures and audits what admission would refuse, as a GitHub Action, a
// Tekton step, a GitLab CI job or a plain CLI. This is the only package that touches the process
// environment, flags, signals and the exit status.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/keyless-dev/keyless/internal/ci"
	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/report"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/trust"
)

// Exit statuses.
const (
	exitOK     = 0 // everything signed and verified
	exitFailed = 1 // a signature or verification failed
	exitInput  = 2 // bad input or configuration; nothing was signed
)

// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT sets one:
// near it the collector runs more often instead of letting the heap
// double, so that a run over 1000 images peaks under 100 MB.
const memoryLimit = 64 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: testable with any environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd, flagValue, rest, code := parseArgs(args, stdout, stderr)
	if cmd == "" {
		return code
	}
	p, err := ci.Detect(ci.Env{Getenv: getenv, Stdout: stdout, Stderr: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "keyless: %v\n", err)
		return exitInput
	}
	s := settings{get: func(name string) string {
		if v, ok := flagValue(name); ok {
			return strings.TrimSpace(v)
		}
		if v := p.Input(name); v != "" {
			return v
		}
		in, _ := lookup(cmd, name)
		return in.def
	}}
	// Mask every secret before anything can print it, and redact every
	// secret from all that keyless prints and writes.
	secrets := secret.New(p.Mask)
	secrets.Add(s.str("identity-token"), s.str("registry-password"), s.str("destination-registry-password"))
	secrets.Add(p.Secrets()...)
	out := output{Platform: p, secrets: secrets, stderr: secrets.Writer(stderr)}
	transport := secrets.Transport(nil)
	if err := errors.Join(unknownOptions(p), injected(cmd, flagValue, rest, p)); err != nil {
		return out.fail(err)
	}
	cfg, opts, err := buildConfig(cmd, s, rest, p, getenv, &http.Client{Timeout: 30 * time.Second, Transport: transport})
	addCredentials(secrets, cfg.Auth)
	addCredentials(secrets, cfg.Destination.Auth)
	if err == nil {
		err = ci.Preflight(p, opts.outputDir, opts.summary)
	}
	if err != nil {
		return out.fail(err)
	}
	cfg.Log = slog.New(slog.NewTextHandler(out.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg.Mask = func(v string) { secrets.Add(v) }
	cfg.Wrap = secrets.Transport
	return execute(ctx, cmd, out, cfg, opts)
}

// parseArgs splits the subcommand from its flags. It returns an empty
// command, and the exit status, when there is nothing more to do.
func parseArgs(args []string, stdout, stderr io.Writer) (cmd string, flagValue func(string) (string, bool), rest []string, code int) {
	cmd = "sign"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "sign", "verify", "promote", "audit":
	case "help":
		fmt.Fprint(stdout, "Usage: keyless sign|verify|promote [flags] [IMAGE...]\n       keyless audit [flags] (--repository REGISTRY/REPO [--tags GLOB] | --manifests FILE... | IMAGE...)\n\nRun keyless sign -h, keyless verify -h, keyless promote -h or keyless audit -h for the flags.\n")
		return "", nil, nil, exitOK
	case "version":
		fmt.Fprintln(stdout, "keyless", version)
		return "", nil, nil, exitOK
	default:
		fmt.Fprintf(stderr, "keyless: unknown command %q: use sign, verify, promote or audit\n", cmd)
		return "", nil, nil, exitInput
	}
	fs := flag.NewFlagSet("keyless "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	flagValue = flags(cmd, fs)
	fs.Usage = usage(stderr, cmd, fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", nil, nil, exitOK
		}
		return "", nil, nil, exitInput
	}
	return cmd, flagValue, fs.Args(), exitOK
}

// execute runs the job within the timeout, publishes what it did and
// returns the exit status.
func execute(ctx context.Context, cmd string, out output, cfg job.Config, opts options) int {
	if cmd == "audit" {
		return executeAudit(ctx, out, cfg, opts)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	end := out.section("keyless " + cmd + ": " + strings.Join(cfg.Images, ", "))
	var res *job.Result
	var err error
	switch cmd {
	case "sign":
		res, err = job.Sign(ctx, cfg)
	case "promote":
		res, err = job.Promote(ctx, cfg)
	default:
		res, err = job.Verify(ctx, cfg)
	}
	end()
	if err != nil {
		return out.fail(err)
	}
	r := report.New(res)
	details(out, r)
	if err := publish(out, r, res.TrustedRoot, cfg, opts); err != nil {
		fmt.Fprintf(out.stderr, "keyless: publishing results: %v\n", err)
		return exitFailed
	}
	if !r.OK() {
		for _, sub := range r.Subjects {
			if !sub.OK(!r.Unverified) {
				fmt.Fprintf(out.stderr, "keyless: %s: %s\n", sub.Digest, ci.OneLine(sub.Failure()))
			}
		}
		return exitFailed
	}
	cfg.Log.Info("done", "images", len(r.Subjects), "verified", r.Verified, "duration", r.Duration.Round(time.Millisecond))
	return exitOK
}

// details prints one collapsible log section per image: where each
// signature went, its log entry, and how it verified.
// Above maxDetailed images, only the failed ones get a section.
func details(out output, r *report.Run) {
	w := out.log()
	skipped := 0
	for _, s := range r.Subjects {
		if len(r.Subjects) > maxDetailed && s.OK(!r.Unverified) {
			skipped++
			continue
		}
		title := s.Digest
		if s.Platform != "" {
			title += " (" + s.Platform + ")"
		}
		end := out.section(title)
		for _, sig := range s.Signatures {
			how := "signed"
			if sig.Reused {
				how = "already signed"
			}
			fmt.Fprintf(w, "%s%s %s: %s, log entry %d\n", sig.Format, kind(sig.PredicateType), how, ci.OneLine(sig.Location), sig.LogIndex)
		}
		for _, v := range s.Verifications {
			if v.Verified {
				fmt.Fprintf(w, "%s%s verified: %s\n", v.Format, kind(v.PredicateType), ci.OneLine(v.Location))
			} else {
				fmt.Fprintf(w, "%s%s NOT verified: %s\n", v.Format, kind(v.PredicateType), ci.OneLine(strings.Join(v.Reasons, "; ")))
			}
		}
		if p := s.Promotion; p != nil {
			fmt.Fprintf(w, "promoted to %s: %s\n", ci.OneLine(p.Destination), report.CopiedText(p.Copied))
			for _, v := range p.Verifications {
				if v.Verified {
					fmt.Fprintf(w, "%s%s verified at the destination: %s\n", v.Format, kind(v.PredicateType), ci.OneLine(v.Location))
				} else {
					fmt.Fprintf(w, "%s%s NOT verified at the destination: %s\n", v.Format, kind(v.PredicateType), ci.OneLine(strings.Join(v.Reasons, "; ")))
				}
			}
			for _, v := range p.VSAs {
				how := "signed"
				if v.Reused {
					how = "already signed"
				}
				fmt.Fprintf(w, "%s verification summary %s: %s, log entry %d\n", v.Format, how, ci.OneLine(v.Location), v.LogIndex)
			}
		}
		if s.Error != "" {
			fmt.Fprintf(w, "error: %s\n", ci.OneLine(s.Error))
		}
		end()
	}
	if skipped > 0 {
		fmt.Fprintf(w, "%d more images passed; the report file lists each with its signatures\n", skipped)
	}
}

// maxDetailed is the most images that each get a log section.
const maxDetailed = 50

// version is set at build time with -ldflags "-X main.version=…".
var version = "devel"

// publish hands the run's outputs, report, summary and policies to the
// platform. tr is the private trusted root the run parsed, or nil.
func publish(out output, r *report.Run, tr *root.TrustedRoot, cfg job.Config, opts options) error {
	rep, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	a := ci.Artifacts{Report: rep, OutputDir: opts.outputDir, ChainsHints: opts.chainsHints, OK: r.OK()}
	for _, o := range r.Outputs() {
		a.Outputs = append(a.Outputs, [2]string{o.Name, o.Value})
	}
	for _, s := range r.Subjects {
		a.Images = append(a.Images, s.Digest)
		res := ci.Result{Image: s.Digest}
		if !s.OK(!r.Unverified && !r.DryRun) {
			res.Failure = s.Failure()
		}
		a.Results = append(a.Results, res)
		for _, sig := range s.Signatures {
			a.Annotations = append(a.Annotations, ci.Link{Label: fmt.Sprintf("%s %s log entry %d", s.Digest, sig.Format, sig.LogIndex), URL: report.EntryURL(sig.LogURL, sig.LogIndex)})
		}
		if p := s.Promotion; p != nil {
			for _, v := range p.VSAs {
				a.Annotations = append(a.Annotations, ci.Link{Label: fmt.Sprintf("%s %s verification summary, log entry %d", p.Destination, v.Format, v.LogIndex), URL: report.EntryURL(v.LogURL, v.LogIndex)})
			}
		}
	}
	policies, err := admissionPolicies(r, tr, cfg.Trust, opts.policies)
	if err != nil {
		return err
	}
	a.Files = map[string][]byte{}
	for _, pol := range policies {
		a.Files[pol.File] = pol.YAML
	}
	if opts.summary {
		var b strings.Builder
		so := report.SummaryOptions{TrustedRoot: cfg.Trust.TrustedRoot, Policies: policies}
		if t := cfg.Trust.TUF; t != nil {
			so.TUFMirror, so.TUFRoot = t.Mirror, opts.tufRoot
		}
		if err := r.Markdown(&b, so); err != nil {
			return err
		}
		a.Summary = b.String()
	}
	return out.publish(a)
}

// admissionPolicies builds the Kyverno and policy-controller policies for
// the identity that signed (or the policy verified), for a private Sigstore
// (when t names one) with its keys from tr, the trusted root the run
// parsed; o says how.
func admissionPolicies(r *report.Run, tr *root.TrustedRoot, t trust.Config, o policy.Options) ([]policy.Manifest, error) {
	if r.DryRun || !r.OK() {
		return nil, nil
	}
	if t.Private() {
		if tr == nil {
			return nil, errors.New("building the policies: the run carries no private trusted root")
		}
		o.TrustedRoot = tr
	}
	return policy.Manifests(r.PolicyInput(), o)
}

// kind names an attestation's predicate type in the log; "" for a
// signature.
func kind(predicateType string) string {
	if predicateType == "" {
		return ""
	}
	return " attestation " + ci.OneLine(predicateType)
}
