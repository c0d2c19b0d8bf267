package lockedfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestUpdateSerialises: concurrent read-modify-write cycles lose nothing.
func TestUpdateSerialises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "n")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := Update(path, func(old []byte) ([]byte, error) {
				n, _ := strconv.Atoi(string(old))
				return []byte(strconv.Itoa(n + 1)), nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b, _ := os.ReadFile(path)
	if string(b) != "20" {
		t.Fatalf("counter = %s, want 20", b)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	// An error from f leaves the file as it was.
	if err := Update(path, func([]byte) ([]byte, error) { return nil, errors.New("no") }); err == nil {
		t.Fatal("error lost")
	}
	if b, _ := os.ReadFile(path); string(b) != "20" {
		t.Fatalf("file changed by a failed update: %s", b)
	}
}
