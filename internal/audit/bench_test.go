package audit

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkWrite is one durable record written by 8 concurrent callers (group commit) to
// SQLite on this machine's disk.
func BenchmarkWrite(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, err := OpenSQLite(filepath.Join(b.TempDir(), "audit.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchWrite(b, st)
	})
}

func benchWrite(b *testing.B, st Store) {
	_, key, _ := generateKey()
	a, _ := New(Config{Store: st, Chain: "bench", Key: key, Valuer: NewValuer(make([]byte, 32), nil, "")})
	defer a.Close()
	args := []byte(`{"text":"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"}`)
	b.SetParallelism(4) // 8 writers on 2 CPUs
	b.ReportAllocs()
	cpu0 := cpuTime()
	defer func() {
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		if c := a.Commits(); c > 0 {
			b.ReportMetric(float64(a.Written())/float64(c), "records/commit")
		}
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := &Record{Time: time.Now(), Kind: KindRequest, Subject: "bench", Session: "0123456789abcdef0123456789abcdef", Remote: "127.0.0.1",
				Method: "tools/call", Server: "up", Target: "echo", Decision: "allow", Rules: []string{"role:bench"},
				Arguments: a.Valuer().Arguments("up", "echo", args)}
			if err := a.Write(context.Background(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSync is the floor under a durable record on this machine: writing 600 bytes to a
// file and making them durable, with nothing else. "append" grows the file and fdatasyncs (so
// each sync also commits the file system's metadata); "overwrite" rewrites a preallocated
// one (as a log of preallocated segments would); "dsync" and "direct-dsync" rewrite it with
// O_DSYNC, and O_DIRECT|O_DSYNC (a 4 KiB aligned block), the write itself durable.
// cpu-µs/op is this process's CPU per durable write (on a paravirtualised kernel most of it
// is the kernel's), which a group commit shares among the records it carries.
func BenchmarkSync(b *testing.B) {
	for _, mode := range []string{"append", "overwrite", "dsync", "direct-dsync"} {
		b.Run(mode, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "sync")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			const span = 16 << 20
			if mode != "append" { // written out in full: no hole and no unwritten extent left to convert
				if _, err := f.Write(make([]byte, span)); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			size, flags := 600, 0
			switch mode {
			case "dsync":
				flags = syscall.O_DSYNC
			case "direct-dsync":
				size, flags = 4096, syscall.O_DIRECT|syscall.O_DSYNC
			}
			if flags != 0 {
				f.Close()
				if f, err = os.OpenFile(path, os.O_RDWR|flags, 0); err != nil {
					b.Skipf("%s: %v", mode, err)
				}
			}
			buf := alignedBlock(size)
			var off int64
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := f.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
				if off += int64(len(buf)); mode != "append" && off+int64(len(buf)) > span {
					off = 0
				}
				if flags == 0 {
					if err := syscall.Fdatasync(int(f.Fd())); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// alignedBlock is n bytes starting on a 4 KiB boundary, as O_DIRECT needs.
func alignedBlock(n int) []byte {
	raw := make([]byte, n+4096)
	off := (4096 - int(uintptr(unsafe.Pointer(&raw[0]))%4096)) % 4096
	return raw[off : off+n]
}
