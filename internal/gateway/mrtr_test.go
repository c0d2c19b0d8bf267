package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/identity"
	"gatehouse/internal/jsonrpc"
)

const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"sampling":{}}}`

// modernCall sends one stateless (2026-07-28) request and returns the parsed response.
func modernCall(t *testing.T, g *Gateway, id, params string) *jsonrpc.Message {
	t.Helper()
	m := parse(t, []byte(`{"jsonrpc":"2.0","id":`+id+`,"method":"tools/call","params":`+params+`}`))
	return parse(t, g.HandleModern(testCtx(t), "test", m, newRecStream(), nil))
}

type inputRequired struct {
	ResultType    string                     `json:"resultType"`
	InputRequests map[string]json.RawMessage `json:"inputRequests"`
	RequestState  string                     `json:"requestState"`
}

// A session-based upstream that samples mid-call is bridged for a stateless client into an
// input_required round; the answer reaches the upstream under its own id; a parked call whose
// client never comes back expires and is cancelled upstream.
func TestInputRequiredBridge(t *testing.T) {
	for _, related := range []bool{true, false} {
		f := newFake("f", "sample")
		f.related = related
		g := newGateway(t, []UpstreamSpec{shared(f)}, func(o *Options) { o.ParkTTL = 300 * time.Millisecond })

		first := modernCall(t, g, "1", `{"name":"f__sample",`+modernMeta+`}`)
		var ir inputRequired
		if err := json.Unmarshal(first.Result, &ir); err != nil || ir.ResultType != "input_required" || len(ir.InputRequests) != 1 || ir.RequestState == "" {
			t.Fatalf("related=%v: first round = %s", related, first.Raw)
		}
		var key string
		for k, v := range ir.InputRequests {
			key = k
			if !strings.Contains(string(v), "sampling/createMessage") {
				t.Fatalf("input request %s", v)
			}
		}
		answer := `{"role":"assistant","model":"m","content":{"type":"text","text":"bridged"}}`
		final := modernCall(t, g, "2", `{"name":"f__sample",`+modernMeta+`,"inputResponses":{"`+key+`":`+answer+`},"requestState":"`+ir.RequestState+`"}`)
		if string(final.ID) != "2" || !strings.Contains(string(final.Result), `"sampled":{"role":"assistant"`) || !strings.Contains(string(final.Result), `"resultType":"complete"`) {
			t.Fatalf("related=%v: final = %s", related, final.Raw)
		}
		// The same requestState cannot be used twice.
		again := modernCall(t, g, "3", `{"name":"f__sample",`+modernMeta+`,"inputResponses":{"`+key+`":`+answer+`},"requestState":"`+ir.RequestState+`"}`)
		if code, msg := errCode(t, again); code != jsonrpc.CodeInvalidParams || !strings.Contains(msg, "requestState") {
			t.Fatalf("reused requestState: %d %s", code, msg)
		}

		// A parked call whose client does not come back expires; the upstream is told.
		parked := modernCall(t, g, "4", `{"name":"f__sample",`+modernMeta+`}`)
		if err := json.Unmarshal(parked.Result, &ir); err != nil || ir.ResultType != "input_required" {
			t.Fatalf("second call: %s", parked.Raw)
		}
		time.Sleep(500 * time.Millisecond)
		late := modernCall(t, g, "5", `{"name":"f__sample",`+modernMeta+`,"inputResponses":{"`+key+`":`+answer+`},"requestState":"`+ir.RequestState+`"}`)
		if code, msg := errCode(t, late); code != jsonrpc.CodeInvalidParams || !strings.Contains(msg, "expired") {
			t.Fatalf("late answer: %d %s", code, msg)
		}
		f.lastConn(t).waitFor(t, "notifications/cancelled for the expired call", func(m *jsonrpc.Message) bool {
			return m.Method == "notifications/cancelled"
		})
	}
}

// A stateless client that did not declare sampling gets -32021 naming the capability.
func TestInputRequiredMissingCapability(t *testing.T) {
	f := newFake("f", "sample")
	g := newGateway(t, []UpstreamSpec{shared(f)})
	noCaps := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	resp := modernCall(t, g, "1", `{"name":"f__sample",`+noCaps+`}`)
	code, msg := errCode(t, resp)
	if code != CodeMissingCapability || !strings.Contains(msg, "sampling") || !strings.Contains(string(resp.Error), "requiredCapabilities") {
		t.Fatalf("got %d %s: %s", code, msg, resp.Raw)
	}
}

// A requestState presented by another identity is refused, and the parked call ends.
func TestRequestStateBoundToIdentity(t *testing.T) {
	f := newFake("f", "sample")
	g := newGateway(t, []UpstreamSpec{shared(f)})
	as := func(sub string) context.Context {
		return identity.NewContext(testCtx(t), &identity.Identity{Subject: sub, Method: identity.MethodJWT, Issuer: "i"})
	}
	call := func(ctx context.Context, id, params string) *jsonrpc.Message {
		m := parse(t, []byte(`{"jsonrpc":"2.0","id":`+id+`,"method":"tools/call","params":`+params+`}`))
		return parse(t, g.HandleModern(ctx, "test", m, newRecStream(), nil))
	}
	first := call(as("alice"), "1", `{"name":"f__sample",`+modernMeta+`}`)
	var ir inputRequired
	if err := json.Unmarshal(first.Result, &ir); err != nil || ir.RequestState == "" {
		t.Fatalf("first round: %s", first.Raw)
	}
	var key string
	for k := range ir.InputRequests {
		key = k
	}
	answer := `{"role":"assistant","model":"m","content":{"type":"text","text":"x"}}`
	retry := `{"name":"f__sample",` + modernMeta + `,"inputResponses":{"` + key + `":` + answer + `},"requestState":"` + ir.RequestState + `"}`
	stolen := call(as("mallory"), "2", retry)
	if code, msg := errCode(t, stolen); code != CodePolicyDenied || !strings.Contains(msg, "another identity") {
		t.Fatalf("retry by another identity: %d %s", code, msg)
	}
	if code, _ := errCode(t, call(as("alice"), "3", retry)); code != jsonrpc.CodeInvalidParams {
		t.Fatalf("the parked call must have ended after the stolen retry; owner's retry got code %d", code)
	}
}
