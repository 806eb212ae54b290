package policy

import (
	"strings"

	"github.com/keyless-dev/keyless/internal/payload"
)

// The CEL of an ImageValidatingPolicy that checks a verified attestation's
// statement, the way the verify gate checks it (payload.CheckPredicate):
// the predicate type, a JSON object for a predicate, and for SLSA v1
// provenance the builder, the source repository, ref and commit. Kyverno's
// CEL sees the statement, never the certificate that signed it, so each
// field is checked against what the policy knows: the signing identity,
// and the source repository and ref that the gate required or that the
// signing run's certificate named. Every object read on the way may not
// hold two keys equal except for case: a reader that matches keys
// exactly (CEL does) and one that folds case would read different values.

// noTwins is the CEL test that the map m holds no two keys equal except for
// case. m is a CEL identifier bound to a map; the test's own variables are
// named after it, so that tests nest without shadowing.
func noTwins(m string) string {
	k, j := m+"k", m+"j"
	return m + ".all(" + k + ", " + m + ".filter(" + j + ", " + j + ".lowerAscii() == " + k + ".lowerAscii()).size() == 1)"
}

// object binds the map at expr (an optional chain, e.g. "p.?runDetails") to
// the identifier name for body, and requires it to be a map without case
// twins; a missing map is an empty one, for body to refuse.
func object(expr, name, body string) string {
	return "[" + expr + ".orValue(dyn({}))].all(" + name + ", type(" + name + ") == map && " + noTwins(name) + " && " + body + ")"
}

// field is the string at the optional chain expr, or "" when it is missing.
func field(expr string) string { return expr + ".orValue('')" }

// statementCheck is the CEL test over the verified statement s that it is
// one of predicate type pt with the predicate the gate would accept from
// the identity of t.
func statementCheck(pt string, t *terms) (string, error) {
	ptLit, err := celString(pt)
	if err != nil {
		return "", err
	}
	head := noTwins("s") + " && " + field("s.?predicateType") + " == " + ptLit + " && "
	if pt != payload.ProvenanceType {
		return head + "type(s.?predicate.orValue(null)) == map", nil
	}
	p, err := provenanceCheck(t)
	if err != nil {
		return "", err
	}
	return head + object("s.?predicate", "p", p), nil
}

// provenanceCheck is the CEL test over the predicate p of a SLSA v1
// provenance.
func provenanceCheck(t *terms) (string, error) {
	types, err := celList([]string{payload.GitHubBuildType, payload.GitLabBuildType, payload.TektonBuildType})
	if err != nil {
		return "", err
	}
	builder, err := celMatch(field("u.?id"), t.subject, t.subjectRE)
	if err != nil {
		return "", err
	}
	source, err := sourceCheck(t.source)
	if err != nil {
		return "", err
	}
	params, err := parametersCheck(t)
	if err != nil {
		return "", err
	}
	run := object("p.?runDetails", "r", object("r.?builder", "u", builder))
	def := object("p.?buildDefinition", "b", field("b.?buildType")+" in "+types+" && "+source+" && "+params)
	return run + " && " + def, nil
}

// gitURI is the CEL literal of a regexp for a git+ source with a ref.
const gitURI = `'^git\\+[^@]+@.+$'`

// sourceCheck is the CEL test over the build definition b that, for the
// GitHub and GitLab build types, its first resolved dependency is the git
// source at a commit, of the known repository and ref.
func sourceCheck(src Source) (string, error) {
	tekton, err := celString(payload.TektonBuildType)
	if err != nil {
		return "", err
	}
	var uri string
	switch {
	case src.Repository != "" && src.Ref != "":
		lit, err := celString("git+" + src.Repository + "@" + src.Ref)
		if err != nil {
			return "", err
		}
		uri = "d.?uri.orValue('') == " + lit
	case src.Repository != "":
		lit, err := celString("git+" + src.Repository + "@")
		if err != nil {
			return "", err
		}
		uri = "d.?uri.orValue('').startsWith(" + lit + ") && d.uri != " + lit
	case src.Ref != "":
		lit, err := celString("@" + src.Ref)
		if err != nil {
			return "", err
		}
		uri = "d.?uri.orValue('').matches(" + gitURI + ") && d.uri.endsWith(" + lit + ")"
	default:
		uri = "d.?uri.orValue('').matches(" + gitURI + ")"
	}
	commit := object("d.?digest", "g", field("g.?gitCommit")+".matches('^[0-9a-f]{40}([0-9a-f]{24})?$')")
	dep := "[b.?resolvedDependencies.orValue(dyn([]))].all(ds, type(ds) == list && ds.size() > 0 && " +
		object("ds[?0]", "d", uri+" && "+commit) + ")"
	return "(" + field("b.?buildType") + " == " + tekton + " || " + dep + ")", nil
}

// parametersCheck is the CEL test over the build definition b that its
// external parameters, per build type, name the known repository and ref
// (GitLab), the known repository (GitHub's workflow), or the namespace of
// the Kubernetes service account that signed (Tekton).
func parametersCheck(t *terms) (string, error) {
	var github, gitlab []string
	if r := t.source.Repository; r != "" {
		lit, err := celString(r)
		if err != nil {
			return "", err
		}
		github = append(github, object("e.?workflow", "w", field("w.?repository")+" == "+lit))
		gitlab = append(gitlab, field("e.?source")+" == "+lit)
	}
	if r := t.source.Ref; r != "" {
		lit, err := celString(r)
		if err != nil {
			return "", err
		}
		gitlab = append(gitlab, field("e.?ref")+" == "+lit)
	}
	var tekton []string
	if ns, ok := strings.CutPrefix(t.subject, kubernetesSAN); ok {
		ns, _, _ = strings.Cut(ns, "/serviceaccounts/")
		lit, err := celString(ns)
		if err != nil {
			return "", err
		}
		tekton = append(tekton, field("e.?namespace")+" == "+lit)
	}
	var cases []string
	for _, c := range []struct {
		buildType string
		checks    []string
	}{{payload.GitHubBuildType, github}, {payload.GitLabBuildType, gitlab}, {payload.TektonBuildType, tekton}} {
		if len(c.checks) == 0 {
			continue
		}
		lit, err := celString(c.buildType)
		if err != nil {
			return "", err
		}
		cases = append(cases, "("+field("b.?buildType")+" != "+lit+" || "+strings.Join(c.checks, " && ")+")")
	}
	// Every object among the external parameters is read by someone.
	body := "e.all(ek, type(e[ek]) != map || [e[ek]].all(o, " + noTwins("o") + "))"
	for _, c := range cases {
		body += " && " + c
	}
	return object("b.?externalParameters", "e", body), nil
}

// kubernetesSAN is how Fulcio's kubernetes issuer names a service account.
const kubernetesSAN = "https://kubernetes.io/namespaces/"
