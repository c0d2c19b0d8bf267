package jsonrpc

import (
	"fmt"
)

// These helpers read and change members of a raw JSON object (such as Message.Params) without
// decoding the rest of it, so that unknown members survive byte for byte.

// memberSpan locates key's value in obj. obj must be valid JSON (a sub-slice of a parsed
// message, say); anything else reports absent.
func memberSpan(obj []byte, key string) (start, end int, ok bool) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, 0, false
	}
	i = skipWS(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		kEnd, esc, err := skipString(obj, i)
		if err != nil {
			return 0, 0, false
		}
		k := obj[i+1 : kEnd-1]
		if esc {
			k = unquoteBytes(obj[i:kEnd])
		}
		i = skipWS(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return 0, 0, false
		}
		i = skipWS(obj, i+1)
		vEnd, err := skipValue(obj, i, 1)
		if err != nil {
			return 0, 0, false
		}
		if string(k) == key {
			return i, vEnd, true
		}
		i = skipWS(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i = skipWS(obj, i+1)
		}
	}
	return 0, 0, false
}

// Member returns the raw value of key in the JSON object obj.
func Member(obj []byte, key string) ([]byte, bool) {
	s, e, ok := memberSpan(obj, key)
	if !ok {
		return nil, false
	}
	return obj[s:e], true
}

// StringMember returns the string value of key in obj; ok is false if absent or not a string.
func StringMember(obj []byte, key string) (string, bool) {
	v, ok := Member(obj, key)
	if !ok || len(v) == 0 || v[0] != '"' {
		return "", false
	}
	return string(unquoteBytes(v)), true
}

// Path follows a chain of object keys, e.g. Path(params, "_meta", "progressToken").
func Path(obj []byte, keys ...string) ([]byte, bool) {
	v := obj
	for _, k := range keys {
		var ok bool
		if v, ok = Member(v, k); !ok {
			return nil, false
		}
	}
	return v, true
}

// SetMember returns a copy of obj with key's value replaced by val, or added at the end when
// absent. obj must be a JSON object.
func SetMember(obj []byte, key string, val []byte) []byte {
	if s, e, ok := memberSpan(obj, key); ok {
		return splice(obj, s, e, val)
	}
	end := len(obj) - 1
	for end > 0 && obj[end] != '}' {
		end--
	}
	out := make([]byte, 0, len(obj)+len(key)+len(val)+4)
	out = append(out, obj[:end]...)
	j := len(out) - 1
	for j >= 0 && isWS(out[j]) {
		j--
	}
	if j >= 0 && out[j] != '{' {
		out = append(out, ',')
	}
	out = appendString(out, key)
	out = append(out, ':')
	out = append(out, val...)
	return append(out, obj[end:]...)
}

// SetPath sets a value under nested keys, creating intermediate objects as needed.
func SetPath(obj []byte, val []byte, keys ...string) []byte {
	if len(keys) == 1 {
		return SetMember(obj, keys[0], val)
	}
	inner, ok := Member(obj, keys[0])
	if !ok || len(inner) == 0 || inner[0] != '{' {
		inner = []byte("{}")
	}
	return SetMember(obj, keys[0], SetPath(inner, val, keys[1:]...))
}

// DeleteMember returns a copy of obj without key (obj itself if key is absent).
func DeleteMember(obj []byte, key string) []byte {
	s, e, ok := memberSpan(obj, key)
	if !ok {
		return obj
	}
	// Walk back from the value to the start of the key's string.
	k := s - 1
	for k >= 0 && obj[k] != ':' {
		k--
	}
	k--
	for k >= 0 && isWS(obj[k]) {
		k--
	}
	// obj[k] is the closing quote of the key; find its opening quote.
	q := k - 1
	for q >= 0 {
		if obj[q] == '"' {
			bs := 0
			for p := q - 1; p >= 0 && obj[p] == '\\'; p-- {
				bs++
			}
			if bs%2 == 0 {
				break
			}
		}
		q--
	}
	after := skipWS(obj, e)
	if after < len(obj) && obj[after] == ',' {
		return splice(obj, q, skipWS(obj, after+1), nil)
	}
	// Last member: remove the comma before it, if any.
	before := q - 1
	for before >= 0 && isWS(obj[before]) {
		before--
	}
	if before >= 0 && obj[before] == ',' {
		return splice(obj, before, e, nil)
	}
	return splice(obj, q, e, nil)
}

// EachMember calls fn for every member of the object obj, in order, until fn returns false.
func EachMember(obj []byte, fn func(key string, val []byte) bool) error {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return fmt.Errorf("%w: not an object", ErrInvalid)
	}
	i = skipWS(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		kEnd, _, err := skipString(obj, i)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrParse, err)
		}
		k := unquoteBytes(obj[i:kEnd])
		i = skipWS(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return fmt.Errorf("%w: expected ':'", ErrParse)
		}
		i = skipWS(obj, i+1)
		vEnd, err := skipValue(obj, i, 1)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrParse, err)
		}
		if !fn(string(k), obj[i:vEnd]) {
			return nil
		}
		i = skipWS(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i = skipWS(obj, i+1)
		}
	}
	return nil
}

// EachElement calls fn for every element of the JSON array arr until fn returns false.
func EachElement(arr []byte, fn func(val []byte) bool) error {
	i := skipWS(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return fmt.Errorf("%w: not an array", ErrInvalid)
	}
	i = skipWS(arr, i+1)
	for i < len(arr) && arr[i] != ']' {
		end, err := skipValue(arr, i, 1)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrParse, err)
		}
		if !fn(arr[i:end]) {
			return nil
		}
		i = skipWS(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipWS(arr, i+1)
		}
	}
	return nil
}

// Unquote decodes a raw JSON string value; ok is false if raw is not a string.
func Unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	return string(unquoteBytes(raw)), true
}

// Quote returns s as a raw JSON string.
func Quote(s string) []byte { return appendString(nil, s) }
