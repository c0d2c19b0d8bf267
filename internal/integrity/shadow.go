package integrity

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Shadow is a pair of definitions from different servers that a model could confuse, or a
// description that points at another server's tool.
type Shadow struct {
	Key, Other string // definition keys
	Reason     string // "same-name", "confusable-name", "refers-to-other-server"
}

// Shadowing looks across servers for definitions with the same or a confusably similar
// name (case, separators, look-alike letters), and for descriptions that name another
// server's tool.
func Shadowing(defs []Definition) []Shadow {
	type entry struct {
		d    Definition
		key  string
		norm string
		desc string
	}
	entries := make([]entry, 0, len(defs))
	for _, d := range defs {
		var m struct {
			Description string `json:"description"`
		}
		_ = json.Unmarshal(d.Raw, &m)
		entries = append(entries, entry{d, Key(d.Server, d.Kind, d.Name), foldName(d.Name), strings.ToLower(m.Description)})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	var out []Shadow
	for i := range entries {
		for j := i + 1; j < len(entries); j++ {
			a, b := entries[i], entries[j]
			if a.d.Server == b.d.Server || a.d.Kind != b.d.Kind {
				continue
			}
			switch {
			case a.d.Name == b.d.Name:
				out = append(out, Shadow{a.key, b.key, "same-name"})
			case a.norm == b.norm:
				out = append(out, Shadow{a.key, b.key, "confusable-name"})
			}
		}
	}
	for _, a := range entries {
		if a.desc == "" {
			continue
		}
		for _, b := range entries {
			if a.d.Server == b.d.Server || b.d.Kind != KindTool || !distinctive(b.d.Name) {
				continue
			}
			if mentions(a.desc, strings.ToLower(b.d.Name)) {
				out = append(out, Shadow{a.key, b.key, "refers-to-other-server"})
			}
		}
	}
	return out
}

// foldName reduces a name to what a reader (or a model) tells apart: NFKC, lower case,
// look-alike letters folded, separators dropped.
func foldName(s string) string {
	s = strings.ToLower(norm.NFKC.String(s))
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '_', '-', '.', ' ', '/', ':':
			continue
		case 'а':
			r = 'a'
		case 'е':
			r = 'e'
		case 'о', '0':
			r = 'o'
		case 'р':
			r = 'p'
		case 'с':
			r = 'c'
		case 'х':
			r = 'x'
		case 'і', '1', 'l':
			r = 'i'
		case 'ѕ', '5':
			r = 's'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// distinctive says whether a tool name is specific enough that a description naming it
// means that tool (not an ordinary word such as "search").
func distinctive(name string) bool {
	return strings.ContainsAny(name, "_-.") || len(name) >= 12
}

func mentions(text, word string) bool {
	re, err := regexp.Compile(`(^|[^a-z0-9_])` + regexp.QuoteMeta(word) + `($|[^a-z0-9_])`)
	return err == nil && re.MatchString(text)
}
