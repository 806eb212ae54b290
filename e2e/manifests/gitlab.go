package manifests

import (
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"
)

// interpolationBlock matches one $[[ inputs.NAME ]] block.
var interpolationBlock = regexp.MustCompile(`\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]`)

// Interpolate instantiates a template body the way GitLab does: a string
// that is a single $[[ inputs.x ]] block takes the input's typed value (an
// array stays an array, a boolean a boolean); blocks inside longer strings,
// including mapping keys, are replaced by the value's text.
func Interpolate(body []byte, values map[string]any) (any, error) {
	var doc any
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	return interpolateNode(doc, values)
}

func interpolateNode(node any, values map[string]any) (any, error) {
	switch n := node.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range n {
			key, err := interpolateString(k, values)
			if err != nil {
				return nil, err
			}
			if out[fmt.Sprint(key)], err = interpolateNode(v, values); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			var err error
			if out[i], err = interpolateNode(v, values); err != nil {
				return nil, err
			}
		}
		return out, nil
	case string:
		return interpolateString(n, values)
	}
	return node, nil
}

// interpolateString replaces the blocks in one string.
func interpolateString(s string, values map[string]any) (any, error) {
	if m := interpolationBlock.FindStringSubmatch(s); m != nil && m[0] == s {
		v, ok := values[m[1]]
		if !ok {
			return nil, fmt.Errorf("unknown input %q", m[1])
		}
		return v, nil
	}
	var missing error
	out := interpolationBlock.ReplaceAllStringFunc(s, func(block string) string {
		name := interpolationBlock.FindStringSubmatch(block)[1]
		v, ok := values[name]
		if !ok {
			missing = fmt.Errorf("unknown input %q", name)
		}
		return fmt.Sprint(v)
	})
	return out, missing
}
