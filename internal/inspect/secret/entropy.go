package secret

import "strings"

// The entropy check (Options.Entropy) reports a token that no rule names when three things
// hold, so that hashes, UUIDs, URLs and prose on their own never fire:
//
//   - it is the value of an assignment whose key names a credential: `api_key=…`,
//     `"client_secret": "…"`, `password: …`, `token := "…"`, `Authorization: Bearer …`;
//   - it is at least minTokenLen characters of the base64, base64url and hex alphabets (with
//     . and ~), standing alone: quotes, spaces or punctuation around it, not `${…}` or `%…`;
//   - it looks random: letters and digits or mixed case, no file or host name ending, and a
//     Shannon entropy above hexEntropy (hex digits only) or tokenEntropy (bits per character).
const (
	minTokenLen  = 20
	maxTokenLen  = 4096
	tokenEntropy = 3.5
	hexEntropy   = 3.0
)

// highEntropy adds the entropy check's candidates in text to found.
func highEntropy(text string, found []candidate) []candidate {
	// The operators are found with IndexByte (vector instructions), each searched again only
	// once passed: a text of long tokens and few assignments is read at memory speed.
	eq, colon := indexFrom(text, 0, '='), indexFrom(text, 0, ':')
	for {
		i := min(eq, colon)
		if i == len(text) {
			return found
		}
		if i == eq {
			eq = indexFrom(text, i+1, '=')
		} else {
			colon = indexFrom(text, i+1, ':')
		}
		if start, end, ok := assignedToken(text, i); ok && credentialKey(text, i) && looksRandom(text[start:end]) {
			found = append(found, candidate{Match: Match{HighEntropyRule, start, end}, rank: 2})
		}
	}
}

// indexFrom returns the offset of the first c in text at or after i, or len(text).
func indexFrom(text string, i int, c byte) int {
	if j := strings.IndexByte(text[i:], c); j >= 0 {
		return i + j
	}
	return len(text)
}

// assignedToken returns the token assigned by the operator at text[op] (= or :), if there is
// one of the right form: after the operator (=, :, =>, :=) and at most a few spaces or quotes,
// and an optional HTTP authentication scheme, a run of token characters that ends the value.
func assignedToken(text string, op int) (start, end int, ok bool) {
	i := op + 1
	if text[op] == '=' {
		if op > 0 && strings.IndexByte("=!<>:", text[op-1]) >= 0 {
			return 0, 0, false // ==, !=, <=, >=; := is taken at its colon
		}
		if i < len(text) && (text[i] == '>' || text[i] == '=') {
			if text[i] == '=' {
				return 0, 0, false
			}
			i++ // =>
		}
	} else if i < len(text) && text[i] == '=' {
		i++ // :=
	}
	for n := 0; n < 4 && i < len(text) && strings.IndexByte(" \t\"'`", text[i]) >= 0; n++ {
		i++
	}
	if j := afterAuthScheme(text, i); j > i {
		i = j
	}
	start = i
	for i < len(text) && i-start <= maxTokenLen && isTokenByte(text[i]) {
		i++
	}
	end = i
	if end-start < minTokenLen || end-start > maxTokenLen {
		return 0, 0, false
	}
	if end < len(text) && strings.IndexByte(" \t\r\n\"'`,;&)]}<>\\", text[end]) < 0 {
		return 0, 0, false // part of something larger: ${VAR}, %XX, user@host, a URL
	}
	return start, end, true
}

// afterAuthScheme returns the offset after "Bearer ", "Basic " or "Token " at text[i:], or i.
func afterAuthScheme(text string, i int) int {
	for _, s := range [...]string{"bearer ", "basic ", "token "} {
		if len(text)-i > len(s) && strings.EqualFold(text[i:i+len(s)], s) {
			return i + len(s)
		}
	}
	return i
}

func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '=' || c == '_' || c == '-' || c == '.' || c == '~'
}

