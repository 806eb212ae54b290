//go:build unix

package ci

import (
	"os"
	"syscall"
)

// owner returns the uid that owns path.
func owner(path string) (int, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
