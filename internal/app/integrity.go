package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"gatehouse/internal/config"
	"gatehouse/internal/integrity"
)

// OpenPins opens the pin store of the configuration (nil when integrity.mode is off).
func OpenPins(cfg *config.Config) (*integrity.Store, error) {
	switch cfg.Integrity.Mode {
	case "off":
		return nil, nil
	case "lock":
		return integrity.Open(integrity.ModeLock, PinsPath(cfg), cfg.Integrity.LockFile)
	}
	return integrity.Open(integrity.ModeTOFU, PinsPath(cfg), "")
}

// PinsPath is where the gateway keeps pins (trust on first use) and what waits for approval.
func PinsPath(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "pins.json") }

// startRecheck lists every upstream's definitions at start-up and then every
// integrity.recheck_interval, until Close.
func (a *App) startRecheck() {
	if a.cfg.Integrity.Mode == "off" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stopRecheck = cancel
	a.recheckWG.Add(1)
	go func() {
		defer a.recheckWG.Done()
		every := time.Duration(a.cfg.Integrity.RecheckInterval)
		for {
			a.gw.RecheckDefinitions(ctx)
			if every <= 0 {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
		}
	}()
}

// PinLive connects to the configuration's upstreams, lists every definition they offer and
// returns them as pins: what `gatehouse pin` writes to the lock file. Nothing of the
// configuration's own data directory is touched (a scratch one is used).
func PinLive(ctx context.Context, cfg *config.Config, logger *slog.Logger) (map[string]integrity.Pin, error) {
	scratch, err := os.MkdirTemp("", "gatehouse-pin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	c := *cfg
	c.DataDir = scratch
	c.Audit.Enabled = false
	c.Inspection.Enabled = false
	c.Integrity.Mode = "tofu"
	c.Integrity.RecheckInterval = 0
	a, err := New(&c, logger)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	a.gw.Start()
	a.gw.RecheckDefinitions(ctx)
	st, err := OpenPins(&c)
	if err != nil {
		return nil, err
	}
	// Later pages of a first listing wait as "new": here everything seen is what is pinned.
	if _, err := st.Approve(nil, time.Now()); err != nil && len(st.PendingItems()) > 0 {
		return nil, err
	}
	return st.Pins(), nil
}
