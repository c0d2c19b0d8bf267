package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/yosida95/uritemplate/v3"

	"gatehouse/internal/jsonrpc"
)

// listKind describes one of the four list methods.
type listKind struct {
	method    string
	key       string // result member holding the items
	namespace bool   // items carry a name that gets the server prefix
	has       func(serverCaps) bool
}

var (
	listTools     = listKind{"tools/list", "tools", true, func(c serverCaps) bool { return c.Tools != nil }}
	listPrompts   = listKind{"prompts/list", "prompts", true, func(c serverCaps) bool { return c.Prompts != nil }}
	listResources = listKind{"resources/list", "resources", false, func(c serverCaps) bool { return c.Resources != nil }}
	listTemplates = listKind{"resources/templates/list", "resourceTemplates", true, func(c serverCaps) bool { return c.Resources != nil }}
)

// cursorState is what a gateway cursor carries: for each server that has more, its own cursor.
type cursorState struct {
	Method  string            `json:"m"`
	Servers map[string]string `json:"s"`
}

func (g *Gateway) cursorMAC(s *Session, payload []byte) []byte {
	mac := hmac.New(sha256.New, g.cursorKey)
	mac.Write([]byte(s.id))
	mac.Write([]byte{0})
	mac.Write(payload)
	return mac.Sum(nil)[:16]
}

// encodeCursor makes an opaque cursor, signed and bound to the session, so that a client can
// neither forge an upstream cursor nor replay another session's.
func (g *Gateway) encodeCursor(s *Session, st cursorState) string {
	payload, _ := json.Marshal(st)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(g.cursorMAC(s, payload))
}

func (g *Gateway) decodeCursor(s *Session, c string, method string) (cursorState, error) {
	var st cursorState
	enc := base64.RawURLEncoding
	p, m, ok := bytes.Cut([]byte(c), []byte("."))
	if !ok {
		return st, errorf(jsonrpc.CodeInvalidParams, "invalid cursor")
	}
	payload, err1 := enc.DecodeString(string(p))
	mac, err2 := enc.DecodeString(string(m))
	if err1 != nil || err2 != nil || !hmac.Equal(mac, g.cursorMAC(s, payload)) {
		return st, errorf(jsonrpc.CodeInvalidParams, "invalid cursor")
	}
	if err := json.Unmarshal(payload, &st); err != nil || st.Method != method {
		return st, errorf(jsonrpc.CodeInvalidParams, "invalid cursor")
	}
	return st, nil
}

type pageResult struct {
	srv   *server
	items [][]byte
	next  string
	err   error
}

// list fans a list request out to every upstream (or those the cursor names), merges the
// pages, and returns one result with a gateway cursor. msg may be nil for the gateway's own
// lookups (learning resource owners).
func (g *Gateway) list(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream, kind listKind) ([]byte, error) {
	if msg == nil {
		m, _ := jsonrpc.Parse(jsonrpc.Request([]byte("0"), kind.method, []byte("{}")))
		msg = m
	}
	params := msg.Params
	if params == nil {
		params = []byte("{}")
	}
	targets := map[string]string{}
	if c, ok := jsonrpc.StringMember(params, "cursor"); ok {
		cs, err := g.decodeCursor(s, c, kind.method)
		if err != nil {
			return nil, err
		}
		targets = cs.Servers
	} else {
		for _, srv := range g.servers {
			targets[srv.name] = ""
		}
	}

	results := make([]pageResult, 0, len(targets))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, srv := range g.servers {
		cur, ok := targets[srv.name]
		if !ok {
			continue
		}
		if caps, known := srv.knownCaps(); known && !kind.has(caps) {
			continue
		}
		if !g.Policy().ServerVisible(s.identity, srv.name) {
			continue // another tenant's server: not even asked
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := jsonrpc.DeleteMember(params, "cursor")
			if cur != "" {
				p = jsonrpc.SetMember(p, "cursor", jsonrpc.Quote(cur))
			}
			pr := g.page(ctx, s, msg, st, srv, kind, p)
			mu.Lock()
			results = append(results, pr)
			mu.Unlock()
		}()
	}
	wg.Wait()

	// Keep the configuration's order of servers, so that lists are deterministic.
	order := make(map[string]int, len(g.servers))
	for i, srv := range g.servers {
		order[srv.name] = i
	}
	sortPages(results, order)
	g.flagShadowing(ctx, s, kind, results)

	out := make([]byte, 0, 1024)
	out = append(out, '{')
	out = jsonrpc.AppendString(out, kind.key)
	out = append(out, ':', '[')
	first := true
	next := map[string]string{}
	for _, r := range results {
		if r.err != nil {
			s.logger.Warn("upstream left out of list", "method", kind.method, "upstream", r.srv.name, "err", r.err)
			continue
		}
		for _, it := range r.items {
			if !first {
				out = append(out, ',')
			}
			first = false
			out = append(out, it...)
		}
		if r.next != "" {
			next[r.srv.name] = r.next
		}
	}
	out = append(out, ']')
	if len(next) > 0 {
		out = append(out, `,"nextCursor":`...)
		out = jsonrpc.AppendString(out, g.encodeCursor(s, cursorState{Method: kind.method, Servers: next}))
	}
	out = append(out, '}')
	return jsonrpc.Response(msg.ID, out), nil
}

