package jsonrpc

import (
	"bytes"
	"errors"
	"fmt"
)

// Kind says what a message is.
type Kind uint8

const (
	KindRequest Kind = iota + 1
	KindNotification
	KindResponse
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindNotification:
		return "notification"
	case KindResponse:
		return "response"
	}
	return "invalid"
}

// span is a half-open byte range [start, end) in Message.Raw; end == 0 means absent.
type span struct{ start, end int }

func (s span) present() bool { return s.end > 0 }

// Message is one parsed JSON-RPC 2.0 message. Every []byte field is a sub-slice of Raw: the
// parser copies nothing, so forwarding Raw forwards the message byte for byte, including
// members Gatehouse does not know.
type Message struct {
	Raw    []byte
	Kind   Kind
	ID     []byte // raw id (a JSON string or number; "null" only on error responses); nil on notifications
	Method string // requests and notifications
	Params []byte // raw params, nil when absent
	Result []byte // raw result of a success response
	Error  []byte // raw error object of an error response

	id, params, result, errObj span
}

// Sentinel errors; Parse wraps them with detail.
var (
	ErrParse   = errors.New("parse error")
	ErrInvalid = errors.New("invalid request")
	ErrBatch   = errors.New("JSON-RPC batches are not supported")
)

// maxDepth bounds nesting so that a hostile message cannot exhaust the stack.
const maxDepth = 512

// Parse validates b as one JSON-RPC 2.0 message and records where its members are. It accepts
// any JSON for params, result and error data, and keeps unknown top-level members (they stay
// in Raw). b must not be modified while the Message is in use.
func Parse(b []byte) (*Message, error) {
	m := &Message{Raw: b}
	if err := m.parse(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Message) parse() error {
	b := m.Raw
	i := skipWS(b, 0)
	if i >= len(b) {
		return fmt.Errorf("%w: empty message", ErrParse)
	}
	if b[i] == '[' {
		if _, err := skipValue(b, i, 0); err != nil {
			return fmt.Errorf("%w: %v", ErrParse, err)
		}
		return ErrBatch
	}
	if b[i] != '{' {
		return fmt.Errorf("%w: message is not a JSON object", ErrInvalid)
	}
	var version, method, errSpan span
	var names memberNames
	seen := 0
	const (
		seenVersion = 1 << iota
		seenID
		seenMethod
		seenParams
		seenResult
		seenError
	)
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return fmt.Errorf("%w: expected member name at offset %d", ErrParse, i)
			}
			kEnd, esc, err := skipString(b, i)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrParse, err)
			}
			key := b[i+1 : kEnd-1]
			if esc {
				key = unquoteBytes(b[i:kEnd])
			}
			if names.add(b[i:kEnd], esc) {
				return fmt.Errorf("%w: %v %s at offset %d", ErrInvalid, errDuplicateMember, b[i:kEnd], i)
			}
			i = skipWS(b, kEnd)
			if i >= len(b) || b[i] != ':' {
				return fmt.Errorf("%w: expected ':' at offset %d", ErrParse, i)
			}
			i = skipWS(b, i+1)
			vStart := i
			vEnd, err := skipValue(b, i, 1)
			if err != nil {
				if errors.Is(err, errDuplicateMember) {
					return fmt.Errorf("%w: %v", ErrInvalid, err)
				}
				return fmt.Errorf("%w: %v", ErrParse, err)
			}
			sp := span{vStart, vEnd}
			var bit int
			switch string(key) {
			case "jsonrpc":
				bit, version = seenVersion, sp
			case "id":
				bit, m.id = seenID, sp
			case "method":
				bit, method = seenMethod, sp
			case "params":
				bit, m.params = seenParams, sp
			case "result":
				bit, m.result = seenResult, sp
			case "error":
				bit, errSpan = seenError, sp
			}
			if bit != 0 {
				if seen&bit != 0 {
					return fmt.Errorf("%w: duplicate member %q", ErrInvalid, key)
				}
				seen |= bit
			}
			i = skipWS(b, vEnd)
			if i >= len(b) {
				return fmt.Errorf("%w: unterminated object", ErrParse)
			}
			if b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if b[i] == '}' {
				i++
				break
			}
			return fmt.Errorf("%w: expected ',' or '}' at offset %d", ErrParse, i)
		}
	}
	if skipWS(b, i) != len(b) {
		return fmt.Errorf("%w: trailing data after message", ErrParse)
	}

	if !version.present() || !bytes.Equal(b[version.start:version.end], []byte(`"2.0"`)) {
		return fmt.Errorf("%w: jsonrpc member must be \"2.0\"", ErrInvalid)
	}
	if m.id.present() {
		m.ID = b[m.id.start:m.id.end]
		switch m.ID[0] {
		case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		case 'n':
			if seen&seenError == 0 {
				return fmt.Errorf("%w: id must be a string or a number", ErrInvalid)
			}
		default:
			return fmt.Errorf("%w: id must be a string or a number", ErrInvalid)
		}
	}
	if m.params.present() {
		m.Params = b[m.params.start:m.params.end]
		if c := m.Params[0]; c != '{' && c != '[' {
			return fmt.Errorf("%w: params must be an object or an array", ErrInvalid)
		}
	}
	switch {
	case seen&seenMethod != 0:
		if seen&(seenResult|seenError) != 0 {
			return fmt.Errorf("%w: a message cannot have both method and result/error", ErrInvalid)
		}
		raw := b[method.start:method.end]
		if raw[0] != '"' {
			return fmt.Errorf("%w: method must be a string", ErrInvalid)
		}
		m.Method = string(unquoteBytes(raw))
		if m.Method == "" {
			return fmt.Errorf("%w: method must not be empty", ErrInvalid)
		}
		if m.id.present() {
			m.Kind = KindRequest
		} else {
			m.Kind = KindNotification
		}
	case seen&seenResult != 0 && seen&seenError != 0:
		return fmt.Errorf("%w: a response cannot have both result and error", ErrInvalid)
	case seen&seenResult != 0:
		if !m.id.present() || m.ID[0] == 'n' {
			return fmt.Errorf("%w: a result response needs an id", ErrInvalid)
		}
		m.Kind = KindResponse
		m.Result = b[m.result.start:m.result.end]
	case seen&seenError != 0:
		m.errObj = errSpan
		if !m.id.present() {
			return fmt.Errorf("%w: an error response needs an id", ErrInvalid)
		}
		m.Kind = KindResponse
		m.Error = b[errSpan.start:errSpan.end]
		if m.Error[0] != '{' {
			return fmt.Errorf("%w: error must be an object", ErrInvalid)
		}
	default:
		return fmt.Errorf("%w: message has neither method nor result nor error", ErrInvalid)
	}
	return nil
}

