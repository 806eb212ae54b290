package stack

import (
	"crypto/sha256"
	"os"
	"testing"
	"time"
)

func TestProcessCPUGrowsWithWork(t *testing.T) {
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1<<20)
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
		sha256.Sum256(b)
	}
	after, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got := after - before; got < 50*time.Millisecond {
		t.Errorf("200 ms of hashing used %s of CPU, want at least 50 ms", got)
	}
}

func TestProcessCPUOfMissingProcess(t *testing.T) {
	if _, err := ProcessCPU(1 << 30); err == nil {
		t.Error("no error for a pid that cannot exist")
	}
}

func TestCPUSinceAndString(t *testing.T) {
	earlier := CPU{"registry": time.Second, "tsa": 100 * time.Millisecond}
	now := CPU{"registry": 3 * time.Second, "tsa": 600 * time.Millisecond}
	got := now.Since(earlier).String()
	want := "stack CPU 2.50 s: registry 2.00 tsa 0.50"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