func sortPages(r []pageResult, order map[string]int) {
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && order[r[j].srv.name] < order[r[j-1].srv.name]; j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}

// page fetches one page from one server and namespaces its items.
func (g *Gateway) page(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream, srv *server, kind listKind, params []byte) pageResult {
	pr := pageResult{srv: srv}
	resp, err := g.call(ctx, s, msg, st, srv, params)
	if err != nil {
		pr.err = err
		return pr
	}
	// Pins are checked on the definitions as the upstream sent them, before any stage
	// changes them.
	var withheld map[string]bool
	if resp.Result != nil {
		if withheld, err = g.checkPins(ctx, s, srv, kind, resp.Result); err != nil {
			pr.err = err
			return pr
		}
	}
	out, err := g.respondMsg(ctx, s, msg, srv, "", resp, nil)
	if err != nil {
		pr.err = err
		return pr
	}
	if out.Error != nil {
		e, _ := jsonrpc.DecodeError(out.Error)
		pr.err = fmt.Errorf("%s failed: %d %s", kind.method, e.Code, e.Message)
		return pr
	}
	items, _ := jsonrpc.Member(out.Result, kind.key)
	var templates []*uritemplate.Template
	var uris []string
	pol := g.Policy()
	ik, _ := pinKind(kind)
	err = jsonrpc.EachElement(items, func(it []byte) bool {
		if withheld[definitionName(ik, it)] {
			return true // not the approved definition: withheld until an administrator decides
		}
		if !g.listable(pol, s, srv, kind, it) {
			return true // the identity may not use it, so it does not see it
		}
		switch kind.key {
		case "resources":
			if u, ok := jsonrpc.StringMember(it, "uri"); ok {
				uris = append(uris, u)
			}
		case "resourceTemplates":
			if u, ok := jsonrpc.StringMember(it, "uriTemplate"); ok {
				if t, err := uritemplate.New(u); err == nil {
					templates = append(templates, t)
				}
			}
		}
		if kind.namespace && !srv.plain {
			if name, ok := jsonrpc.StringMember(it, "name"); ok {
				it = jsonrpc.SetMember(it, "name", jsonrpc.Quote(srv.name+g.sep+name))
			}
		}
		pr.items = append(pr.items, it)
		return true
	})
	if err != nil && items != nil {
		pr.err = fmt.Errorf("%s: malformed %s: %w", kind.method, kind.key, err)
		return pr
	}
	pr.next, _ = jsonrpc.StringMember(out.Result, "nextCursor")
	if len(uris) > 0 || len(templates) > 0 {
		s.mu.Lock()
		for _, u := range uris {
			s.uriOwner[u] = srv
		}
		if len(templates) > 0 {
			if s.templates == nil {
				s.templates = map[*server]map[string]*uritemplate.Template{}
			}
			known := s.templates[srv]
			if known == nil {
				known = map[string]*uritemplate.Template{}
				s.templates[srv] = known
			}
			for _, t := range templates {
				known[t.Raw()] = t // listing again must not grow the session
			}
		}
		s.mu.Unlock()
	}
	return pr
}

// matchTemplate finds the server whose resource template matches uri.
func (g *Gateway) matchTemplate(s *Session, uri string) *server {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, srv := range g.servers {
		for _, t := range s.templates[srv] {
			if t.Match(uri) != nil {
				return srv
			}
		}
	}
	return nil
}
