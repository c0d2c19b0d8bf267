package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"gatehouse/internal/gateway"
	"os"
	"reflect"
	"time"

	"gatehouse/internal/config"
)

// Reload reads the configuration file again and, if it is valid as a whole, applies what
// can change while serving: the policy, authentication and the configured identities. A
// configuration with problems is refused, its problems are logged, and the one in force
// keeps serving. Changes to other sections (listeners, limits, upstreams, logging) are
// reported as needing a restart. Every attempt is logged with the file's digest.
func (a *App) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	path := a.cfg.File()
	cfg, err := LoadConfig(path)
	if err == nil {
		err = a.apply(cfg)
	}
	if err != nil {
		var probs config.Problems
		attrs := []any{"config", path, "err", err}
		if errors.As(err, &probs) {
			lines := make([]string, len(probs))
			for i, p := range probs {
				lines[i] = p.Error()
			}
			attrs = []any{"config", path, "problems", lines}
		}
		a.logger.Error("configuration reload refused; the previous configuration keeps serving", attrs...)
		if au := a.audit.auditor; au != nil {
			AdminRecord(au, "gatehouse", "config_reload_refused", map[string]any{"config": path, "error": err.Error()})
		}
		return err
	}
	return nil
}

func (a *App) apply(cfg *config.Config) error {
	pol, err := CompilePolicy(cfg)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	auth, err := authenticator(cfg)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	eng, acts, err := Inspector(cfg.Inspection)
	if err != nil {
		return fmt.Errorf("inspection: %w", err)
	}
	old := a.cfg
	var restart []string
	for _, s := range []struct {
		name string
		a, b any
	}{
		{"listen", old.Listen, cfg.Listen},
		{"limits", old.Limits, cfg.Limits},
		{"log", old.Log, cfg.Log},
		{"gateway", old.Gateway, cfg.Gateway},
		{"data_dir", old.DataDir, cfg.DataDir},
		{"upstreams", old.Upstreams, cfg.Upstreams},
	} {
		if !reflect.DeepEqual(s.a, s.b) {
			restart = append(restart, s.name)
		}
	}
	a.gw.SetPolicy(pol)
	if eng != nil {
		a.gw.SetInspection(&gateway.Inspection{Engine: eng, Actions: acts, MaxBytes: int(cfg.Inspection.MaxBytes.Int64())})
	} else {
		a.gw.SetInspection(nil)
	}
	a.auth.Store(auth)
	a.stdio.Store(StdioIdentity(cfg))
	a.authC.Store(cfg.Auth)
	prev := a.digest
	a.digest = cfg.Digest()
	attrs := []any{"config", cfg.File(), "digest", a.digest, "previous_digest", prev, "applied", []string{"auth", "identity", "policy", "inspection"}}
	if len(restart) > 0 {
		attrs = append(attrs, "not_applied_until_restart", restart)
	}
	a.logger.Info("configuration reloaded", attrs...)
	if au := a.audit.auditor; au != nil {
		AdminRecord(au, "gatehouse", "config_reload", map[string]any{"config": cfg.File(), "digest": a.digest, "previous_digest": prev, "not_applied_until_restart": restart})
	}
	if len(restart) > 0 {
		a.logger.Warn("configuration sections changed that only a restart applies", "sections", restart)
	}
	if cfg.Policy == nil {
		a.logger.Warn("no policy configured: every tool, prompt and resource is denied (add a policy section)")
	}
	return nil
}

// WatchConfig reloads whenever the configuration file's content changes, checking every
// interval until ctx ends. It polls (size, time and then content digest) rather than
// relying on file-system events, so that editors that replace the file and mounted
// volumes that swap a symlink are both noticed.
func (a *App) WatchConfig(ctx context.Context, interval time.Duration) {
	path := a.cfg.File()
	last := fileDigest(path)
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastStat string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		st := fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
		if st == lastStat {
			continue
		}
		lastStat = st
		d := fileDigest(path)
		if d == "" || d == last {
			continue
		}
		last = d
		a.logger.Info("configuration file changed", "config", path)
		a.Reload()
	}
}

func fileDigest(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
