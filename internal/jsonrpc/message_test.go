package jsonrpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		kind   Kind
		id     string
		method string
		params string
		err    error
	}{
		{name: "request", in: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`, kind: KindRequest, id: "1", method: "tools/call", params: `{"name":"x"}`},
		{name: "string id", in: ` { "id" : "a\"b", "jsonrpc":"2.0", "method":"ping" } `, kind: KindRequest, id: `"a\"b"`, method: "ping"},
		{name: "notification", in: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, kind: KindNotification, method: "notifications/initialized"},
		{name: "result", in: `{"jsonrpc":"2.0","id":-7,"result":{}}`, kind: KindResponse, id: "-7"},
		{name: "error null id", in: `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}`, kind: KindResponse, id: "null"},
		{name: "unknown members kept", in: `{"jsonrpc":"2.0","id":2,"method":"m","x-extra":[1,{"a":null}]}`, kind: KindRequest, id: "2", method: "m"},
		{name: "escaped method", in: `{"jsonrpc":"2.0","method":"a\/b"}`, kind: KindNotification, method: "a/b"},
		{name: "batch", in: `[{"jsonrpc":"2.0","method":"m"}]`, err: ErrBatch},
		{name: "not object", in: `"x"`, err: ErrInvalid},
		{name: "empty", in: ``, err: ErrParse},
		{name: "garbage", in: `hello world`, err: ErrInvalid},
		{name: "truncated", in: `{"jsonrpc":"2.0","id":1,"method":"m"`, err: ErrParse},
		{name: "trailing", in: `{"jsonrpc":"2.0","method":"m"} {}`, err: ErrParse},
		{name: "trailing comma", in: `{"jsonrpc":"2.0","method":"m",}`, err: ErrParse},
		{name: "no version", in: `{"id":1,"method":"m"}`, err: ErrInvalid},
		{name: "wrong version", in: `{"jsonrpc":"1.0","id":1,"method":"m"}`, err: ErrInvalid},
		{name: "dup id", in: `{"jsonrpc":"2.0","id":1,"id":2,"method":"m"}`, err: ErrInvalid},
		{name: "object id", in: `{"jsonrpc":"2.0","id":{},"method":"m"}`, err: ErrInvalid},
		{name: "null id request", in: `{"jsonrpc":"2.0","id":null,"method":"m"}`, err: ErrInvalid},
		{name: "method and result", in: `{"jsonrpc":"2.0","id":1,"method":"m","result":1}`, err: ErrInvalid},
		{name: "result and error", in: `{"jsonrpc":"2.0","id":1,"result":1,"error":{}}`, err: ErrInvalid},
		{name: "result without id", in: `{"jsonrpc":"2.0","result":1}`, err: ErrInvalid},
		{name: "scalar params", in: `{"jsonrpc":"2.0","method":"m","params":3}`, err: ErrInvalid},
		{name: "empty method", in: `{"jsonrpc":"2.0","method":""}`, err: ErrInvalid},
		{name: "control char", in: "{\"jsonrpc\":\"2.0\",\"method\":\"a\x01\"}", err: ErrParse},
		{name: "bad utf8", in: "{\"jsonrpc\":\"2.0\",\"method\":\"a\xff\"}", err: ErrParse},
		{name: "bad escape", in: `{"jsonrpc":"2.0","method":"\q"}`, err: ErrParse},
		{name: "bad number", in: `{"jsonrpc":"2.0","id":01,"method":"m"}`, err: ErrParse},
		{name: "dup unknown top-level member", in: `{"jsonrpc":"2.0","x":1,"method":"m","x":2}`, err: ErrInvalid},
		{name: "dup in params", in: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"delete_all"}}`, err: ErrInvalid},
		{name: "dup nested in arguments", in: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{"path":"/ok","x":[{"a":1}],"path":"/etc/shadow"}}}`, err: ErrInvalid},
		{name: "dup spelled with an escape", in: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","n\u0061me":"delete_all"}}`, err: ErrInvalid},
		{name: "dup in result", in: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a","text":"b"}]}}`, err: ErrInvalid},
		{name: "dup after many members", in: `{"jsonrpc":"2.0","id":1,"method":"m","params":{` + manyMembers(40) + `,"k7":0}}`, err: ErrInvalid},
		{name: "many distinct members", in: `{"jsonrpc":"2.0","id":1,"method":"m","params":{` + manyMembers(40) + `}}`, kind: KindRequest, id: "1", method: "m", params: `{` + manyMembers(40) + `}`},
		{name: "same name in sibling objects", in: `{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":{"x":1},"b":{"x":1},"x":[{"x":1},{"x":2}]}}`, kind: KindRequest, id: "1", method: "m", params: `{"a":{"x":1},"b":{"x":1},"x":[{"x":1},{"x":2}]}`},
		{name: "deep", in: `{"jsonrpc":"2.0","method":"m","params":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`, err: ErrParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Parse error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.Kind != tt.kind || string(m.ID) != tt.id || m.Method != tt.method || string(m.Params) != tt.params {
				t.Errorf("got kind=%v id=%s method=%q params=%s", m.Kind, m.ID, m.Method, m.Params)
			}
		})
	}
}

