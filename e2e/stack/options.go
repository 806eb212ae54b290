package stack

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

// Ports are the TCP ports the stack binds on 127.0.0.1. Rekor v1 and the
// timestamp authority also bind :2112 for metrics, which cannot be moved:
// only one stack runs per machine.
type Ports struct {
	Registry       int
	OIDC           int
	FulcioHTTP     int
	FulcioGRPC     int
	FulcioMetrics  int
	CT             int
	RekorV2        int
	RekorV2GRPC    int
	RekorV2Metrics int
	RekorV1        int
	TrillianRPC    int
	TrillianHTTP   int
	SignerRPC      int
	SignerHTTP     int
	TSA            int
	MariaDB        int
}

// DefaultPortBase is the first port of the default block.
const DefaultPortBase = 5400

// PortsFrom lays the ports out consecutively from base.
func PortsFrom(base int) Ports {
	return Ports{
		Registry:       base,
		OIDC:           base + 1,
		FulcioHTTP:     base + 2,
		FulcioGRPC:     base + 3,
		FulcioMetrics:  base + 4,
		CT:             base + 5,
		RekorV2:        base + 6,
		RekorV2GRPC:    base + 7,
		RekorV2Metrics: base + 8,
		RekorV1:        base + 9,
		TrillianRPC:    base + 10,
		TrillianHTTP:   base + 11,
		SignerRPC:      base + 12,
		SignerHTTP:     base + 13,
		TSA:            base + 14,
		MariaDB:        base + 15,
	}
}

// Options configure Up.
type Options struct {
	// Dir is the state directory; DefaultDir() when empty.
	Dir string
	// Ports; PortsFrom($KEYLESS_STACK_PORT_BASE or DefaultPortBase) when
	// zero.
	Ports Ports
	// BuildScript is e2e/tools/build.sh; it is run to build (or reuse) the
	// binaries. Tools, when set, skips the build and names the bin dir.
	BuildScript string
	Tools       string
	// Self is an executable that serves the OIDC issuer when run as
	// `Self oidc-serve …` (see ServeOIDC); it is copied into Dir.
	Self string
	// Out receives progress messages; os.Stderr when nil.
	Out io.Writer
}

func (o *Options) defaults() error {
	if o.Dir == "" {
		o.Dir = DefaultDir()
	}
	if o.Ports == (Ports{}) {
		base := DefaultPortBase
		if v := os.Getenv("KEYLESS_STACK_PORT_BASE"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1024 || n > 65000 {
				return fmt.Errorf("bad KEYLESS_STACK_PORT_BASE %q", v)
			}
			base = n
		}
		o.Ports = PortsFrom(base)
	}
	if o.Out == nil {
		o.Out = os.Stderr
	}
	if o.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		o.Self = self
	}
	return nil
}
