package identity

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"
)

// tokenCache remembers verified tokens (by SHA-256) until a deadline, so that a client that
// sends the same token on every request pays for one verification, not one each. It holds
// at most cacheMax tokens: when full, expired ones go first, then any.
type tokenCache struct {
	mu sync.Mutex
	m  map[[32]byte]cached
}

type cached struct {
	id    *Identity
	until time.Time
}

const (
	cacheTTL = 5 * time.Minute // the longest a JWT's verification is reused
	cacheMax = 10000
)

// tokenKey hashes the token in place: a bearer token is most of a kilobyte, and copying it
// to a []byte on every request was this path's only allocation (Sum256 keeps nothing).
func tokenKey(token string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

func (c *tokenCache) get(key [32]byte, now time.Time) (*Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.id, true
}

func (c *tokenCache) put(key [32]byte, id *Identity, until, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[32]byte]cached)
	}
	if len(c.m) >= cacheMax {
		for k, e := range c.m { // expired ones first, then any (map order is random)
			if len(c.m) < cacheMax*9/10 {
				break
			}
			if !now.Before(e.until) || len(c.m) >= cacheMax {
				delete(c.m, k)
			}
		}
	}
	c.m[key] = cached{id: id, until: until}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
