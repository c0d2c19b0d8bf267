// Package bench holds the parts of gatehouse-bench that are worth testing on their own: the
// reference upstream (an MCP server on the Go SDK with an echo and a blob tool), a lean raw
// JSON-RPC-over-HTTP load client, latency statistics and /proc readers.
package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProcStat is the CPU time of a process, in clock ticks, from /proc/<pid>/stat.
type ProcStat struct {
	UTime, STime uint64
}

// Ticks is utime+stime.
func (s ProcStat) Ticks() uint64 { return s.UTime + s.STime }

// ParseStat parses the content of /proc/<pid>/stat. The second field (comm) is in parentheses
// and may itself contain spaces and parentheses, so fields are counted after the last ')'.
func ParseStat(b []byte) (ProcStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ProcStat{}, errors.New("stat: no ')' after comm")
	}
	// After ") " come field 3 (state) onwards; utime is field 14, stime field 15.
	f := strings.Fields(string(b[i+1:]))
	const utimeIdx = 14 - 3
	if len(f) <= utimeIdx+1 {
		return ProcStat{}, fmt.Errorf("stat: %d fields after comm, want at least %d", len(f), utimeIdx+2)
	}
	u, err := strconv.ParseUint(f[utimeIdx], 10, 64)
	if err != nil {
		return ProcStat{}, fmt.Errorf("stat: utime: %w", err)
	}
	s, err := strconv.ParseUint(f[utimeIdx+1], 10, 64)
	if err != nil {
		return ProcStat{}, fmt.Errorf("stat: stime: %w", err)
	}
	return ProcStat{UTime: u, STime: s}, nil
}

// ParsePPID returns field 4 (ppid) of /proc/<pid>/stat content.
func ParsePPID(b []byte) (int, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("stat: no ')' after comm")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, errors.New("stat: too short")
	}
	return strconv.Atoi(f[1])
}

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (ProcStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStat{}, err
	}
	return ParseStat(b)
}

// ParseVmRSS returns VmRSS in bytes from the content of /proc/<pid>/status ("VmRSS:  1234 kB").
func ParseVmRSS(b []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, errors.New("status: empty VmRSS")
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status: VmRSS: %w", err)
		}
		mult := int64(1)
		if len(f) > 1 {
			switch strings.ToLower(f[1]) {
			case "kb":
				mult = 1024
			case "mb":
				mult = 1024 * 1024
			case "b":
			default:
				return 0, fmt.Errorf("status: VmRSS: unknown unit %q", f[1])
			}
		}
		return n * mult, nil
	}
	return 0, errors.New("status: no VmRSS line (kernel thread or zombie?)")
}

// ReadRSS reads VmRSS of pid in bytes.
func ReadRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return ParseVmRSS(b)
}

// CountFDs returns the number of open file descriptors of pid (sockets included).
func CountFDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return len(ents), nil
}

// CountThreads returns the number of threads of pid.
func CountThreads(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	return len(ents), nil
}

// ChildPIDs returns the pids whose parent is pid (scanning /proc).
func ChildPIDs(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if pp, err := ParsePPID(b); err == nil && pp == pid {
			out = append(out, n)
		}
	}
	return out
}

var (
	clkOnce sync.Once
	clkTck  int64
	clkSrc  string
)

// ClockTicks returns the kernel's clock ticks per second (getconf CLK_TCK; 100 if that is
// unavailable) and where the value came from.
func ClockTicks() (int64, string) {
	clkOnce.Do(func() {
		clkTck, clkSrc = 100, "assumed (getconf unavailable)"
		out, err := exec.Command("getconf", "CLK_TCK").Output()
		if err != nil {
			return
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			clkTck, clkSrc = n, "getconf CLK_TCK"
		}
	})
	return clkTck, clkSrc
}

// TicksToDuration converts clock ticks to time.
func TicksToDuration(ticks uint64, hz int64) time.Duration {
	if hz <= 0 {
		hz = 100
	}
	return time.Duration(ticks) * time.Second / time.Duration(hz)
}

// ParseCPUModel returns the first "model name" of /proc/cpuinfo content.
func ParseCPUModel(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// Machine describes where the benchmark ran.
type Machine struct {
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Kernel     string `json:"kernel,omitempty"`
	ClockTicks int64  `json:"clock_ticks"`
	ClockSrc   string `json:"clock_ticks_source"`
}

// ThisMachine gathers Machine.
func ThisMachine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, CPUModel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = ParseCPUModel(b)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.ClockTicks, m.ClockSrc = ClockTicks()
	return m
}
