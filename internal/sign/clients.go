package sign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"time"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/util"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/keyless-dev/keyless/internal/retry"
	"github.com/keyless-dev/keyless/internal/trust"
)

// clients are the transparency log and timestamp authorities of one
// format, made once per run and shared by every signature: one connection
// pool per service instead of one client, and new connections, per call.
type clients struct {
	log sgsign.Transparency
	ts  []*sgsign.TimestampAuthority
}

func (o options) clients(svc trust.Services) (*clients, error) {
	ro := &sgsign.RekorOptions{BaseURL: svc.Rekor, Version: svc.RekorVersion, Timeout: o.timeout, Retries: o.retries}
	switch svc.RekorVersion {
	case 2:
		u, err := url.Parse(svc.Rekor)
		if err != nil {
			return nil, fmt.Errorf("Rekor URL %q: %w", svc.Rekor, err)
		}
		ro.ClientV2 = &rekorV2{base: u, client: &http.Client{Transport: o.logTransport, Timeout: max(o.callTimeout, 0)}}
	default:
		c, err := rekorclient.GetRekorClient(svc.Rekor, rekorclient.WithUserAgent(util.ConstructUserAgent()),
			rekorclient.WithRetryCount(o.retries), rekorclient.WithNoDisableKeepalives(true))
		if err != nil {
			return nil, fmt.Errorf("Rekor client for %s: %w", svc.Rekor, err)
		}
		ro.Client = c.Entries
	}
	c := &clients{log: &namedLog{name: "Rekor " + svc.Rekor, version: svc.RekorVersion, log: sgsign.NewRekor(ro)}}
	if svc.RekorVersion == 2 {
		c.log = newBurst(c.log)
	}
	for _, u := range svc.TSAs {
		c.ts = append(c.ts, sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{
			URL: u, Timeout: o.callTimeout, Retries: o.transportRetries(), Transport: o.transport,
		}))
	}
	return c, nil
}

// rekorV2 adds entries to a Rekor v2 log (rekor-tiles' write client,
// through the run's transport): each call waits for the entry to be in a
// checkpoint, which costs the client nothing, so many are held at once.
type rekorV2 struct {
	base   *url.URL
	client *http.Client
}

// maxRekorResponse caps a Rekor v2 answer (an entry with its proof).
const maxRekorResponse = 10 << 20

// Add uploads a hashedrekord entry (sigstore-go sends every kind as one)
// and returns its log entry.
func (r *rekorV2) Add(ctx context.Context, entry any) (*protorekor.TransparencyLogEntry, error) {
	var cer pb.CreateEntryRequest
	switch e := entry.(type) {
	case *pb.HashedRekordRequestV002:
		cer.Spec = &pb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: e}
	default:
		return nil, fmt.Errorf("unsupported entry type: %T", entry)
	}
	payload, err := protojson.Marshal(&cer)
	if err != nil {
		return nil, fmt.Errorf("marshaling request: %w", err)
	}
	u := *r.base
	u.Path = path.Join(u.Path, "/api/v2/log/entries")
	// A 429 says the log did not take the entry: the same request is sent
	// again when the log asks, keeping the signature and its timestamps.
	// Any other failure may hide an entry taken: the signer signs anew.
	for throttled := 0; ; throttled++ {
		tle, err := r.post(ctx, u.String(), payload)
		var se *rekorV2Status
		if err == nil || !errors.As(err, &se) || se.status.StatusCode != http.StatusTooManyRequests || throttled == retry.MaxThrottled {
			return tle, err
		}
		t := time.NewTimer(se.status.After)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// post sends one write.
func (r *rekorV2) post(ctx context.Context, u string, payload []byte) (*protorekor.TransparencyLogEntry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("creating request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", util.ConstructUserAgent())
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("getting response: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRekorResponse))
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		se := &retry.StatusError{StatusCode: resp.StatusCode}
		se.After, _ = retry.After(resp)
		return nil, &rekorV2Status{status: se, body: body}
	}
	var tle protorekor.TransparencyLogEntry
	if err := protojson.Unmarshal(body, &tle); err != nil {
		return nil, fmt.Errorf("unmarshaling response body: %w", err)
	}
	return &tle, nil
}

// rekorV2Status is a Rekor v2 answer other than 201, with the service's
// Retry-After when it throttles (rekorV2Transient, retry.Do).
type rekorV2Status struct {
	status *retry.StatusError
	body   []byte
}

func (e *rekorV2Status) Error() string {
	return fmt.Sprintf("unexpected response: %d %s", e.status.StatusCode, e.body)
}

func (e *rekorV2Status) Unwrap() error { return e.status }
