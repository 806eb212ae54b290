package trust

import (
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// Services are the endpoints one signature is made with.
type Services struct {
	// Fulcio is the certificate authority's base URL.
	Fulcio string
	// Rekor is the transparency log; RekorVersion its major API version.
	Rekor        string
	RekorVersion uint32
	// TSAs are the timestamp authorities' full URLs, possibly none.
	TSAs []string
}

// Select picks the services from the signing config, at time now, for a log of
// one of the given Rekor API versions (highest first).
func (m *Material) Select(now time.Time, rekorVersions ...uint32) (Services, error) {
	sc := m.Signing
	if sc == nil {
		return Services{}, errors.New("no signing config loaded")
	}
	var s Services
	f, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		return s, &InputError{Input: "signing-config", Err: fmt.Errorf("selecting Fulcio: %w", err)}
	}
	s.Fulcio = f.URL
	r, err := root.SelectService(sc.RekorLogURLs(), rekorVersions, now)
	if err != nil {
		return s, &InputError{Input: "signing-config", Err: fmt.Errorf("no Rekor log with API version %v valid now: %w", rekorVersions, err)}
	}
	s.Rekor, s.RekorVersion = r.URL, r.MajorAPIVersion
	if tsas := sc.TimestampAuthorityURLs(); len(tsas) > 0 {
		picked, err := root.SelectServices(tsas, sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			return s, &InputError{Input: "signing-config", Err: fmt.Errorf("selecting timestamp authorities: %w", err)}
		}
		for _, t := range picked {
			s.TSAs = append(s.TSAs, t.URL)
		}
	}
	if s.RekorVersion == 2 && len(s.TSAs) == 0 {
		return s, &InputError{Input: "signing-config", Err: errors.New("a Rekor v2 log gives no signing time: add a timestamp authority (tsa-url)")}
	}
	return s, nil
}
