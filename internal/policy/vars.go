package policy

import (
	"encoding/json"
	"reflect"
	"strconv"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"gatehouse/internal/identity"
	"gatehouse/internal/jsonrpc"
)

// activation is the variables of one decision, built when a condition first reads them and
// kept for the other conditions of the same decision. The map-valued ones (identity, tool,
// args, session) are lazyMaps: reading identity.tenant looks up that one member, and
// args.size decodes only that argument, not the whole object. Building every map on every
// call was most of a decision's cost.
type activation struct {
	p   *Policy
	req *Request
	// Resolved variables; nil until first read.
	identity, tool, args, session *lazyMap
	now                           any
}

func (p *Policy) activation(req *Request) *activation {
	return &activation{p: p, req: req}
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	req := a.req
	switch name {
	case "server":
		return req.Server, true
	case "kind":
		return string(req.Kind), true
	case "name":
		return req.Name, true
	case "now":
		if a.now == nil {
			now := req.Now
			if now.IsZero() {
				now = time.Now()
			}
			a.now = types.Timestamp{Time: now}
		}
		return a.now, true
	case "identity":
		if a.identity == nil {
			a.identity = identityVar(req.Identity)
		}
		return a.identity, true
	case "tool":
		if a.tool == nil {
			a.tool = a.toolVar()
		}
		return a.tool, true
	case "args":
		if a.args == nil {
			a.args = argsVar(req.Arguments)
		}
		return a.args, true
	case "session":
		if a.session == nil {
			a.session = sessionVar(req.History)
		}
		return a.session, true
	}
	return nil, false
}

