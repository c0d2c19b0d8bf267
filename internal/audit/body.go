package audit

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// appendBody appends r's canonical body — byte for byte what json.Marshal makes of the
// record without its hash — to dst. Reflection made the encoding a sixth of a durable
// record's CPU; this writes the fields in declaration order and hands anything out of the
// ordinary (a string that needs escaping, JSON that is not compact, a time or number JSON
// cannot hold) to encoding/json, so the two cannot differ. TestBodyMatchesEncodingJSON and
// FuzzBody hold it to that.
func appendBody(dst []byte, r *Record) ([]byte, error) {
	t := r.Time.UTC()
	if y := t.Year(); y < 0 || y > 9999 || math.IsNaN(r.LatencyMs) || math.IsInf(r.LatencyMs, 0) {
		return marshalBody(dst, r)
	}
	b := append(dst, `{"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = appendField(b, `,"chain":`, r.Chain)
	b = append(b, `,"time":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = appendField(b, `","kind":`, r.Kind)
	if r.Ref != 0 {
		b = append(b, `,"ref":`...)
		b = strconv.AppendInt(b, r.Ref, 10)
	}
	b = appendOmit(b, `,"subject":`, r.Subject)
	b = appendOmit(b, `,"tenant":`, r.Tenant)
	b = appendOmit(b, `,"client_id":`, r.ClientID)
	b = appendStrings(b, `,"roles":`, r.Roles)
	b = appendOmit(b, `,"auth_method":`, r.AuthMethod)
	b = appendOmit(b, `,"session":`, r.Session)
	b = appendOmit(b, `,"remote":`, r.Remote)
	b = appendOmit(b, `,"method":`, r.Method)
	b = appendOmit(b, `,"server":`, r.Server)
	b = appendOmit(b, `,"target":`, r.Target)
	var err error
	if b, err = appendRaw(b, `,"arguments":`, r.Arguments); err != nil {
		return nil, err
	}
	b = appendOmit(b, `,"decision":`, r.Decision)
	b = appendStrings(b, `,"rules":`, r.Rules)
	b = appendOmit(b, `,"reason":`, r.Reason)
	b = appendStrings(b, `,"findings":`, r.Findings)
	b = appendOmit(b, `,"outcome":`, r.Outcome)
	if r.ErrorCode != 0 {
		b = append(b, `,"error_code":`...)
		b = strconv.AppendInt(b, int64(r.ErrorCode), 10)
	}
	if r.LatencyMs != 0 {
		b = append(b, `,"latency_ms":`...)
		b = appendFloat(b, r.LatencyMs)
	}
	if r.ResponseBytes != 0 {
		b = append(b, `,"response_bytes":`...)
		b = strconv.AppendInt(b, int64(r.ResponseBytes), 10)
	}
	b = appendOmit(b, `,"response_digest":`, r.ResponseDigest)
	if b, err = appendRaw(b, `,"result":`, r.Result); err != nil {
		return nil, err
	}
	b = appendOmit(b, `,"event":`, r.Event)
	if b, err = appendRaw(b, `,"detail":`, r.Detail); err != nil {
		return nil, err
	}
	b = appendField(b, `,"prev":`, r.Prev)
	return append(b, '}'), nil
}

// marshalBody is the reference encoding.
func marshalBody(dst []byte, r *Record) ([]byte, error) {
	c := *r
	c.Hash = ""
	c.Time = c.Time.UTC()
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

func appendOmit(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendField(b, key, s)
}

func appendField(b []byte, key, s string) []byte {
	return appendString(append(b, key...), s)
}

// appendString writes s as encoding/json does: plain printable ASCII directly, anything
// else through json.Marshal (which escapes control characters, quotes, backslashes, <, >
// and &, U+2028 and U+2029, and replaces invalid UTF-8).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, key...)
	for i, s := range ss {
		if i == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendRaw writes JSON that is already compact and has nothing to escape as it is (what
// the valuer makes); anything else as json.Marshal would: compacted, escaped, or an error.
func appendRaw(b []byte, key string, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return b, nil
	}
	b = append(b, key...)
	if plainJSON(raw) && json.Valid(raw) {
		return append(b, raw...), nil
	}
	// Inside a value, as in the record (at the top level encoding/json leaves U+2028 alone).
	q, err := json.Marshal([]json.RawMessage{raw})
	if err != nil {
		return nil, err
	}
	return append(b, q[1:len(q)-1]...), nil
}

// plainJSON reports whether raw has no byte that compacting or escaping could change:
// no white space, no <, > or &, and no 0xE2 (the lead byte of U+2028 and U+2029).
func plainJSON(raw []byte) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n', '<', '>', '&', 0xe2:
			return false
		}
	}
	return true
}

// appendFloat formats f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
