package stack

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LogSizes returns the size of each of the stack's logs, as published:
// "rekor-v2" and "ct" from the checkpoints the tile logs keep in their
// storage, "rekor-v1" from its API. A log that cannot be read is left
// out. Two readings that differ mean that entries were published in
// between, whoever wrote them.
func (s *Stack) LogSizes(ctx context.Context) map[string]uint64 {
	out := s.TileLogSizes()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.RekorV1URL+"/api/v1/log", nil)
	if err != nil {
		return out
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	var info struct {
		TreeSize uint64 `json:"treeSize"`
	}
	if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&info) == nil {
		out["rekor-v1"] = info.TreeSize
	}
	return out
}

// TileLogSizes is LogSizes without Rekor v1: it reads files only, and
// costs the stack nothing.
func (s *Stack) TileLogSizes() map[string]uint64 {
	out := map[string]uint64{}
	for name, path := range map[string]string{
		"rekor-v2": filepath.Join(s.Dir, "rekor-v2", "storage", "checkpoint"),
		"ct":       filepath.Join(s.Dir, "ct", "storage", "checkpoint"),
	} {
		if b, err := os.ReadFile(path); err == nil {
			// A checkpoint is the origin, the size, the root hash, then
			// signatures, one a line.
			if lines := strings.SplitN(string(b), "\n", 3); len(lines) == 3 {
				if n, err := strconv.ParseUint(lines[1], 10, 64); err == nil {
					out[name] = n
				}
			}
		}
	}
	return out
}
