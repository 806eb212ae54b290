package report

import "github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

// Certificate is what a Fulcio certificate says of its holder: its issuer
// and SAN and the Fulcio extensions (OIDs 1.3.6.1.4.1.57264.1.*). Its JSON
// field names are sigstore-go's (certificate.Summary), which cosign users
// know; the report owns them, so that a change there cannot change it.
type Certificate struct {
	CertificateIssuer      string `json:"certificateIssuer"`
	SubjectAlternativeName string `json:"subjectAlternativeName"`

	Issuer string `json:"issuer,omitempty"`
	// The GitHub extensions 1.3.6.1.4.1.57264.1.2–.6, deprecated by
	// Fulcio and still what Kyverno checks.
	GithubWorkflowTrigger    string `json:"githubWorkflowTrigger,omitempty"`
	GithubWorkflowSHA        string `json:"githubWorkflowSHA,omitempty"`
	GithubWorkflowName       string `json:"githubWorkflowName,omitempty"`
	GithubWorkflowRepository string `json:"githubWorkflowRepository,omitempty"`
	GithubWorkflowRef        string `json:"githubWorkflowRef,omitempty"`

	BuildSignerURI                      string `json:"buildSignerURI,omitempty"`
	BuildSignerDigest                   string `json:"buildSignerDigest,omitempty"`
	RunnerEnvironment                   string `json:"runnerEnvironment,omitempty"`
	SourceRepositoryURI                 string `json:"sourceRepositoryURI,omitempty"`
	SourceRepositoryDigest              string `json:"sourceRepositoryDigest,omitempty"`
	SourceRepositoryRef                 string `json:"sourceRepositoryRef,omitempty"`
	SourceRepositoryIdentifier          string `json:"sourceRepositoryIdentifier,omitempty"`
	SourceRepositoryOwnerURI            string `json:"sourceRepositoryOwnerURI,omitempty"`
	SourceRepositoryOwnerIdentifier     string `json:"sourceRepositoryOwnerIdentifier,omitempty"`
	BuildConfigURI                      string `json:"buildConfigURI,omitempty"`
	BuildConfigDigest                   string `json:"buildConfigDigest,omitempty"`
	BuildTrigger                        string `json:"buildTrigger,omitempty"`
	RunInvocationURI                    string `json:"runInvocationURI,omitempty"`
	SourceRepositoryVisibilityAtSigning string `json:"sourceRepositoryVisibilityAtSigning,omitempty"`
}

// newCertificate converts sigstore-go's summary of a certificate; nil
// stays nil.
func newCertificate(s *certificate.Summary) *Certificate {
	if s == nil {
		return nil
	}
	e := s.Extensions
	return &Certificate{
		CertificateIssuer:                   s.CertificateIssuer,
		SubjectAlternativeName:              s.SubjectAlternativeName,
		Issuer:                              e.Issuer,
		GithubWorkflowTrigger:               e.GithubWorkflowTrigger,
		GithubWorkflowSHA:                   e.GithubWorkflowSHA,
		GithubWorkflowName:                  e.GithubWorkflowName,
		GithubWorkflowRepository:            e.GithubWorkflowRepository,
		GithubWorkflowRef:                   e.GithubWorkflowRef,
		BuildSignerURI:                      e.BuildSignerURI,
		BuildSignerDigest:                   e.BuildSignerDigest,
		RunnerEnvironment:                   e.RunnerEnvironment,
		SourceRepositoryURI:                 e.SourceRepositoryURI,
		SourceRepositoryDigest:              e.SourceRepositoryDigest,
		SourceRepositoryRef:                 e.SourceRepositoryRef,
		SourceRepositoryIdentifier:          e.SourceRepositoryIdentifier,
		SourceRepositoryOwnerURI:            e.SourceRepositoryOwnerURI,
		SourceRepositoryOwnerIdentifier:     e.SourceRepositoryOwnerIdentifier,
		BuildConfigURI:                      e.BuildConfigURI,
		BuildConfigDigest:                   e.BuildConfigDigest,
		BuildTrigger:                        e.BuildTrigger,
		RunInvocationURI:                    e.RunInvocationURI,
		SourceRepositoryVisibilityAtSigning: e.SourceRepositoryVisibilityAtSigning,
	}
}