// evalPartial evaluates a partial-evaluation program with the given variables unknown, and
// reports its value only if it has one regardless of them (and no error).
func (a *activation) evalPartial(prog cel.Program, unknowns []*cel.AttributePatternType) (hit, known bool) {
	pa, err := cel.PartialVars(a, unknowns...)
	if err != nil {
		return false, false
	}
	out, _, err := prog.Eval(pa)
	if err != nil {
		return false, false
	}
	b, ok := out.(types.Bool)
	return bool(b), ok
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

func identityVar(id *identity.Identity) *lazyMap {
	if id == nil {
		id = &identity.Identity{}
	}
	return &lazyMap{
		get: func(key string) (any, bool) {
			switch key {
			case "subject":
				return id.Subject, true
			case "tenant":
				return id.Tenant, true
			case "roles":
				return orEmpty(id.Roles), true
			case "scopes":
				return orEmpty(id.Scopes), true
			case "client_id":
				return id.ClientID, true
			case "method":
				return string(id.Method), true
			}
			return nil, false
		},
		keys: []string{"subject", "tenant", "roles", "scopes", "client_id", "method"},
	}
}

func (a *activation) toolVar() *lazyMap {
	req := a.req
	return &lazyMap{
		get: func(key string) (any, bool) {
			switch key {
			case "name":
				return req.Name, true
			case "annotations":
				if req.Annotations == nil {
					return map[string]any{}, true
				}
				return req.Annotations, true
			case "tags":
				var tags []string
				if req.Kind == KindTool {
					tags = a.p.target(req.Server, KindTool, req.Name).tags
				}
				return orEmpty(tags), true
			}
			return nil, false
		},
		keys: []string{"name", "annotations", "tags"},
	}
}

func sessionVar(h History) *lazyMap {
	return &lazyMap{
		get: func(key string) (any, bool) {
			switch key {
			case "tools":
				return orEmpty(h.Tools), true
			case "tags":
				return orEmpty(h.Tags), true
			case "findings":
				return orEmpty(h.Findings), true
			}
			return nil, false
		},
		keys: []string{"tools", "tags", "findings"},
	}
}

// argsVar is the call's arguments. A member is decoded when read, as encoding/json would
// decode it into an any (numbers are doubles), so conditions see what they saw when the
// whole object was decoded up front. The gateway's parser refuses objects that name a
// member twice, so the first occurrence is the only one. Anything that is not an object
// reads as {}.
func argsVar(raw []byte) *lazyMap {
	isObject := len(raw) > 0 && jsonrpc.EachMember(raw, func(string, []byte) bool { return false }) == nil
	if !isObject {
		return &lazyMap{get: func(string) (any, bool) { return nil, false }, all: func() map[string]any { return map[string]any{} }}
	}
	return &lazyMap{
		get: func(key string) (any, bool) {
			v, ok := jsonrpc.Member(raw, key)
			if !ok {
				return nil, false
			}
			return decodeJSONValue(v)
		},
		all: func() map[string]any {
			var m map[string]any
			if json.Unmarshal(raw, &m) != nil || m == nil {
				return map[string]any{}
			}
			return m
		},
	}
}

// decodeJSONValue decodes one valid JSON value; scalars without encoding/json.
func decodeJSONValue(v []byte) (any, bool) {
	switch c := v[0]; {
	case c == '"':
		s, ok := jsonrpc.Unquote(v)
		return s, ok
	case c == 't':
		return true, true
	case c == 'f':
		return false, true
	case c == 'n':
		return nil, true
	case c == '-' || (c >= '0' && c <= '9'):
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	}
	var x any
	if json.Unmarshal(v, &x) != nil {
		return nil, false
	}
	return x, true
}

// lazyMap is a CEL map whose members come from get, one at a time. Whatever needs the whole
// map (iteration, size, equality, conversion) builds it once, from keys through get or from
// all.
type lazyMap struct {
	get   func(key string) (any, bool)
	keys  []string              // the members, when get knows them all
	all   func() map[string]any // or this builds the whole map
	whole traits.Mapper
	// Members already read: conditions of one decision often read the same ones.
	seen  [4]member
	nseen int
}

type member struct {
	key string
	val ref.Val
}

var (
	_ traits.Mapper = (*lazyMap)(nil)
	_ ref.Val       = (*lazyMap)(nil)
)

func (m *lazyMap) mapper() traits.Mapper {
	if m.whole == nil {
		var native map[string]any
		if m.all != nil {
			native = m.all()
		} else {
			native = make(map[string]any, len(m.keys))
			for _, k := range m.keys {
				native[k], _ = m.get(k)
			}
		}
		m.whole = types.DefaultTypeAdapter.NativeToValue(native).(traits.Mapper)
	}
	return m.whole
}

// Find implements traits.Mapper.
func (m *lazyMap) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return m.mapper().Find(key)
	}
	for _, s := range m.seen[:m.nseen] {
		if s.key == string(k) {
			return s.val, true
		}
	}
	v, ok := m.get(string(k))
	if !ok {
		return nil, false
	}
	val := types.DefaultTypeAdapter.NativeToValue(v)
	if m.nseen < len(m.seen) {
		m.seen[m.nseen] = member{string(k), val}
		m.nseen++
	}
	return val, true
}

// Get implements traits.Indexer.
func (m *lazyMap) Get(key ref.Val) ref.Val {
	if v, ok := m.Find(key); ok {
		return v
	}
	return m.mapper().Get(key) // the error CEL gives for a missing key
}

// Contains implements traits.Container.
func (m *lazyMap) Contains(key ref.Val) ref.Val {
	if _, ok := key.(types.String); ok {
		_, found := m.Find(key)
		return types.Bool(found)
	}
	return m.mapper().Contains(key)
}

// Iterator implements traits.Iterable.
func (m *lazyMap) Iterator() traits.Iterator { return m.mapper().Iterator() }

// Size implements traits.Sizer.
func (m *lazyMap) Size() ref.Val { return m.mapper().Size() }

// ConvertToNative implements ref.Val.
func (m *lazyMap) ConvertToNative(t reflect.Type) (any, error) {
	return m.mapper().ConvertToNative(t)
}

// ConvertToType implements ref.Val.
func (m *lazyMap) ConvertToType(t ref.Type) ref.Val { return m.mapper().ConvertToType(t) }

// Equal implements ref.Val.
func (m *lazyMap) Equal(other ref.Val) ref.Val { return m.mapper().Equal(other) }

// Type implements ref.Val.
func (m *lazyMap) Type() ref.Type { return types.MapType }

// Value implements ref.Val.
func (m *lazyMap) Value() any { return m.mapper().Value() }
