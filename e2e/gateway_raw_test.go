package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGatewayRawHTTP speaks Streamable HTTP to `gatehouse serve` by hand, where the wire
// details matter: ids, event ids, cursors, unknown members, unknown methods.
func TestGatewayRawHTTP(t *testing.T) {
	goURL := StartEverythingServer(t, false)
	yaml := "log: {level: debug, format: text}\nupstreams:\n" +
		UpstreamStdioYAML("everything", ServerEverythingCmd(t), "env: {PATH: {env: PATH}}\nallow_methods: [x-test/custom]\n") +
		UpstreamHTTPYAML("gohttp", goURL, "") +
		UpstreamStdioYAML("pager", []string{TestdataBin(t, "pager")}, "")
	gh := StartGatehouse(t, yaml)
	gh.WaitUpstreamsUp(t, 30*time.Second, "everything", "pager")

	t.Run("same ids on two sessions are remapped", func(t *testing.T) {
		ctx := testCtx(t, 30*time.Second)
		a := RawInitialize(t, ctx, gh.URL, "")
		b := RawInitialize(t, ctx, gh.URL, "")
		type res struct {
			who  string
			resp *RawResponse
			err  error
		}
		var wg sync.WaitGroup
		out := make(chan res, 8)
		for _, c := range []struct {
			who  string
			s    *RawSession
			body string
		}{
			{"a-long", a, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"everything__trigger-long-running-operation","arguments":{"duration":0.8,"steps":2}}}`},
			{"b-long", b, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"everything__trigger-long-running-operation","arguments":{"duration":0.6,"steps":3}}}`},
			{"a-echo", a, `{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"I am A"}}}`},
			{"b-echo", b, `{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"I am B"}}}`},
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := c.s.Post(ctx, c.body)
				out <- res{c.who, r, err}
			}()
		}
		wg.Wait()
		close(out)
		want := map[string]struct{ id, text string }{
			"a-long": {"1", "Steps: 2."}, "b-long": {"1", "Steps: 3."},
			"a-echo": {`"x"`, "Echo: I am A"}, "b-echo": {`"x"`, "Echo: I am B"},
		}
		for r := range out {
			if r.err != nil {
				t.Errorf("%s: %v", r.who, r.err)
				continue
			}
			f := r.resp.Final()
			id, _ := json.Marshal(f["id"])
			b, _ := json.Marshal(f["result"])
			if string(id) != want[r.who].id || !strings.Contains(string(b), want[r.who].text) {
				t.Errorf("%s: response id %s result %s, want id %s and %q", r.who, id, b, want[r.who].id, want[r.who].text)
			}
		}
	})

	t.Run("Last-Event-ID resumption", func(t *testing.T) {
		ctx := testCtx(t, 30*time.Second)
		s := RawInitialize(t, ctx, gh.URL, "")
		pctx, drop := context.WithCancel(ctx)
		defer drop()
		req, _ := http.NewRequestWithContext(pctx, http.MethodPost, gh.URL, strings.NewReader(
			`{"jsonrpc":"2.0","id":"resume-1","method":"tools/call","params":{"name":"everything__trigger-long-running-operation","arguments":{"duration":2,"steps":4},"_meta":{"progressToken":"resume-tok"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", s.SessionID)
		req.Header.Set("Mcp-Protocol-Version", s.Version)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			resp.Body.Close()
			t.Fatalf("a call with progress was answered with %q, want an SSE stream", ct)
		}
		// 2025-11-25 servers may open with a priming event (an id, no data): skip it.
		pbr := bufio.NewReader(resp.Body)
		first, err := ReadSSEEvent(pbr)
		for err == nil && first.Data == "" {
			first, err = ReadSSEEvent(pbr)
		}
		drop() // the connection breaks after the first message
		resp.Body.Close()
		if err != nil || first.ID == "" {
			t.Fatalf("first event: %+v, %v (want an event with an id)", first, err)
		}
		var firstMsg struct {
			Method string `json:"method"`
			Params struct {
				Progress float64 `json:"progress"`
				Token    string  `json:"progressToken"`
			} `json:"params"`
		}
		json.Unmarshal([]byte(first.Data), &firstMsg)
		if firstMsg.Method != "notifications/progress" || firstMsg.Params.Token != "resume-tok" || firstMsg.Params.Progress != 1 {
			t.Errorf("first event = %s, want progress 1 with the client's token", first.Data)
		}

		// The gateway may not have noticed the broken connection yet (409 while the old
		// writer holds the stream): retry for a bounded time, as clients do.
		var gresp *http.Response
		for attempt := 0; ; attempt++ {
			greq, _ := http.NewRequestWithContext(ctx, http.MethodGet, gh.URL, nil)
			greq.Header.Set("Accept", "text/event-stream")
			greq.Header.Set("Mcp-Session-Id", s.SessionID)
			greq.Header.Set("Mcp-Protocol-Version", s.Version)
			greq.Header.Set("Last-Event-ID", first.ID)
			gresp, err = http.DefaultClient.Do(greq)
			if err != nil {
				t.Fatal(err)
			}
			if gresp.StatusCode != http.StatusConflict || attempt >= 20 {
				break
			}
			gresp.Body.Close()
			time.Sleep(50 * time.Millisecond)
		}
		defer gresp.Body.Close()
		if gresp.StatusCode != http.StatusOK {
			t.Fatalf("GET with Last-Event-ID: HTTP %d", gresp.StatusCode)
		}
		br := bufio.NewReader(gresp.Body)
		var progress []float64
		var final map[string]any
		for final == nil {
			ev, err := ReadSSEEvent(br)
			if err != nil {
				t.Fatalf("resumed stream ended early (progress so far %v): %v", progress, err)
			}
			if ev.Data == "" {
				continue // priming event
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
				t.Fatalf("resumed event %q: %v", ev.Data, err)
			}
			if ev.ID == "" || ev.ID == first.ID {
				t.Errorf("resumed event id %q (first was %q)", ev.ID, first.ID)
			}
			if m["method"] == "notifications/progress" {
				p := m["params"].(map[string]any)
				progress = append(progress, p["progress"].(float64))
			} else if m["id"] != nil {
				final = m
			}
		}
		if !slices.Equal(progress, []float64{2, 3, 4}) {
			t.Errorf("resumed progress = %v, want exactly [2 3 4] (no replay of 1, nothing lost)", progress)
		}
		b, _ := json.Marshal(final)
		if final["id"] != "resume-1" || !strings.Contains(string(b), "Long running operation completed") {
			t.Errorf("final response on the resumed stream = %s", b)
		}
	})

	t.Run("unknown members survive", func(t *testing.T) {
		ctx := testCtx(t, 20*time.Second)
		s := RawInitialize(t, ctx, gh.URL, "")
		r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"extra"},"x-extra":{"a":1}}}`)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(r.Final()["result"]); !strings.Contains(string(b), "Echo: extra") {
			t.Errorf("echo with an unknown params member: %s", r.Body)
		}
		// The Go SDK server's results carry members newer than 2025-11-25 (ttlMs, cacheScope):
		// they reach the client byte for byte.
		r, err = s.Post(ctx, `{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"test://template/5/data"}}`)
		if err != nil {
			t.Fatal(err)
		}
		raw := string(r.Messages[len(r.Messages)-1])
		if !strings.Contains(raw, `"ttlMs"`) || !strings.Contains(raw, `"cacheScope"`) || !strings.Contains(raw, "Data for ID: 5") {
			t.Errorf("resources/read result lost the upstream's unknown members: %s", raw)
		}
	})

	t.Run("unknown methods", func(t *testing.T) {
		ctx := testCtx(t, 20*time.Second)
		s := RawInitialize(t, ctx, gh.URL, "")
		r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":1,"method":"x-test/nope","params":{}}`)
		if err != nil {
			t.Fatal(err)
		}
		gwErr := errorOf(r.Final())
		if errCode(gwErr) != -32601 || !strings.Contains(errMsg(gwErr), "x-test/nope") || !strings.Contains(errMsg(gwErr), "allow_methods") {
			t.Errorf("unknown method: %s, want -32601 naming the method and allow_methods", r.Body)
		}
		r, err = s.Post(ctx, `{"jsonrpc":"2.0","id":2,"method":"x-test/custom","params":{}}`)
		if err != nil {
			t.Fatal(err)
		}
		upErr := errorOf(r.Final())
		if errCode(upErr) != -32601 || errMsg(upErr) == "" || strings.Contains(errMsg(upErr), "allow_methods") {
			t.Errorf("allowed method: %s, want the upstream's own method-not-found, not the gateway's refusal", r.Body)
		}
		if id, _ := r.Final()["id"].(float64); id != 2 {
			t.Errorf("allowed method answered with id %v, want 2", r.Final()["id"])
		}
	})

	t.Run("pagination", func(t *testing.T) {
		ctx := testCtx(t, 30*time.Second)
		s := RawInitialize(t, ctx, gh.URL, "")
		other := RawInitialize(t, ctx, gh.URL, "")
		seen := map[string]int{}
		var cursors []string
		cursor := ""
		for page := 0; ; page++ {
			if page > 50 {
				t.Fatalf("more than 50 pages")
			}
			params := `{}`
			if cursor != "" {
				params = fmt.Sprintf(`{"cursor":%q}`, cursor)
			}
			r, err := s.Post(ctx, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list","params":%s}`, page+10, params))
			if err != nil {
				t.Fatal(err)
			}
			f := r.Final()
			if e := errorOf(f); e != nil {
				t.Fatalf("tools/list page %d: %v", page, e)
			}
			res := f["result"].(map[string]any)
			for _, n := range namesOf(res, "tools", "name") {
				seen[n]++
			}
			next, _ := res["nextCursor"].(string)
			if next == "" {
				break
			}
			cursors = append(cursors, next)
			cursor = next
		}
		for i := 1; i <= 5; i++ {
			if n := seen[fmt.Sprintf("pager__tool%02d", i)]; n != 1 {
				t.Errorf("pager__tool%02d listed %d times, want exactly once", i, n)
			}
		}
		for name, n := range seen {
			if n != 1 {
				t.Errorf("%s listed %d times", name, n)
			}
		}
		if !slices.ContainsFunc(slices.Collect(mapKeys(seen)), func(n string) bool { return strings.HasPrefix(n, "everything__") }) ||
			!slices.ContainsFunc(slices.Collect(mapKeys(seen)), func(n string) bool { return strings.HasPrefix(n, "gohttp__") }) {
			t.Errorf("paged tools/list lacks the other upstreams' tools: %v", seen)
		}
		if len(cursors) < 2 {
			t.Fatalf("pager (page size 2, 5 tools) gave %d cursors, want >= 2", len(cursors))
		}
		c := cursors[0]
		tampered := c[:len(c)/2] + string(rune('A'+(c[len(c)/2]-'A'+1)%26)) + c[len(c)/2+1:]
		if tampered == c {
			tampered = "x" + c
		}
		for _, tc := range []struct {
			name, method, cursor string
			s                    *RawSession
		}{
			{"tampered", "tools/list", tampered, s},
			{"garbage", "tools/list", "not-a-cursor", s},
			{"other session's", "tools/list", c, other},
			{"other method's", "prompts/list", c, s},
		} {
			r, err := tc.s.Post(ctx, fmt.Sprintf(`{"jsonrpc":"2.0","id":99,"method":%q,"params":{"cursor":%q}}`, tc.method, tc.cursor))
			if err != nil {
				t.Fatal(err)
			}
			if e := errorOf(r.Final()); errCode(e) != -32602 {
				t.Errorf("%s cursor: %s, want error -32602", tc.name, r.Body)
			}
		}
		// prompts and resources page through the same way.
		for _, m := range []struct{ method, key, field, want string }{
			{"prompts/list", "prompts", "name", "pager__prompt05"},
			{"resources/list", "resources", "uri", "pager://res/5"},
		} {
			var all []string
			cursor := ""
			for page := 0; page < 50; page++ {
				params := `{}`
				if cursor != "" {
					params = fmt.Sprintf(`{"cursor":%q}`, cursor)
				}
				r, err := s.Post(ctx, fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, m.method, params))
				if err != nil {
					t.Fatal(err)
				}
				res, _ := r.Final()["result"].(map[string]any)
				all = append(all, namesOf(res, m.key, m.field)...)
				cursor, _ = res["nextCursor"].(string)
				if cursor == "" {
					break
				}
			}
			if !slices.Contains(all, m.want) {
				t.Errorf("%s following nextCursor lacks %s: %v", m.method, m.want, all)
			}
			c := map[string]int{}
			for _, n := range all {
				if c[n]++; c[n] > 1 && strings.HasPrefix(n, "pager") {
					t.Errorf("%s: %s listed twice", m.method, n)
				}
			}
		}
		// The paged resources route by URI.
		r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"pager://res/4"}}`)
		if err != nil || !strings.Contains(string(r.Body), "content of pager://res/4") {
			t.Errorf("read pager://res/4: %v %s", err, r.Body)
		}
	})

	t.Run("server requests reach the session whose call caused them", func(t *testing.T) {
		// Two sessions share the pager's stdio connection. A's call asks for sampling 1s
		// after it began; by then B's call (started later) is in flight too. A's prompt must
		// never reach B: that would leak A's data to another client.
		ctx := testCtx(t, 30*time.Second)
		a := RawInitialize(t, ctx, gh.URL, `{"sampling":{}}`)
		b := RawInitialize(t, ctx, gh.URL, `{"sampling":{}}`)
		type outcome struct {
			prompts []string // sampling prompts this session was asked
			final   string
		}
		run := func(s *RawSession, who string, delay int, prompt string, res chan<- outcome) {
			var o outcome
			defer func() { res <- o }()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, strings.NewReader(fmt.Sprintf(
				`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"pager__sample_after","arguments":{"delayMs":%d,"prompt":%q}}}`, delay, prompt)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Session-Id", s.SessionID)
			req.Header.Set("Mcp-Protocol-Version", s.Version)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				o.final = err.Error()
				return
			}
			defer resp.Body.Close()
			handle := func(data string) bool {
				var m struct {
					ID     json.RawMessage `json:"id"`
					Method string          `json:"method"`
					Params struct {
						Messages []struct {
							Content struct{ Text string } `json:"content"`
						} `json:"messages"`
					} `json:"params"`
				}
				json.Unmarshal([]byte(data), &m)
				if m.Method == "sampling/createMessage" {
					for _, msg := range m.Params.Messages {
						o.prompts = append(o.prompts, msg.Content.Text)
					}
					ans := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"role":"assistant","model":"m","content":{"type":"text","text":"answer-from-%s"}}}`, m.ID, who)
					if r, err := s.Post(ctx, ans); err != nil || r.Status != http.StatusAccepted {
						t.Errorf("%s answering sampling: %v %v", who, err, r)
					}
					return false
				}
				if m.Method == "" && m.ID != nil {
					o.final = data
					return true
				}
				return false
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				body, _ := io.ReadAll(resp.Body)
				handle(string(body))
				return
			}
			br := bufio.NewReader(resp.Body)
			for {
				ev, err := ReadSSEEvent(br)
				if err != nil {
					return
				}
				if ev.Data != "" && handle(ev.Data) {
					return
				}
			}
		}
		ra, rb := make(chan outcome, 1), make(chan outcome, 1)
		go run(a, "A", 1000, "secret-of-A", ra)
		time.Sleep(300 * time.Millisecond)
		go run(b, "B", 2500, "prompt-of-B", rb)
		oa, ob := <-ra, <-rb
		for _, p := range ob.prompts {
			if p == "secret-of-A" {
				t.Errorf("session B was sent session A's sampling request (prompt %q): server-to-client requests of a shared stdio upstream are routed to the wrong session", p)
			}
		}
		// A stdio upstream does not say which call a request belongs to. While calls of both
		// sessions are in flight the gateway cannot know, so it refuses A's request (fail
		// closed) instead of guessing; B's request comes when only B's call is left.
		for _, p := range oa.prompts {
			if p != "secret-of-A" {
				t.Errorf("session A was asked %q, which is not its own prompt", p)
			}
		}
		if len(oa.prompts) != 0 || !strings.Contains(oa.final, "cannot tell which client") {
			t.Errorf("A's tool result = %s (asked %q), want the gateway's refusal of an unattributable request", oa.final, oa.prompts)
		}
		if !strings.Contains(ob.final, "answer-from-B") {
			t.Errorf("B's tool result = %s, want B's own answer", ob.final)
		}
	})

	t.Run("cancellation ends the call", func(t *testing.T) {
		ctx := testCtx(t, 40*time.Second)
		s := RawInitialize(t, ctx, gh.URL, "")
		done := make(chan *RawResponse, 1)
		go func() {
			r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":"slow-1","method":"tools/call","params":{"name":"everything__trigger-long-running-operation","arguments":{"duration":30,"steps":30}}}`)
			if err != nil {
				t.Errorf("slow call: %v", err)
			}
			done <- r
		}()
		time.Sleep(500 * time.Millisecond)
		r, err := s.Post(ctx, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow-1","reason":"test"}}`)
		if err != nil || r.Status != http.StatusAccepted {
			t.Fatalf("cancel: %v %v", err, r)
		}
		select {
		case r := <-done:
			t.Logf("cancelled call's POST ended with HTTP %d: %s", r.Status, r.Body)
		case <-time.After(20 * time.Second):
			t.Fatalf("the cancelled call was still running 20s after notifications/cancelled")
		}
		// The session and the shared upstream keep working.
		r, err = s.Post(ctx, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"after cancel"}}}`)
		if err != nil || !strings.Contains(string(r.Body), "Echo: after cancel") {
			t.Errorf("call after cancel: %v %s", err, r.Body)
		}
	})
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
