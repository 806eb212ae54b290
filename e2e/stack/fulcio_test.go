package stack

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"sigs.k8s.io/yaml"

	"github.com/keyless-dev/keyless/e2e/oidcissuer"
	"github.com/keyless-dev/keyless/internal/oidc"
)

// TestFulcioConfig: Fulcio trusts every kind of issuer the stack serves,
// Buildkite's and CircleCI's as public-good does, with their ci-provider
// templates.
func TestFulcioConfig(t *testing.T) {
	b, err := fulcioConfig("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if json.Valid(b) {
		t.Fatal("the config is JSON: Fulcio would read it with its JSON names, and find no issuer")
	}
	var cfg struct {
		Issuers map[string]map[string]string `json:"oidc-issuers"`
		Meta    map[string]any               `json:"ci-issuer-metadata"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{}
	for kind, typ := range map[string][]string{
		"github": {"github-workflow"}, "gitlab": {"gitlab-pipeline"}, "kubernetes": {"kubernetes"},
		"buildkite": {"ci-provider", "buildkite-job"}, "circleci": {"ci-provider", "circleci-job"},
	} {
		iss := "http://127.0.0.1:1/" + kind
		want[iss] = map[string]string{"issuer-url": iss, "client-id": "sigstore", "type": typ[0]}
		if len(typ) > 1 {
			want[iss]["ci-provider"] = typ[1]
		}
	}
	if diff := cmp.Diff(want, cfg.Issuers); diff != "" {
		t.Errorf("issuers mismatch (-want +got):\n%s", diff)
	}
	for _, p := range []string{"buildkite-job", "circleci-job"} {
		if cfg.Meta[p] == nil {
			t.Errorf("no ci-issuer-metadata for %s", p)
		}
	}
}

// fulcioVersion is the version of Fulcio that e2e/tools/tools.txt builds.
func fulcioVersion(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../tools/tools.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 4 && fields[2] == "github.com/sigstore/fulcio" {
			return fields[3]
		}
	}
	t.Fatal("tools.txt builds no Fulcio")
	return ""
}

// TestFulcioCIProviders: the stack's templates for Buildkite and CircleCI
// are, value for value, public-good's in the config/identity/config.yaml
// of the Fulcio the stack runs.
func TestFulcioCIProviders(t *testing.T) {
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/sigstore/fulcio@"+fulcioVersion(t)).Output()
	if err != nil {
		t.Fatalf("downloading Fulcio's module: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(mod.Dir, "config", "identity", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var public struct {
		Meta map[string]any `json:"ci-issuer-metadata"`
	}
	if err := yaml.Unmarshal(raw, &public); err != nil {
		t.Fatal(err)
	}
	var ours map[string]any
	if err := yaml.Unmarshal(ciProviders, &ours); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"buildkite-job": public.Meta["buildkite-job"], "circleci-job": public.Meta["circleci-job"]}
	if want["buildkite-job"] == nil || want["circleci-job"] == nil {
		t.Fatalf("public-good's config has no buildkite-job or circleci-job: %v", public.Meta)
	}
	if diff := cmp.Diff(want, ours); diff != "" {
		t.Errorf("the stack's ci-provider templates differ from public-good's (-want +got):\n%s", diff)
	}
}

// freePort is a TCP port nothing listens on, for a moment.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestFulcioCertifiesCIProviders runs the stack's Fulcio binary with the
// stack's configuration (on ports of its own, with no CT log, beside any
// running stack) and an issuer of the stack's kinds, and checks that the
// certificate it issues for each Buildkite and CircleCI token is exactly
// what keyless's oidc.Token.Certified says it will be: the mapping keyless
// checks its provenance against is Fulcio's.
func TestFulcioCertifiesCIProviders(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tools, err := buildTools(ctx, Options{BuildScript: "../tools/build.sh", Out: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	key, err := oidcissuer.LoadOrCreateKey(filepath.Join(t.TempDir(), "oidc.pem"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	defer srv.Close()
	issuer := oidcissuer.New(srv.URL, key, "request-token")
	srv.Config.Handler = issuer.Handler()

	dir := t.TempDir()
	cfg, err := fulcioConfig(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.CommandContext(ctx, filepath.Join(tools, "fulcio"), "serve", "--ca=ephemeralca",
		"--host=127.0.0.1", "--port="+strconv.Itoa(port), "--grpc-host=127.0.0.1", "--grpc-port="+strconv.Itoa(freePort(t)),
		"--metrics-port="+strconv.Itoa(freePort(t)), "--config-path="+filepath.Join(dir, "config.yaml"),
		"--ct-log-url=", "--legacy-unix-domain-socket="+filepath.Join(dir, "legacy.sock"), "--log_type=dev")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("Fulcio did not start:\n%s", log.String())
		}
	}

	fulcio := sign.NewFulcio(&sign.FulcioOptions{BaseURL: base, Timeout: 30 * time.Second})
	for _, tc := range []struct {
		name   string
		kind   oidcissuer.Kind
		claims map[string]any
	}{
		{"buildkite", oidcissuer.Buildkite, nil},
		{"buildkite tag build of number 1234567", oidcissuer.Buildkite, map[string]any{"build_number": 1234567, "build_tag": "v1.0", "build_branch": "v1.0", "build_source": "api"}},
		{"circleci", oidcissuer.CircleCI, nil},
		{"circleci SSH rerun", oidcissuer.CircleCI, map[string]any{"oidc.circleci.com/ssh-rerun": true}},
		{"circleci custom webhook", oidcissuer.CircleCI, map[string]any{"oidc.circleci.com/vcs-origin": nil, "oidc.circleci.com/vcs-ref": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := issuer.Mint(oidcissuer.MintRequest{Kind: tc.kind, Claims: tc.claims})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := oidc.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tok.Certified()
			if err != nil {
				t.Fatalf("keyless refuses the token: %v", err)
			}
			keypair, err := sign.NewEphemeralKeypair(nil)
			if err != nil {
				t.Fatal(err)
			}
			der, err := fulcio.GetCertificate(ctx, keypair, &sign.CertificateProviderOptions{IDToken: raw})
			if err != nil {
				t.Fatalf("Fulcio: %v\n%s", err, log.String())
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			got, err := certificate.SummarizeCertificate(cert)
			if err != nil {
				t.Fatal(err)
			}
			got.CertificateIssuer = ""
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("what keyless expects differs from Fulcio's certificate (-keyless +fulcio):\n%s", diff)
			}
		})
	}
}
