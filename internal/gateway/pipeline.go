package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/policy"
)

// Direction says which way a message travels.
type Direction uint8

const (
	// ClientToServer: a client's request or notification, on its way to an upstream.
	ClientToServer Direction = iota + 1
	// ServerToClient: an upstream's result, request or notification, on its way to a client.
	ServerToClient
)

func (d Direction) String() string {
	if d == ClientToServer {
		return "client→server"
	}
	return "server→client"
}

// Envelope is one message as the pipeline sees it: parsed once, with what routing learned.
type Envelope struct {
	Dir     Direction
	Session *Session
	Msg     *jsonrpc.Message // as received; Msg.Raw is forwarded unless a stage sets Out
	// Method is the method of the request this message belongs to (for responses: the
	// request's method), so stages need not track ids.
	Method string
	// Server is the upstream the message goes to or comes from ("" for the gateway itself).
	Server string
	// Name is the upstream's own name of the tool or prompt, or the resource URI.
	Name string
	// Kind is what a routed client request targets (tool, prompt, resource); "" otherwise.
	Kind policy.Kind
	// Params are a routed client request's params as they go upstream (names without the
	// namespace); a stage that changes them sets Params.
	Params []byte
	// Decision is the policy's decision on a routed client request.
	Decision *policy.Decision
	// Req is, on an upstream's response, the envelope of the request it answers.
	Req *Envelope
	// AuditSeq is the sequence number of the request's audit record (0 if none).
	AuditSeq int64
	// Findings are what inspection found in this message ("type:rule"); RespFindings, on a
	// request's envelope, what it found in the response. Secrets are the values of secrets
	// found, which audit records must never hold clear.
	Findings, RespFindings []string
	Secrets                []string
	// Out, when a stage sets it, replaces the message bytes from then on.
	Out []byte
}

// Bytes returns the message as it now stands.
func (e *Envelope) Bytes() []byte {
	if e.Out != nil {
		return e.Out
	}
	return e.Msg.Raw
}

// Stage looks at one message and may pass it (nil), change it (set Out), or refuse it (return
// an *Error, which the client sees). Any other error is an internal failure and refuses too:
// a security gateway fails closed.
type Stage struct {
	Name string
	Run  func(ctx context.Context, env *Envelope) error
}

// Pipeline is the ordered list of stages every message passes. Later capabilities (identity,
// policy, inspection, audit) add their stages here, in newPipeline, and nowhere else.
type Pipeline struct {
	stages []Stage
	// record runs after the stages on every routed client request, refused or not: each
	// decision is recorded, and a request is forwarded only once its record is durable.
	record func(ctx context.Context, env *Envelope, refused error) error
	logger *slog.Logger
}

// newPipeline is the one place where the order of the per-message stages is written.
//
// For a client request the gateway first routes it (the route is part of the envelope), then
// runs the stages, then forwards; each upstream result runs the same stages on its way back.
func newPipeline(g *Gateway) *Pipeline {
	return &Pipeline{
		logger: g.logger,
		stages: []Stage{
			{Name: "size-limit", Run: g.checkSize},
			// Identity is established by the transport before a session exists, and every
			// envelope carries it through its session.
			{Name: "policy", Run: g.checkPolicy},
			// After policy: nothing refused is inspected, and redaction by policy happens
			// before inspection looks (so it need not find what policy removed).
			{Name: "inspection", Run: g.inspectMsg},
		},
		// Last, whatever the stages decided: the audit record.
		record: g.auditRequest,
	}
}

// Run passes env through every stage in order and stops at the first refusal; then it
// records the decision (routed client requests).
func (p *Pipeline) Run(ctx context.Context, env *Envelope) (err error) {
	for _, st := range p.stages {
		if err = p.runStage(ctx, st, env); err != nil {
			break
		}
	}
	if p.record != nil {
		if rerr := p.record(ctx, env, err); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

func (p *Pipeline) runStage(ctx context.Context, st Stage, env *Envelope) (err error) {
	defer func() {
		// A panicking stage must refuse the message, not take the gateway down.
		if r := recover(); r != nil {
			p.logger.Error("pipeline stage panicked", "stage", st.Name, "panic", r)
			err = &Error{Code: jsonrpc.CodeInternalError, Message: "internal error", Cause: fmt.Errorf("stage %s panicked: %v", st.Name, r)}
		}
	}()
	return st.Run(ctx, env)
}

func (g *Gateway) checkSize(_ context.Context, env *Envelope) error {
	if n := len(env.Bytes()); g.limits.MaxMessage > 0 && n > g.limits.MaxMessage {
		return &Error{
			Code:    jsonrpc.CodeLimitExceeded,
			Message: fmt.Sprintf("message of %d bytes exceeds the limit of %d bytes (limits.max_message_bytes)", n, g.limits.MaxMessage),
		}
	}
	return nil
}
