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

// Webhook forwards a chain's records to an HTTP endpoint (a SIEM's collector), at least
// once: the store is the outbox, and a cursor per sink (in the store) moves only after
// the endpoint accepted a batch, so records survive restarts and receiver outages. A batch
// is POSTed as JSON Lines (application/x-ndjson), one {"chain","seq","hash","record"} per
// line; receivers deduplicate by chain and seq.
type Webhook struct {
	Name    string // the sink's name (its cursor)
	URL     string
	Headers func(ctx context.Context) (http.Header, error)
	Client  *http.Client
	Batch   int           // records per POST; default 100
	Poll    time.Duration // how often to look for new records; default 1s
	Store   Store
	Chain   string
	Logger  *slog.Logger
}

// Run delivers until ctx ends, retrying failures with exponential backoff (1s to 1m).
func (w *Webhook) Run(ctx context.Context) {
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
func (w *Webhook) once(ctx context.Context) (int, error) {
	cur, err := w.Store.Cursor(ctx, w.Name, w.Chain)
	if err != nil {
		return 0, err
	}
	recs, err := w.Store.Read(ctx, w.Chain, cur, w.Batch)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return 0, err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.URL, &body)
	if err != nil {
		return 0, err
	}
	if w.Headers != nil {
		h, err := w.Headers(ctx)
		if err != nil {
			return 0, err
		}
		for k, v := range h {
			req.Header[k] = v
		}
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("X-Gatehouse-Chain", w.Chain)
	resp, err := w.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, fmt.Errorf("%s answered HTTP %d", w.URL, resp.StatusCode)
	}
	last := recs[len(recs)-1].Seq
	if err := w.Store.SetCursor(ctx, w.Name, w.Chain, last); err != nil {
		return 0, err
	}
	return len(recs), nil
}
