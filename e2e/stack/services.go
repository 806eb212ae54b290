package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/e2e/oidcissuer"
)

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
func url(port int) string  { return "http://" + addr(port) }

// rekorV1Endpoints are Rekor v1's API endpoints minus searchIndex, which
// needs Redis.
const rekorV1Endpoints = "getLogInfo,getPublicKey,getLogProof,createLogEntry,getLogEntryByIndex,getLogEntryByUUID,searchLogQuery"

// startTSA starts the timestamp authority with a fresh in-memory signer. It
// must start first: it dies if :2112 (metrics, not movable) is taken, while
// Rekor v1 ignores that.
func (u *upper) startTSA(ctx context.Context) error {
	p := u.opts.Ports.TSA
	proc, err := u.start("tsa", nil, u.bin("timestamp-server"), "serve",
		"--host=127.0.0.1", "--port="+strconv.Itoa(p), "--scheme=http",
		"--timestamp-signer=memory", "--disable-ntp-monitoring", "--log-type=dev")
	if err != nil {
		return err
	}
	return proc.wait(ctx, httpOK(url(p)+"/ping"))
}

func (u *upper) startTrillian(ctx context.Context) error {
	pt := u.opts.Ports
	common := []string{"--storage_system=mysql", "--mysql_uri=" + u.mysqlURI(), "--quota_system=noop"}
	server, err := u.start("trillian-log-server", nil, u.bin("trillian_log_server"), append(common,
		"--rpc_endpoint="+addr(pt.TrillianRPC), "--http_endpoint="+addr(pt.TrillianHTTP))...)
	if err != nil {
		return err
	}
	signer, err := u.start("trillian-log-signer", nil, u.bin("trillian_log_signer"), append(common,
		"--rpc_endpoint="+addr(pt.SignerRPC), "--http_endpoint="+addr(pt.SignerHTTP),
		"--election_system=noop", "--force_master", "--sequencer_interval=100ms")...)
	if err != nil {
		return err
	}
	if err := server.wait(ctx, httpOK(url(pt.TrillianHTTP)+"/healthz")); err != nil {
		return err
	}
	if err := signer.wait(ctx, httpOK(url(pt.SignerHTTP)+"/healthz")); err != nil {
		return err
	}
	// The tree lives in the database, so its ID is kept next to it.
	idFile := filepath.Join(u.dir, "mariadb", "tree_id")
	if b, err := os.ReadFile(idFile); err == nil {
		u.treeID = strings.TrimSpace(string(b))
		return nil
	}
	out, err := exec.CommandContext(ctx, u.bin("createtree"), "--admin_server="+addr(pt.TrillianRPC),
		"--display_name=rekor-v1", "--max_root_duration=0").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return fmt.Errorf("creating trillian tree: %w", err)
	}
	u.treeID = strings.TrimSpace(string(out))
	if _, err := strconv.ParseInt(u.treeID, 10, 64); err != nil {
		return fmt.Errorf("createtree printed %q", u.treeID)
	}
	return os.WriteFile(idFile, []byte(u.treeID+"\n"), 0o644)
}

func (u *upper) startRekorV1(ctx context.Context) error {
	pt := u.opts.Ports
	p, err := u.start("rekor-v1", nil, u.bin("rekor-server"), "serve",
		"--trillian_log_server.address=127.0.0.1",
		"--trillian_log_server.port="+strconv.Itoa(pt.TrillianRPC),
		"--trillian_log_server.tlog_id="+u.treeID,
		"--rekor_server.address=127.0.0.1",
		"--rekor_server.hostname=127.0.0.1",
		"--port="+strconv.Itoa(pt.RekorV1),
		"--rekor_server.signer="+u.rekorV1Key.path,
		"--enable_retrieve_api=false",
		"--enabled_api_endpoints="+rekorV1Endpoints,
		"--log_type=dev")
	if err != nil {
		return err
	}
	return p.wait(ctx, httpOK(url(pt.RekorV1)+"/api/v1/log"))
}

// startOIDC runs the issuer from the copy of Self made by run, so it
// survives `go run` deleting its temporary binary.
func (u *upper) startOIDC(ctx context.Context) error {
	p, err := u.start("oidc", nil, u.self(), "oidc-serve",
		"--addr="+addr(u.opts.Ports.OIDC),
		"--key="+filepath.Join(u.dir, "keys", "oidc.pem"),
		"--request-token="+u.requestToken)
	if err != nil {
		return err
	}
	return p.wait(ctx, httpOK(oidcissuer.IssuerURL(url(u.opts.Ports.OIDC), oidcissuer.GitHub)+"/.well-known/openid-configuration"))
}

