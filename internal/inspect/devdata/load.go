package devdata

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Doc is one labelled text.
type Doc struct {
	Text   string
	Label  bool
	Source string // the file (or file family) it comes from, e.g. "agentdojo/tool_outputs_dev"
	Style  string // attack style, or "benign"
	// Group is the template the text was made from: splits keep a group on one side.
	Group string
	// Spans are where the injected text lies in Text, when known.
	Spans [][2]int
	// Built is set on positives this package made by insertion (not rows of a file).
	Built bool
}

// DefaultDir is where the datasets lie relative to the repository root.
const DefaultDir = "../shared/datasets/injection"

// ErrMissing says the data folder is absent (tests skip on it).
var ErrMissing = errors.New("development data not found")

// Load reads every development file under dir.
func Load(dir string) ([]Doc, error) {
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		return nil, fmt.Errorf("%w at %s (see the README: the datasets are read from the shared folder beside the repository): %v", ErrMissing, dir, err)
	}
	var docs []Doc
	steps := []func(string) ([]Doc, error){loadAgentDojo, loadEnvironments, loadBIPIA, loadWildGuard, loadPIGuardValid}
	for _, step := range steps {
		d, err := step(dir)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// AgentDojo's two attack templates in the development runs, to find the injected spans.
var (
	informationRe = regexp.MustCompile(`(?s)<INFORMATION>.*?</INFORMATION>`)
	ignoreRe      = regexp.MustCompile(`(?s)Ignore\s+your\s+previous\s+iunstructions\.\s+Do\s.*?\sinstead\.`)
)

func loadAgentDojo(dir string) ([]Doc, error) {
	path := filepath.Join(dir, "agentdojo", "tool_outputs_dev.jsonl")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var docs []Doc
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var row struct {
			Text          string  `json:"text"`
			Label         int     `json:"label"`
			Attack        *string `json:"attack"`
			UserTask      string  `json:"user_task"`
			InjectionTask *string `json:"injection_task"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		d := Doc{Text: row.Text, Label: row.Label == 1, Source: "agentdojo/tool_outputs_dev", Style: "benign", Group: "user:" + row.UserTask}
		if d.Label {
			d.Style = "none"
			if row.Attack != nil {
				d.Style = *row.Attack
			}
			if row.InjectionTask != nil {
				d.Group = "injection:" + *row.InjectionTask
			}
			for _, re := range []*regexp.Regexp{informationRe, ignoreRe} {
				for _, m := range re.FindAllStringIndex(d.Text, -1) {
					d.Spans = append(d.Spans, [2]int{m[0], m[1]})
				}
			}
		}
		docs = append(docs, d)
	}
	return docs, sc.Err()
}

// loadEnvironments turns AgentDojo's benign environments into texts shaped like tool
// results: each record of a list as YAML, and each long string.
func loadEnvironments(dir string) ([]Doc, error) {
	root := filepath.Join(dir, "agentdojo", "environments", "suites")
	var files []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, "injection_vectors.yaml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	placeholder := regexp.MustCompile(`\{[a-z0-9_]+\}`)
	var docs []Doc
	for _, p := range files {
		rel, _ := filepath.Rel(root, p)
		suite := strings.SplitN(rel, string(filepath.Separator), 2)[0]
		defaults, err := injectionDefaults(filepath.Join(root, suite, "injection_vectors.yaml"))
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		text := placeholder.ReplaceAllStringFunc(string(b), func(s string) string { return defaults[s[1:len(s)-1]] })
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(text), &n); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		add := func(t string) {
			if len(strings.TrimSpace(t)) >= 30 {
				docs = append(docs, Doc{Text: t, Source: "agentdojo/environments", Style: "benign", Group: "env:" + suite})
			}
		}
		var walk func(*yaml.Node)
		walk = func(n *yaml.Node) {
			switch n.Kind {
			case yaml.ScalarNode:
				if n.Tag == "!!str" {
					add(n.Value)
				}
			case yaml.SequenceNode:
				for _, c := range n.Content {
					if c.Kind == yaml.MappingNode {
						if out, err := yaml.Marshal(c); err == nil {
							add(string(out))
						}
					}
					walk(c)
				}
			default:
				for _, c := range n.Content {
					walk(c)
				}
			}
		}
		walk(&n)
	}
	return docs, nil
}

func injectionDefaults(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]struct {
		Default string `yaml:"default"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v.Default
	}
	return out, nil
}

// Context is a benign BIPIA context, for insertion.
type Context struct {
	Task, Text string
}

// Attack is one BIPIA attack instruction and its category.
type Attack struct {
	File, Category, Text string
}

func loadBIPIA(dir string) ([]Doc, error) {
	ctxs, err := BIPIAContexts(dir)
	if err != nil {
		return nil, err
	}
	attacks, err := BIPIAAttacks(dir)
	if err != nil {
		return nil, err
	}
	var docs []Doc
	for i, c := range ctxs {
		docs = append(docs, Doc{Text: c.Text, Source: "bipia/" + c.Task, Style: "benign", Group: fmt.Sprintf("bipia-%s-%d", c.Task, i%10)})
	}
	// Positives as BIPIA makes them: an attack at the start, middle or end of a context
	// of the matching kind (code attacks into code answers, text attacks into e-mails and
	// tables).
	var text, code []Context
	for _, c := range ctxs {
		if c.Task == "code" {
			code = append(code, c)
		} else {
			text = append(text, c)
		}
	}
	for i, a := range attacks {
		pool := text
		if a.File == "code_attack" {
			pool = code
		}
		for pos := range 3 {
			c := pool[(i*7+pos*13)%len(pool)]
			t, span := Insert(c.Text, a.Text, pos)
			docs = append(docs, Doc{Text: t, Label: true, Source: "bipia/" + a.File + "+" + c.Task, Style: a.Category,
				Group: "bipia-attack:" + a.Category, Spans: [][2]int{span}, Built: true})
		}
	}
	return docs, nil
}

// BIPIAContexts reads the benign contexts of the e-mail, code and table tasks.
func BIPIAContexts(dir string) ([]Context, error) {
	var out []Context
	for _, task := range []string{"email", "code", "table"} {
		path := filepath.Join(dir, "bipia", task, "train.jsonl")
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for line := 1; sc.Scan(); line++ {
			var row struct {
				Context any `json:"context"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s:%d: %w", path, line, err)
			}
			var t string
			switch v := row.Context.(type) {
			case string:
				t = v
			case []any:
				parts := make([]string, 0, len(v))
				for _, p := range v {
					parts = append(parts, fmt.Sprint(p))
				}
				t = strings.Join(parts, "\n")
			}
			if strings.TrimSpace(t) != "" {
				out = append(out, Context{Task: task, Text: t})
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BIPIAAttacks reads the attack instructions, category by category in a stable order.
func BIPIAAttacks(dir string) ([]Attack, error) {
	var out []Attack
	for _, file := range []string{"text_attack", "code_attack"} {
		path := filepath.Join(dir, "bipia", file+"_train.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var m map[string][]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		cats := make([]string, 0, len(m))
		for k := range m {
			cats = append(cats, k)
		}
		sort.Strings(cats)
		for _, c := range cats {
			for _, t := range m[c] {
				out = append(out, Attack{File: file, Category: c, Text: t})
			}
		}
	}
	return out, nil
}

// Insert puts attack into context at its start (pos 0), middle (1) or end (2), on a
// sentence or line boundary, and returns the text and the attack's span in it.
func Insert(context, attack string, pos int) (string, [2]int) {
	at := 0
	switch pos {
	case 1:
		mid := len(context) / 2
		at = mid
		for j := mid; j < len(context) && j < mid+400; j++ {
			if context[j] == '\n' || (context[j] == ' ' && j > 0 && context[j-1] == '.') {
				at = j + 1
				break
			}
		}
	case 2:
		at = len(context)
	}
	pre, post := context[:at], context[at:]
	sepA, sepB := "", ""
	if pre != "" && !strings.HasSuffix(pre, "\n") && !strings.HasSuffix(pre, " ") {
		sepA = " "
	}
	if post != "" && !strings.HasPrefix(post, "\n") && !strings.HasPrefix(post, " ") {
		sepB = " "
	}
	start := len(pre) + len(sepA)
	t := pre + sepA + attack + sepB + post
	return t, [2]int{start, start + len(attack)}
}

func loadWildGuard(dir string) ([]Doc, error) {
	return loadPrompts(filepath.Join(dir, "piguard", "wildguard_benign.json"), "piguard/wildguard_benign")
}

func loadPIGuardValid(dir string) ([]Doc, error) {
	return loadPrompts(filepath.Join(dir, "piguard", "valid_without_notinject.json"), "piguard/valid_without_notinject")
}

func loadPrompts(path, source string) ([]Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Prompt string `json:"prompt"`
		Label  int    `json:"label"`
		Source string `json:"source"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	docs := make([]Doc, 0, len(rows))
	for i, r := range rows {
		d := Doc{Text: r.Prompt, Label: r.Label == 1, Source: source, Style: "benign", Group: fmt.Sprintf("%s-%d", source, i%10)}
		if d.Label {
			d.Style = "injection"
			if r.Source != "" {
				d.Style = r.Source
			}
			d.Spans = [][2]int{{0, len(r.Prompt)}}
		}
		docs = append(docs, d)
	}
	return docs, nil
}
