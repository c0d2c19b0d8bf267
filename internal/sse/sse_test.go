package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func ev(id, name, data string) Event {
	e := Event{Name: name, Data: []byte(data)}
	if id != "" {
		e.ID, e.HasID = id, true
	}
	return e
}

func readAll(t testing.TB, in io.Reader, max int) ([]Event, error) {
	t.Helper()
	r := NewReader(in, max)
	var out []Event
	for {
		e, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Event
		err  error
	}{
		{"empty", "", nil, io.EOF},
		{"one", "data: hello\n\n", []Event{ev("", "", "hello")}, io.EOF},
		{"all fields", "id: 7\nevent: message\nretry: 1500\ndata: x\n\n",
			[]Event{{ID: "7", HasID: true, Name: "message", Data: []byte("x"), Retry: 1500 * time.Millisecond, HasRetry: true}}, io.EOF},
		{"multi-line data", "data: a\ndata:b\ndata:  c\n\n", []Event{ev("", "", "a\nb\n c")}, io.EOF},
		{"empty data field", "data\n\n", []Event{{Data: []byte{}}}, io.EOF},
		{"data with empty lines", "data:\ndata:\n\n", []Event{{Data: []byte("\n")}}, io.EOF},
		{"CRLF", "id: 1\r\ndata: a\r\ndata: b\r\n\r\n", []Event{ev("1", "", "a\nb")}, io.EOF},
		{"CR", "id: 1\rdata: a\rdata: b\r\r", []Event{ev("1", "", "a\nb")}, io.EOF},
		{"mixed endings", "data: a\r\ndata: b\rdata: c\n\r\n", []Event{ev("", "", "a\nb\nc")}, io.EOF},
		{"BOM", "\xEF\xBB\xBFdata: x\n\n", []Event{ev("", "", "x")}, io.EOF},
		{"BOM alone on first line", "\xEF\xBB\xBF\ndata: x\n\n", []Event{ev("", "", "x")}, io.EOF},
		{"only first BOM stripped", "\xEF\xBB\xBFdata: x\n\n\xEF\xBB\xBFdata: y\n\ndata: z\n\n",
			[]Event{ev("", "", "x"), ev("", "", "z")}, io.EOF},
		{"comments and keepalives", ": hello\n\n:\n\ndata: x\n: inside\n\n", []Event{ev("", "", "x")}, io.EOF},
		{"unknown fields", "foo: bar\n\ndata: x\nfoo\n\n", []Event{ev("", "", "x")}, io.EOF},
		{"no space after colon", "data:x\nevent:e\nid:i\n\n", []Event{ev("i", "e", "x")}, io.EOF},
		{"only one space stripped", "data:  x \n\n", []Event{ev("", "", " x ")}, io.EOF},
		{"colon in value", "data: {\"a\":1}\n\n", []Event{ev("", "", `{"a":1}`)}, io.EOF},
		{"id only (priming)", "id: abc\n\n", []Event{{ID: "abc", HasID: true}}, io.EOF},
		{"empty id", "id\n\n", []Event{{HasID: true}}, io.EOF},
		{"id with NUL ignored", "id: a\x00b\ndata: x\n\n", []Event{ev("", "", "x")}, io.EOF},
		{"invalid retry ignored", "retry: 12a\ndata: x\n\n", []Event{ev("", "", "x")}, io.EOF},
		{"retry alone", "retry: 0\n\n", []Event{{HasRetry: true}}, io.EOF},
		{"long retry", "retry: 9999999999\n\n", []Event{{Retry: 9999999999 * time.Millisecond, HasRetry: true}}, io.EOF},
		{"last field wins", "event: a\nevent: b\nid: 1\nid: 2\ndata: x\n\n", []Event{ev("2", "b", "x")}, io.EOF},
		{"fields reset between events", "event: a\nid: 1\ndata: x\n\ndata: y\n\n", []Event{ev("1", "a", "x"), ev("", "", "y")}, io.EOF},
		{"two events", "data: 1\n\ndata: 2\n\n", []Event{ev("", "", "1"), ev("", "", "2")}, io.EOF},
		{"many blank lines", "\n\n\ndata: 1\n\n\n\n", []Event{ev("", "", "1")}, io.EOF},
		{"truncated event", "data: 1\n\ndata: 2\n", []Event{ev("", "", "1")}, io.ErrUnexpectedEOF},
		{"truncated line", "data: 1\n\ndata: 2", []Event{ev("", "", "1")}, io.ErrUnexpectedEOF},
		{"trailing comment", "data: 1\n\n: bye", []Event{ev("", "", "1")}, io.ErrUnexpectedEOF},
		{"data too large", "data: 12345\ndata: 12345\n\n", nil, ErrEventTooLarge},
		{"line too large", "data: " + strings.Repeat("x", 40) + "\n\n", nil, ErrEventTooLarge},
		{"comment line too large", ":" + strings.Repeat("x", 40) + "\n\n", nil, ErrEventTooLarge},
		{"id+data too large", "id: 123456\ndata: 123456\n\n", nil, ErrEventTooLarge},
		{"limit exactly", "data: 1234567890\n\ndata: 12345\ndata: 1234\n\n",
			[]Event{ev("", "", "1234567890"), ev("", "", "12345\n1234")}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Also read one byte at a time, so that every line ending and the BOM are split
			// across reads.
			for _, mode := range []string{"whole", "bytewise"} {
				var in io.Reader = strings.NewReader(tt.in)
				if mode == "bytewise" {
					in = iotest.OneByteReader(in)
				}
				got, err := readAll(t, in, 10)
				if !errors.Is(err, tt.err) {
					t.Fatalf("%s: err = %v, want %v", mode, err, tt.err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("%s: got %#v\nwant %#v", mode, got, tt.want)
				}
			}
		})
	}
}

