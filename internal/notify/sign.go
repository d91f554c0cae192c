package notify

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// signer signs SNS messages with the RSA key whose certificate bannin serves at certPath.
type signer struct {
	key      *rsa.PrivateKey
	certPEM  []byte
	certPath string
}

// certPathPrefix starts the path of the signing certificate (and of every link SNS serves).
const linkPrefix = "/_bannin/sns/"

// loadSigner returns the signer, generating its key and certificate on first use and
// keeping them in the store so that signatures stay verifiable across restarts.
func (s *Service) loadSigner(ctx context.Context) (*signer, error) {
	s.signerMu.Lock()
	defer s.signerMu.Unlock()
	if s.signer != nil {
		return s.signer, nil
	}
	if s.opts.Store == nil {
		return nil, errNoStore
	}
	var stored []byte
	err := s.opts.Store.Update(ctx, func(tx store.Tx) error {
		v, err := tx.Get(ctx, signingBucket, "key")
		if err != nil || v != nil {
			stored = v
			return err
		}
		if stored, err = newSigningKey(s.opts.Clock()); err != nil {
			return err
		}
		return tx.Put(ctx, signingBucket, "key", stored)
	})
	if err != nil {
		return nil, fmt.Errorf("notify: signing key: %w", err)
	}
	sg, err := parseSigner(stored)
	if err != nil {
		return nil, err
	}
	s.signer = sg
	return sg, nil
}

// newSigningKey makes an RSA key and a self-signed certificate for it, PEM-encoded together.
func newSigningKey(now time.Time) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com", Organization: []string{"bannin"}},
		DNSNames:     []string{"sns.amazonaws.com"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(20, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), nil
}

func parseSigner(stored []byte) (*signer, error) {
	sg := &signer{}
	for rest := stored; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("notify: parse signing key: %w", err)
			}
			sg.key = k
		case "CERTIFICATE":
			sg.certPEM = pem.EncodeToMemory(b)
			sum := sha256.Sum256(b.Bytes)
			sg.certPath = linkPrefix + "SimpleNotificationService-" + hex.EncodeToString(sum[:16]) + ".pem"
		}
	}
	if sg.key == nil || sg.certPEM == nil {
		return nil, errors.New("notify: stored signing key is incomplete")
	}
	return sg, nil
}

// stringToSign is AWS's canonical form of a message document: the names and values of the
// signed fields in byte order, each followed by a newline.
func stringToSign(doc *document) string {
	var b strings.Builder
	add := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	add("Message", doc.Message)
	add("MessageId", doc.MessageID)
	if doc.Type == typeNotification {
		if doc.Subject != "" {
			add("Subject", doc.Subject)
		}
		add("Timestamp", doc.Timestamp)
		add("TopicArn", doc.TopicArn)
		add("Type", doc.Type)
		return b.String()
	}
	add("SubscribeURL", doc.SubscribeURL)
	add("Timestamp", doc.Timestamp)
	add("Token", doc.Token)
	add("TopicArn", doc.TopicArn)
	add("Type", doc.Type)
	return b.String()
}

// sign sets doc's signature fields: SignatureVersion 1 is SHA1withRSA, 2 SHA256withRSA.
func (sg *signer) sign(doc *document, version, baseURL string) error {
	if version != "2" {
		version = "1"
	}
	var sig []byte
	var err error
	if version == "2" {
		sum := sha256.Sum256([]byte(stringToSign(doc)))
		sig, err = rsa.SignPKCS1v15(rand.Reader, sg.key, crypto.SHA256, sum[:])
	} else {
		sum := sha1.Sum([]byte(stringToSign(doc)))
		sig, err = rsa.SignPKCS1v15(rand.Reader, sg.key, crypto.SHA1, sum[:])
	}
	if err != nil {
		return fmt.Errorf("notify: sign message: %w", err)
	}
	doc.SignatureVersion, doc.Signature, doc.SigningCertURL = version, base64.StdEncoding.EncodeToString(sig), baseURL+sg.certPath
	return nil
}
