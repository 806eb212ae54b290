// Command stack starts and stops the local Sigstore test stack.
//
//	cd e2e && go run ./cmd/stack up     # build tools (cached), start, write files
//	go run ./cmd/stack env              # print export lines of the running stack
//	go run ./cmd/stack down             # stop the recorded processes
//
// The state directory is $KEYLESS_STACK_DIR (default /tmp/keyless-stack) and
// the ports start at $KEYLESS_STACK_PORT_BASE (default 5400).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/e2e/stack"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: stack up|down|env [-dir DIR] [-tools DIR]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", stack.DefaultDir(), "state directory")
	tools := fs.String("tools", "", "up: use the binaries in this directory instead of running tools/build.sh")
	addr := fs.String("addr", "127.0.0.1:5401", "oidc-serve: listen address")
	key := fs.String("key", "", "oidc-serve: signing key file")
	token := fs.String("request-token", "", "oidc-serve: runner request token")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()

	switch args[0] {
	case "up":
		return up(ctx, *dir, *tools)
	case "down":
		if err := stack.Down(*dir); err != nil {
			return fmt.Errorf("stopping stack: %w", err)
		}
		fmt.Println("stack stopped")
		return nil
	case "env":
		s, err := stack.Load(*dir)
		if err != nil {
			return fmt.Errorf("%w (start it with: cd e2e && go run ./cmd/stack up)", err)
		}
		fmt.Print(s.Env())
		return nil
	case "oidc-serve":
		return stack.ServeOIDC(ctx, *addr, *key, *token)
	default:
		return fmt.Errorf("unknown command %q: want up, down or env", args[0])
	}
}

func up(ctx context.Context, dir, tools string) error {
	opts := stack.Options{Dir: dir, Tools: tools, Out: os.Stderr}
	if tools == "" {
		script, err := findBuildScript()
		if err != nil {
			return err
		}
		opts.BuildScript = script
	}
	res, err := stack.Up(ctx, opts)
	if err != nil {
		return err
	}
	s := res.Stack
	if res.AlreadyRunning {
		fmt.Fprintf(os.Stderr, "stack already running and healthy in %s (started %s)\n", s.Dir, s.Started.Format(time.RFC3339))
		fmt.Print(s.Env())
		return nil
	}
	w := os.Stderr
	fmt.Fprintf(w, "stack started in %s\n", s.Dir)
	for _, name := range []string{"tsa", "mariadb", "trillian-log-server", "trillian-log-signer", "rekor-v1", "oidc", "fulcio", "ct", "rekor-v2", "registry"} {
		fmt.Fprintf(w, "  %-20s pid %-7d log %s\n", name, s.Pids[name], filepath.Join(s.Dir, "logs", name+".log"))
	}
	fmt.Fprintf(w, "  registry   %s\n  oidc       %s\n  fulcio     %s (grpc %s)\n  ct         %s\n  rekor v2   %s\n  rekor v1   %s\n  tsa        %s\n",
		s.Registry, s.OIDCURL, s.FulcioURL, s.FulcioGRPC, s.CTURL, s.RekorURL, s.RekorV1URL, s.TSAURL)
	var times []string
	for _, t := range res.ServiceTimes {
		times = append(times, fmt.Sprintf("%s %.1fs", t.Name, t.Duration.Seconds()))
	}
	fmt.Fprintf(w, "build/check tools: %.1fs; start-up: %.1fs (%s)\n",
		res.BuildTime.Seconds(), res.StartTime.Seconds(), strings.Join(times, ", "))
	fmt.Fprintf(w, "env: source %s\n", filepath.Join(s.Dir, "env"))
	fmt.Print(s.Env())
	return nil
}

// findBuildScript locates e2e/tools/build.sh from the working directory.
func findBuildScript() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, rel := range []string{"tools/build.sh", "e2e/tools/build.sh"} {
			p := filepath.Join(d, rel)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", errors.New("e2e/tools/build.sh not found: run from the e2e directory")
		}
	}
}
