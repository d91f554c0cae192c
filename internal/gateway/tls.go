package gateway

import "crypto/tls"

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return "TLSv1"
}

func tlsCipher(id uint16) string { return tls.CipherSuiteName(id) }
