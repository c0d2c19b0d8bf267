package integrity

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// ScanItem is one definition as `gatehouse scan` reports it.
type ScanItem struct {
	Key    string `json:"key"`
	Server string `json:"server"`
	Kind   Kind   `json:"kind"`
	Name   string `json:"name"`
	Digest string `json:"digest"`
	// Pin: "pinned" (as approved), "changed", "new", or "unpinned" (no pins to compare with).
	Pin string `json:"pin"`
	// Poisoning: the injection score of its description and schema descriptions (the
	// highest), whether it is flagged, and the rules that fired.
	Poisoning float64  `json:"poisoning"`
	Poisoned  bool     `json:"poisoned"`
	Rules     []string `json:"rules,omitempty"`
	// Risky annotations: destructive (declared, or left at the protocol's default of true
	// on a tool that is not read-only), open-world (likewise).
	Destructive bool `json:"destructive,omitempty"`
	OpenWorld   bool `json:"open_world,omitempty"`
}

// ScanReport is the whole inventory.
type ScanReport struct {
	Items     []ScanItem `json:"definitions"`
	Shadowing []Shadow   `json:"shadowing"`
}

// MarshalJSON of Shadow uses lower-case names.
func (s Shadow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"definition": s.Key, "other": s.Other, "reason": s.Reason})
}

// Failing says whether anything in the report is above the line: a poisoned definition,
// shadowing, or a definition that is not pinned as approved (when there are pins).
func (r *ScanReport) Failing() bool {
	if len(r.Shadowing) > 0 {
		return true
	}
	for _, it := range r.Items {
		if it.Poisoned || it.Pin == "changed" || it.Pin == "new" {
			return true
		}
	}
	return false
}

// Annotations reads a tool's risk hints with the protocol's defaults: destructiveHint and
// openWorldHint are true unless said otherwise, and a read-only tool destroys nothing.
func Annotations(def []byte) (destructive, openWorld bool) {
	var d struct {
		Annotations *struct {
			ReadOnly    *bool `json:"readOnlyHint"`
			Destructive *bool `json:"destructiveHint"`
			OpenWorld   *bool `json:"openWorldHint"`
		} `json:"annotations"`
	}
	_ = json.Unmarshal(def, &d)
	a := d.Annotations
	if a == nil {
		return true, true
	}
	readOnly := a.ReadOnly != nil && *a.ReadOnly
	destructive = !readOnly && (a.Destructive == nil || *a.Destructive)
	openWorld = a.OpenWorld == nil || *a.OpenWorld
	return destructive, openWorld
}

// WriteTable prints the report for a terminal.
func (r *ScanReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tKIND\tNAME\tPIN\tPOISONING\tRISK\tFINDINGS")
	for _, it := range r.Items {
		poison := fmt.Sprintf("%.2f", it.Poisoning)
		if it.Poisoned {
			poison += " POISONED"
		}
		var risk []string
		if it.Destructive {
			risk = append(risk, "destructive")
		}
		if it.OpenWorld {
			risk = append(risk, "open-world")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Server, it.Kind, it.Name, it.Pin, poison, orDash(strings.Join(risk, ",")), orDash(strings.Join(it.Rules, ",")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Shadowing) > 0 {
		fmt.Fprintln(w, "\nshadowing:")
		for _, s := range r.Shadowing {
			fmt.Fprintf(w, "  %s ~ %s (%s)\n", s.Key, s.Other, s.Reason)
		}
	}
	poisoned, changed := 0, 0
	for _, it := range r.Items {
		if it.Poisoned {
			poisoned++
		}
		if it.Pin == "changed" || it.Pin == "new" {
			changed++
		}
	}
	_, err := fmt.Fprintf(w, "\n%d definitions, %d poisoned, %d not pinned as approved, %d shadowing\n", len(r.Items), poisoned, changed, len(r.Shadowing))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteJSON prints the report as one JSON document.
func (r *ScanReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if r.Shadowing == nil {
		r.Shadowing = []Shadow{}
	}
	return enc.Encode(r)
}

// SARIF rules: id, level, description.
func sarifRules() [][3]string {
	return [][3]string{
		{"poisoned-definition", "error", "A tool, prompt or resource-template description instructs the model (prompt injection, hidden text, credential or exfiltration directives)."},
		{"shadowing", "error", "Two servers offer the same or confusably similar names, or a description names another server's tool."},
		{"definition-changed", "error", "A definition differs from its pin (rug pull): it is withheld until approved."},
		{"definition-new", "warning", "A definition that no pin covers, on a pinned server or not in the lock file."},
		{"destructive-tool", "note", "A tool that may destroy data (destructiveHint true, or not declared read-only)."},
		{"open-world-tool", "note", "A tool that reaches the open world (openWorldHint true, or not declared)."},
	}
}

// WriteSARIF prints the report as SARIF 2.1.0, for code-scanning systems. artifact, when
// given, is the configuration the definitions come from.
func (r *ScanReport) WriteSARIF(w io.Writer, version, artifact string) error {
	type msg struct {
		Text string `json:"text"`
	}
	rules := []map[string]any{}
	index := map[string]int{}
	for i, rl := range sarifRules() {
		index[rl[0]] = i
		rules = append(rules, map[string]any{"id": rl[0], "shortDescription": msg{rl[2]}, "defaultConfiguration": map[string]string{"level": rl[1]}})
	}
	var results []map[string]any
	add := func(rule, text, key string) {
		loc := map[string]any{"logicalLocations": []map[string]string{{"fullyQualifiedName": key, "kind": "function"}}}
		if artifact != "" {
			loc["physicalLocation"] = map[string]any{"artifactLocation": map[string]string{"uri": artifact}}
		}
		results = append(results, map[string]any{"ruleId": rule, "ruleIndex": index[rule], "level": sarifRules()[index[rule]][1],
			"message": msg{text}, "locations": []any{loc}})
	}
	for _, it := range r.Items {
		if it.Poisoned {
			add("poisoned-definition", fmt.Sprintf("%s: description scored %.2f (%s)", it.Key, it.Poisoning, strings.Join(it.Rules, ", ")), it.Key)
		}
		switch it.Pin {
		case "changed":
			add("definition-changed", it.Key+": differs from its pin", it.Key)
		case "new":
			add("definition-new", it.Key+": no pin covers it", it.Key)
		}
		if it.Destructive {
			add("destructive-tool", it.Key+": may destroy data", it.Key)
		}
		if it.OpenWorld {
			add("open-world-tool", it.Key+": reaches the open world", it.Key)
		}
	}
	for _, s := range r.Shadowing {
		add("shadowing", fmt.Sprintf("%s and %s: %s", s.Key, s.Other, s.Reason), s.Key)
	}
	if results == nil {
		results = []map[string]any{}
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool":    map[string]any{"driver": map[string]any{"name": "gatehouse", "version": version, "informationUri": "https://modelcontextprotocol.io", "rules": rules}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// SortItems orders a report by key.
func (r *ScanReport) SortItems() {
	sort.Slice(r.Items, func(i, j int) bool { return r.Items[i].Key < r.Items[j].Key })
}