// manyMembers is n members "k0".."k(n-1)", enough to leave the small duplicate check.
func manyMembers(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%q:%d", fmt.Sprintf("k%d", i), i)
	}
	return strings.Join(parts, ",")
}

func TestWithIDKeepsEverythingElse(t *testing.T) {
	in := `{"jsonrpc":"2.0", "x":{"y":[1,2]}, "id":"abc","method":"tools/call","params":{"name":"a","z":true}}`
	m, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := string(m.WithID([]byte("42")))
	want := `{"jsonrpc":"2.0", "x":{"y":[1,2]}, "id":42,"method":"tools/call","params":{"name":"a","z":true}}`
	if got != want {
		t.Errorf("WithID:\n got %s\nwant %s", got, want)
	}
	got = string(m.WithIDAndParams([]byte("7"), []byte(`{"name":"b"}`)))
	want = `{"jsonrpc":"2.0", "x":{"y":[1,2]}, "id":7,"method":"tools/call","params":{"name":"b"}}`
	if got != want {
		t.Errorf("WithIDAndParams:\n got %s\nwant %s", got, want)
	}
	n, _ := Parse([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if got := string(n.WithParams([]byte(`{}`))); got != `{"params":{},"jsonrpc":"2.0","id":1,"method":"ping"}` {
		t.Errorf("WithParams on absent params: %s", got)
	}
}

func TestMembers(t *testing.T) {
	obj := []byte(`{"name":"srv__echo","arguments":{"message":"hi"},"_meta":{"progressToken":5}}`)
	if v, _ := StringMember(obj, "name"); v != "srv__echo" {
		t.Errorf("StringMember = %q", v)
	}
	if v, ok := Path(obj, "_meta", "progressToken"); !ok || string(v) != "5" {
		t.Errorf("Path = %s %v", v, ok)
	}
	tests := []struct{ in, key, val, want string }{
		{`{"a":1,"b":2}`, "a", `"x"`, `{"a":"x","b":2}`},
		{`{"a":1}`, "c", `3`, `{"a":1,"c":3}`},
		{`{}`, "c", `3`, `{"c":3}`},
		{`{ }`, "c", `3`, `{ "c":3}`},
	}
	for _, tt := range tests {
		if got := string(SetMember([]byte(tt.in), tt.key, []byte(tt.val))); got != tt.want {
			t.Errorf("SetMember(%s,%s) = %s, want %s", tt.in, tt.key, got, tt.want)
		}
	}
	if got := string(SetPath([]byte(`{"a":1}`), []byte(`"t"`), "_meta", "progressToken")); got != `{"a":1,"_meta":{"progressToken":"t"}}` {
		t.Errorf("SetPath = %s", got)
	}
	dels := []struct{ in, key, want string }{
		{`{"a":1,"b":2}`, "a", `{"b":2}`},
		{`{"a":1,"b":2}`, "b", `{"a":1}`},
		{`{"a":1}`, "a", `{}`},
		{`{"a":1, "b" : {"c":2} , "d":3}`, "b", `{"a":1, "d":3}`},
		{`{"a":1}`, "z", `{"a":1}`},
	}
	for _, tt := range dels {
		if got := string(DeleteMember([]byte(tt.in), tt.key)); got != tt.want {
			t.Errorf("DeleteMember(%s,%s) = %s, want %s", tt.in, tt.key, got, tt.want)
		}
	}
}

func TestBuilders(t *testing.T) {
	for _, b := range [][]byte{
		Request(IntID(3), "tools/list", []byte(`{"cursor":"x"}`)),
		Notification("notifications/progress", nil),
		Response([]byte(`"a"`), []byte(`{}`)),
		ErrorResponse(nil, CodeParseError, "bad \"json\"\n", map[string]string{"server": "x"}),
	} {
		if _, err := Parse(b); err != nil {
			t.Errorf("builder output %s does not parse: %v", b, err)
		}
		if !json.Valid(b) {
			t.Errorf("builder output %s is not valid JSON", b)
		}
	}
}

func ExampleMessage_WithID() {
	m, _ := Parse([]byte(`{"jsonrpc":"2.0","id":"client-7","method":"tools/call","params":{"name":"echo","unknownField":1}}`))
	fmt.Println(string(m.WithID(IntID(1))))
	// Output: {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","unknownField":1}}
}

// FuzzParse checks that the parser never panics, agrees with encoding/json on validity, and
// that splicing a new id yields a message that parses to the same method and params.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`,
		`{"jsonrpc":"2.0","id":"x","result":{"content":[{"type":"text","text":"\u00e9"}]}}`,
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":0.5e1}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}`,
		`[{"jsonrpc":"2.0","method":"m"}]`,
		`{"jsonrpc":"2.0","id":1,"method":"m","params":[true,false,null,-0.1E+2]}`,
		`garbage`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("Parse accepted invalid JSON %q", b)
		}
		if m.Kind == KindNotification {
			return
		}
		out := m.WithID([]byte(`"gh-1"`))
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse after WithID: %v\n%s", err, out)
		}
		if m2.Method != m.Method || string(m2.Params) != string(m.Params) || string(m2.ID) != `"gh-1"` {
			t.Fatalf("WithID changed more than the id: %s", out)
		}
	})
}

