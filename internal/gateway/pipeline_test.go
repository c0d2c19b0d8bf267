package gateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"gatehouse/internal/jsonrpc"
)

func TestPipelineRunPanicRefuses(t *testing.T) {
	var ran []string
	p := &Pipeline{logger: slog.New(slog.DiscardHandler), stages: []Stage{
		{Name: "first", Run: func(context.Context, *Envelope) error { ran = append(ran, "first"); return nil }},
		{Name: "boom", Run: func(context.Context, *Envelope) error { ran = append(ran, "boom"); panic("kaboom") }},
		{Name: "never", Run: func(context.Context, *Envelope) error { ran = append(ran, "never"); return nil }},
	}}
	msg := parse(t, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`))
	err := p.Run(context.Background(), &Envelope{Dir: ClientToServer, Msg: msg})
	var e *Error
	if !errors.As(err, &e) || e.Code != jsonrpc.CodeInternalError || e.Message != "internal error" {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(e.Cause.Error(), "boom") || !strings.Contains(e.Cause.Error(), "kaboom") {
		t.Errorf("cause %v", e.Cause)
	}
	if strings.Join(ran, ",") != "first,boom" {
		t.Errorf("ran %v", ran)
	}
	// The client sees the generic message, never the panic.
	resp := errorResponse([]byte("1"), err)
	if bytes.Contains(resp, []byte("kaboom")) {
		t.Errorf("panic leaked to the client: %s", resp)
	}
}

func TestPipelineStops(t *testing.T) {
	refusal := &Error{Code: -32099, Message: "refused by policy"}
	var ran []string
	p := &Pipeline{logger: slog.New(slog.DiscardHandler), stages: []Stage{
		{Name: "rewrite", Run: func(_ context.Context, env *Envelope) error {
			ran = append(ran, "rewrite")
			env.Out = []byte(`{"jsonrpc":"2.0","id":1,"result":{"x":1}}`)
			return nil
		}},
		{Name: "sees-out", Run: func(_ context.Context, env *Envelope) error {
			ran = append(ran, "sees-out")
			if !bytes.Contains(env.Bytes(), []byte(`"x":1`)) {
				t.Errorf("later stage did not see the rewrite: %s", env.Bytes())
			}
			return refusal
		}},
		{Name: "never", Run: func(context.Context, *Envelope) error { ran = append(ran, "never"); return nil }},
	}}
	msg := parse(t, []byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	if err := p.Run(context.Background(), &Envelope{Msg: msg}); err != refusal {
		t.Fatalf("err %v", err)
	}
	if strings.Join(ran, ",") != "rewrite,sees-out" {
		t.Errorf("ran %v", ran)
	}
	if ClientToServer.String() == ServerToClient.String() {
		t.Error("directions print the same")
	}
}

// A stage that panics inside a running gateway refuses that message with an internal error;
// the gateway keeps serving.
func TestGatewayStagePanic(t *testing.T) {
	a := newFake("a", "x", "echo")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	g.pipe.stages = append(g.pipe.stages, Stage{Name: "panics-on-x", Run: func(_ context.Context, env *Envelope) error {
		if env.Name == "x" {
			panic("stage bug")
		}
		return nil
	}})
	s := initSession(t, g, "")
	r := request(t, s, nil, "1", "tools/call", `{"name":"a__x"}`)
	code, msg := errCode(t, r)
	if code != jsonrpc.CodeInternalError || msg != "internal error" {
		t.Fatalf("got %s", r.Raw)
	}
	// Refused before forwarding: the upstream never saw it.
	for _, raw := range a.conn(t, 0).Received() {
		if bytes.Contains(raw, []byte(`"name":"x"`)) {
			t.Fatalf("refused call reached the upstream: %s", raw)
		}
	}
	mustOK(t, request(t, s, nil, "2", "tools/call", `{"name":"a__echo"}`))
}

// A stage that refuses a client's answer to a server-to-client request: the upstream still
// gets an answer (an error), not the refused message.
func TestGatewayStageRefusesClientResponse(t *testing.T) {
	a := newFake("a", "sample")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	g.pipe.stages = append(g.pipe.stages, Stage{Name: "no-responses", Run: func(_ context.Context, env *Envelope) error {
		if env.Dir == ClientToServer && env.Msg.Kind == jsonrpc.KindResponse {
			return &Error{Code: -32098, Message: "answer withheld"}
		}
		return nil
	}})
	s := initSession(t, g, "")
	r := sampleRoundTrip(t, s, func(req *jsonrpc.Message) []byte {
		return jsonrpc.Response(req.ID, []byte(`{"secret":true}`))
	})
	if !bytes.Contains(r.Result, []byte(`"clientError":{"code":-32098,"message":"answer withheld"}`)) {
		t.Fatalf("result %s", r.Raw)
	}
	for _, raw := range a.conn(t, 0).Received() {
		if bytes.Contains(raw, []byte("secret")) {
			t.Fatalf("refused answer reached the upstream: %s", raw)
		}
	}
}
