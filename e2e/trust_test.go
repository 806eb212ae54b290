package e2e

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// logURLs maps the hex log IDs of the trusted root's Rekor logs to their
// base URLs.
func logURLs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(stk.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for id, l := range tr.RekorLogs() {
		m[id] = l.BaseURL
	}
	return m
}

// assertBundle checks that ref carries one Sigstore bundle with an RFC 3161
// timestamp, logged in exactly the Rekors of want (base URL → entry kind
// version).
func assertBundle(t *testing.T, ref string, want map[string]string) {
	t.Helper()
	bundles, err := stk.Bundles(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(bundles) != 1 {
		t.Fatalf("%d bundles attached to %s, want 1", len(bundles), ref)
	}
	var b struct {
		VerificationMaterial struct {
			TlogEntries []struct {
				LogID struct {
					KeyID string `json:"keyId"`
				} `json:"logId"`
				KindVersion struct {
					Kind    string `json:"kind"`
					Version string `json:"version"`
				} `json:"kindVersion"`
			} `json:"tlogEntries"`
			TimestampVerificationData struct {
				RFC3161Timestamps []json.RawMessage `json:"rfc3161Timestamps"`
			} `json:"timestampVerificationData"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(bundles[0], &b); err != nil {
		t.Fatal(err)
	}
	vm := b.VerificationMaterial
	urls := logURLs(t)
	got := map[string]string{}
	for _, e := range vm.TlogEntries {
		id, err := base64.StdEncoding.DecodeString(e.LogID.KeyID)
		if err != nil {
			t.Fatal(err)
		}
		got[urls[hex.EncodeToString(id)]] = e.KindVersion.Version
	}
	if !maps.Equal(got, want) || len(vm.TlogEntries) != len(want) {
		t.Errorf("tlog entries (log → version) %v, want %v", got, want)
	}
	if len(vm.TimestampVerificationData.RFC3161Timestamps) == 0 {
		t.Error("bundle has no RFC 3161 timestamp")
	}
}

// assertLegacySignature checks that ref carries a cosign legacy signature
// whose Rekor bundle (SET) comes from Rekor v1 and which has a TSA
// timestamp.
func assertLegacySignature(t *testing.T, ref string) {
	t.Helper()
	sigs, err := stk.LegacySignatures(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 1 {
		t.Fatalf("%d legacy signatures, want 1", len(sigs))
	}
	var rb struct {
		Payload struct {
			LogID string `json:"logID"`
		} `json:"Payload"`
	}
	if err := json.Unmarshal([]byte(sigs[0]["dev.sigstore.cosign/bundle"]), &rb); err != nil {
		t.Fatalf("decoding rekor bundle annotation: %v", err)
	}
	if got := logURLs(t)[rb.Payload.LogID]; got != stk.RekorV1URL {
		t.Errorf("signature logged in %q, want Rekor v1 %q", got, stk.RekorV1URL)
	}
	if sigs[0]["dev.sigstore.cosign/rfc3161timestamp"] == "" {
		t.Error("signature has no RFC 3161 timestamp annotation")
	}
	if sigs[0]["dev.sigstore.cosign/certificate"] == "" {
		t.Error("signature has no certificate annotation")
	}
}
