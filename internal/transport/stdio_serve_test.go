package transport

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/jsonrpc"
)

type stdioEnv struct {
	t    *testing.T
	in   *io.PipeWriter
	out  *bufio.Reader
	done chan error
}

func newStdioEnv(t *testing.T, max int) *stdioEnv {
	t.Helper()
	g, _ := newTestGateway(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e := &stdioEnv{t: t, in: inW, out: bufio.NewReader(outR), done: make(chan error, 1)}
	go func() {
		err := ServeStdio(ctx, g, inR, outW, StdioOptions{MaxMessage: max})
		outW.Close()
		e.done <- err
	}()
	t.Cleanup(func() {
		inW.Close()
		outR.Close()
		cancel()
	})
	return e
}

func (e *stdioEnv) write(line string) {
	e.t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := io.WriteString(e.in, line)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			e.t.Fatalf("write: %v", err)
		}
	case <-time.After(5 * time.Second):
		e.t.Fatal("write blocked")
	}
}

// read returns the next line the server wrote.
func (e *stdioEnv) read() *jsonrpc.Message {
	e.t.Helper()
	type res struct {
		line string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		l, err := e.out.ReadString('\n')
		ch <- res{l, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			e.t.Fatalf("read: %v (partial %q)", r.err, r.line)
		}
		m, err := jsonrpc.Parse([]byte(r.line))
		if err != nil {
			e.t.Fatalf("server wrote %q: %v", r.line, err)
		}
		return m
	case <-time.After(5 * time.Second):
		e.t.Fatal("no output")
		return nil
	}
}

func (e *stdioEnv) wait() error {
	e.t.Helper()
	select {
	case err := <-e.done:
		return err
	case <-time.After(10 * time.Second):
		e.t.Fatal("ServeStdio did not return")
		return nil
	}
}

func TestServeStdio(t *testing.T) {
	e := newStdioEnv(t, 0)
	e.write(initBody + "\n")
	m := e.read()
	if string(m.ID) != "1" || m.Result == nil {
		t.Fatalf("initialize: %s", m.Raw)
	}
	e.write(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")
	// Blank lines are ignored; CRLF line ends are accepted.
	e.write("\n  \n")
	e.write(`{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"f__echo","arguments":{"x":"y"}}}` + "\r\n")
	m = e.read()
	if string(m.ID) != `"c"` || !strings.Contains(string(m.Result), `"arguments":{"x":"y"}`) {
		t.Fatalf("call: %s", m.Raw)
	}
	// A malformed line gets a parse error; the session goes on.
	e.write("{not json\n")
	m = e.read()
	if m.Error == nil || !strings.Contains(string(m.Error), "-32700") || string(m.ID) != "null" {
		t.Fatalf("malformed: %s", m.Raw)
	}
	e.write(`{"jsonrpc":"1.0","id":3,"method":"x"}` + "\n")
	m = e.read()
	if m.Error == nil || !strings.Contains(string(m.Error), "-32600") {
		t.Fatalf("invalid: %s", m.Raw)
	}
	e.write(`{"jsonrpc":"2.0","id":4,"method":"tools/list"}` + "\n")
	m = e.read()
	if string(m.ID) != "4" || !strings.Contains(string(m.Result), "f__echo") {
		t.Fatalf("after errors: %s", m.Raw)
	}
	// Closing stdin ends the session cleanly.
	e.in.Close()
	if err := e.wait(); err != nil {
		t.Fatalf("ServeStdio: %v", err)
	}
}

func TestServeStdioLineTooLong(t *testing.T) {
	e := newStdioEnv(t, 200)
	e.write(initBody + "\n")
	e.read()
	// Exactly the limit is fine.
	pad := 200 - len(`{"jsonrpc":"2.0","id":5,"method":"ping","params":{"p":""}}`)
	e.write(`{"jsonrpc":"2.0","id":5,"method":"ping","params":{"p":"` + strings.Repeat("x", pad) + `"}}` + "\n")
	if m := e.read(); string(m.ID) != "5" || m.Error != nil {
		t.Fatalf("line at the limit: %s", m.Raw)
	}
	go io.WriteString(e.in, `{"jsonrpc":"2.0","id":6,"method":"ping","params":{"p":"`+strings.Repeat("x", 300)+`"}}`+"\n")
	m := e.read()
	if m.Error == nil || !strings.Contains(string(m.Error), "exceeds 200 bytes") {
		t.Fatalf("too long: %s", m.Raw)
	}
	err := e.wait()
	if err == nil || !strings.Contains(err.Error(), "exceeds 200 bytes") {
		t.Fatalf("ServeStdio returned %v", err)
	}
}

// A line longer than the reader's 64 KiB buffer takes the multi-chunk path.
func TestServeStdioLongLineOverBuffer(t *testing.T) {
	e := newStdioEnv(t, 1<<20)
	e.write(initBody + "\n")
	e.read()
	big := strings.Repeat("y", 200<<10)
	go io.WriteString(e.in, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"f__echo","arguments":{"b":"`+big+`"}}}`+"\n")
	m := e.read()
	if string(m.ID) != "7" || !strings.Contains(string(m.Result), big) {
		t.Fatalf("big call failed: %.200s", m.Raw)
	}
}

func TestServeStdioContextEnds(t *testing.T) {
	g, _ := newTestGateway(t)
	inR, inW := io.Pipe()
	defer inW.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeStdio(ctx, g, inR, io.Discard, StdioOptions{}) }()
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("err %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeStdio ignored ctx")
	}
}

func TestLineWriterStripsNewlines(t *testing.T) {
	var sb strings.Builder
	lw := &lineWriter{w: bufio.NewWriter(&sb)}
	if err := lw.Send([]byte("{\"a\":\n1}")); err != nil {
		t.Fatal(err)
	}
	if sb.String() != "{\"a\":1}\n" {
		t.Fatalf("wrote %q", sb.String())
	}
}
