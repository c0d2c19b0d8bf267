// Package oidctest is a standards-conformant OpenID provider for tests: OIDC discovery and a
// JWKS over HTTP on 127.0.0.1, and tokens signed with its keys (or, for attack tests, with
// anything else). It is built on github.com/lestrrat-go/jwx/v3.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Issuer is a running test OpenID provider.
type Issuer struct {
	srv *httptest.Server
	URL string // the issuer identifier (its base URL)

	mu   sync.Mutex
	keys map[string]*signer // kid → key, all published
	kid  string             // the current signing key

	clients map[string]string // client id → secret, for the token endpoint
	opaque  map[string]Claims // opaque token → its claims, for introspection

	// JWKSFetches counts JWKS requests; Exchanges counts token exchanges; ClientTokens
	// counts client-credentials grants.
	JWKSFetches    atomic.Int64
	Exchanges      atomic.Int64
	ClientTokens   atomic.Int64
	Introspections atomic.Int64
}

type signer struct {
	alg  jwa.SignatureAlgorithm
	priv any
	pub  jwk.Key
}

// New starts an issuer with an RS256 key "rsa-1" (the current one) and an ES256 key "ec-1".
func New() (*Issuer, error) {
	is := &Issuer{keys: make(map[string]*signer), clients: make(map[string]string), opaque: make(map[string]Claims)}
	if err := is.AddKey("rsa-1", "RS256"); err != nil {
		return nil, err
	}
	if err := is.AddKey("ec-1", "ES256"); err != nil {
		return nil, err
	}
	is.kid = "rsa-1"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                is.URL,
			"jwks_uri":                              is.URL + "/jwks",
			"authorization_endpoint":                is.URL + "/authorize",
			"token_endpoint":                        is.URL + "/token",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		is.JWKSFetches.Add(1)
		set := jwk.NewSet()
		is.mu.Lock()
		for _, s := range is.keys {
			set.AddKey(s.pub)
		}
		is.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("POST /token", is.token)
	mux.HandleFunc("POST /introspect", is.introspect)
	is.srv = httptest.NewServer(mux) // binds 127.0.0.1
	is.URL = is.srv.URL
	return is, nil
}

// AddClient registers a confidential client for the token endpoint.
func (is *Issuer) AddClient(id, secret string) {
	is.mu.Lock()
	is.clients[id] = secret
	is.mu.Unlock()
}

// token is the token endpoint: client_credentials and RFC 8693 token exchange.
func (is *Issuer) token(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, e, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": e, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		fail(400, "invalid_request", err.Error())
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	is.mu.Lock()
	want, known := is.clients[id]
	is.mu.Unlock()
	if !known || want != secret {
		fail(401, "invalid_client", "unknown client or wrong secret")
		return
	}
	aud := r.PostForm.Get("audience")
	if aud == "" {
		aud = r.PostForm.Get("resource")
	}
	claims := Claims{"aud": aud, "client_id": id, "scope": r.PostForm.Get("scope")}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		is.ClientTokens.Add(1)
		claims["sub"] = id
	case "urn:ietf:params:oauth:grant-type:token-exchange":
		set := jwk.NewSet()
		is.mu.Lock()
		for _, s := range is.keys {
			set.AddKey(s.pub)
		}
		is.mu.Unlock()
		subj, err := jwt.Parse([]byte(r.PostForm.Get("subject_token")), jwt.WithKeySet(set), jwt.WithIssuer(is.URL))
		if err != nil {
			fail(400, "invalid_grant", "subject_token: "+err.Error())
			return
		}
		is.Exchanges.Add(1)
		sub, _ := subj.Subject()
		claims["sub"] = sub
		claims["act"] = map[string]any{"sub": id}
	default:
		fail(400, "unsupported_grant_type", r.PostForm.Get("grant_type"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token":      is.Token(claims),
		"token_type":        "Bearer",
		"expires_in":        3600,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
	})
}

