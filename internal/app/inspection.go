package app

import (
	"fmt"
	"time"

	"gatehouse/internal/config"
	"gatehouse/internal/inspect"
	"gatehouse/internal/inspect/egress"
	"gatehouse/internal/inspect/injection"
	"gatehouse/internal/inspect/pii"
	"gatehouse/internal/inspect/secret"
)

// Inspector builds the inspection engine and its action rules from the configuration
// (nil engine when inspection is off).
func Inspector(c config.Inspection) (*inspect.Engine, inspect.Actions, error) {
	if !c.Enabled {
		return nil, nil, nil
	}
	det, err := injection.Default()
	if err != nil {
		return nil, nil, err
	}
	d := inspect.Detectors{Injection: det, Threshold: c.Threshold, Hidden: c.Hidden}
	if c.Secrets {
		if d.Secrets, err = secret.New(secret.Options{Entropy: c.SecretsEntropy, Disable: c.SecretsDisable}); err != nil {
			return nil, nil, fmt.Errorf("inspection.secrets: %w", err)
		}
	}
	if len(c.PII) > 0 {
		types := make([]pii.Type, 0, len(c.PII))
		for _, s := range c.PII {
			t, err := pii.ParseType(s)
			if err != nil {
				return nil, nil, fmt.Errorf("inspection.pii.types: %w", err)
			}
			types = append(types, t)
		}
		d.PII = pii.New(types...)
	}
	if len(c.EgressAllow) > 0 || c.EgressBlockPrivate {
		d.Egress, err = egress.New(egress.Options{Allow: c.EgressAllow, BlockPrivate: c.EgressBlockPrivate, Resolve: c.EgressResolve, Timeout: 2 * time.Second})
		if err != nil {
			return nil, nil, fmt.Errorf("inspection.egress: %w", err)
		}
	}
	var acts inspect.Actions
	for _, a := range c.Actions {
		act, _ := inspect.ParseAction(a.Action)
		acts = append(acts, inspect.ActionRule{Type: a.Type, Rule: a.Rule, Server: a.Server, Direction: inspect.Direction(a.Direction), Kind: a.Kind, Action: act})
	}
	return inspect.New(d), append(acts, inspect.DefaultActions()...), nil
}
