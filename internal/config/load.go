package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, validates and defaults the configuration file at path. A file that cannot be
// read gives a wrapped os error; a file with problems gives a Problems error listing all
// of them.
func Load(path string) (*Config, error) { return LoadWith(path, Checks{}) }

func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return data, nil
}

// Parse validates and defaults a configuration held in data. file names it in problems and
// its folder is where relative paths in it are resolved (the working directory if file is
// ""). Any problem found makes the error a Problems listing all of them, sorted by line.
func Parse(data []byte, file string) (*Config, error) { return parse(data, file, Checks{}) }

func parse(data []byte, file string, checks Checks) (*Config, error) {
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		dir = filepath.Dir(file)
	}
	d := &decoder{file: file, dir: dir, set: make(map[string]bool), checks: checks}
	cfg := &Config{file: file, dir: dir, raw: bytes.Clone(data)}
	root, ok := d.document(data)
	if ok {
		d.config(root, cfg)
	}
	if len(d.probs) > 0 {
		sortProblems(d.probs)
		return nil, d.probs
	}
	applyDefaults(cfg, d.set)
	return cfg, nil
}

// decoder walks a yaml.Node tree, filling a Config and collecting problems.
type decoder struct {
	file   string
	dir    string
	probs  Problems
	set    map[string]bool // dotted paths of keys present with a non-null value
	checks Checks
}

// entry is one key/value pair of a mapping; val may be an alias.
type entry struct {
	key, val *yaml.Node
}

func (d *decoder) addAt(line, col int, field, format string, args ...any) {
	d.probs = append(d.probs, &Problem{
		File: d.file, Line: line, Column: col, Field: field, Message: fmt.Sprintf(format, args...),
	})
}

func (d *decoder) add(n *yaml.Node, field, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	d.addAt(line, col, field, format, args...)
}

// document parses data into its single document's root node. ok is false when there is
// nothing to walk (a syntax error, already reported, or an empty file).
func (d *decoder) document(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.addAt(1, 1, "upstreams", "the file is empty; at least one upstream is required")
		} else {
			d.syntax(err)
		}
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.add(&extra, "", "only one YAML document is allowed in the file")
	case !errors.Is(err, io.EOF):
		d.syntax(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(deref(doc.Content[0])) {
		d.addAt(1, 1, "upstreams", "the file is empty; at least one upstream is required")
		return nil, false
	}
	return doc.Content[0], true
}

// syntax reports a YAML syntax error; yaml.v3 gives only a line, and only when it is not
// the first.
func (d *decoder) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				line, msg = n, after
			}
		}
	}
	d.addAt(line, 0, "", "invalid YAML: %s", msg)
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names a node's type for messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean (" + n.Value + ")"
		case "!!int":
			return "an integer (" + n.Value + ")"
		case "!!float":
			return "a number (" + n.Value + ")"
		case "!!str":
			return strconv.Quote(n.Value)
		}
		return "a " + n.ShortTag() + " value"
	}
	return "an unexpected value"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// fields checks that n is a mapping whose keys are all known and unique, and returns its
// entries with non-null values by key. It returns nil if n is not a mapping.
func (d *decoder) fields(n *yaml.Node, path string, known ...string) map[string]entry {
	v := deref(n)
	if v == nil || v.Kind != yaml.MappingNode {
		d.add(n, path, "must be a mapping, not %s", describe(n))
		return nil
	}
	out := make(map[string]entry)
	seen := make(map[string]int)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(k, path, "keys must be plain strings, not %s", describe(k))
			continue
		}
		key := k.Value
		if key == "<<" && k.ShortTag() == "!!merge" {
			d.add(k, path, "merge keys (<<) are not supported; repeat the settings or use an alias for the whole value")
			continue
		}
		if first, dup := seen[key]; dup {
			d.add(k, join(path, key), "duplicate key (first set at line %d)", first)
			continue
		}
		seen[key] = k.Line
		if !contains(known, key) {
			d.add(k, join(path, key), "unknown key%s", suggestion(key, known, true))
			continue
		}
		if isNull(deref(val)) {
			continue
		}
		d.set[join(path, key)] = true
		out[key] = entry{key: k, val: val}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalar returns n's text if it is a non-null scalar, reporting a problem otherwise.