func (u *upper) startFulcio(ctx context.Context) error {
	pt := u.opts.Ports
	cfg, err := fulcioConfig(url(pt.OIDC))
	if err != nil {
		return err
	}
	dir := filepath.Join(u.dir, "fulcio")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// YAML, as public-good's: Fulcio reads a file that is not JSON as YAML.
	cfgPath := filepath.Join(dir, "config.yaml")
	ctPub := filepath.Join(dir, "ct-pub.pem")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(ctPub, u.ctKey.pubPEM(), 0o644); err != nil {
		return err
	}
	// A socket left by an earlier run makes fulcio fail to bind.
	sock := filepath.Join(dir, "legacy.sock")
	_ = os.Remove(sock)
	p, err := u.start("fulcio", nil, u.bin("fulcio"), "serve",
		"--ca=ephemeralca",
		"--host=127.0.0.1", "--port="+strconv.Itoa(pt.FulcioHTTP),
		"--grpc-host=127.0.0.1", "--grpc-port="+strconv.Itoa(pt.FulcioGRPC),
		"--metrics-port="+strconv.Itoa(pt.FulcioMetrics),
		"--config-path="+cfgPath,
		"--ct-log-url="+url(pt.CT),
		"--ct-log-public-key-path="+ctPub,
		"--legacy-unix-domain-socket="+sock,
		"--log_type=dev")
	if err != nil {
		return err
	}
	return p.wait(ctx, httpOK(url(pt.FulcioHTTP)+"/healthz"))
}

// startCT starts TesseraCT accepting chains to Fulcio's (fresh) root.
func (u *upper) startCT(ctx context.Context) error {
	dir := filepath.Join(u.dir, "ct")
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return err
	}
	roots := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(roots, pemCerts(u.fulcioChain[len(u.fulcioChain)-1:]), 0o644); err != nil {
		return err
	}
	// TesseraCT always pushes OTLP metrics; point them nowhere, rarely.
	env := []string{
		"OTEL_METRIC_EXPORT_INTERVAL=86400000",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://127.0.0.1:9/v1/metrics",
		"OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
	}
	p, err := u.start("ct", env, u.bin("tesseract"),
		"--private_key="+u.ctKey.path,
		"--origin=keyless-e2e-ct", // must parse as a URL path: no port
		"--storage_dir="+filepath.Join(dir, "storage"),
		"--roots_pem_file="+roots,
		"--http_endpoint="+addr(u.opts.Ports.CT),
		"--checkpoint_interval=500ms")
	if err != nil {
		return err
	}
	return p.wait(ctx, httpOK(url(u.opts.Ports.CT)+"/healthz"))
}

func (u *upper) startRekorV2(ctx context.Context) error {
	pt := u.opts.Ports
	storage := filepath.Join(u.dir, "rekor-v2", "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return err
	}
	// A write answers once a published checkpoint covers its entry, and
	// rekor-tiles looks for a new checkpoint once a second (its publication
	// awaiter's poll period is fixed at 1 s), so no interval makes a write
	// take under about 1 s. 1 s is already shorter than upstream's own
	// compose files (2 s), tessera's default (10 s) and the GCP backend's
	// minimum (1.2 s); tessera's POSIX backend would allow 100 ms. Measured
	// with e2e/cmd/probe (2026-12-01, loaded machine), one write at a time:
	// 1 s → p50 1.0 s, p90 2.0 s (the two 1 s clocks beat); 200 ms → 1.0 s
	// always; 2 s → 3.0 s. A shorter interval would cut up to a second off
	// the bench's bundle figures with a setting no public log uses, so the
	// stack keeps 1 s.
	p, err := u.start("rekor-v2", nil, u.bin("rekor-tiles"), "serve",
		"--storage-dir="+storage,
		"--signer-filepath="+u.rekorV2Key.path,
		// The checkpoint origin: sigstore-go wants the Rekor URL's host.
		"--hostname=127.0.0.1",
		"--http-address=127.0.0.1", "--http-port="+strconv.Itoa(pt.RekorV2),
		"--grpc-address=127.0.0.1", "--grpc-port="+strconv.Itoa(pt.RekorV2GRPC),
		"--http-metrics-port="+strconv.Itoa(pt.RekorV2Metrics),
		"--checkpoint-interval=1s",
		"--batch-max-age=100ms")
	if err != nil {
		return err
	}
	return p.wait(ctx, httpOK(url(pt.RekorV2)+"/healthz"))
}

func (u *upper) startRegistry(ctx context.Context) error {
	p := u.opts.Ports.Registry
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: info
storage:
  inmemory: {}
  delete:
    enabled: true
http:
  addr: %s
`, addr(p))
	path := filepath.Join(u.dir, "registry.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	proc, err := u.start("registry", []string{"OTEL_TRACES_EXPORTER=none"}, u.bin("registry"), "serve", path)
	if err != nil {
		return err
	}
	return proc.wait(ctx, httpOK(url(p)+"/v2/"))
}

func (u *upper) self() string { return filepath.Join(u.dir, "bin", "keyless-stack") }

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
