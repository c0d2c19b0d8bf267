package integrity

import (
	"encoding/json"
	"errors"
	"fmt"
	"gatehouse/internal/lockedfile"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Mode is how pins come about.
type Mode string

const (
	// ModeTOFU pins what a server offers the first time the gateway sees it.
	ModeTOFU Mode = "tofu"
	// ModeLock accepts only what the reviewed lock file holds.
	ModeLock Mode = "lock"
)

// Pin is an approved definition.
type Pin struct {
	Digest     string          `json:"digest"`
	Definition json.RawMessage `json:"definition"` // canonical JSON
	Since      time.Time       `json:"since"`
}

// Pending is a definition waiting for an administrator.
type Pending struct {
	Digest     string          `json:"digest"`
	Definition json.RawMessage `json:"definition"`
	Seen       time.Time       `json:"seen"`
	// Reason: "changed" (differs from its pin) or "new" (a server with pins offers it, or the
	// lock file does not hold it).
	Reason string `json:"reason"`
}

// state is the store's file. In lock mode Pins come from the lock file instead.
type state struct {
	Pins     map[string]Pin      `json:"pins"`
	Pending  map[string]Pending  `json:"pending"`
	Rejected map[string][]string `json:"rejected,omitempty"` // key → digests refused
	// Sealed are the "server/kind/" prefixes whose first listing is complete: trust on
	// first use pins a server's definitions until then, and never after.
	Sealed map[string]bool `json:"sealed,omitempty"`
}

// lockFile is the reviewed lock file's format.
type lockFile struct {
	Version int            `json:"version"`
	Pins    map[string]Pin `json:"pins"`
}

// Store holds the pins and what waits for approval. The gateway and the command line share
// its files: every change is made under an exclusive file lock and written atomically, and
// readers notice a changed file (within reloadEvery).
type Store struct {
	mode     Mode
	path     string // state file
	lockPath string // lock mode: the reviewed lock file

	mu       sync.Mutex
	st       state
	lock     map[string]Pin
	stamp    string // size and mtime of the files as loaded
	lastStat time.Time
	seen     map[string]string // key → digest of the definition last seen (this process)
}

const reloadEvery = 500 * time.Millisecond

// Open returns the store over statePath (created on first change) and, in lock mode, the
// lock file at lockPath (which must exist).
func Open(mode Mode, statePath, lockPath string) (*Store, error) {
	s := &Store{mode: mode, path: statePath, lockPath: lockPath}
	if mode == ModeLock {
		if _, err := os.Stat(lockPath); err != nil {
			return nil, fmt.Errorf("integrity lock file: %w (write it with `gatehouse pin --config FILE`)", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadLocked(true); err != nil {
		return nil, err
	}
	return s, nil
}

// Mode says how pins come about.
func (s *Store) Mode() Mode { return s.mode }

func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "-"
	}
	return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
}

func (s *Store) reloadLocked(force bool) error {
	if !force && time.Since(s.lastStat) < reloadEvery {
		return nil
	}
	s.lastStat = time.Now()
	stamp := fileStamp(s.path) + "|" + fileStamp(s.lockPath)
	if !force && stamp == s.stamp {
		return nil
	}
	st, err := readState(s.path)
	if err != nil {
		return err
	}
	s.st = st
	if s.mode == ModeLock {
		lf, err := readLock(s.lockPath)
		if err != nil {
			return err
		}
		s.lock = lf.Pins
	}
	s.stamp = stamp
	return nil
}

func readState(path string) (state, error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return state{}, err
	}
	return parseState(path, b)
}

// parseState reads the state file's contents (nil: none yet).
func parseState(path string, b []byte) (state, error) {
	st := state{Pins: map[string]Pin{}, Pending: map[string]Pending{}, Rejected: map[string][]string{}, Sealed: map[string]bool{}}
	if b == nil {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	if st.Pins == nil {
		st.Pins = map[string]Pin{}
	}
	if st.Pending == nil {
		st.Pending = map[string]Pending{}
	}
	if st.Rejected == nil {
		st.Rejected = map[string][]string{}
	}
	if st.Sealed == nil {
		st.Sealed = map[string]bool{}
	}
	return st, nil
}

func readLock(path string) (lockFile, error) {
	var lf lockFile
	b, err := os.ReadFile(path)
	if err != nil {
		return lf, err
	}
	if err := json.Unmarshal(b, &lf); err != nil {
		return lf, fmt.Errorf("%s: %w", path, err)
	}
	if lf.Version != 1 {
		return lf, fmt.Errorf("%s: lock file version %d, want 1", path, lf.Version)
	}
	if lf.Pins == nil {
		lf.Pins = map[string]Pin{}
	}
	return lf, nil
}

// pins returns the pins in force (the lock file's in lock mode).
func (s *Store) pinsLocked() map[string]Pin {
	if s.mode == ModeLock {
		return s.lock
	}
	return s.st.Pins
}

// Definition is one definition an upstream offers.
type Definition struct {
	Server string
	Kind   Kind
	Name   string
	Raw    []byte // as the upstream sent it
}

// Event is a change the store saw: something to record and warn about.
type Event struct {
	Key, Reason    string // Reason: "pinned" (first use), "changed", "new"
	Old, New       string // digests
	Server, Name   string
	Kind           Kind
	OldDef, NewDef []byte // canonical
}

// Observe checks one batch of definitions of one server and kind (one list page) against
// the pins and returns which are allowed (by key) and what changed. In trust-on-first-use
// mode the definitions of a server and kind are pinned as they come until its first
// listing is complete: last says this batch is a listing's last page (for server and kind,
// if given, even when defs is empty).
func (s *Store) Observe(defs []Definition, last bool, server string, kind Kind, now time.Time) (allowed map[string]bool, events []Event, err error) {
	type seen struct {
		d         Definition
		key, dig  string
		canonical []byte
	}
	items := make([]seen, 0, len(defs))
	for _, d := range defs {
		c, dig, err := Canonical(d.Raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", Key(d.Server, d.Kind, d.Name), err)
		}
		items = append(items, seen{d, Key(d.Server, d.Kind, d.Name), dig, c})
	}
	allowed = make(map[string]bool, len(items))
	// What was seen is recorded once it has been decided (below): a caller asking Allowed
	// in between must not find a definition seen but not yet pinned.
	defer func() {
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.seen == nil {
			s.seen = map[string]string{}
		}
		for _, it := range items {
			s.seen[it.key] = it.dig
		}
		s.mu.Unlock()
	}()
	s.mu.Lock()
	if err := s.reloadLocked(false); err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	var todo []seen
	sealPrefix := ""
	if last && server != "" && s.mode == ModeTOFU {
		if p := server + "/" + string(kind) + "/"; !s.st.Sealed[p] {
			sealPrefix = p
		}
	}
	for _, it := range items {
		if p, ok := s.pinsLocked()[it.key]; ok && p.Digest == it.dig {
			allowed[it.key] = true
			continue
		}
		if p, ok := s.st.Pending[it.key]; ok && p.Digest == it.dig {
			continue // already waiting
		}
		if slices.Contains(s.st.Rejected[it.key], it.dig) {
			continue // refused before
		}
		todo = append(todo, it)
	}
	s.mu.Unlock()
	if len(todo) == 0 && sealPrefix == "" {
		return allowed, nil, nil
	}
	err = s.update(func(st *state, lock map[string]Pin) error {
		firstUse := map[string]bool{} // server/kind still in its first listing
		for _, it := range todo {
			prefix := it.d.Server + "/" + string(it.d.Kind) + "/"
			firstUse[prefix] = s.mode == ModeTOFU && !st.Sealed[prefix]
		}
		defer func() {
			if sealPrefix != "" {
				st.Sealed[sealPrefix] = true
			}
		}()
		pins := st.Pins
		if s.mode == ModeLock {
			pins = lock
		}
		for _, it := range todo {
			prefix := it.d.Server + "/" + string(it.d.Kind) + "/"
			ev := Event{Key: it.key, New: it.dig, Server: it.d.Server, Name: it.d.Name, Kind: it.d.Kind, NewDef: it.canonical}
			old, hadPin := pins[it.key]
			switch {
			case hadPin && old.Digest == it.dig:
				allowed[it.key] = true
				continue
			case hadPin:
				// Even during a first listing: a pinned definition never changes unseen.
				ev.Reason, ev.Old, ev.OldDef = "changed", old.Digest, old.Definition
				st.Pending[it.key] = Pending{Digest: it.dig, Definition: it.canonical, Seen: now, Reason: "changed"}
			case firstUse[prefix]:
				st.Pins[it.key] = Pin{Digest: it.dig, Definition: it.canonical, Since: now}
				allowed[it.key] = true
				ev.Reason = "pinned"
			default:
				if p, ok := st.Pending[it.key]; ok && p.Digest == it.dig {
					continue
				}
				ev.Reason = "new"
				st.Pending[it.key] = Pending{Digest: it.dig, Definition: it.canonical, Seen: now, Reason: "new"}
			}
			events = append(events, ev)
		}
		return nil
	})
	return allowed, events, err
}

// Allowed says whether the definition this process last saw for key is pinned as it was
// seen; known is false when this process has not seen it yet (list it first).
func (s *Store) Allowed(key string) (allowed, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.reloadLocked(false)
	dig, known := s.seen[key]
	if !known {
		return false, false
	}
	p, pinned := s.pinsLocked()[key]
	return pinned && p.Digest == dig, true
}

// PendingItem is one entry of List.
type PendingItem struct {
	Key string
	Pending
	Old *Pin
}

// Pending lists what waits for approval, sorted by key.
func (s *Store) PendingItems() []PendingItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.reloadLocked(true)
	out := make([]PendingItem, 0, len(s.st.Pending))
	for k, p := range s.st.Pending {
		it := PendingItem{Key: k, Pending: p}
		if old, ok := s.pinsLocked()[k]; ok {
			it.Old = &old
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Pins lists the pins in force, sorted by key.
func (s *Store) Pins() map[string]Pin {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.reloadLocked(true)
	out := make(map[string]Pin, len(s.pinsLocked()))
	for k, p := range s.pinsLocked() {
		out[k] = p
	}
	return out
}

// DiffText is the readable difference a pending item makes.
func (it PendingItem) DiffText() string {
	old := ""
	if it.Old != nil {
		old = Pretty(it.Old.Definition)
	}
	return Diff(old, Pretty(it.Definition))
}

// Approve moves pending definitions (keys, or all with none given) to their pins. It returns
// what it approved.
func (s *Store) Approve(keys []string, now time.Time) ([]PendingItem, error) {
	var done []PendingItem
	err := s.update(func(st *state, lock map[string]Pin) error {
		sel, err := selectPending(st, keys)
		if err != nil {
			return err
		}
		for _, k := range sel {
			p := st.Pending[k]
			pin := Pin{Digest: p.Digest, Definition: p.Definition, Since: now}
			if s.mode == ModeLock {
				lock[k] = pin
			} else {
				st.Pins[k] = pin
			}
			done = append(done, PendingItem{Key: k, Pending: p})
			delete(st.Pending, k)
		}
		return nil
	})
	return done, err
}

// Reject refuses pending definitions: they stay withheld, and the same definition is not
// raised again.
func (s *Store) Reject(keys []string) ([]PendingItem, error) {
	var done []PendingItem
	err := s.update(func(st *state, _ map[string]Pin) error {
		sel, err := selectPending(st, keys)
		if err != nil {
			return err
		}
		for _, k := range sel {
			p := st.Pending[k]
			st.Rejected[k] = append(st.Rejected[k], p.Digest)
			done = append(done, PendingItem{Key: k, Pending: p})
			delete(st.Pending, k)
		}
		return nil
	})
	return done, err
}

func selectPending(st *state, keys []string) ([]string, error) {
	if len(keys) == 0 {
		out := make([]string, 0, len(st.Pending))
		for k := range st.Pending {
			out = append(out, k)
		}
		sort.Strings(out)
		return out, nil
	}
	var missing []string
	for _, k := range keys {
		if _, ok := st.Pending[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not pending: %s (see gatehouse pins diff)", strings.Join(missing, ", "))
	}
	return keys, nil
}

// WriteLock writes a lock file holding pins.
func WriteLock(path string, pins map[string]Pin) error {
	b, err := json.MarshalIndent(lockFile{Version: 1, Pins: pins}, "", "  ")
	if err != nil {
		return err
	}
	return lockedfile.Write(path, append(b, '\n'))
}

// update changes the files under an exclusive lock: it re-reads them, lets f change them, and
// writes them back atomically.
func (s *Store) update(f func(st *state, lock map[string]Pin) error) error {
	err := lockedfile.Update(s.path, func(old []byte) ([]byte, error) {
		st, err := parseState(s.path, old)
		if err != nil {
			return nil, err
		}
		var lf lockFile
		if s.mode == ModeLock {
			if lf, err = readLock(s.lockPath); err != nil {
				return nil, err
			}
		}
		if err := f(&st, lf.Pins); err != nil {
			return nil, err
		}
		if s.mode == ModeLock {
			// Under the same lock: the lock file changes with the state or not at all.
			if err := WriteLock(s.lockPath, lf.Pins); err != nil {
				return nil, err
			}
		}
		b, err := json.MarshalIndent(st, "", "  ")
		return append(b, '\n'), err
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloadLocked(true)
}
