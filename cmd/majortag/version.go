package main

import (
	"fmt"
	"regexp"
)

// releaseTag matches vMAJOR.MINOR.PATCH with an optional pre-release and
// build metadata, as semver.org spells them (no leading zeros).
var releaseTag = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// version is a parsed release tag.
type version struct {
	nums [3]string // major, minor, patch: digits without leading zeros
	pre  bool
}

func parse(tag string) (version, bool) {
	m := releaseTag.FindStringSubmatch(tag)
	if m == nil {
		return version{}, false
	}
	return version{nums: [3]string{m[1], m[2], m[3]}, pre: m[4] != ""}, true
}

// less reports whether v is below w. The numbers are compared as decimal
// strings, by length first, so that no tag can overflow an integer.
func (v version) less(w version) bool {
	for i := range v.nums {
		a, b := v.nums[i], w.nums[i]
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		if a != b {
			return a < b
		}
	}
	return false
}

// highest returns the highest release among tags of rel's major, or ""
// when there is none. rel must be a release: vX.Y.Z, not a pre-release.
func highest(rel string, tags []string) (string, error) {
	r, ok := parse(rel)
	if !ok || r.pre {
		return "", fmt.Errorf("%q is not a release tag vX.Y.Z: a pre-release or another tag never moves a major tag", rel)
	}
	var best string
	var bv version
	for _, t := range tags {
		v, ok := parse(t)
		if !ok || v.pre || v.nums[0] != r.nums[0] {
			continue
		}
		if best == "" || bv.less(v) {
			best, bv = t, v
		}
	}
	return best, nil
}