func (d *decoder) scalar(n *yaml.Node, path, want string) (*yaml.Node, bool) {
	v := deref(n)
	if v == nil || v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
		d.add(n, path, "must be %s, not %s", want, describe(n))
		return nil, false
	}
	return v, true
}

// str decodes a string. Numbers and booleans are taken as their text.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	v, ok := d.scalar(n, path, "a string")
	if !ok {
		return "", false
	}
	return v.Value, true
}

// strList decodes a list of strings; an empty list gives a non-nil empty slice.
func (d *decoder) strList(n *yaml.Node, path string) ([]string, bool) {
	v := deref(n)
	if v == nil || v.Kind != yaml.SequenceNode {
		d.add(n, path, "must be a list of strings, not %s", describe(n))
		return nil, false
	}
	out := make([]string, 0, len(v.Content))
	ok := true
	for i, item := range v.Content {
		s, good := d.str(item, index(path, i))
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	v, ok := d.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	var b bool
	if v.ShortTag() != "!!bool" || v.Decode(&b) != nil {
		d.add(n, path, "must be true or false, not %s", describe(n))
		return false, false
	}
	return b, true
}

func (d *decoder) integer(n *yaml.Node, path string) (int, bool) {
	v, ok := d.scalar(n, path, "an integer")
	if !ok {
		return 0, false
	}
	if v.ShortTag() != "!!int" {
		d.add(n, path, "must be an integer, not %s", describe(n))
		return 0, false
	}
	var i int
	if err := v.Decode(&i); err != nil {
		d.add(n, path, "integer %s is out of range", v.Value)
		return 0, false
	}
	return i, true
}

func (d *decoder) size(n *yaml.Node, path string) (Size, bool) {
	v, ok := d.scalar(n, path, `a size (bytes, or a string such as "64KiB")`)
	if !ok {
		return 0, false
	}
	switch v.ShortTag() {
	case "!!int":
		var i int64
		if err := v.Decode(&i); err != nil {
			d.add(n, path, "size %s is out of range", v.Value)
			return 0, false
		}
		return Size(i), true
	case "!!str":
		s, err := ParseSize(v.Value)
		if err != nil {
			d.add(n, path, "%v", err)
			return 0, false
		}
		return s, true
	}
	d.add(n, path, `must be a size (bytes, or a string such as "64KiB"), not %s`, describe(n))
	return 0, false
}

func (d *decoder) duration(n *yaml.Node, path string) (Duration, bool) {
	v, ok := d.scalar(n, path, `a duration (such as "30s")`)
	if !ok {
		return 0, false
	}
	switch v.ShortTag() {
	case "!!str", "!!int", "!!float":
		dur, err := ParseDuration(v.Value)
		if err != nil {
			d.add(n, path, "%v", err)
			return 0, false
		}
		return dur, true
	}
	d.add(n, path, `must be a duration (such as "30s"), not %s`, describe(n))
	return 0, false
}

// oneOf decodes a string that must be one of choices.
func (d *decoder) oneOf(n *yaml.Node, path string, choices ...string) (string, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	if !contains(choices, s) {
		d.add(n, path, "%q is not one of %s%s", s, strings.Join(choices, ", "), suggestion(s, choices, false))
		return "", false
	}
	return s, true
}

// secret decodes a literal string or an {env: NAME} / {file: PATH} reference.
func (d *decoder) secret(n *yaml.Node, path string) (Secret, bool) {
	v := deref(n)
	if v == nil || isNull(v) {
		d.add(n, path, `has no value; write "" for an empty string`)
		return Secret{}, false
	}
	switch v.Kind {
	case yaml.ScalarNode:
		return LiteralSecret(v.Value), true
	case yaml.MappingNode:
	default:
		d.add(n, path, "must be a string, {env: NAME} or {file: PATH}, not %s", describe(n))
		return Secret{}, false
	}
	if len(v.Content) != 2 || v.Content[0].Kind != yaml.ScalarNode ||
		(v.Content[0].Value != "env" && v.Content[0].Value != "file") {
		var keys []string
		for i := 0; i+1 < len(v.Content); i += 2 {
			keys = append(keys, v.Content[i].Value)
		}
		d.add(n, path, "a secret reference is exactly {env: NAME} or {file: PATH}; found keys %s",
			strings.Join(keys, ", "))
		return Secret{}, false
	}
	kind, val := v.Content[0].Value, v.Content[1]
	ref, ok := d.str(val, join(path, kind))
	if !ok {
		return Secret{}, false
	}
	if ref == "" {
		d.add(val, join(path, kind), "must not be empty")
		return Secret{}, false
	}
	if kind == "env" {
		if strings.ContainsAny(ref, "=\x00") {
			d.add(val, join(path, kind), "%q is not a valid environment variable name", ref)
			return Secret{}, false
		}
		return EnvSecret(ref), true
	}
	full, ok := d.existing(val, join(path, kind), ref, false)
	if !ok {
		return Secret{}, false
	}
	return Secret{kind: secretFile, ref: ref, path: full}, true
}

// abs resolves p against the config folder.
func (d *decoder) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(d.dir, p)
}

