//go:build linux

package sockio

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pair returns a connected loopback TCP pair: a is wrapped, b is plain.
func pair(t testing.TB) (a net.Conn, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	a, b = Wrap(d), r.c
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func mustDirect(t testing.TB, c net.Conn) *Conn {
	t.Helper()
	sc, ok := c.(*Conn)
	if runtime.GOOS == "linux" && !ok {
		t.Fatalf("Wrap(*net.TCPConn) = %T, want *Conn", c)
	}
	if !ok {
		t.Skip("the direct path is Linux only")
	}
	return sc
}

func TestRoundTrip(t *testing.T) {
	a, b := pair(t)
	mustDirect(t, a)
	if _, err := a.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if _, err := io.ReadFull(b, buf[:4]); err != nil || string(buf[:4]) != "ping" {
		t.Fatalf("peer read %q, %v", buf[:4], err)
	}
	if _, err := b.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	n, err := a.Read(buf)
	if err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if n, err := a.Read(nil); n != 0 || err != nil {
		t.Fatalf("zero-length read = %d, %v", n, err)
	}
}

// TestLarge writes far more than the socket buffers hold, so that writes and reads find the
// socket full or empty and wait in the poller.
func TestLarge(t *testing.T) {
	a, b := pair(t)
	mustDirect(t, a)
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(rand.IntN(256))
	}
	for _, dir := range []string{"write", "read"} {
		t.Run(dir, func(t *testing.T) {
			w, r := a, b
			if dir == "read" {
				w, r = b, a
			}
			errc := make(chan error, 1)
			go func() {
				n, err := w.Write(want)
				if err == nil && n != len(want) {
					err = io.ErrShortWrite
				}
				errc <- err
			}()
			got := make([]byte, len(want))
			if _, err := io.ReadFull(r, got); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("bytes differ")
			}
		})
	}
}

func TestWritev(t *testing.T) {
	a, b := pair(t)
	sc := mustDirect(t, a)
	// Empty buffers, more buffers than one writev takes, and more bytes than the socket
	// buffer holds.
	var v [][]byte
	var want []byte
	for i := range 300 {
		n := rand.IntN(64 << 10)
		if i%7 == 0 {
			n = 0
		}
		p := bytes.Repeat([]byte{byte(i)}, n)
		v = append(v, p)
		want = append(want, p...)
	}
	errc := make(chan error, 1)
	go func() {
		n, err := sc.Writev(v)
		if err == nil && n != int64(len(want)) {
			err = io.ErrShortWrite
		}
		errc <- err
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes differ")
	}
}

func TestErrors(t *testing.T) {
	t.Run("EOF", func(t *testing.T) {
		a, b := pair(t)
		mustDirect(t, a)
		b.Close()
		if _, err := a.Read(make([]byte, 8)); err != io.EOF {
			t.Fatalf("read after the peer closed: %v, want io.EOF", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		a, _ := pair(t)
		mustDirect(t, a)
		a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := a.Read(make([]byte, 8))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past its deadline: %v, want a timeout", err)
		}
		a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		_, err = a.Write(make([]byte, 64<<20)) // the peer reads nothing: the socket fills
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write past its deadline: %v, want a timeout", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		a, _ := pair(t)
		mustDirect(t, a)
		errc := make(chan error, 1)
		go func() {
			_, err := a.Read(make([]byte, 8))
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond)
		a.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a connection closed meanwhile: %v, want net.ErrClosed", err)
		}
		if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write on a closed connection: %v, want net.ErrClosed", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		a, b := pair(t)
		mustDirect(t, a)
		b.(*net.TCPConn).SetLinger(0) // close sends RST
		b.Close()
		_, err := a.Read(make([]byte, 8))
		var oe *net.OpError
		if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &oe) || oe.Op != "read" {
			t.Fatalf("read after a reset: %v, want a read OpError with ECONNRESET", err)
		}
	})
}

// TestConcurrent runs readers and writers on one connection at once (net.Conn allows it);
// with -race it checks that the shared per-direction state is guarded.
func TestConcurrent(t *testing.T) {
	a, b := pair(t)
	mustDirect(t, a)
	const n, size = 4, 64 << 10
	go io.Copy(b, b) // echo
	var wg sync.WaitGroup
	total := 0
	var mu sync.Mutex
	for range n {
		wg.Go(func() {
			a.Write(bytes.Repeat([]byte("x"), size))
		})
		wg.Go(func() {
			buf := make([]byte, 4096)
			for {
				mu.Lock()
				done := total >= n*size
				mu.Unlock()
				if done {
					return
				}
				a.SetReadDeadline(time.Now().Add(2 * time.Second))
				k, err := a.Read(buf)
				mu.Lock()
				total += k
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if total != n*size {
		t.Fatalf("read %d bytes, want %d", total, n*size)
	}
}

func TestWrapOther(t *testing.T) {
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if Wrap(p) != p {
		t.Fatal("Wrap changed a connection that is not TCP")
	}
}

func TestListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := Listener(ln)
	defer wl.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := wl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustDirect(t, c)
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hi" {
		t.Fatalf("read %q, %v", got, err)
	}
}

// BenchmarkPingPong compares a 100-byte request and answer over loopback, plain and direct.
// In this loop the process never goes idle, so the two cost the same: it shows that the
// direct path adds nothing. What the direct path saves (the wake-ups of a process that idles
// between calls) shows in the load tool's CPU per call at low concurrency.
func BenchmarkPingPong(b *testing.B) {
	for _, wrap := range []bool{false, true} {
		name := "plain"
		if wrap {
			name = "direct"
		}
		b.Run(name, func(b *testing.B) {
			a, peer := pair(b)
			if !wrap {
				a = a.(*Conn).TCPConn
			}
			go io.Copy(peer, peer)
			msg := bytes.Repeat([]byte("m"), 100)
			buf := make([]byte, 100)
			b.ReportAllocs()
			for b.Loop() {
				a.Write(msg)
				io.ReadFull(a, buf)
			}
		})
	}
}