// IsRequest reports whether the message expects a response.
func (m *Message) IsRequest() bool { return m.Kind == KindRequest }

// WithID returns a copy of the message bytes with its id replaced by id (raw JSON). The rest
// of the message is copied byte for byte.
func (m *Message) WithID(id []byte) []byte {
	return splice(m.Raw, m.id.start, m.id.end, id)
}

// TakeWithID is WithID for a message the caller owns and drops afterwards: when id fits in
// the old id's place, m.Raw is rewritten in place, padded with JSON whitespace, instead of
// copied (a 64 KiB result would otherwise be copied once more only to change a few bytes).
// m must not be used after the call.
func (m *Message) TakeWithID(id []byte) []byte {
	old := m.Raw[m.id.start:m.id.end]
	if len(id) > len(old) || len(old)-len(id) > 16 {
		return m.WithID(id)
	}
	n := copy(old, id)
	for i := n; i < len(old); i++ {
		old[i] = ' '
	}
	out := m.Raw
	*m = Message{}
	return out
}

// WithParams returns a copy of the message bytes with params replaced by params (raw JSON).
// Absent params are added.
func (m *Message) WithParams(params []byte) []byte {
	if m.params.present() {
		return splice(m.Raw, m.params.start, m.params.end, params)
	}
	return insertMember(m.Raw, "params", params)
}

// WithResult returns a copy of the message bytes with the result replaced.
func (m *Message) WithResult(result []byte) []byte {
	return splice(m.Raw, m.result.start, m.result.end, result)
}

// WithError returns a copy of the message bytes with the error object replaced.
func (m *Message) WithError(errObj []byte) []byte {
	return splice(m.Raw, m.errObj.start, m.errObj.end, errObj)
}

// WithIDAndParams replaces both in one copy.
func (m *Message) WithIDAndParams(id, params []byte) []byte {
	if !m.params.present() {
		return insertMember(m.WithID(id), "params", params)
	}
	a, b := m.id, m.params
	if a.start > b.start {
		out := splice(m.Raw, a.start, a.end, id)
		return splice(out, b.start, b.end, params)
	}
	out := splice(m.Raw, b.start, b.end, params)
	return splice(out, a.start, a.end, id)
}

func splice(b []byte, start, end int, repl []byte) []byte {
	out := make([]byte, 0, len(b)-(end-start)+len(repl))
	out = append(out, b[:start]...)
	out = append(out, repl...)
	return append(out, b[end:]...)
}

// insertMember adds "key":val as the first member of the object b.
func insertMember(b []byte, key string, val []byte) []byte {
	i := bytes.IndexByte(b, '{')
	out := make([]byte, 0, len(b)+len(key)+len(val)+4)
	out = append(out, b[:i+1]...)
	out = appendString(out, key)
	out = append(out, ':')
	out = append(out, val...)
	rest := b[i+1:]
	if j := skipWS(rest, 0); j < len(rest) && rest[j] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}
