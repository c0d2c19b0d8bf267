package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"gatehouse/internal/lockedfile"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// APIKeyPrefix starts every API key, so that a key is recognisable (and secret scanners
// can find leaked ones).
const APIKeyPrefix = "ghk_"

// APIKey is a stored API key: never the secret, only its SHA-256. (The secret is 256
// random bits, so a fast hash is enough: there is nothing to guess.)
type APIKey struct {
	ID        string     `json:"id"`
	Hash      string     `json:"sha256"`
	Name      string     `json:"name"`
	Subject   string     `json:"subject"`
	Tenant    string     `json:"tenant,omitempty"`
	Roles     []string   `json:"roles,omitempty"`
	Scopes    []string   `json:"scopes,omitempty"`
	Created   time.Time  `json:"created"`
	Expires   *time.Time `json:"expires,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Active reports whether the key may be used at t.
func (k *APIKey) Active(t time.Time) bool {
	return k.RevokedAt == nil && (k.Expires == nil || t.Before(*k.Expires))
}

// KeyStore keeps API keys in a JSON file (mode 0600) in the data directory. The gateway
// re-reads the file when it changes (checked at most once a second), so keys created or
// revoked with `gatehouse keys` take effect without a restart.
type KeyStore struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	keys    map[string]*APIKey
	modTime time.Time
	size    int64
	checked time.Time
}

// NewKeyStore returns the store at path (the file need not exist yet).
func NewKeyStore(path string) *KeyStore {
	return &KeyStore{path: path, now: time.Now}
}

// ErrBadAPIKey is returned for any key that does not authenticate.
var ErrBadAPIKey = errors.New("invalid API key")

// Authenticate checks a presented key and returns its identity.
func (s *KeyStore) Authenticate(presented string) (*Identity, error) {
	rest, ok := strings.CutPrefix(presented, APIKeyPrefix)
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || id == "" || secret == "" {
		return nil, fmt.Errorf("%w: malformed", ErrBadAPIKey)
	}
	s.mu.Lock()
	err := s.reloadLocked(false)
	k := s.keys[id]
	if k == nil && err == nil {
		// Maybe created a moment ago: look at the file now (a stat; it is read only if it
		// changed), so that a new key works at once.
		err = s.statLocked()
		k = s.keys[id]
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: key store unreadable: %w", ErrBadAPIKey, err)
	}
	sum := sha256.Sum256([]byte(secret))
	want, _ := hex.DecodeString(func() string {
		if k == nil {
			return strings.Repeat("0", 64)
		}
		return k.Hash
	}())
	// Compared in constant time even when the id is unknown.
	match := subtle.ConstantTimeCompare(sum[:], want) == 1
	switch {
	case k == nil || !match:
		return nil, fmt.Errorf("%w: unknown key", ErrBadAPIKey)
	case k.RevokedAt != nil:
		return nil, fmt.Errorf("%w: key %s was revoked", ErrBadAPIKey, id)
	case !k.Active(s.now()):
		return nil, fmt.Errorf("%w: key %s expired", ErrBadAPIKey, id)
	}
	return &Identity{Method: MethodAPIKey, KeyID: k.ID, Subject: k.Subject, Tenant: k.Tenant,
		Roles: slices.Clone(k.Roles), Scopes: slices.Clone(k.Scopes), ClientID: k.Name}, nil
}

// reloadLocked reads the file if it changed since the last read (and, unless force, the
// last check was over a second ago).
func (s *KeyStore) reloadLocked(force bool) error {
	now := s.now()
	if !force && s.keys != nil && now.Sub(s.checked) < time.Second {
		return nil
	}
	s.checked = now
	if force {
		s.keys = nil
	}
	return s.statLocked()
}

// statLocked reads the file if its size or modification time changed.
func (s *KeyStore) statLocked() error {
	fi, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		s.keys = map[string]*APIKey{}
		return nil
	}
	if err != nil {
		return err
	}
	if s.keys != nil && fi.ModTime().Equal(s.modTime) && fi.Size() == s.size {
		return nil
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return err
	}
	var list []*APIKey
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	keys := make(map[string]*APIKey, len(list))
	for _, k := range list {
		keys[k.ID] = k
	}
	s.keys, s.modTime, s.size = keys, fi.ModTime(), fi.Size()
	return nil
}

// List returns every key, oldest first.
func (s *KeyStore) List() ([]APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadLocked(true); err != nil {
		return nil, err
	}
	out := make([]APIKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, *k)
	}
	slices.SortFunc(out, func(a, b APIKey) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Create makes a new key from tmpl (ID, Hash and Created are set here) and returns the
// secret, which is shown once and stored nowhere.
func (s *KeyStore) Create(tmpl APIKey) (string, *APIKey, error) {
	if tmpl.Subject == "" {
		return "", nil, errors.New("a key needs a subject")
	}
	idb := make([]byte, 8)
	sec := make([]byte, 32)
	rand.Read(idb)
	rand.Read(sec)
	k := tmpl
	k.ID = hex.EncodeToString(idb)
	secret := base64.RawURLEncoding.EncodeToString(sec)
	sum := sha256.Sum256([]byte(secret))
	k.Hash = hex.EncodeToString(sum[:])
	k.Created = s.now().UTC()
	k.RevokedAt = nil
	err := s.update(func(list []*APIKey) ([]*APIKey, error) { return append(list, &k), nil })
	if err != nil {
		return "", nil, err
	}
	return APIKeyPrefix + k.ID + "_" + secret, &k, nil
}

// Revoke marks the key with id revoked.
func (s *KeyStore) Revoke(id string) (*APIKey, error) {
	var found *APIKey
	err := s.update(func(list []*APIKey) ([]*APIKey, error) {
		for _, k := range list {
			if k.ID == id {
				if k.RevokedAt == nil {
					t := s.now().UTC()
					k.RevokedAt = &t
				}
				found = k
				return list, nil
			}
		}
		return nil, fmt.Errorf("no key with id %q", id)
	})
	return found, err
}

// update rewrites the file under an exclusive lock, atomically (temp file + rename).
func (s *KeyStore) update(f func([]*APIKey) ([]*APIKey, error)) error {
	err := lockedfile.Update(s.path, func(old []byte) ([]byte, error) {
		var list []*APIKey
		if old != nil {
			if err := json.Unmarshal(old, &list); err != nil {
				return nil, fmt.Errorf("%s: %w", s.path, err)
			}
		}
		list, err := f(list)
		if err != nil {
			return nil, err
		}
		out, err := json.MarshalIndent(list, "", "  ")
		return append(out, '\n'), err
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.reloadLocked(true)
	s.mu.Unlock()
	return nil
}
