package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keyless-dev/keyless/internal/ci"
	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/manifest"
	"github.com/keyless-dev/keyless/internal/registry"
	"github.com/keyless-dev/keyless/internal/report"
)

// maxSources is how many places an audited image lists where a manifest
// names it; the rest are counted.
const maxSources = 10

// auditSourceOf reads what an audit checks from its inputs: the
// repository (and tags), the manifests, or images (the images and
// images-from inputs and the arguments); exactly one of them.
func auditSourceOf(s settings, images []string) (job.AuditSource, error) {
	var src job.AuditSource
	repo, tags, files := s.str("repository"), s.str("tags"), registry.SplitRefs(s.str("manifests"))
	given := 0
	for _, set := range []bool{repo != "", len(files) > 0, len(images) > 0} {
		if set {
			given++
		}
	}
	switch {
	case given == 0:
		return src, &job.InputError{Input: "repository", Err: fmt.Errorf("nothing to audit: give a repository (REGISTRY/REPOSITORY), manifests (Kubernetes manifests files) or images")}
	case given > 1:
		return src, &job.InputError{Input: "repository", Err: fmt.Errorf("give one of repository, manifests or images, not several: run one audit for each")}
	case tags != "" && repo == "":
		return src, &job.InputError{Input: "tags", Err: fmt.Errorf("tags %q filters a repository's tags: give repository too", tags)}
	case repo != "":
		if _, err := name.NewRepository(repo, name.StrictValidation); err != nil {
			return src, &job.InputError{Input: "repository", Err: fmt.Errorf("%q is not REGISTRY/REPOSITORY (no tag, no digest): %w", repo, err)}
		}
		src.Repository, src.Tags = repo, tags
		return src, nil
	case len(images) > 0:
		for _, img := range images {
			src.Targets = append(src.Targets, job.Target{Ref: img})
		}
		return src, nil
	}
	var r manifest.Reader
	for _, f := range files {
		if err := r.ReadFile(f); err != nil {
			return src, err
		}
	}
	if len(r.Images) == 0 {
		return src, &job.InputError{Input: "manifests", Err: fmt.Errorf("%s name no container image (of %d documents of other kinds): give the manifests of Pods or workloads", strings.Join(files, ", "), r.Skipped)}
	}
	src.Targets = manifestTargets(r.Images)
	return src, nil
}

// manifestTargets are the images manifests name, each once, with the
// places that name it.
func manifestTargets(images []manifest.Image) []job.Target {
	var out []job.Target
	index := map[string]int{}
	more := map[string]int{}
	for _, img := range images {
		i, ok := index[img.Ref]
		if !ok {
			i = len(out)
			index[img.Ref] = i
			out = append(out, job.Target{Ref: img.Ref, Pinned: true})
		}
		if len(out[i].Sources) < maxSources {
			out[i].Sources = append(out[i].Sources, img.Source)
		} else {
			more[img.Ref]++
		}
	}
	for ref, n := range more {
		t := &out[index[ref]]
		t.Sources = append(t.Sources, fmt.Sprintf("and %d more places", n))
	}
	return out
}

// auditScope are the references whose registries the registry-username
// and registry-password inputs are for: the repository audited. Those of
// images that manifests name are not: a manifest could name any registry,
// which would be sent the password (their logins come from the Docker
// config).
func auditScope(src job.AuditSource) []string {
	if src.Repository == "" {
		return nil
	}
	return []string{src.Repository}
}

// executeAudit runs the audit within the timeout, publishes its report and
// summary, and returns the exit status: 1 when admission would refuse an
// image.
func executeAudit(ctx context.Context, out output, cfg job.Config, opts options) int {
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	what := opts.audit.Repository
	if what == "" {
		what = fmt.Sprintf("%d images", len(opts.audit.Targets))
	}
	end := out.section("keyless audit: " + what)
	res, err := job.Audit(ctx, cfg, opts.audit)
	end()
	if err != nil {
		return out.fail(err)
	}
	a := report.NewAudit(res)
	rep, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return out.fail(err)
	}
	art := ci.Artifacts{Report: rep, OutputDir: opts.outputDir}
	for _, o := range a.Outputs() {
		art.Outputs = append(art.Outputs, [2]string{o.Name, o.Value})
	}
	if opts.summary {
		var b strings.Builder
		if err := a.Markdown(&b); err != nil {
			return out.fail(err)
		}
		art.Summary = b.String()
	}
	if err := out.publish(art); err != nil {
		fmt.Fprintf(out.stderr, "keyless: publishing results: %v\n", err)
		return exitFailed
	}
	failures := a.Failures()
	for i, f := range failures {
		if i == maxDetailed {
			fmt.Fprintf(out.stderr, "keyless: %d more images would be refused: the report lists every one\n", len(failures)-maxDetailed)
			break
		}
		fmt.Fprintf(out.stderr, "keyless: %s: %s: %s\n", ci.OneLine(f.Image), f.Reason, ci.OneLine(f.Detail))
	}
	cfg.Log.Info("audited", "images", len(res.Images), "passed", len(res.Images)-len(failures), "failed", len(failures),
		"duration", res.Duration.Round(time.Millisecond))
	if !a.OK() {
		return exitFailed
	}
	return exitOK
}
