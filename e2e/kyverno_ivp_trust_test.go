package e2e

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// TestKyvernoImageValidatingTrust proves that Kyverno checks the policy's
// trust material: the same policy holding the public-good Sigstore's
// trusted root, Fulcio roots and log keys refuses the image it admitted.
// And it pins what Kyverno 1.19.1 does that the policy's header says:
//   - without tuf, Kyverno goes to the public-good TUF repository for
//     every keyless check, and where it cannot reach it (here a proxy that
//     answers nothing) nothing verifies;
//   - keyless.additionalExtensions is not checked: a policy that demands
//     another repository's extension still admits the image. A release
//     that checks it fails this row.
func TestKyvernoImageValidatingTrust(t *testing.T) {
	cli := kyverno119(t)
	public := publicGoodMaterial(t)
	offline := []string{"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost"}
	for _, format := range []string{"legacy", "bundle"} {
		t.Run(format, func(t *testing.T) {
			signed, r := signIVP(t, format, nil)
			policy := r.files["workspace/"+r.outputs["kyverno-policy"]]
			for _, row := range []struct {
				name  string
				edit  func(c map[string]any)
				env   []string
				admit bool
			}{
				{"as written", nil, nil, true},
				{"as written and offline", nil, offline, true},
				{"another trusted root", func(c map[string]any) {
					c["trustedRoot"] = map[string]any{"value": public.json}
					c["keyless"].(map[string]any)["roots"] = public.fulcio
					ctlog := c["ctlog"].(map[string]any)
					ctlog["rekorPubKey"], ctlog["ctLogPubKey"] = public.rekor, public.ctlog
				}, nil, false},
				{"no TUF repository and offline", func(c map[string]any) { delete(c, "tuf") }, offline, false},
				{"additionalExtensions of another repository", func(c map[string]any) {
					c["keyless"].(map[string]any)["additionalExtensions"] = map[string]any{"githubWorkflowRepository": "keyless-dev/other"}
				}, nil, true},
			} {
				t.Run(row.name, func(t *testing.T) {
					p := policy
					if row.edit != nil {
						p = editPolicy(t, policy, func(m map[string]any) { row.edit(cosignAttestor(t, m)) })
					}
					c, out := kyvernoRun(t, cli, writeFile(t, "policy.yaml", p), podManifest(signed), nil, row.env...)
					t.Logf("kubectl-kyverno-1.19 apply:\n%s", out)
					if c.admitted() != row.admit {
						t.Errorf("admitted=%v (%+v), want %v\npolicy:\n%s\noutput:\n%s", c.admitted(), c, row.admit, p, out)
					}
				})
			}
		})
	}
}

// publicGood is the public-good Sigstore's trust material, as an
// ImageValidatingPolicy holds it.
type publicGood struct {
	json, fulcio, rekor, ctlog string
}

func publicGoodMaterial(t *testing.T) publicGood {
	t.Helper()
	b, err := os.ReadFile("testdata/public-good-trusted-root.json")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	p := publicGood{json: string(b)}
	for _, ca := range tr.FulcioCertificateAuthorities() {
		f := ca.(*root.FulcioCertificateAuthority)
		for _, c := range append(f.Intermediates, f.Root) {
			p.fulcio += string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
		}
	}
	key := func(logs map[string]*root.TransparencyLog) string {
		for _, l := range logs {
			der, err := x509.MarshalPKIXPublicKey(l.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		}
		t.Fatal("no log in the public-good trusted root")
		return ""
	}
	p.rekor, p.ctlog = key(tr.RekorLogs()), key(tr.CTLogs())
	return p
}