// existing resolves p against the config folder and checks that it exists and is a
// regular file (or a directory if wantDir).
func (d *decoder) existing(n *yaml.Node, path, p string, wantDir bool) (string, bool) {
	full := d.abs(p)
	fi, err := os.Stat(full)
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.add(n, path, "%q does not exist", p)
		return "", false
	case err != nil:
		d.add(n, path, "%q: %v", p, err)
		return "", false
	case wantDir && !fi.IsDir():
		d.add(n, path, "%q is not a directory", p)
		return "", false
	case !wantDir && fi.IsDir():
		d.add(n, path, "%q is a directory, not a file", p)
		return "", false
	}
	return full, true
}

// optFile decodes an optional file path: "" means unset; otherwise the file must exist and
// the absolute path is returned.
func (d *decoder) optFile(f map[string]entry, path, key string) string {
	e, ok := f[key]
	if !ok {
		return ""
	}
	p, ok := d.str(e.val, join(path, key))
	if !ok || p == "" {
		return ""
	}
	full, _ := d.existing(e.val, join(path, key), p, false)
	if full == "" {
		// Keep a value so both-or-neither checks do not report it missing as well.
		return d.abs(p)
	}
	return full
}

// suggestion returns a "did you mean" clause for word among candidates, or "" (or, for
// keys, the list of known keys) when none is close.
func suggestion(word string, candidates []string, listAll bool) string {
	if best := closest(word, candidates); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	if listAll {
		return " (known keys: " + strings.Join(candidates, ", ") + ")"
	}
	return ""
}

// closest returns the candidate nearest to word if it is near enough to be a likely typo:
// equal ignoring case and '_'/'-', a small edit distance, or else a prefix of (or prefixed
// by) a candidate.
func closest(word string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(s))
	}
	w := norm(word)
	best, bestDist := "", -1
	prefix := ""
	for _, c := range candidates {
		nc := norm(c)
		if nc == w {
			return c
		}
		if dist := levenshtein(w, nc); bestDist < 0 || dist < bestDist {
			best, bestDist = c, dist
		}
		if len(w) >= 3 && len(nc) >= 3 && (strings.HasPrefix(w, nc) || strings.HasPrefix(nc, w)) &&
			(prefix == "" || len(c) < len(prefix)) {
			prefix = c
		}
	}
	if bestDist >= 0 && bestDist <= max(1, len(w)/3) {
		return best
	}
	return prefix
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
