package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Key files in the data directory.
const (
	SigningKeyFile = "audit-signing.key" // Ed25519 private key, PEM (PKCS#8-free raw seed), 0600
	HMACKeyFile    = "audit-hmac.key"    // 32 random bytes, base64, 0600
)

// LoadOrCreateSigningKey reads the checkpoint signing key from dir, creating it (0600) on
// first start.
func LoadOrCreateSigningKey(dir string) (ed25519.PrivateKey, bool, error) {
	path := filepath.Join(dir, SigningKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "GATEHOUSE AUDIT ED25519 SEED" || len(blk.Bytes) != ed25519.SeedSize {
			return nil, false, fmt.Errorf("%s: not a Gatehouse audit signing key", path)
		}
		return ed25519.NewKeyFromSeed(blk.Bytes), false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	out := pem.EncodeToMemory(&pem.Block{Type: "GATEHOUSE AUDIT ED25519 SEED", Bytes: seed})
	if err := writeNew(path, out); err != nil {
		return nil, false, err
	}
	return ed25519.NewKeyFromSeed(seed), true, nil
}

// LoadOrCreateHMACKey reads the key that hashes audited values, creating it on first start.
func LoadOrCreateHMACKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, HMACKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("%s: not a Gatehouse audit HMAC key", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, 32)
	rand.Read(k)
	if err := writeNew(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n")); err != nil {
		return nil, err
	}
	return k, nil
}

// writeNew creates path with mode 0600; it fails if the file appeared meanwhile, so that two
// processes starting at once cannot each create a different key.
func writeNew(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PublicKeyString is how a public key is printed and given to verify: "ed25519:BASE64".
func PublicKeyString(pub ed25519.PublicKey) string {
	return "ed25519:" + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads PublicKeyString's format.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), "ed25519:")
	if !ok {
		return nil, errors.New(`public key must look like "ed25519:BASE64"`)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("public key: not an Ed25519 key")
	}
	return ed25519.PublicKey(b), nil
}

func generateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}
