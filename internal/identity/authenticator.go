package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// AuthError is a refused authentication, shaped for an RFC 6750 challenge.
type AuthError struct {
	Status      int    // 401 or 403
	Code        string // "" (no credentials), invalid_request, invalid_token, insufficient_scope
	Description string // safe to show the client
	Scope       string // the scopes needed, for insufficient_scope
	Cause       error  // internal detail, for the log
}

func (e *AuthError) Error() string {
	if e.Cause != nil {
		return e.Description + ": " + e.Cause.Error()
	}
	return e.Description
}

func (e *AuthError) Unwrap() error { return e.Cause }

// Challenge is the WWW-Authenticate value for e, naming the protected-resource metadata.
func (e *AuthError) Challenge(metadataURL string) string {
	parts := []string{fmt.Sprintf(`resource_metadata=%q`, metadataURL)}
	if e.Code != "" {
		parts = append(parts, fmt.Sprintf(`error=%q`, e.Code))
	}
	if e.Description != "" {
		parts = append(parts, fmt.Sprintf(`error_description=%q`, strings.ReplaceAll(e.Description, `"`, "'")))
	}
	if e.Scope != "" {
		parts = append(parts, fmt.Sprintf(`scope=%q`, e.Scope))
	}
	return "Bearer " + strings.Join(parts, ", ")
}

// Authenticator establishes the identity of an HTTP request. With neither JWT nor Keys set,
// every request gets Anonymous (authentication off, a configuration choice).
type Authenticator struct {
	JWT            *JWTVerifier
	Introspection  *Introspector // opaque tokens (RFC 7662)
	Keys           *KeyStore
	RequiredScopes []string
	Anonymous      *Identity
}

// Enabled reports whether requests must authenticate.
func (a *Authenticator) Enabled() bool {
	return a != nil && (a.JWT != nil || a.Keys != nil || a.Introspection != nil)
}

// Authenticate checks the request's bearer credential. A nil error means the identity may
// proceed; an *AuthError says how to refuse.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (*Identity, *AuthError) {
	if !a.Enabled() {
		if a != nil && a.Anonymous != nil {
			return a.Anonymous, nil
		}
		return &Identity{Method: MethodAnonymous, Subject: "anonymous"}, nil
	}
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return nil, &AuthError{Status: http.StatusUnauthorized, Description: "authentication required"}
	}
	if len(vals) > 1 {
		return nil, &AuthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "more than one Authorization header"}
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, &AuthError{Status: http.StatusUnauthorized, Code: "invalid_request", Description: "the Authorization header must be 'Bearer <token>'"}
	}
	var id *Identity
	var err error
	switch {
	case strings.HasPrefix(tok, APIKeyPrefix) && a.Keys != nil:
		id, err = a.Keys.Authenticate(tok)
	case LooksLikeJWT(tok) && a.JWT != nil:
		id, err = a.JWT.Verify(ctx, tok)
	case a.Introspection != nil:
		id, err = a.Introspection.Verify(ctx, tok)
	default:
		err = errors.New("token format not accepted here")
	}
	if err != nil {
		return nil, &AuthError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "the access token is invalid, expired or not meant for this resource", Cause: err}
	}
	var missing []string
	for _, s := range a.RequiredScopes {
		if !slices.Contains(id.Scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return nil, &AuthError{Status: http.StatusForbidden, Code: "insufficient_scope",
			Description: "the token lacks required scope: " + strings.Join(missing, " "),
			Scope:       strings.Join(a.RequiredScopes, " ")}
	}
	return id, nil
}

// ProtectedResourceMetadata is the RFC 9728 document for resource.
func ProtectedResourceMetadata(resource string, authServers, scopes []string) map[string]any {
	doc := map[string]any{
		"resource":                 resource,
		"bearer_methods_supported": []string{"header"},
		"resource_name":            "Gatehouse MCP gateway",
	}
	if len(authServers) > 0 {
		doc["authorization_servers"] = authServers
	}
	if len(scopes) > 0 {
		doc["scopes_supported"] = scopes
	}
	return doc
}

// MetadataPaths are the paths RFC 9728 puts the metadata of resource at: the path-suffixed
// form first (the one to advertise), and the bare well-known path.
func MetadataPaths(resourcePath string) []string {
	const wk = "/.well-known/oauth-protected-resource"
	p := strings.TrimSuffix(resourcePath, "/")
	if p == "" {
		return []string{wk}
	}
	return []string{wk + p, wk}
}
