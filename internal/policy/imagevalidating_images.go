package policy

import (
	"slices"
	"strings"
)

// ivImageReferences are the globs of the repositories: each spelling of a
// repository bare (its implicit latest tag), with any tag, or with any
// digest. Kyverno matches them against the image as the workload names it,
// unnormalized (a "*" crosses "/"), so Docker Hub repositories get every
// spelling Docker Hub accepts: an image no reference matches is not
// checked. A last CEL expression matches the same names in any case, as
// registries take host names.
func ivImageReferences(repos []string) ([]ivImageRef, error) {
	var names, globs []string
	for _, repo := range repos {
		for _, name := range dockerHubSpellings(repo) {
			if slices.Contains(names, name) {
				continue
			}
			names = append(names, name)
			globs = append(globs, name, name+":*", name+"@*")
		}
	}
	slices.Sort(names)
	slices.Sort(globs)
	var refs []ivImageRef
	for _, g := range globs {
		refs = append(refs, ivImageRef{Glob: g})
	}
	var tests []string
	for _, name := range names {
		lower, err := celString(strings.ToLower(name))
		if err != nil {
			return nil, err
		}
		tests = append(tests, "r == "+lower, "r.startsWith("+lower+" + ':')", "r.startsWith("+lower+" + '@')")
	}
	refs = append(refs, ivImageRef{Expression: "[ref.lowerAscii()].exists(r, " + strings.Join(tests, " || ") + ")"})
	return refs, nil
}

// dockerHubSpellings are the names a workload may give repo: repo alone,
// unless it is on Docker Hub.
func dockerHubSpellings(repo string) []string {
	path, ok := strings.CutPrefix(repo, "index.docker.io/")
	if !ok {
		if path, ok = strings.CutPrefix(repo, "docker.io/"); !ok {
			return []string{repo}
		}
	}
	paths := []string{path}
	if name, ok := strings.CutPrefix(path, "library/"); ok {
		paths = append(paths, name)
	}
	var out []string
	for _, p := range paths {
		out = append(out, p, "docker.io/"+p, "index.docker.io/"+p)
	}
	return out
}
