package manifest

import (
	"fmt"
	"strings"
)

// podSpecPaths are, per kind, the path from the object to its pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"PodTemplate":           {"template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// containerLists are the pod spec's lists of containers, and what one of
// each is called in a source.
var containerLists = []struct{ field, noun string }{
	{"initContainers", "initContainer"},
	{"containers", "container"},
	{"ephemeralContainers", "ephemeralContainer"},
}

// object reads the images of one Kubernetes object found at where.
func (r *Reader) object(obj map[string]any, where string, depth int) error {
	kind, ok := obj["kind"].(string)
	if !ok {
		return bad(fmt.Errorf("%s: the document has no kind: give Kubernetes objects (apiVersion, kind)", where))
	}
	if kind == "List" || strings.HasSuffix(kind, "List") && obj["items"] != nil {
		return r.list(obj, kind, where, depth)
	}
	path, ok := podSpecPaths[kind]
	if !ok {
		r.Skipped++
		return nil
	}
	what := where + ": " + kind + " " + objectName(obj)
	spec, err := walk(obj, path, what)
	if err != nil || spec == nil {
		return err
	}
	for _, l := range containerLists {
		v, ok := spec[l.field]
		if !ok || v == nil {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return bad(fmt.Errorf("%s: %s is a %s, not a list", what, l.field, typeName(v)))
		}
		for i, c := range list {
			if err := r.container(c, fmt.Sprintf("%s, %s", what, l.noun), i); err != nil {
				return err
			}
		}
	}
	return nil
}

// list reads the items of a List (kubectl get -o yaml writes one).
func (r *Reader) list(obj map[string]any, kind, where string, depth int) error {
	if depth >= maxListDepth {
		return bad(fmt.Errorf("%s: Lists nested over %d deep", where, maxListDepth))
	}
	items, ok := obj["items"].([]any)
	if !ok {
		if obj["items"] == nil {
			return nil
		}
		return bad(fmt.Errorf("%s: the %s's items are a %s, not a list", where, kind, typeName(obj["items"])))
	}
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return bad(fmt.Errorf("%s: item %d of the %s is a %s, not a Kubernetes object", where, i, kind, typeName(it)))
		}
		if err := r.object(m, fmt.Sprintf("%s: %s item %d", where, kind, i), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// container reads the image of the i-th container of a list.
func (r *Reader) container(c any, what string, i int) error {
	m, ok := c.(map[string]any)
	if !ok {
		return bad(fmt.Errorf("%s %d is a %s, not a mapping", what, i, typeName(c)))
	}
	if n, ok := m["name"].(string); ok && n != "" {
		what += " " + n
	} else {
		what += fmt.Sprintf(" %d", i)
	}
	img, present := m["image"]
	if !present || img == nil {
		// Kubernetes leaves the image to higher-level configuration
		// (a kustomization, a controller): there is nothing to audit.
		return nil
	}
	ref, ok := img.(string)
	if !ok {
		return bad(fmt.Errorf("%s: image is a %s, not a string", what, typeName(img)))
	}
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil
	}
	return r.add(ref, what)
}

// walk follows path from obj to a mapping: nil when a step is missing,
// an error when one is not a mapping.
func walk(obj map[string]any, path []string, what string) (map[string]any, error) {
	cur := obj
	for i, p := range path {
		v, ok := cur[p]
		if !ok || v == nil {
			return nil, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad(fmt.Errorf("%s: %s is a %s, not a mapping", what, strings.Join(path[:i+1], "."), typeName(v)))
		}
		cur = m
	}
	return cur, nil
}

// objectName is namespace/name, or name, of obj.
func objectName(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		name, _ = meta["generateName"].(string)
	}
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns + "/" + name
	}
	return name
}
