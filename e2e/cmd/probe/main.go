// Command probe measures one service of the local Sigstore stack at a
// time: how many writes a second it accepts from c concurrent clients, how
// long each waits, and the CPU time each stack process spent meanwhile.
// It tells where a keyless run's time goes without running keyless.
//
//	cd e2e && go run ./cmd/probe -service rekor-v1 -n 300 -c 32
//
// Services: rekor-v1 (hashedrekord entries), rekor-v2 (hashedrekord v0.0.2
// entries), tsa (timestamps), fulcio (certificates, each for a fresh key,
// each logged to the CT log), registry (push a small random image, read
// its manifest back: about 10 requests; -url is then host:port). Each entry signs a fresh random digest with
// an ephemeral key. This is a measurement, never a test.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/keyless-dev/keyless/e2e/stack"
)

func main() {
	service := flag.String("service", "rekor-v1", "rekor-v1, rekor-v2, tsa, fulcio or registry")
	n := flag.Int("n", 200, "number of writes")
	c := flag.Int("c", 32, "concurrent clients")
	url := flag.String("url", "", "the service's URL, when not the stack's (e.g. a second instance with other flags)")
	flag.Parse()
	if err := run(context.Background(), *service, *url, *n, *c); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, service, url string, n, c int) error {
	s, err := stack.Running(ctx, "")
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	w := &writer{key: key, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxIdleConns: c}}}
	var write func(context.Context) error
	switch service {
	case "rekor-v1":
		write = func(ctx context.Context) error { return w.rekorV1(ctx, cmp.Or(url, s.RekorV1URL)) }
	case "rekor-v2":
		write = func(ctx context.Context) error { return w.rekorV2(ctx, cmp.Or(url, s.RekorURL)) }
	case "registry":
		host := cmp.Or(url, s.Registry)
		write = func(ctx context.Context) error { return pushPull(ctx, host) }
	case "fulcio":
		tok, err := s.Mint(ctx, "github")
		if err != nil {
			return err
		}
		write = func(ctx context.Context) error { return w.fulcio(ctx, cmp.Or(url, s.FulcioURL), tok) }
	case "tsa":
		write = func(ctx context.Context) error { return w.tsa(ctx, cmp.Or(url, s.TSAURL)) }
	default:
		return fmt.Errorf("-service: unknown service %q: use rekor-v1, rekor-v2, tsa, fulcio or registry", service)
	}
	before := s.CPU()
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	sem := make(chan struct{}, max(c, 1))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t := time.Now()
			errs[i] = write(ctx)
			lat[i] = time.Since(t)
		})
	}
	wg.Wait()
	wall := time.Since(start)
	used := s.CPU().Since(before)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(int(p*float64(n)), n-1)].Round(time.Millisecond) }
	fmt.Printf("%s: %d writes, %d at a time: %.2f s, %.1f/s; latency p50 %s p90 %s max %s\n%s\n",
		service, n, c, wall.Seconds(), float64(n)/wall.Seconds(), q(0.5), q(0.9), q(1), used)
	return nil
}

// writer signs fresh random digests with one ephemeral key.
type writer struct {
	key    *ecdsa.PrivateKey
	client *http.Client
}

// signed returns a fresh random digest and its signature.
func (w *writer) signed() (digest, sig []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, nil, err
	}
	d := sha256.Sum256(b)
	sig, err = ecdsa.SignASN1(rand.Reader, w.key, d[:])
	return d[:], sig, err
}

func (w *writer) rekorV1(ctx context.Context, base string) error {
	d, sig, err := w.signed()
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(&w.key.PublicKey)
	if err != nil {
		return err
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	body := map[string]any{"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": map[string]any{
		"signature": map[string]any{"content": sig, "publicKey": map[string]any{"content": pub}},
		"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(d)}},
	}}
	return w.post(ctx, base+"/api/v1/log/entries", "application/json", body, http.StatusCreated)
}

func (w *writer) rekorV2(ctx context.Context, base string) error {
	d, sig, err := w.signed()
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(&w.key.PublicKey)
	if err != nil {
		return err
	}
	body := map[string]any{"hashedRekordRequestV002": map[string]any{
		"digest": d,
		"signature": map[string]any{"content": sig, "verifier": map[string]any{
			"publicKey": map[string]any{"rawBytes": der}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}},
	}}
	return w.post(ctx, strings.TrimSuffix(base, "/")+"/api/v2/log/entries", "application/json", body, http.StatusCreated)
}

func (w *writer) tsa(ctx context.Context, url string) error {
	d, _, err := w.signed()
	if err != nil {
		return err
	}
	body := map[string]any{"artifactHash": base64.StdEncoding.EncodeToString(d), "hashAlgorithm": "sha256", "certificates": true}
	return w.post(ctx, url, "application/json", body, http.StatusCreated)
}

func (w *writer) post(ctx context.Context, url, contentType string, v any, want int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want && !(want == http.StatusCreated && resp.StatusCode == http.StatusOK) {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, out)
	}
	return nil
}

// pushPull pushes a small random image to a fresh tag of host and reads
// its manifest back.
func pushPull(ctx context.Context, host string) error {
	img, err := random.Image(1024, 2)
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	ref, err := name.NewTag(host+"/probe/registry:"+d.Hex[:16], name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return err
	}
	_, err = remote.Get(ref.Context().Digest(d.String()), remote.WithContext(ctx))
	return err
}

// fulcio asks for a certificate for a fresh key with the token tok.
func (w *writer) fulcio(ctx context.Context, base, tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("the minted token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	d := sha256.Sum256([]byte(claims.Sub))
	proof, err := ecdsa.SignASN1(rand.Reader, key, d[:])
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	body := map[string]any{
		"credentials": map[string]any{"oidcIdentityToken": tok},
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]any{"algorithm": "ECDSA", "content": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
			"proofOfPossession": proof,
		},
	}
	return w.post(ctx, strings.TrimSuffix(base, "/")+"/api/v2/signingCert", "application/json", body, http.StatusCreated)
}
