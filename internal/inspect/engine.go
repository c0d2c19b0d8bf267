package inspect

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"gatehouse/internal/inspect/egress"
	"gatehouse/internal/inspect/injection"
	"gatehouse/internal/inspect/keywords"
	"gatehouse/internal/inspect/pii"
	"gatehouse/internal/inspect/secret"
)

// Kind is what a text is; see injection.Kind.
type Kind = injection.Kind

// The kinds of text.
const (
	KindResult      = injection.KindResult
	KindDescription = injection.KindDescription
	KindArgument    = injection.KindArgument
)

// Detectors are the detectors an Engine runs; a nil one is off.
type Detectors struct {
	Injection *injection.Detector
	// Threshold overrides the injection model's operating point on results and arguments
	// (0 keeps the one stored with the weights); descriptions stay stricter by the same margin.
	Threshold float64
	Secrets   *secret.Detector
	PII       *pii.Detector
	Egress    *egress.Checker // arguments only
	Hidden    bool            // report invisible characters and escape sequences
}

// Engine inspects texts. Safe for concurrent use.
type Engine struct {
	d Detectors
	// joint finds the keywords of the injection rules and of the secret rules in one pass
	// (ids below nInjection are the injection detector's, the rest the secret detector's
	// shifted by nInjection); nil unless both detectors are on.
	joint      *keywords.Index
	nInjection int32
	// bufs holds *buffers for the normalisation of the texts being inspected.
	bufs sync.Pool
}

// maxPooled is the longest text whose normalisation buffers are kept for reuse (its offsets
// take four bytes a byte): a rare huge text should not pin its memory.
const maxPooled = 1 << 20

// New returns an engine over the given detectors.
func New(d Detectors) *Engine {
	e := &Engine{d: d}
	if d.Injection != nil && d.Secrets != nil {
		inj := d.Injection.KeywordWords()
		words := append(slices.Clone(inj), d.Secrets.Keywords().Words()...)
		if k, err := keywords.New(words); err == nil {
			e.joint, e.nInjection = k, int32(len(inj))
		}
	}
	return e
}

// hits is one text's keyword occurrences, split by detector; nil when there is no joint pass.
type hits struct {
	injection, secrets []keywords.Hit
}

// keywordHits finds both detectors' keywords in n in one pass.
func (e *Engine) keywordHits(n *Normalized) *hits {
	if e.joint == nil {
		return nil
	}
	h := &hits{}
	e.joint.Each(n.Lower, func(id int32, end int) {
		if id < e.nInjection {
			h.injection = append(h.injection, keywords.Hit{ID: id, End: end})
		} else {
			h.secrets = append(h.secrets, keywords.Hit{ID: id - e.nInjection, End: end})
		}
	})
	return h
}

// Report is the verdict on one text.
type Report struct {
	Injection float64   // 0..1
	Flagged   bool      // injection at or above the operating point
	Findings  []Finding // sorted by Start; offsets in the inspected text
}

// Inspect runs every detector on text. ctx bounds the egress checker's name resolution.
func (e *Engine) Inspect(ctx context.Context, text string, kind Kind) Report {
	var rep Report
	if text == "" {
		return rep
	}
	bufs, _ := e.bufs.Get().(*buffers)
	if bufs == nil {
		bufs = new(buffers)
	}
	defer func() {
		if cap(bufs.text) <= maxPooled && cap(bufs.lower) <= maxPooled && cap(bufs.off) <= maxPooled+1 {
			e.bufs.Put(bufs)
		}
	}()
	n := normalize(text, bufs) // valid until bufs goes back: nothing of n outlives this call
	if e.d.Hidden {
		rep.Findings = append(rep.Findings, n.Hidden...)
	}
	h := e.keywordHits(n)
	e.injection(&rep, n, h, kind, -1, -1)
	e.content(&rep, n, h, -1, -1)
	for _, dec := range n.Decoded {
		// What an encoded run says counts as said where the run stands.
		if e.d.Hidden && dec.Encoding != "unicode-tags" {
			rep.Findings = append(rep.Findings, Finding{Type: TypeHidden, Rule: "encoded-" + dec.Encoding, Start: dec.Start, End: dec.End})
		}
		dn := Normalize(dec.Text)
		before := len(rep.Findings)
		dh := e.keywordHits(dn)
		e.injection(&rep, dn, dh, kind, dec.Start, dec.End)
		if !dec.Respelled {
			e.content(&rep, dn, dh, dec.Start, dec.End)
		}
		if e.d.Hidden && dec.Encoding != "unicode-tags" && len(rep.Findings) == before {
			// An encoded run that hides nothing is ordinary data (images, keys, ids).
			rep.Findings = rep.Findings[:before-1]
		}
	}
	if kind == KindArgument && e.d.Egress != nil {
		for _, m := range e.d.Egress.Check(ctx, text) {
			if !networkScheme(text[m.Start:m.End]) {
				continue
			}
			rep.Findings = append(rep.Findings, Finding{Type: TypeEgress, Rule: m.Rule, Start: m.Start, End: m.End})
		}
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool { return rep.Findings[i].Start < rep.Findings[j].Start })
	return rep
}

