package stack

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/e2e/oidcissuer"
)

// upper carries the state of one Up.
type upper struct {
	opts  Options
	dir   string
	tools string
	stack *Stack

	mu           sync.Mutex // guards procs and Result.ServiceTimes
	procs        []*proc
	treeID       string
	requestToken string
	ctKey        logKey
	rekorV1Key   logKey
	rekorV2Key   logKey
	fulcioChain  []*x509.Certificate
	tsaChain     []*x509.Certificate
}

// Result reports what Up did.
type Result struct {
	Stack *Stack
	// AlreadyRunning is true when a healthy stack was found and left alone.
	AlreadyRunning bool
	BuildTime      time.Duration
	StartTime      time.Duration
	// ServiceTimes is the start-up time of each service, in start order.
	ServiceTimes []ServiceTime
}

// ServiceTime is how long one service took to become ready.
type ServiceTime struct {
	Name     string
	Duration time.Duration
}

// Up builds the tools if needed and starts the stack, unless a healthy one
// is already running in the state directory. On failure it stops whatever
// it started.
func Up(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if s, err := Load(dir); err == nil {
		if err := s.Healthy(ctx); err == nil {
			return &Result{Stack: s, AlreadyRunning: true}, nil
		}
		fmt.Fprintf(opts.Out, "stack in %s is not healthy; restarting it\n", dir)
		if err := Down(dir); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	u := &upper{opts: opts, dir: dir}
	res := &Result{}

	t0 := time.Now()
	if u.tools, err = buildTools(ctx, opts); err != nil {
		return nil, err
	}
	res.BuildTime = time.Since(t0)

	t1 := time.Now()
	if err := u.run(ctx, res); err != nil {
		for i := len(u.procs) - 1; i >= 0; i-- {
			_ = stop(dir, u.procs[i].cmd.Process.Pid, 5*time.Second)
		}
		return nil, err
	}
	res.StartTime = time.Since(t1)
	res.Stack = u.stack
	return res, nil
}

func (u *upper) run(ctx context.Context, res *Result) error {
	var err error
	keys := filepath.Join(u.dir, "keys")
	if u.ctKey, err = loadOrCreateKey(filepath.Join(keys, "ct.pem")); err != nil {
		return err
	}
	if u.rekorV1Key, err = loadOrCreateKey(filepath.Join(keys, "rekor-v1.pem")); err != nil {
		return err
	}
	if u.rekorV2Key, err = loadOrCreateKey(filepath.Join(keys, "rekor-v2.pem")); err != nil {
		return err
	}
	if u.requestToken, err = u.loadOrCreateRequestToken(filepath.Join(keys, "runner-request-token")); err != nil {
		return err
	}
	// Copy before any service starts: a file open for writing while another
	// goroutine forks makes exec fail with ETXTBSY.
	if err := copyFile(u.opts.Self, u.self()); err != nil {
		return fmt.Errorf("copying %s: %w", u.opts.Self, err)
	}
	pt := u.opts.Ports
	u.stack = &Stack{
		Dir:                      u.dir,
		Registry:                 addr(pt.Registry),
		FulcioURL:                url(pt.FulcioHTTP),
		FulcioGRPC:               addr(pt.FulcioGRPC),
		RekorURL:                 url(pt.RekorV2),
		RekorV1URL:               url(pt.RekorV1),
		TSAURL:                   url(pt.TSA) + "/api/v1/timestamp",
		CTURL:                    url(pt.CT),
		OIDCURL:                  url(pt.OIDC),
		OIDCIssuerGitHub:         oidcissuer.IssuerURL(url(pt.OIDC), oidcissuer.GitHub),
		OIDCIssuerGitLab:         oidcissuer.IssuerURL(url(pt.OIDC), oidcissuer.GitLab),
		OIDCIssuerKubernetes:     oidcissuer.IssuerURL(url(pt.OIDC), oidcissuer.Kubernetes),
		GitHubRunnerTokenURL:     url(pt.OIDC) + "/github-runner/token?api-version=2.0",
		GitHubRunnerRequestToken: u.requestToken,
		TrustedRoot:              filepath.Join(u.dir, "trusted_root.json"),
		SigningConfig:            filepath.Join(u.dir, "signing_config.json"),
		SigningConfigV1:          filepath.Join(u.dir, "signing_config_v1.json"),
		SigningConfigAll:         filepath.Join(u.dir, "signing_config_all.json"),
		CosignV2:                 filepath.Join(u.tools, "cosign-v2"),
		CosignV3:                 filepath.Join(u.tools, "cosign-v3"),
		Tools:                    u.tools,
		Pids:                     map[string]int{},
	}

	tsa := []step{{"tsa", u.startTSA}} // first: it needs :2112
	groups := [][]step{
		{{"mariadb", u.startMariaDB}, {"trillian", u.startTrillian}, {"rekor-v1", u.startRekorV1}},
		{{"oidc", u.startOIDC}, {"fulcio", u.startFulcio}, {"fulcio-chain", func(ctx context.Context) (err error) {
			u.fulcioChain, err = fetchFulcioChain(ctx, u.stack.FulcioURL)
			return err
		}}, {"ct", u.startCT}},
		{{"rekor-v2", u.startRekorV2}, {"registry", u.startRegistry}},
		{{"tsa-chain", func(ctx context.Context) (err error) {
			u.tsaChain, err = fetchTSAChain(ctx, url(pt.TSA))
			return err
		}}},
	}
	if err := u.steps(ctx, res, tsa); err != nil {
		return err
	}
	// The groups are independent of each other: start them in parallel.
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { errs[i] = u.steps(ctx, res, g) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, p := range u.procs {
		u.stack.Pids[p.name] = p.cmd.Process.Pid
	}
	if err := u.writeTrust(); err != nil {
		return err
	}
	u.stack.Started = time.Now().UTC()
	return u.stack.save()
}

// step is one start-up step.
type step struct {
	name string
	fn   func(context.Context) error
}

// steps runs steps in order, timing each.
func (u *upper) steps(ctx context.Context, res *Result, steps []step) error {
	for _, st := range steps {
		t := time.Now()
		sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		err := st.fn(sctx)
		cancel()
		if err != nil {
			return fmt.Errorf("starting %s: %w", st.name, err)
		}
		u.mu.Lock()
		res.ServiceTimes = append(res.ServiceTimes, ServiceTime{st.name, time.Since(t)})
		u.mu.Unlock()
	}
	return nil
}

// start launches a service and records it for cleanup and stack.json.
func (u *upper) start(name string, env []string, bin string, args ...string) (*proc, error) {
	p, err := start(u.dir, name, env, bin, args...)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.procs = append(u.procs, p)
	// Record pids as we go, so `down` can clean up after a failed `up`.
	pids := map[string]int{}
	for _, p := range u.procs {
		pids[p.name] = p.cmd.Process.Pid
	}
	_ = (&Stack{Dir: u.dir, Pids: pids}).savePids()
	return p, nil
}

func (u *upper) bin(name string) string { return filepath.Join(u.tools, name) }

func (u *upper) loadOrCreateRequestToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := "runner-" + hex.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return tok, os.WriteFile(path, []byte(tok+"\n"), 0o600)
}

// buildTools runs build.sh (cached by version) and returns the bin dir.
func buildTools(ctx context.Context, opts Options) (string, error) {
	if opts.Tools != "" {
		return filepath.Abs(opts.Tools)
	}
	if opts.BuildScript == "" {
		return "", errors.New("no tools dir and no build script given")
	}
	cmd := exec.CommandContext(ctx, "bash", opts.BuildScript)
	cmd.Stderr = opts.Out
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building tools: %w", err)
	}
	var last string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	if last == "" {
		return "", errors.New("build.sh printed no tools dir")
	}
	return filepath.Join(last, "bin"), nil
}
