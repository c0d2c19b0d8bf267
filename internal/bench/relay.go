package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"sync"
)

// Relay is the floor the benchmark holds the gateway against: a raw TCP relay that copies
// bytes between each accepted connection and a new connection to `to`, with no HTTP or
// JSON-RPC parsing at all. Whatever CPU it spends per call is what one extra loopback hop
// costs on the machine, before any proxy logic.
//
// Relay serves ln until ctx ends, then closes ln and every relayed connection and waits for
// its goroutines.
//
// With userCopy, every byte goes through a buffer in the relay's memory (read, then write),
// as in any proxy that must look at what it forwards; without it, io.Copy between two TCP
// connections moves bytes inside the kernel (splice(2)) and the relay never touches them.
//
// With log (which implies userCopy), every chunk read from a client is appended to log and
// forwarded only once it is durable, and the SHA-256 digest of every chunk from the upstream
// is appended without waiting (as the gateway records a response by its size and digest):
// the floor for a proxy that keeps a durable record of each request and its outcome.
func Relay(ctx context.Context, ln net.Listener, to string, userCopy bool, log *DurableLog) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	track := func(c net.Conn, add bool) bool {
		mu.Lock()
		defer mu.Unlock()
		if !add {
			delete(conns, c)
			return true
		}
		if conns == nil {
			return false // shutting down
		}
		conns[c] = struct{}{}
		return true
	}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		conns = nil
		mu.Unlock()
	})
	defer stop()
	var d net.Dialer
	for {
		c, err := ln.Accept()
		if err != nil {
			wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		u, err := d.DialContext(ctx, "tcp", to)
		if err != nil {
			c.Close()
			continue
		}
		if !track(c, true) || !track(u, true) {
			c.Close()
			u.Close()
			continue
		}
		wg.Add(2)
		pipe := func(dst, src net.Conn, fromClient bool) {
			defer wg.Done()
			var err error
			if log != nil {
				err = copyLogged(dst, src, log, fromClient)
			} else if userCopy {
				// Hiding ReaderFrom and WriterTo keeps io.CopyBuffer from splicing.
				_, err = io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, 64<<10))
			} else {
				_, err = io.Copy(dst, src)
			}
			if err == nil || errors.Is(err, net.ErrClosed) {
				// Half-close, as HTTP/1.1 peers expect; the other direction ends on its own.
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
			}
			src.Close()
			track(src, false)
		}
		go pipe(u, c, true)
		go pipe(c, u, false)
	}
}

// copyLogged copies src to dst through log. A request chunk (wait) is appended as it is
// and written once it is durable; a response chunk is appended as its SHA-256 digest,
// without waiting.
func copyLogged(dst io.Writer, src io.Reader, log *DurableLog, wait bool) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			rec := buf[:n]
			if !wait {
				sum := sha256.Sum256(rec)
				rec = sum[:]
			}
			if lerr := log.Append(rec, wait); lerr != nil {
				return lerr
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
