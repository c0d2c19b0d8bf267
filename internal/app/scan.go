package app

import (
	"context"
	"log/slog"
	"strings"

	"gatehouse/internal/config"
	"gatehouse/internal/inspect"
	"gatehouse/internal/integrity"
)

// Scan connects to the configuration's upstreams, inventories their definitions and
// reports pin status (against the configuration's pins, when it has any), poisoning scores,
// shadowing and risky annotations. comparePins is false for a one-off scan of a server
// without a configuration of its own.
func Scan(ctx context.Context, cfg *config.Config, logger *slog.Logger, comparePins bool) (*integrity.ScanReport, error) {
	live, err := PinLive(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	ins := cfg.Inspection
	ins.Enabled = true
	eng, _, err := Inspector(ins)
	if err != nil {
		return nil, err
	}
	var approved map[string]integrity.Pin
	if comparePins && cfg.Integrity.Mode != "off" {
		if st, err := OpenPins(cfg); err == nil && st != nil {
			approved = st.Pins()
		}
	}
	rep := &integrity.ScanReport{}
	defs := make([]integrity.Definition, 0, len(live))
	for key, pin := range live {
		parts := strings.SplitN(key, "/", 3)
		if len(parts) != 3 {
			continue
		}
		d := integrity.Definition{Server: parts[0], Kind: integrity.Kind(parts[1]), Name: parts[2], Raw: pin.Definition}
		defs = append(defs, d)
		it := integrity.ScanItem{Key: key, Server: d.Server, Kind: d.Kind, Name: d.Name, Digest: pin.Digest, Pin: "unpinned"}
		if len(approved) > 0 {
			switch p, ok := approved[key]; {
			case !ok:
				it.Pin = "new"
			case p.Digest != pin.Digest:
				it.Pin = "changed"
			default:
				it.Pin = "pinned"
			}
		}
		scoreDefinition(ctx, eng, pin.Definition, &it)
		if d.Kind == integrity.KindTool {
			it.Destructive, it.OpenWorld = integrity.Annotations(pin.Definition)
		}
		rep.Items = append(rep.Items, it)
	}
	rep.Shadowing = integrity.Shadowing(defs)
	rep.SortItems()
	return rep, nil
}

// scoreDefinition scores every description and title in a definition (its own and its
// schema's) with the definition rules, keeping the highest score.
func scoreDefinition(ctx context.Context, eng *inspect.Engine, def []byte, it *integrity.ScanItem) {
	seen := map[string]bool{}
	_, _ = inspect.RewriteStrings(def, func(path []string, s string) (string, bool) {
		if len(path) == 0 || (path[len(path)-1] != "description" && path[len(path)-1] != "title") {
			return "", false
		}
		r := eng.Inspect(ctx, s, inspect.KindDescription)
		it.Poisoning = max(it.Poisoning, r.Injection)
		for _, f := range r.Findings {
			if f.Type != inspect.TypeInjection && f.Type != inspect.TypeHidden && f.Type != inspect.TypeSecret {
				continue
			}
			it.Poisoned = true
			if l := f.Type + ":" + f.Rule; !seen[l] {
				seen[l] = true
				it.Rules = append(it.Rules, l)
			}
		}
		return "", false
	})
}