// credentialKey reports whether the key before the operator at text[op] names a credential.
// The key is the identifier that ends, after at most a closing quote and a few spaces, just
// before the operator.
func credentialKey(text string, op int) bool {
	i := op
	for n := 0; n < 4 && i > 0 && strings.IndexByte(" \t\"'`", text[i-1]) >= 0; n++ {
		i--
	}
	end := i
	for i > 0 && end-i < 64 && isKeyByte(text[i-1]) {
		i--
	}
	if i == end || i > 0 && isKeyByte(text[i-1]) {
		return false // no key, or one too long to be a name
	}
	key := text[i:end]

	// Split the key into lower-case words at separators and camelCase humps.
	var buf [64]byte
	var words [16]string
	flat, nw, ws := buf[:0], 0, 0
	for j := 0; j < len(key); j++ {
		c := key[j]
		sep := c == '_' || c == '-' || c == '.'
		hump := 'A' <= c && c <= 'Z' && j > 0 && 'a' <= key[j-1] && key[j-1] <= 'z'
		if (sep || hump) && len(flat) > ws {
			if nw < len(words) {
				words[nw] = string(flat[ws:])
				nw++
			}
			ws = len(flat)
		}
		if sep {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		flat = append(flat, c)
	}
	if len(flat) > ws && nw < len(words) {
		words[nw] = string(flat[ws:])
		nw++
	}
	if nw == 0 {
		return false
	}
	last := words[nw-1]
	switch last {
	case "id", "ids", "name", "names", "type", "types", "url", "uri", "urls", "path", "file",
		"length", "len", "size", "count", "version", "format", "alias", "endpoint", "expiry",
		"expires", "expiration", "ttl", "at", "hint", "policy", "header", "field", "label",
		"mode", "method", "kind", "hash", "prefix", "provider", "store", "env", "ref", "rotation",
		"state", "nonce", "scope", "scopes", "issuer", "iss", "aud", "audience", "alg", "algorithm":
		// key_id, tokenType, secret_name, auth_url, password_policy, oauth_state: about a
		// credential, or a value that travels in the open
		return false
	case "key", "pass", "pw":
		// key, client_key, signingKey, DB_PASS; but not a key that names a record or a place
		return !hasWord(words[:nw], "public", "pub", "primary", "foreign", "sort", "partition",
			"cache", "idempotency", "object", "bucket", "routing", "shard", "row", "index", "lookup",
			"dedup", "message", "event", "storage", "cursor", "page", "group", "translation", "i18n")
	}
	if hasWord(words[:nw], "public", "pub", "author", "authors", "authority", "authored", "csrf", "xsrf") {
		return false
	}
	for _, w := range [...]string{
		"secret", "token", "passw", "pwd", "passphrase", "apikey", "accesskey", "privatekey",
		"auth", "credential", "signingkey", "sessionid", "cookie",
	} {
		if strings.Contains(string(flat), w) {
			return true
		}
	}
	return false
}

func hasWord(words []string, any ...string) bool {
	for _, w := range words {
		for _, a := range any {
			if w == a {
				return true
			}
		}
	}
	return false
}

func isKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '.'
}

// looksRandom reports whether a token has the character mix and entropy of a credential,
// and is not a file name or host name (ending in a dot and a few lower-case letters).
func looksRandom(tok string) bool {
	if dot := strings.LastIndexByte(tok, '.'); dot >= 0 && len(tok)-dot-1 <= 5 && len(tok)-dot > 2 {
		ext := tok[dot+1:]
		if strings.Trim(ext, "abcdefghijklmnopqrstuvwxyz") == "" {
			return false
		}
	}
	var lower, upper, digit bool
	hex := true
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case 'a' <= c && c <= 'z':
			lower = true
			hex = hex && c <= 'f'
		case 'A' <= c && c <= 'Z':
			upper = true
			hex = hex && c <= 'F'
		case '0' <= c && c <= '9':
			digit = true
		case c == '-':
			// UUIDs are hex with dashes
		default:
			hex = false
		}
	}
	letters := lower || upper
	if !(letters && digit || lower && upper) {
		return false
	}
	if hex {
		return entropy(tok) > hexEntropy
	}
	return entropy(tok) > tokenEntropy
}
