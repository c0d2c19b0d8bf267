package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// syncingStore is a store whose every Append takes as long as a sync, and which counts the
// records each one carries.
type syncingStore struct {
	*Memory
	sync  time.Duration
	mu    sync.Mutex
	sizes []int
}

func (s *syncingStore) Append(ctx context.Context, chain string, recs []*Record) error {
	time.Sleep(s.sync)
	s.mu.Lock()
	s.sizes = append(s.sizes, len(recs))
	s.mu.Unlock()
	return s.Memory.Append(ctx, chain, recs)
}

// Concurrent callers share commits: once the auditor has seen them together, each commit
// waits (on the fake clock) for all of them, where without grouping the commits alternate
// between one caller and the rest. One caller alone never waits.
func TestGroupCommitGathersConcurrentCallers(t *testing.T) {
	for _, tc := range []struct {
		callers  int
		wantMean float64
	}{
		{1, 1},
		{8, 8},
	} {
		t.Run(fmt.Sprint(tc.callers, " callers"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &syncingStore{Memory: NewMemory(), sync: 300 * time.Microsecond}
				a, err := New(Config{Store: st, Chain: "gw", Key: newKey(t), CheckpointEvery: 1 << 20})
				if err != nil {
					t.Fatal(err)
				}
				const each = 40
				var wg sync.WaitGroup
				for c := range tc.callers {
					wg.Go(func() {
						for i := range each {
							r := &Record{Time: time.Now(), Kind: KindRequest, Subject: fmt.Sprint("c", c), Target: fmt.Sprint(i)}
							if err := a.Write(context.Background(), r); err != nil {
								t.Error(err)
								return
							}
						}
					})
				}
				start := time.Now()
				wg.Wait()
				elapsed := time.Since(start)
				a.Close()
				// The first commits find the callers and the last takes what is left; the rest
				// are what grouping makes of them.
				sizes := st.sizes[min(4, len(st.sizes)) : len(st.sizes)-1]
				total := 0
				for _, n := range sizes {
					total += n
				}
				mean := float64(total) / float64(len(sizes))
				t.Logf("%d commits, sizes %v, %v on the fake clock", len(st.sizes), st.sizes, elapsed)
				if mean < tc.wantMean {
					t.Errorf("mean records per commit %.2f, want %v", mean, tc.wantMean)
				}
				if tc.callers == 1 && elapsed != each*st.sync {
					t.Errorf("one caller took %v on the fake clock, want %v: a commit waited for company", elapsed, each*st.sync)
				}
			})
		})
	}
}
