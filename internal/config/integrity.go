package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Integrity configures tool integrity: pinned definitions.
type Integrity struct {
	// Mode: "tofu" (pin on first use, the default), "lock" (only what LockFile holds) or
	// "off".
	Mode string
	// LockFile is the reviewed lock file (`gatehouse pin` writes it); default gatehouse.lock
	// beside the configuration.
	LockFile string
	// RecheckInterval is how often every upstream's definitions are listed and checked even
	// when no client lists (0: only at start-up, on list_changed and on client lists).
	RecheckInterval Duration
}

func integrityKeys() []string { return []string{"mode", "lock_file", "recheck_interval"} }

func defaultIntegrity(dir string) Integrity {
	return Integrity{Mode: "tofu", LockFile: dir + "/gatehouse.lock", RecheckInterval: Duration(10 * time.Minute)}
}

func (d *decoder) integrity(n *yaml.Node, path string, in *Integrity) {
	f := d.fields(n, path, integrityKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["mode"]; ok {
		in.Mode, _ = d.oneOf(e.val, join(path, "mode"), "tofu", "lock", "off")
	}
	if e, ok := f["lock_file"]; ok {
		if s, ok := d.str(e.val, join(path, "lock_file")); ok && s != "" {
			in.LockFile = d.abs(s)
		}
	}
	if e, ok := f["recheck_interval"]; ok {
		in.RecheckInterval, _ = d.nonNegDuration(e.val, join(path, "recheck_interval"))
	}
}
