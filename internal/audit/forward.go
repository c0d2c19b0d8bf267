package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Forwarder delivers a chain's records to a sink at least once: the store is the outbox,
// and a cursor per sink (in the store) moves only after the sink accepted a batch, so
// records survive restarts and receiver outages. Receivers deduplicate by chain and seq.
type Forwarder struct {
	Name   string // the sink's name (its cursor)
	Send   func(ctx context.Context, recs []Stored) error
	Batch  int           // records per delivery; default 100
	Poll   time.Duration // how often to look for new records; default 1s
	Store  Store
	Chain  string
	Logger *slog.Logger
}

// Webhook returns a Send that POSTs a batch as JSON Lines (application/x-ndjson), one
// {"chain","seq","hash","record"} per line, and counts only a 2xx answer as delivered.
func Webhook(url string, headers func(ctx context.Context) (http.Header, error), client *http.Client) func(context.Context, []Stored) error {
	return func(ctx context.Context, recs []Stored) error {
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		extra := http.Header{"Content-Type": {"application/x-ndjson"}}
		if len(recs) > 0 {
			extra.Set("X-Gatehouse-Chain", recs[0].Chain)
		}
		return post(ctx, client, url, headers, extra, body.Bytes())
	}
}

// post sends body to url with the configured headers and extra ones, and counts only a 2xx
// answer as accepted.
func post(ctx context.Context, client *http.Client, url string, headers func(ctx context.Context) (http.Header, error), extra http.Header, body []byte) error {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if headers != nil {
		h, err := headers(ctx)
		if err != nil {
			return err
		}
		for k, v := range h {
			req.Header[k] = v
		}
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// Run delivers until ctx ends, retrying failures with exponential backoff (1s to 1m).
func (w *Forwarder) Run(ctx context.Context) {
	if w.Batch <= 0 {
		w.Batch = 100
	}
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	backoff := time.Duration(0)
	failing := false
	for {
		wait := w.Poll
		n, err := w.once(ctx)
		switch {
		case err != nil:
			if backoff == 0 {
				backoff = time.Second
			} else if backoff *= 2; backoff > time.Minute {
				backoff = time.Minute
			}
			wait = backoff
			if !failing {
				w.Logger.Error("audit forwarding failing; records wait in the store", "sink", w.Name, "err", err)
			}
			failing = true
		case failing:
			w.Logger.Warn("audit forwarding delivering again", "sink", w.Name)
			failing, backoff = false, 0
		}
		if err == nil && n == w.Batch {
			wait = 0 // more to send
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// once delivers one batch; it returns how many records it delivered.
func (w *Forwarder) once(ctx context.Context) (int, error) {
	cur, err := w.Store.Cursor(ctx, w.Name, w.Chain)
	if err != nil {
		return 0, err
	}
	recs, err := w.Store.Read(ctx, w.Chain, cur, w.Batch)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	if err := w.Send(ctx, recs); err != nil {
		return 0, err
	}
	last := recs[len(recs)-1].Seq
	if err := w.Store.SetCursor(ctx, w.Name, w.Chain, last); err != nil {
		return 0, err
	}
	return len(recs), nil
}

func jsonLine(r Stored) (string, error) {
	b, err := json.Marshal(r)
	return string(b), err
}
