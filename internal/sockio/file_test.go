//go:build linux

package sockio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

func pipe(t *testing.T) (r, w PipeFile) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w = WrapFile(pr), WrapFile(pw)
	if _, ok := r.(*File); !ok {
		t.Fatalf("WrapFile(pipe) = %T, want *File", r)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func TestFile(t *testing.T) {
	t.Run("round trip, larger than the pipe buffer", func(t *testing.T) {
		r, w := pipe(t)
		want := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB; a pipe holds 64 KiB
		errc := make(chan error, 1)
		go func() {
			_, err := w.Write(want)
			w.Close()
			errc <- err
		}()
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(want))
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		r, _ := pipe(t)
		r.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := r.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past its deadline: %v", err)
		}
	})
	t.Run("closed meanwhile", func(t *testing.T) {
		r, _ := pipe(t)
		errc := make(chan error, 1)
		go func() {
			_, err := r.Read(make([]byte, 8))
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond)
		r.Close()
		if err := <-errc; !errors.Is(err, os.ErrClosed) {
			t.Fatalf("read on a pipe closed meanwhile: %v, want os.ErrClosed", err)
		}
	})
	t.Run("reader gone", func(t *testing.T) {
		r, w := pipe(t)
		r.Close()
		if _, err := w.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("write to a pipe without a reader: %v, want EPIPE", err)
		}
	})
	t.Run("not pollable", func(t *testing.T) {
		f, err := os.CreateTemp(t.TempDir(), "regular")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := WrapFile(f); got != PipeFile(f) {
			t.Fatalf("WrapFile(regular file) = %T, want the file itself", got)
		}
	})
}
