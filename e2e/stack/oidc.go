package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/e2e/oidcissuer"
)

// ServeOIDC runs the OIDC issuer on addr until SIGTERM/SIGINT. The key is
// loaded from (or created at) keyPath. It backs `stack oidc-serve`, which
// Up starts as the "oidc" service.
func ServeOIDC(ctx context.Context, addr, keyPath, requestToken string) error {
	key, err := oidcissuer.LoadOrCreateKey(keyPath)
	if err != nil {
		return fmt.Errorf("loading oidc key: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	iss := oidcissuer.New("http://"+ln.Addr().String(), key, requestToken)
	srv := &http.Server{Handler: iss.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
