package jsonrpc

import (
	"bytes"
	"errors"
)

// Peek returns a message's id and method without validating the rest of it. Transports use
// it to tell requests from responses while a message passes through; the gateway validates
// every message once, with Parse, where it decides what to do with it. id is nil when absent
// or null.
func Peek(b []byte) (id []byte, method string, err error) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, "", errors.New("not a JSON object")
	}
	i = skipWS(b, i+1)
	for i < len(b) && b[i] == '"' {
		kEnd := quickString(b, i)
		if kEnd < 0 {
			return nil, "", errors.New("unterminated string")
		}
		key := b[i+1 : kEnd-1]
		i = skipWS(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return nil, "", errors.New("expected ':'")
		}
		i = skipWS(b, i+1)
		vEnd := quickValue(b, i)
		if vEnd < 0 {
			return nil, "", errors.New("malformed value")
		}
		switch string(key) {
		case "id":
			if v := b[i:vEnd]; string(v) != "null" {
				id = v
			}
		case "method":
			if vEnd-i >= 2 && b[i] == '"' {
				method = string(unquoteBytes(b[i:vEnd]))
			}
		}
		i = skipWS(b, vEnd)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	if i >= len(b) || b[i] != '}' || skipWS(b, i+1) != len(b) {
		return nil, "", errors.New("malformed object")
	}
	return id, method, nil
}

// quickString returns the offset past the string starting at b[i], or -1. It finds the
// closing quote with IndexByte and checks only the backslashes before it.
func quickString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		bs := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return j + 1
		}
		j++
	}
}

// quickValue returns the offset past the value starting at b[i], or -1, without validating it.
func quickValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return quickString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				e := quickString(b, i)
				if e < 0 {
					return -1
				}
				i = e
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
