package oidc

import (
	"strings"
	"testing"
)

func TestCheckPublicGoodKubernetes(t *testing.T) {
	k8s := map[string]any{"namespace": "ci", "serviceaccount": map[string]any{"name": "signer"}}
	for _, tc := range []struct {
		name, issuer string
		claims       map[string]any
		ok           bool
	}{
		{"GKE", "https://container.googleapis.com/v1/projects/p/locations/europe-west1/clusters/c", map[string]any{"kubernetes.io": k8s}, true},
		{"EKS", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789", map[string]any{"kubernetes.io": k8s}, true},
		{"AKS", "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/", map[string]any{"kubernetes.io": k8s}, true},
		{"self-managed cluster", "https://kubernetes.default.svc.cluster.local", map[string]any{"kubernetes.io": k8s}, false},
		{"look-alike EKS", "https://oidc.eks.eu-west-1.amazonaws.com.evil.example/id/ABC", map[string]any{"kubernetes.io": k8s}, false},
		{"not a Kubernetes token", "https://token.actions.githubusercontent.com", map[string]any{"job_workflow_ref": "o/r/.github/workflows/w.yml@refs/heads/main"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := &Token{Issuer: tc.issuer, Claims: tc.claims}
			err := tok.CheckPublicGoodKubernetes()
			if (err == nil) != tc.ok {
				t.Fatalf("CheckPublicGoodKubernetes() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), tc.issuer) {
				t.Errorf("error %q does not name the issuer", err)
			}
		})
	}
}
