package app

import (
	"context"
	"os"
	"runtime"

	"gatehouse/internal/procs"
)

// cpusMode says where the number of Ps comes from.
const (
	cpusAuto  = "auto"        // the procs.Controller follows the load
	cpusFixed = "fixed"       // limits.cpus
	cpusEnv   = "environment" // GOMAXPROCS, which the runtime applied at start
)

// startProcs applies limits.cpus. A GOMAXPROCS environment variable wins over the
// configuration: the runtime has applied it already, and an operator who set it meant it.
func (a *App) startProcs() {
	ceiling := runtime.GOMAXPROCS(0)
	switch {
	case os.Getenv("GOMAXPROCS") != "":
		a.cpusMode = cpusEnv
		a.logger.Info("CPUs set by the GOMAXPROCS environment variable; limits.cpus not applied", "procs", ceiling)
	case a.cfg.Limits.CPUs > 0:
		a.cpusMode = cpusFixed
		runtime.GOMAXPROCS(a.cfg.Limits.CPUs)
	default:
		a.cpusMode = cpusAuto
		c := procs.New(procs.Options{Max: ceiling, Logger: a.logger})
		ctx, cancel := context.WithCancel(context.Background())
		a.stopProcs = cancel
		a.procsWG.Add(1)
		go func() {
			defer a.procsWG.Done()
			c.Run(ctx)
		}()
		a.cpusMax = ceiling
	}
}

// cpusHealth is the scheduler's part of the health document.
func (a *App) cpusHealth() map[string]any {
	doc := map[string]any{"mode": a.cpusMode, "procs": runtime.GOMAXPROCS(0)}
	if a.cpusMode == cpusAuto {
		doc["max"] = a.cpusMax
	}
	return doc
}
