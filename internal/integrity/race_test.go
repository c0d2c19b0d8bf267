package integrity

import (
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrentFirstUse: two listings of a new server at once (the gateway's re-check and a
// client's) both end with the definition allowed.
func TestConcurrentFirstUse(t *testing.T) {
	for i := range 50 {
		s, err := Open(ModeTOFU, filepath.Join(t.TempDir(), "pins.json"), "")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // a call arriving during the first listing: never "seen but not pinned"
			defer wg.Done()
			for range 200 {
				if a, known := s.Allowed("up/tool/echo"); known && !a {
					t.Errorf("run %d: seen but not allowed", i)
					return
				}
			}
		}()
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := s.Observe([]Definition{def("up", "echo", "Echoes.")}, true, "up", KindTool, time.Now())
				if err != nil || !ok["up/tool/echo"] {
					t.Errorf("run %d: not allowed: %v %v", i, ok, err)
				}
			}()
		}
		wg.Wait()
		if a, known := s.Allowed("up/tool/echo"); !a || !known {
			t.Fatalf("run %d: Allowed = %v, %v", i, a, known)
		}
	}
}