func TestReaderLastEventID(t *testing.T) {
	r := NewReader(strings.NewReader("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"), 0)
	for _, want := range []string{"1", "1", ""} {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if got := r.LastEventID(); got != want {
			t.Fatalf("LastEventID = %q, want %q", got, want)
		}
	}
}

func TestReaderHugeRetry(t *testing.T) {
	got, err := readAll(t, strings.NewReader("retry: 99999999999999999999\ndata: x\n\n"), 0)
	if err != io.EOF || len(got) != 1 || got[0].HasRetry {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestReaderStickyError(t *testing.T) {
	r := NewReader(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\ndata: ok\n\n"), 10)
	_, err1 := r.Next()
	_, err2 := r.Next()
	if !errors.Is(err1, ErrEventTooLarge) || err1 != err2 {
		t.Fatalf("errors %v, %v", err1, err2)
	}
}

// A CR ending an event must dispatch it without waiting for a following byte (which, on a
// live stream, may never come).
func TestReaderCRDoesNotBlock(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("data: x\r\r"))
	got := make(chan Event, 1)
	go func() {
		e, _ := NewReader(pr, 0).Next()
		got <- e
	}()
	select {
	case e := <-got:
		if string(e.Data) != "x" {
			t.Fatalf("got %q", e.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next blocked after a CR line ending")
	}
}

func TestWriter(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Data: []byte(`{"a":1}`)}, "data: {\"a\":1}\n\n"},
		{Event{}, "data: \n\n"},
		{Event{ID: "5", HasID: true}, "id: 5\ndata: \n\n"},
		{Event{ID: "", HasID: true, Name: "message", Data: []byte("x")}, "id: \nevent: message\ndata: x\n\n"},
		{Event{Retry: 2500 * time.Millisecond, HasRetry: true, Data: []byte("x")}, "retry: 2500\ndata: x\n\n"},
		{Event{Data: []byte("a\nb\r\nc\rd\n")}, "data: a\ndata: b\ndata: c\ndata: d\ndata: \n\n"},
		{Event{Data: []byte(" lead")}, "data:  lead\n\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		w := NewWriter(&b)
		if err := w.WriteEvent(tt.ev); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("WriteEvent(%+v) wrote %q, want %q", tt.ev, b.String(), tt.want)
		}
	}
	for _, bad := range []Event{
		{ID: "a\nb", HasID: true},
		{ID: "a\x00", HasID: true},
		{Name: "a\rb"},
		{Retry: -1, HasRetry: true},
	} {
		var b strings.Builder
		if err := NewWriter(&b).WriteEvent(bad); !errors.Is(err, ErrInvalidEvent) || b.Len() != 0 {
			t.Errorf("WriteEvent(%+v) = %v, wrote %q", bad, err, b.String())
		}
	}
}

func TestWriterComment(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.WriteComment("ping"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteComment("a\nb"); !errors.Is(err, ErrInvalidEvent) {
		t.Fatal(err)
	}
	if b.String() != ": ping\n\n" {
		t.Fatalf("wrote %q", b.String())
	}
}

func TestWriterFlushes(t *testing.T) {
	rec := httptest.NewRecorder()
	SetHeaders(rec.Header())
	w := NewWriter(rec)
	if err := w.WriteEvent(Event{Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Fatal("not flushed")
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}

	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if err := NewWriter(bw).WriteEvent(Event{Data: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "data: y\n\n" {
		t.Fatalf("bufio writer not flushed: %q", buf.String())
	}
}

// Through a real HTTP server and client: events arrive one by one while the stream is open.
func TestWriterOverHTTP(t *testing.T) {
	next := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		SetHeaders(rw.Header())
		w := NewWriter(rw)
		for i := range 3 {
			if err := w.WriteEvent(Event{ID: string(rune('a' + i)), HasID: true, Data: []byte("line1\nline2")}); err != nil {
				return
			}
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := NewReader(resp.Body, 1024)
	for i := range 3 {
		e, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.ID != string(rune('a'+i)) || string(e.Data) != "line1\nline2" {
			t.Fatalf("event %d: %+v", i, e)
		}
		next <- struct{}{}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

type discardFlusher struct{}

func (discardFlusher) Write(p []byte) (int, error)       { return len(p), nil }
func (discardFlusher) WriteString(s string) (int, error) { return len(s), nil }
func (discardFlusher) Flush() error                      { return nil }

func TestWriterAllocs(t *testing.T) {
	w := NewWriter(discardFlusher{})
	e := Event{ID: "17", HasID: true, Name: "message", Retry: time.Second, HasRetry: true,
		Data: []byte("{\"jsonrpc\":\"2.0\",\n\"id\":1}")}
	if n := testing.AllocsPerRun(100, func() { w.WriteEvent(e) }); n != 0 {
		t.Fatalf("%v allocations per event", n)
	}
}

func BenchmarkWriter(b *testing.B) {
	w := NewWriter(discardFlusher{})
	e := Event{ID: "17", HasID: true, Data: bytes.Repeat([]byte("x"), 1000)}
	b.ReportAllocs()
	for b.Loop() {
		w.WriteEvent(e)
	}
}

func BenchmarkReader(b *testing.B) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := range 1000 {
		w.WriteEvent(Event{ID: string(rune('a' + i%26)), HasID: true, Data: bytes.Repeat([]byte("x"), 1000)})
	}
	b.ReportAllocs()
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		r := NewReader(bytes.NewReader(buf.Bytes()), 0)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}

// normalizeBreaks turns CRLF and CR into LF: what a reader gives back for written data.
func normalizeBreaks(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("data: hello\n\n"), "1", "message", []byte("a\nb"), uint32(10))
	f.Add([]byte("\xEF\xBB\xBFid: 1\r\ndata: a\r\rdata:b\n\n"), "", "", []byte(""), uint32(0))
	f.Add([]byte(": c\nretry: 10\nevent: e\n\ndata"), "x\ny", "e", []byte("\r\n\r"), uint32(7))
	f.Add([]byte("id: \x00\ndata:  x\n\n\n"), " sp", " ", []byte(" lead\rtrail "), uint32(1<<20))
	f.Fuzz(func(t *testing.T, stream []byte, id, name string, data []byte, retry uint32) {
		// 1. Arbitrary input never panics, never yields an event over the limit, and ends
		// with an error.
		const max = 64
		r := NewReader(bytes.NewReader(stream), max)
		for range len(stream) + 1 {
			e, err := r.Next()
			if err != nil {
				break
			}
			if len(e.Data)+len(e.ID)+len(e.Name) > max {
				t.Fatalf("event over the limit: %+v", e)
			}
		}
		if _, err := r.Next(); err == nil {
			t.Fatal("no error at the end of the input")
		}

		// 2. Round trip: what the Writer writes, the Reader gives back.
		in := Event{ID: id, HasID: id != "" || retry%2 == 0, Name: name, Data: data,
			Retry: time.Duration(retry) * time.Millisecond, HasRetry: retry%3 == 0}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.WriteEvent(in); err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatal(err)
			}
			if buf.Len() != 0 {
				t.Fatal("invalid event partly written")
			}
			return
		}
		if err := w.WriteEvent(Event{Data: []byte("next")}); err != nil {
			t.Fatal(err)
		}
		rr := NewReader(bytes.NewReader(buf.Bytes()), 1<<30)
		got, err := rr.Next()
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.Bytes(), err)
		}
		want := in
		want.Data = normalizeBreaks(data)
		if !want.HasRetry {
			want.Retry = 0
		}
		if got.ID != want.ID || got.HasID != want.HasID || got.Name != want.Name ||
			!bytes.Equal(got.Data, want.Data) || got.Retry != want.Retry || got.HasRetry != want.HasRetry {
			t.Fatalf("round trip of %+v via %q gave %+v", in, buf.Bytes(), got)
		}
		if got.Data == nil {
			t.Fatal("written event read back without data")
		}
		if next, err := rr.Next(); err != nil || string(next.Data) != "next" {
			t.Fatalf("following event: %+v, %v", next, err)
		}
		if _, err := rr.Next(); err != io.EOF {
			t.Fatalf("end: %v", err)
		}
	})
}
