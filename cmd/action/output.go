package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyless-dev/keyless/internal/ci"
	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/oidc"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/secret"
)

// output is everything a run prints and writes: the platform's log and
// files, and standard error. Every secret of the run is redacted from it.
type output struct {
	ci.Platform
	secrets *secret.Set
	stderr  io.Writer // redacted
}

// log is the job log, redacted.
func (o output) log() io.Writer { return o.secrets.Writer(o.Platform.Writer()) }

// section starts a log section.
func (o output) section(title string) func() { return o.Section(o.secrets.Redact(title)) }

// publish redacts the artifacts and hands them to the platform.
func (o output) publish(a ci.Artifacts) error {
	r := o.secrets.Redact
	a.Report = []byte(r(string(a.Report)))
	a.Summary = r(a.Summary)
	outputs := make([][2]string, len(a.Outputs))
	for i, kv := range a.Outputs {
		outputs[i] = [2]string{kv[0], r(kv[1])}
	}
	a.Outputs = outputs
	files := map[string][]byte{}
	for k, v := range a.Files {
		files[k] = []byte(r(string(v)))
	}
	a.Files = files
	links := make([]ci.Link, len(a.Annotations))
	for i, l := range a.Annotations {
		links[i] = ci.Link{Label: r(l.Label), URL: r(l.URL)}
	}
	a.Annotations = links
	results := make([]ci.Result, len(a.Results))
	for i, res := range a.Results {
		results[i] = ci.Result{Image: r(res.Image), Failure: r(res.Failure)}
	}
	a.Results = results
	return o.Publish(a)
}

// fail reports err and returns its exit status.
func (o output) fail(err error) int {
	code := exitFailed
	msg := err.Error()
	switch {
	case errors.Is(err, oidc.ErrNoGitHubPermission):
		code = exitInput
		msg = "the job may not request an OIDC token: add to the workflow job\n  permissions:\n    id-token: write   # for the Sigstore certificate\n    packages: write   # to push signatures to ghcr.io\n(" + msg + ")"
	case job.IsInput(err):
		code = exitInput
	case errors.Is(err, context.DeadlineExceeded):
		msg += " (the run exceeded its timeout input)"
	}
	msg = o.secrets.Redact(msg)
	o.Annotate(msg)
	fmt.Fprintf(o.stderr, "keyless: %s\n", ci.Lines(msg))
	return code
}

// addCredentials adds the registry credentials of a run to its secrets:
// each password or token, and the base64 user:password of its Basic
// header.
func addCredentials(s *secret.Set, a registry.Auth) {
	s.AddBasic(a.Username, a.Password)
	actor := a.GitHubActor
	if actor == "" {
		actor = "x-access-token"
	}
	s.AddBasic(actor, a.GitHubToken)
	addDockerConfig(s, a.DockerAuthConfig)
	if a.DockerConfig != "" {
		if b, err := os.ReadFile(filepath.Join(a.DockerConfig, "config.json")); err == nil {
			addDockerConfig(s, string(b))
		}
	}
}

// addDockerConfig adds the logins of a Docker config.json's content.
func addDockerConfig(s *secret.Set, content string) {
	if content == "" {
		return
	}
	var cfg struct {
		Auths map[string]struct {
			Auth, Username, Password, IdentityToken, RegistryToken string
		} `json:"auths"`
	}
	if json.Unmarshal([]byte(content), &cfg) != nil {
		// Unparsable: keyless refuses it without echoing it.
		return
	}
	for _, e := range cfg.Auths {
		s.AddBasic(e.Username, e.Password)
		s.Add(e.Auth, e.IdentityToken, e.RegistryToken)
		if dec, err := base64.StdEncoding.DecodeString(e.Auth); err == nil {
			user, pass, _ := strings.Cut(string(dec), ":")
			s.AddBasic(user, pass)
		}
	}
}
