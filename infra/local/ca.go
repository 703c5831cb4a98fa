package local

// This file is the local certificate authority behind the edge's HTTPS listener: a CA
// key pair made once and kept under --state (STATE/ca/), and a server certificate it signs
// for the names the edge answers to (localhost, the loopback addresses, the distribution's
// domain name and its Aliases). Nothing is installed into a trust store: TrustHint says how
// a user can, per OS, if they choose to.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// CA is the local certificate authority.
type CA struct {
	// CertFile is the PEM file of the CA certificate, the one a user may choose to trust.
	CertFile string
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
}

// OpenCA loads the CA kept in dir, making it on first use. A CA file that does not parse
// is an error naming the file (delete the folder to make a new CA).
func OpenCA(dir string) (*CA, error) {
	certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	certPEM, err1 := os.ReadFile(certFile)
	keyPEM, err2 := os.ReadFile(keyFile)
	if errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist) {
		return newCA(dir, certFile, keyFile)
	}
	if err1 != nil {
		return nil, fmt.Errorf("local CA: %w", err1)
	}
	if err2 != nil {
		return nil, fmt.Errorf("local CA: %w", err2)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("local CA in %s is unreadable (delete the folder to make a new one): %w", dir, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("local CA %s: %w", certFile, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !cert.IsCA {
		return nil, fmt.Errorf("local CA %s is not a CA made by twinedge (delete the folder to make a new one)", certFile)
	}
	if time.Now().After(cert.NotAfter) {
		return nil, fmt.Errorf("local CA %s expired on %s (delete the folder to make a new one)", certFile, cert.NotAfter.Format(time.DateOnly))
	}
	return &CA{CertFile: certFile, cert: cert, key: key}, nil
}

func newCA(dir, certFile, keyFile string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"twinedge local CA"}, CommonName: "twinedge local CA " + host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{CertFile: certFile, cert: cert, key: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// ServerConfig returns a TLS config with a fresh certificate for names (host names or IP
// addresses), signed by the CA. The certificate is made in memory on each start; only the
// CA persists. CloudFront's default viewer minimum is TLSv1 (SSLv3 off) for the default
// certificate; the local edge accepts TLS 1.2 and later, which every current client speaks.
func (ca *CA) ServerConfig(names []string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "twinedge edge"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(0, 0, 397), // the CA/Browser Forum's maximum
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	seen := map[string]bool{}
	for _, n := range append([]string{"localhost", "127.0.0.1", "::1"}, names...) {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("local CA: sign the edge's certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}},
	}, nil
}

// Pool returns a cert pool holding the CA, for clients (tests, `twinedge status`).
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// TrustHint says how to trust the CA on this OS, or to use it per command. It installs
// nothing.
func (ca *CA) TrustHint() string {
	f := ca.CertFile
	switch runtime.GOOS {
	case "darwin":
		return fmt.Sprintf("to trust the local CA (optional): sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %s; or per command: curl --cacert %s", f, f)
	case "windows":
		return fmt.Sprintf("to trust the local CA (optional): certutil -addstore -f ROOT %s; or per command: curl --cacert %s", f, f)
	}
	return fmt.Sprintf("to trust the local CA (optional): sudo cp %s /usr/local/share/ca-certificates/twinedge.crt && sudo update-ca-certificates (Debian/Ubuntu), or sudo trust anchor %s (Fedora/Arch); per command: curl --cacert %s", f, f, f)
}