// Opaque issues an opaque (non-JWT) access token with claims, answered by introspection;
// exp defaults to an hour from now.
func (is *Issuer) Opaque(c Claims) string {
	b := make([]byte, 24)
	rand.Read(b)
	tok := fmt.Sprintf("opaque-%x", b)
	m := Claims{"iss": is.URL, "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range c {
		m[k] = v
	}
	is.mu.Lock()
	is.opaque[tok] = m
	is.mu.Unlock()
	return tok
}

// Revoke makes an opaque token inactive.
func (is *Issuer) Revoke(tok string) {
	is.mu.Lock()
	delete(is.opaque, tok)
	is.mu.Unlock()
}

// introspect is the RFC 7662 endpoint, for registered clients.
func (is *Issuer) introspect(w http.ResponseWriter, r *http.Request) {
	is.Introspections.Add(1)
	id, secret, _ := r.BasicAuth()
	id, _ = url.QueryUnescape(id)
	secret, _ = url.QueryUnescape(secret)
	is.mu.Lock()
	want, known := is.clients[id]
	c, active := is.opaque[r.PostFormValue("token")]
	is.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !known || want != secret {
		w.WriteHeader(401)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
		return
	}
	out := map[string]any{"active": active}
	if active {
		if exp, ok := c["exp"].(int64); ok && time.Now().Unix() >= exp {
			out["active"] = false
		} else {
			for k, v := range c {
				out[k] = v
			}
		}
	}
	json.NewEncoder(w).Encode(out)
}

// Close stops the issuer.
func (is *Issuer) Close() { is.srv.Close() }

// AddKey creates and publishes a key (RS256 or ES256) under kid; it does not become the
// signing key until Use.
func (is *Issuer) AddKey(kid, alg string) error {
	var priv, pubRaw any
	var sa jwa.SignatureAlgorithm
	switch alg {
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		priv, pubRaw, sa = k, &k.PublicKey, jwa.RS256()
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		priv, pubRaw, sa = k, &k.PublicKey, jwa.ES256()
	default:
		return fmt.Errorf("oidctest: unsupported alg %s", alg)
	}
	pub, err := jwk.Import(pubRaw)
	if err != nil {
		return err
	}
	pub.Set(jwk.KeyIDKey, kid)
	pub.Set(jwk.AlgorithmKey, sa)
	pub.Set(jwk.KeyUsageKey, "sig")
	is.mu.Lock()
	is.keys[kid] = &signer{alg: sa, priv: priv, pub: pub}
	is.mu.Unlock()
	return nil
}

// Use makes kid the signing key.
func (is *Issuer) Use(kid string) {
	is.mu.Lock()
	is.kid = kid
	is.mu.Unlock()
}

// PublicKey returns the raw public key of kid (for confusion attacks).
func (is *Issuer) PublicKey(kid string) jwk.Key {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[kid].pub
}

// Claims are a token's claims; Token fills iss, iat and exp (1h) unless set.
type Claims map[string]any

// Token signs claims with the current key.
func (is *Issuer) Token(c Claims) string {
	is.mu.Lock()
	s, kid := is.keys[is.kid], is.kid
	is.mu.Unlock()
	return is.sign(c, s.alg, s.priv, kid)
}

// TokenWith signs claims with any algorithm and key under any kid: attack tokens.
func (is *Issuer) TokenWith(c Claims, alg jwa.SignatureAlgorithm, key any, kid string) string {
	return is.sign(c, alg, key, kid)
}

func (is *Issuer) sign(c Claims, alg jwa.SignatureAlgorithm, key any, kid string) string {
	t := jwt.New()
	now := time.Now()
	defaults := map[string]any{"iss": is.URL, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range defaults {
		if _, ok := c[k]; !ok {
			t.Set(k, v)
		}
	}
	for k, v := range c {
		if v == nil {
			continue // nil removes a default claim
		}
		t.Set(k, v)
	}
	hdr := jws.NewHeaders()
	hdr.Set(jws.KeyIDKey, kid)
	b, err := jwt.Sign(t, jwt.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		panic(fmt.Sprintf("oidctest: sign: %v", err))
	}
	return string(b)
}
