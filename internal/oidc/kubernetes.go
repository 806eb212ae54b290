package oidc

import (
	"fmt"
	"regexp"
)

// publicGoodClusterIssuers are the Kubernetes cluster issuers that the
// public-good Fulcio trusts (its kubernetes issuer type): GKE, EKS and AKS.
var publicGoodClusterIssuers = []*regexp.Regexp{
	regexp.MustCompile(`^https://container\.googleapis\.com/v1/projects/[^/]+/locations/[^/]+/clusters/[^/]+$`),
	regexp.MustCompile(`^https://oidc\.eks\.[a-z0-9-]+\.amazonaws\.com/id/[A-Za-z0-9]+$`),
	regexp.MustCompile(`^https://[a-z0-9-]+\.oic\.prod-aks\.azure\.com/[0-9a-f-]+/[0-9a-f-]+/?$`),
}

// CheckPublicGoodKubernetes reports, for a Kubernetes token, whether the
// public-good Fulcio can accept its issuer. It explains what to do when not.
func (t *Token) CheckPublicGoodKubernetes() error {
	if t.Kind() != Kubernetes {
		return nil
	}
	for _, re := range publicGoodClusterIssuers {
		if re.MatchString(t.Issuer) {
			return nil
		}
	}
	return &PreflightError{
		Reason: fmt.Sprintf("the public-good Fulcio does not trust the Kubernetes issuer %s", t.Issuer),
		Fix:    "it trusts GKE, EKS and AKS cluster issuers only: run on such a cluster, or sign with a private Sigstore whose Fulcio trusts this cluster (trusted-root and signing-config)",
	}
}
