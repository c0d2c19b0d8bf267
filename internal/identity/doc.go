// Package identity answers "who is asking": bearer JWTs verified as an OAuth 2.1 resource
// server verifies them (issuer keys from OIDC discovery or a JWKS URL, refreshed on an
// unknown kid; issuer, audience, expiry, not-before, clock skew and an algorithm allowlist
// checked), API keys for service identities (random, shown once, stored only as a hash),
// and the configured identity of a local or unauthenticated caller.
//
// The result is an Identity: subject, tenant, roles, scopes and client id. The client's own
// token stays here: nothing in this package hands it to anything that talks upstream,
// except token exchange, which sends it only to the configured authorization server.
package identity