func TestPeek(t *testing.T) {
	tests := []struct {
		in, id, method string
		bad            bool
	}{
		{in: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"a":"}\"{"}}`, id: "7", method: "tools/call"},
		{in: ` {"result":{"content":[{"text":"x\"y\\"}]},"id":"a"} `, id: `"a"`},
		{in: `{"jsonrpc":"2.0","id":null,"error":{}}`},
		{in: `{oops`, bad: true},
		{in: `[1]`, bad: true},
		{in: `{"a":1} x`, bad: true},
		{in: `{"a":"unterminated}`, bad: true},
	}
	for _, tt := range tests {
		id, method, err := Peek([]byte(tt.in))
		if (err != nil) != tt.bad || string(id) != tt.id || method != tt.method {
			t.Errorf("Peek(%s) = %s, %q, %v", tt.in, id, method, err)
		}
	}
}

// FuzzPeek checks that Peek agrees with Parse on every message Parse accepts.
func FuzzPeek(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"m","params":{"x":["\"",{}]}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":"a\\\"","result":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, method, perr := Peek(b)
		m, err := Parse(b)
		if err != nil {
			return
		}
		if perr != nil {
			t.Fatalf("Peek failed on a valid message: %v", perr)
		}
		want := string(m.ID)
		if want == "null" {
			want = ""
		}
		if string(id) != want || method != m.Method {
			t.Fatalf("Peek = %s %q, Parse = %s %q", id, method, m.ID, m.Method)
		}
	})
}

func TestTakeWithID(t *testing.T) {
	tests := []struct {
		name, in, id, want string
		inPlace            bool
	}{
		{"shorter id padded in place", `{"jsonrpc":"2.0","id":12345,"result":{"a":1}}`, `7`, `{"jsonrpc":"2.0","id":7    ,"result":{"a":1}}`, true},
		{"same length in place", `{"jsonrpc":"2.0","id":"ab","result":{}}`, `"cd"`, `{"jsonrpc":"2.0","id":"cd","result":{}}`, true},
		{"longer id copied", `{"jsonrpc":"2.0","id":1,"result":{}}`, `"req-1"`, `{"jsonrpc":"2.0","id":"req-1","result":{}}`, false},
		{"much shorter id copied, not padded", `{"jsonrpc":"2.0","id":"0123456789abcdef0123456789","result":{}}`, `1`, `{"jsonrpc":"2.0","id":1,"result":{}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.in)
			m, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			out := m.TakeWithID([]byte(tt.id))
			if string(out) != tt.want {
				t.Errorf("got  %s\nwant %s", out, tt.want)
			}
			if got := &out[0] == &raw[0]; got != tt.inPlace {
				t.Errorf("in place = %v, want %v", got, tt.inPlace)
			}
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			if string(back.ID) != tt.id {
				t.Errorf("re-parsed id %s, want %s", back.ID, tt.id)
			}
		})
	}
}