// threshold is the operating point for kind.
func (e *Engine) threshold(kind Kind) float64 {
	det := e.d.Injection
	th := det.Threshold
	if e.d.Threshold > 0 {
		th = e.d.Threshold
	}
	if kind == KindDescription {
		return injection.Stricter(th)
	}
	return th
}

// injection scores n; at is the original span the text stands for when it was decoded
// from an encoded run (-1 otherwise).
func (e *Engine) injection(rep *Report, n *Normalized, h *hits, kind Kind, atStart, atEnd int) {
	if e.d.Injection == nil {
		return
	}
	var r injection.Result
	if h != nil {
		r = e.d.Injection.ScoreHits(n.Lower, kind, h.injection)
	} else {
		r = e.d.Injection.Score(n.Lower, kind)
	}
	rep.Injection = max(rep.Injection, r.Score)
	if !injection.Flag(kind, r, e.threshold(kind)) {
		return
	}
	rep.Flagged = true
	place := func(s, e int) (int, int) {
		if atStart >= 0 {
			return atStart, atEnd
		}
		return n.Orig(s, e)
	}
	named := false
	for _, m := range r.Matches {
		if !injection.Strong(m) && (m.Start >= r.End || m.End <= r.Start) {
			continue // a weak signal outside the segment that decided
		}
		s, en := place(m.Start, m.End)
		rep.Findings = append(rep.Findings, Finding{Type: TypeInjection, Rule: m.Rule, Start: s, End: en})
		named = true
	}
	if !named {
		s, en := place(r.Start, r.End)
		rep.Findings = append(rep.Findings, Finding{Type: TypeInjection, Rule: "classifier", Start: s, End: en})
	}
}

// content runs the secret and personal-data detectors over n.
func (e *Engine) content(rep *Report, n *Normalized, h *hits, atStart, atEnd int) {
	place := func(s, e int) (int, int) {
		if atStart >= 0 {
			return atStart, atEnd
		}
		return n.Orig(s, e)
	}
	if e.d.Secrets != nil {
		var ms []secret.Match
		if h != nil {
			ms = e.d.Secrets.ScanHits(n.Text, h.secrets)
		} else {
			ms = e.d.Secrets.Scan(n.Text)
		}
		for _, m := range ms {
			s, en := place(m.Start, m.End)
			rep.Findings = append(rep.Findings, Finding{Type: TypeSecret, Rule: m.Rule, Start: s, End: en})
		}
	}
	if e.d.PII != nil {
		for _, m := range e.d.PII.Scan(n.Text) {
			s, en := place(m.Start, m.End)
			rep.Findings = append(rep.Findings, Finding{Type: TypePII, Rule: string(m.Type), Start: s, End: en})
		}
	}
}

// networkScheme says whether a destination is reached over the network: a URL of a scheme
// an upstream would connect with, or no scheme at all (a host, an address, an e-mail). An
// MCP resource URI such as test://example or file:///x names no host to connect to.
func networkScheme(dest string) bool {
	i := strings.Index(dest, "://")
	if i < 0 {
		return true
	}
	switch strings.ToLower(dest[:i]) {
	case "http", "https", "ws", "wss", "ftp", "ftps", "sftp", "ssh", "smtp", "smtps", "imap", "imaps", "ldap", "ldaps", "gopher", "dict", "redis", "mongodb", "postgres", "postgresql", "mysql", "tcp", "udp", "git", "svn", "rtsp":
		return true
	}
	return false
}
