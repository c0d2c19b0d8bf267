package bench

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDurableLog is the in-process floor under a durable audit record: 8 concurrent
// writers (as BenchmarkWrite in internal/audit) each appending an 800-byte record and
// waiting until it is durable. cpu-µs/op is this process's CPU per record.
func BenchmarkDurableLog(b *testing.B) {
	l, err := OpenDurableLog(filepath.Join(b.TempDir(), "log"), 64<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	rec := make([]byte, 800)
	for i := range rec {
		rec[i] = 'a' + byte(i%26)
	}
	b.SetParallelism(4) // 8 writers on 2 CPUs
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	c0 := l.Commits()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Append(rec, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	if c := l.Commits() - c0; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "records/commit")
	}
}
