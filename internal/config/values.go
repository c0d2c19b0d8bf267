package config

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("1.5s", "2m", "30m").
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses a Go duration string. A bare number other than 0 is refused: it
// needs a unit.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("duration %q needs a unit, such as %ss", s, s)
		}
		return 0, fmt.Errorf("invalid duration %q (use Go durations such as 500ms, 30s, 2m, 1h30m)", s)
	}
	return Duration(d), nil
}

// Size is a number of bytes. In YAML it is an integer or a string with a unit: B, KB, MB,
// GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), as in "64KiB" or "4MiB".
type Size int64

// Int64 returns s as an int64.
func (s Size) Int64() int64 { return int64(s) }

// String formats s with the largest binary unit that divides it exactly ("4MiB", "1500B").
func (s Size) String() string {
	units := []struct {
		name string
		n    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if s != 0 && int64(s)%u.n == 0 {
			return strconv.FormatInt(int64(s)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// ParseSize parses a size: digits, optionally followed by a unit (spaces allowed between).
func ParseSize(str string) (Size, error) {
	s := strings.TrimSpace(str)
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return 0, fmt.Errorf("invalid size %q (use bytes or a unit such as 64KiB, 4MiB, 1GiB, 10KB)", str)
	}
	n, err := strconv.ParseInt(s[start:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large: %w", str, err)
	}
	unit := strings.TrimSpace(s[i:])
	var mult int64
	switch unit {
	case "", "B":
		mult = 1
	case "KB":
		mult = 1000
	case "MB":
		mult = 1000 * 1000
	case "GB":
		mult = 1000 * 1000 * 1000
	case "TB":
		mult = 1000 * 1000 * 1000 * 1000
	case "KiB":
		mult = 1 << 10
	case "MiB":
		mult = 1 << 20
	case "GiB":
		mult = 1 << 30
	case "TiB":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KB, MB, GB, KiB, MiB or GiB)", str, unit)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", str)
	}
	n *= mult
	if neg {
		n = -n
	}
	return Size(n), nil
}

type secretKind uint8

const (
	secretLiteral secretKind = iota
	secretEnv
	secretFile
)

// Secret is a value that may be sensitive: a literal string, or a reference resolved only
// when needed — {env: NAME} from the gateway's environment, {file: PATH} from a file
// (relative to the config file's folder). However it is formatted, a Secret prints where
// its value comes from, never the value.
type Secret struct {
	kind    secretKind
	literal string // secretLiteral
	ref     string // env name or file path as written
	path    string // secretFile: the path resolved against the config folder
}

// LiteralSecret returns a Secret holding s itself.
func LiteralSecret(s string) Secret { return Secret{kind: secretLiteral, literal: s} }

// EnvSecret returns a Secret read from environment variable name.
func EnvSecret(name string) Secret { return Secret{kind: secretEnv, ref: name} }

// FileSecret returns a Secret read from the file at path (used as is; Load resolves
// relative paths against the config folder before building one).
func FileSecret(path string) Secret { return Secret{kind: secretFile, ref: path, path: path} }

// EnvName returns the variable name of an {env: NAME} secret, or "".
func (s Secret) EnvName() string {
	if s.kind == secretEnv {
		return s.ref
	}
	return ""
}

// FilePath returns the resolved path of a {file: PATH} secret, or "".
func (s Secret) FilePath() string {
	if s.kind == secretFile {
		return s.path
	}
	return ""
}

// Resolve returns the secret's value. getenv looks up environment variables (nil means
// os.LookupEnv). A file's single trailing newline ("\n" or "\r\n") is dropped.
func (s Secret) Resolve(getenv func(string) (string, bool)) (string, error) {
	switch s.kind {
	case secretEnv:
		if getenv == nil {
			getenv = os.LookupEnv
		}
		v, ok := getenv(s.ref)
		if !ok {
			return "", &EnvNotSetError{Name: s.ref}
		}
		return v, nil
	case secretFile:
		b, err := os.ReadFile(s.path)
		if err != nil {
			return "", fmt.Errorf("config: secret %s: %w", s, err)
		}
		v := string(b)
		if strings.HasSuffix(v, "\r\n") {
			v = v[:len(v)-2]
		} else if strings.HasSuffix(v, "\n") {
			v = v[:len(v)-1]
		}
		return v, nil
	default:
		return s.literal, nil
	}
}

// EnvNotSetError is returned by Secret.Resolve for an {env: NAME} secret whose variable is
// not set.
type EnvNotSetError struct {
	Name string
}

func (e *EnvNotSetError) Error() string {
	return "config: secret {env: " + e.Name + "}: environment variable not set"
}

// String describes the secret without its value: {env: NAME}, {file: PATH} or "<literal>".
func (s Secret) String() string {
	switch s.kind {
	case secretEnv:
		return "{env: " + s.ref + "}"
	case secretFile:
		return "{file: " + s.ref + "}"
	default:
		return `"<literal>"`
	}
}

// GoString is String, so %#v does not print the value either.
func (s Secret) GoString() string { return s.String() }

// Format prints String for every verb, so no fmt verb can reveal the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(s.String()))
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue keeps the value out of structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps the value out of JSON and other text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
