package inspect

// Finding types: the classes an action is configured for.
const (
	TypeInjection = "injection"   // instructions aimed at the model
	TypeSecret    = "secret"      // credentials, keys, tokens
	TypePII       = "pii"         // personal data
	TypeHidden    = "hidden-text" // invisible characters, escape sequences, smuggled text
	TypeEgress    = "egress"      // a destination outside the allowlist, or an internal address
)

// Finding is one thing a detector found. Start and End are byte offsets in the text that
// was inspected (the original, before normalisation).
type Finding struct {
	Type  string `json:"type"`
	Rule  string `json:"rule"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}
