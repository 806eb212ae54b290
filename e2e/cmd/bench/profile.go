package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// profileHook is added to cmd/action, through a build overlay, when the
// bench profiles keyless: it writes a CPU profile to
// $KEYLESS_BENCH_CPUPROFILE from start to exit. Only the bench's binary
// has it; the project's never does.
const profileHook = `package main

import (
	"os"
	"runtime/pprof"
)

var stopProfile = func() {}

func init() {
	path := os.Getenv("KEYLESS_BENCH_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
}
`

// profileOverlay writes, under work, a go build overlay that adds
// profileHook to cmd/action and stops the profile before main's
// os.Exit, and returns the overlay file's path. repo is the main
// module's directory.
func profileOverlay(repo, work string) (string, error) {
	mainPath, err := filepath.Abs(filepath.Join(repo, "cmd", "action", "main.go"))
	if err != nil {
		return "", err
	}
	src, err := os.ReadFile(mainPath)
	if err != nil {
		return "", err
	}
	const exit = "\tos.Exit(code)\n"
	if strings.Count(string(src), exit) != 1 {
		return "", fmt.Errorf("profiling: %s no longer has exactly one %q: update the bench's profile hook", mainPath, strings.TrimSpace(exit))
	}
	dir := filepath.Join(work, "overlay")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	newMain := filepath.Join(dir, "main.go")
	hook := filepath.Join(dir, "profilehook.go")
	if err := os.WriteFile(newMain, []byte(strings.Replace(string(src), exit, "\tstopProfile()\n"+exit, 1)), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(hook, []byte(profileHook), 0o644); err != nil {
		return "", err
	}
	b, err := json.Marshal(map[string]map[string]string{"Replace": {
		mainPath: newMain,
		filepath.Join(filepath.Dir(mainPath), "zz_benchprofile.go"): hook,
	}})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	return overlay, os.WriteFile(overlay, b, 0o644)
}
