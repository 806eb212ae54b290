package stack

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// Linux everywhere Go runs).
const clockTick = 10 * time.Millisecond

// CPU is the CPU time (user + system) each service's process has used
// since it started, keyed by service name.
type CPU map[string]time.Duration

// CPU reads each service's CPU time from /proc/<pid>/stat. A service
// whose process cannot be read is left out.
func (s *Stack) CPU() CPU {
	out := CPU{}
	for name, pid := range s.Pids {
		if d, err := ProcessCPU(pid); err == nil {
			out[name] = d
		}
	}
	return out
}

// Since returns the CPU time each service used between earlier and c.
func (c CPU) Since(earlier CPU) CPU {
	out := CPU{}
	for name, d := range c {
		out[name] = d - earlier[name]
	}
	return out
}

// Total is the CPU time of all the services.
func (c CPU) Total() time.Duration {
	var total time.Duration
	for _, d := range c {
		total += d
	}
	return total
}

// String lists the services, the busiest first, and the total.
func (c CPU) String() string {
	names := make([]string, 0, len(c))
	total := c.Total()
	for n := range c {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(c[b] - c[a]) })
	var b strings.Builder
	fmt.Fprintf(&b, "stack CPU %.2f s:", total.Seconds())
	for _, n := range names {
		fmt.Fprintf(&b, " %s %.2f", n, c[n].Seconds())
	}
	return b.String()
}

// ProcessCPU returns the user + system CPU time of process pid, all its
// threads included.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("reading /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("reading /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var ticks int64
	for _, field := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}
