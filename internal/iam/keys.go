// Package iam holds accounts, principals and their access keys. Today it knows each
// account's root credentials; users, roles and policy evaluation come later.
package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sync"

	"github.com/bannin/bannin/internal/call"
)

// Key is an access key and the principal it belongs to.
type Key struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Account         string `json:"AccountId"`
}

// Keyring resolves access key ids to secrets and principals.
type Keyring struct {
	mu   sync.RWMutex
	keys map[string]Key
	// Dev makes every access key id the root of DevAccount, and skips signature checks.
	Dev        bool
	DevAccount string
}

// NewKeyring returns a keyring holding keys.
func NewKeyring(keys ...Key) *Keyring {
	k := &Keyring{keys: map[string]Key{}}
	for _, key := range keys {
		k.keys[key.AccessKeyID] = key
	}
	return k
}

// Add makes a key known.
func (k *Keyring) Add(key Key) {
	k.mu.Lock()
	k.keys[key.AccessKeyID] = key
	k.mu.Unlock()
}

// Secret returns the secret of an access key id.
func (k *Keyring) Secret(_ context.Context, id string) (string, bool, error) {
	k.mu.RLock()
	key, ok := k.keys[id]
	k.mu.RUnlock()
	return key.SecretAccessKey, ok, nil
}

// Principal returns who an access key id belongs to.
func (k *Keyring) Principal(id string) (call.Principal, bool) {
	k.mu.RLock()
	key, ok := k.keys[id]
	k.mu.RUnlock()
	if !ok {
		if !k.Dev {
			return call.Principal{}, false
		}
		key = Key{AccessKeyID: id, Account: k.DevAccount}
	}
	return Root(key.Account, id), true
}

// Root is the root principal of an account.
func Root(account, accessKeyID string) call.Principal {
	return call.Principal{Type: "Root", Account: account, ARN: "arn:aws:iam::" + account + ":root",
		PrincipalID: account, AccessKeyID: accessKeyID}
}

// RootCredentialsFile is where the default account's root key is kept in the data dir.
const RootCredentialsFile = "root-credentials.json"

// LoadRoot returns the root key of the default account kept in dir, creating it on
// first start from the given id and secret (both or neither) or by generating one.
// created tells the caller to show the key once.
func LoadRoot(dir, account, id, secret string) (key Key, created bool, err error) {
	path := filepath.Join(dir, RootCredentialsFile)
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := ParseKey(b)
		return key, false, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Key{}, false, fmt.Errorf("iam: %w", err)
	}
	if (id == "") != (secret == "") {
		return Key{}, false, errors.New("iam: set both BANNIN_ROOT_ACCESS_KEY_ID and BANNIN_ROOT_SECRET_ACCESS_KEY, or neither")
	}
	if id == "" {
		id, secret = "AKIA"+randomString(16, upperDigits), randomString(40, secretChars)
	}
	key = Key{AccessKeyID: id, SecretAccessKey: secret, Account: account}
	b, _ = json.MarshalIndent(key, "", "  ")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Key{}, false, fmt.Errorf("iam: %w", err)
	}
	// Written aside and renamed, so a crash never leaves a half-written key behind.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return Key{}, false, fmt.Errorf("iam: keep root key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return Key{}, false, fmt.Errorf("iam: keep root key: %w", err)
	}
	return key, true, nil
}

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// ParseKey reads a key kept by LoadRoot.
func ParseKey(b []byte) (Key, error) {
	var key Key
	if err := json.Unmarshal(b, &key); err != nil {
		return Key{}, fmt.Errorf("iam: root credentials file is damaged: %w", err)
	}
	if key.AccessKeyID == "" || key.SecretAccessKey == "" || key.Account == "" {
		return Key{}, errors.New("iam: root credentials file is damaged: AccessKeyId, SecretAccessKey or AccountId is missing")
	}
	return key, nil
}
