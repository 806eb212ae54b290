// Command demo runs the main job against the local Sigstore stack: it
// pushes a sample image, runs keyless exactly as a GitHub runner runs the
// action, prints the outputs and the job summary, and checks the signature
// with the real cosign v3 CLI.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/e2e/stack"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	s, err := stack.Load("")
	if err != nil {
		return fmt.Errorf("%w (start it with: scripts/stack up)", err)
	}
	work, err := os.MkdirTemp("", "keyless-demo")
	if err != nil {
		return err
	}
	bin, err := stack.Build(ctx, "./cmd/action", work)
	if err != nil {
		return err
	}
	img, err := s.PushRandomImage(ctx, "demo/app", time.Now().Format("20060102-150405"))
	if err != nil {
		return err
	}
	fmt.Printf("pushed %s\n\n$ keyless sign   # as the GitHub runner runs the action\n", img)
	env := s.GitHubActionEnv(work, map[string]string{
		"images": img, "signature-format": "both",
		"trusted-root": s.TrustedRoot, "signing-config": s.SigningConfigAll,
	})
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = work
	cmd.Env = []string{"HOME=" + work}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// The runner reads workflow commands from stdout and never shows a
	// masked value: do the same here.
	cmd.Stdout, cmd.Stderr = maskingWriter{}, os.Stderr
	runErr := cmd.Run()
	fmt.Println("\n--- outputs (GITHUB_OUTPUT)")
	printOutputs(env["GITHUB_OUTPUT"])
	summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	fmt.Printf("\n--- job summary (GITHUB_STEP_SUMMARY)\n%s\n", summary)
	if runErr != nil {
		return fmt.Errorf("keyless: %w", runErr)
	}
	fmt.Println("--- cosign v3 verify (independent check)")
	v := exec.CommandContext(ctx, s.CosignV3, "verify", "--trusted-root", s.TrustedRoot, "--allow-http-registry",
		"--certificate-identity", "https://github.com/keyless-dev/demo/.github/workflows/release.yml@refs/heads/main",
		"--certificate-oidc-issuer", s.Issuer("github"), img)
	v.Env = []string{"HOME=" + work}
	v.Stdout, v.Stderr = os.Stdout, os.Stderr
	return v.Run()
}

// maskingWriter prints ::add-mask:: commands as the runner logs them.
type maskingWriter struct{}

func (maskingWriter) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "::add-mask::") {
			lines[i] = "::add-mask::***\n"
		}
	}
	_, err := os.Stdout.WriteString(strings.Join(lines, ""))
	return len(p), err
}

func printOutputs(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		k, delim, _ := strings.Cut(sc.Text(), "<<")
		var val []string
		for sc.Scan() && sc.Text() != delim {
			val = append(val, sc.Text())
		}
		out[k] = strings.Join(val, "\n")
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		if k != "result" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("%s: %s\n", k, strings.ReplaceAll(out[k], "\n", "\n    "))
	}
}
