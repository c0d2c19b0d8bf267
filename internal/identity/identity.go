package identity

import (
	"context"
	"slices"
	"strings"
)

// Method says how an identity was established.
type Method string

// Methods.
const (
	MethodJWT       Method = "jwt"
	MethodAPIKey    Method = "api_key"
	MethodLocal     Method = "local"     // stdio: the local user, or the configured identity
	MethodAnonymous Method = "anonymous" // HTTP without authentication configured
)

// Identity is who sent a message.
type Identity struct {
	Subject  string
	Tenant   string
	Roles    []string
	Scopes   []string
	ClientID string
	Issuer   string // the token's issuer; "" for API keys and local identities
	Method   Method
	KeyID    string // the API key's id, for API keys

	// Token is the raw bearer token the client presented (JWT only). It is kept for RFC 8693
	// token exchange and never forwarded upstream or logged.
	Token string `json:"-"`
}

// Key identifies the principal for binding a session to it: two requests belong to the
// same principal exactly when their keys are equal.
func (id *Identity) Key() string {
	if id == nil {
		return ""
	}
	return strings.Join([]string{string(id.Method), id.Issuer, id.Subject, id.Tenant, id.ClientID, id.KeyID}, "\x00")
}

// HasScope reports whether the identity holds scope s.
func (id *Identity) HasScope(s string) bool { return id != nil && slices.Contains(id.Scopes, s) }

// LogValue keeps the token out of logs.
func (id *Identity) String() string {
	if id == nil {
		return "<none>"
	}
	s := string(id.Method) + ":" + id.Subject
	if id.Tenant != "" {
		s += "@" + id.Tenant
	}
	return s
}

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity ctx carries, or nil.
func FromContext(ctx context.Context) *Identity {
	id, _ := ctx.Value(ctxKey{}).(*Identity)
	return id
}
