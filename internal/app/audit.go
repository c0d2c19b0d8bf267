package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/config"
)

// auditParts are the audit trail's pieces, owned by the App.
type auditParts struct {
	store   audit.Store
	auditor *audit.Auditor
}

// OpenStore opens the audit store cfg names.
func OpenStore(cfg *config.Config) (audit.Store, error) {
	if cfg.Audit.Store == "postgres" {
		return openPostgres(cfg)
	}
	return audit.OpenSQLite(cfg.Audit.Path)
}

func openPostgres(cfg *config.Config) (audit.Store, error) {
	dsn, err := cfg.Audit.DSN.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("audit.dsn: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return audit.OpenPostgres(ctx, dsn)
}

// ChainName is this gateway's chain: audit.chain, else the host name.
func ChainName(cfg *config.Config) string {
	if cfg.Audit.Chain != "" {
		return cfg.Audit.Chain
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "gatehouse"
}

// OpenAudit opens the store and keys of cfg and starts an Auditor on its chain (the
// gateway's, and the CLI's for administrative records). The caller closes both.
func OpenAudit(cfg *config.Config, logger *slog.Logger) (audit.Store, *audit.Auditor, error) {
	st, err := OpenStore(cfg)
	if err != nil {
		return nil, nil, err
	}
	a, err := startAuditor(cfg, logger, st, ChainName(cfg))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, a, nil
}

func startAuditor(cfg *config.Config, logger *slog.Logger, st audit.Store, chain string) (*audit.Auditor, error) {
	key, created, err := audit.LoadOrCreateSigningKey(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	if created {
		logger.Warn("created the audit signing key; give its public half to whoever verifies the trail",
			"file", cfg.DataDir+"/"+audit.SigningKeyFile, "public_key", audit.PublicKeyString(key.Public().(ed25519.PublicKey)))
	}
	hk, err := audit.LoadOrCreateHMACKey(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("audit value key: %w", err)
	}
	rules := make([]audit.FieldRule, len(cfg.Audit.Fields))
	for i, f := range cfg.Audit.Fields {
		rules[i] = audit.FieldRule{Server: f.Server, Tool: f.Tool, Path: f.Path, Mode: f.Mode}
	}
	var post func(context.Context, audit.Checkpoint) error
	if cfg.Audit.CheckpointURL != "" {
		post = audit.PostCheckpoint(cfg.Audit.CheckpointURL, headerFunc(cfg.Audit.CheckpointHeaders), &http.Client{Timeout: 10 * time.Second})
	}
	return audit.New(audit.Config{
		CheckpointPost: post,
		Store:          st, Chain: chain, Key: key, Valuer: audit.NewValuer(hk, rules, cfg.Audit.Values),
		CheckpointEvery: cfg.Audit.CheckpointEvery, CheckpointInterval: cfg.Audit.CheckpointInterval.Std(),
		CheckpointFile: cfg.Audit.CheckpointFile, Logger: logger, Retention: cfg.Audit.Retention.Std(),
	})
}

// AdminRecord writes an administrative event durably (key changes, reloads).
func AdminRecord(a *audit.Auditor, subject, event string, detail any) error {
	b, _ := json.Marshal(detail)
	return a.Write(context.Background(), &audit.Record{Time: time.Now(), Kind: audit.KindAdmin, Subject: subject, Event: event, Detail: b})
}

// SigningPublicKey returns the public half of the audit signing key in cfg's data directory.
func SigningPublicKey(cfg *config.Config) (ed25519.PublicKey, error) {
	key, _, err := audit.LoadOrCreateSigningKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return key.Public().(ed25519.PublicKey), nil
}

// startForwarders runs one Webhook per configured sink, owned by the App.
func (a *App) startForwarders() {
	if a.audit.auditor == nil || len(a.cfg.Audit.Forward) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stopForward = cancel
	for _, s := range a.cfg.Audit.Forward {
		send := audit.Webhook(s.URL, headerFunc(s.Headers), &http.Client{Timeout: 30 * time.Second})
		if s.Type == "syslog" {
			send = audit.Syslog(s.Address, "gatehouse")
		}
		w := &audit.Forwarder{Name: s.Name, Send: send, Batch: s.Batch, Store: a.audit.store, Chain: a.audit.auditor.Chain(),
			Logger: a.logger.With("audit_sink", s.Name)}
		a.forwardWG.Add(1)
		go func() { defer a.forwardWG.Done(); w.Run(ctx) }()
	}
}
