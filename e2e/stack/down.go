package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// stopOrder lists services dependants first.
var stopOrder = []string{
	"registry", "rekor-v2", "ct", "fulcio", "oidc", "rekor-v1",
	"trillian-log-signer", "trillian-log-server", "mariadb", "tsa",
}

func (s *Stack) savePids() error {
	b, err := json.MarshalIndent(s.Pids, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(s.Dir, "pids.json"), b)
}

// Down stops the processes recorded in dir (DefaultDir when empty) — and
// only those — and removes the records (pids.json, stack.json, env). The
// keys, databases and logs stay.
func Down(dir string) error {
	if dir == "" {
		dir = DefaultDir()
	}
	pids := map[string]int{}
	if b, err := os.ReadFile(filepath.Join(dir, "pids.json")); err == nil {
		_ = json.Unmarshal(b, &pids)
	}
	if s, err := Load(dir); err == nil {
		for k, v := range s.Pids {
			pids[k] = v
		}
	}
	var errs []error
	stopOne := func(name string) {
		if pid, ok := pids[name]; ok {
			if err := stop(dir, pid, 10*time.Second); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			delete(pids, name)
		}
	}
	for _, name := range stopOrder {
		stopOne(name)
	}
	for _, name := range slices.Sorted(maps.Keys(pids)) {
		stopOne(name)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, f := range []string{"pids.json", "stack.json", "env"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Healthy checks that every recorded process is alive and that the
// services answer.
func (s *Stack) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if len(s.Pids) == 0 {
		return errors.New("no processes recorded")
	}
	for _, name := range slices.Sorted(maps.Keys(s.Pids)) {
		if !owned(s.Dir, s.Pids[name]) {
			return fmt.Errorf("%s (pid %d) is not running", name, s.Pids[name])
		}
	}
	checks := map[string]string{
		"registry": "http://" + s.Registry + "/v2/",
		"oidc":     s.OIDCIssuerGitHub + "/.well-known/openid-configuration",
		"fulcio":   s.FulcioURL + "/healthz",
		"ct":       s.CTURL + "/healthz",
		"rekor-v2": s.RekorURL + "/healthz",
		"rekor-v1": s.RekorV1URL + "/api/v1/log",
		"tsa":      strings.TrimSuffix(s.TSAURL, "/api/v1/timestamp") + "/ping",
	}
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		if err := httpOK(checks[name])(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}
