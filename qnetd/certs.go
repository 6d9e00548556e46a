package qnetd

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/quorate/quorate/internal/fsx"
)

// The daemon's data directory holds its certificate authority and its
// server certificate, created on first start (mode 0700 directory, 0600
// keys):
//
//	ca.crt ca.key          the CA that signs the server and every client
//	server.crt server.key  what the daemon presents
//
// A node's qdevice presents a client certificate from the same CA whose
// CommonName is its cluster name; `quorate qnetd enroll` issues one as a
// bundle (CA certificate, client certificate, key in one PEM file). This
// replaces corosync-qnetd's NSS databases and the certificate dance of
// corosync-qdevice-net-certutil that `pvecm qdevice setup` runs over SSH.
const (
	caCertFile     = "ca.crt"
	caKeyFile      = "ca.key"
	serverCertFile = "server.crt"
	serverKeyFile  = "server.key"
)

// DefaultDataDir is the daemon's data directory.
const DefaultDataDir = "/var/lib/quorate-qnetd"

// Validity of what the daemon issues.
const (
	caValidity     = 20 * 365 * 24 * time.Hour
	serverValidity = 10 * 365 * 24 * time.Hour
	// ClientValidity is the default lifetime of an enrolled bundle.
	ClientValidity = 10 * 365 * 24 * time.Hour
	// backdate covers clocks that are a little behind the daemon's.
	backdate = time.Hour
)

// ErrBundle is wrapped by every error about an unusable client bundle.
var ErrBundle = errors.New("qnetd: bad bundle")

// ErrClusterName is wrapped when a cluster name cannot be put into a
// certificate and a hello.
var ErrClusterName = errors.New("qnetd: bad cluster name")

// authority is the loaded CA.
type authority struct {
	cert *x509.Certificate
	der  []byte
	key  crypto.Signer
}

// Init makes sure dir holds a CA and a server certificate, creating what is
// missing. sans are the names and addresses the server certificate covers
// (the quorum.device.net.host the nodes use); an existing server
// certificate is kept as it is. It reports what it created.
func Init(dir string, sans []string) (created []string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("qnetd: data dir: %w", err)
	}
	ca, made, err := loadOrCreateCA(dir)
	if err != nil {
		return nil, err
	}
	if made {
		created = append(created, filepath.Join(dir, caCertFile))
	}
	if _, err := os.Stat(filepath.Join(dir, serverCertFile)); err == nil {
		return created, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return created, fmt.Errorf("qnetd: %w", err)
	}
	tmpl, err := template(firstOr(sans, "qnetd"), serverValidity)
	if err != nil {
		return created, err
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	certPEM, keyPEM, err := ca.issue(tmpl)
	if err != nil {
		return created, err
	}
	if err := fsx.WriteFileAtomic(filepath.Join(dir, serverKeyFile), keyPEM, 0o600); err != nil {
		return created, err
	}
	if err := fsx.WriteFileAtomic(filepath.Join(dir, serverCertFile), certPEM, 0o644); err != nil {
		return created, err
	}
	return append(created, filepath.Join(dir, serverCertFile)), nil
}

// DefaultSANs are the names a first start puts into the server
// certificate: the host name, localhost and every global unicast and
// loopback address of the host's interfaces.
func DefaultSANs() []string {
	var out []string
	if h, err := os.Hostname(); err == nil && h != "" {
		out = append(out, h)
	}
	out = append(out, "localhost", "127.0.0.1", "::1")
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() {
				out = append(out, n.IP.String())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// loadOrCreateCA loads dir's CA, creating it when neither file exists.
func loadOrCreateCA(dir string) (*authority, bool, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	_, errC := os.Stat(certPath)
	_, errK := os.Stat(keyPath)
	if errors.Is(errC, fs.ErrNotExist) && errors.Is(errK, fs.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, false, fmt.Errorf("qnetd: CA key: %w", err)
		}
		tmpl, err := template("quorate qnetd CA", caValidity)
		if err != nil {
			return nil, false, err
		}
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.MaxPathLenZero = true, true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			return nil, false, fmt.Errorf("qnetd: CA certificate: %w", err)
		}
		keyPEM, err := encodeKey(key)
		if err != nil {
			return nil, false, err
		}
		if err := fsx.WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
			return nil, false, err
		}
		if err := fsx.WriteFileAtomic(certPath, pemBlock("CERTIFICATE", der), 0o644); err != nil {
			return nil, false, err
		}
		ca, err := loadCA(dir)
		return ca, true, err
	}
	ca, err := loadCA(dir)
	return ca, false, err
}

// loadCA reads an existing CA.
func loadCA(dir string) (*authority, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("qnetd: %w", err)
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("qnetd: %w", err)
	}
	pair, err := tls.X509KeyPair(cb, kb)
	if err != nil {
		return nil, fmt.Errorf("qnetd: CA in %s: %w", dir, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok || pair.Leaf == nil || !pair.Leaf.IsCA {
		return nil, fmt.Errorf("qnetd: %s is not a CA certificate", certPath)
	}
	return &authority{cert: pair.Leaf, der: pair.Certificate[0], key: signer}, nil
}

// template is a certificate template with a random serial.
func template(cn string, validity time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("qnetd: serial: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"quorate qnetd"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}, nil
}

// issue signs tmpl for a fresh P-256 key and returns certificate and key
// as PEM.
func (ca *authority) issue(tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("qnetd: key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("qnetd: sign %q: %w", tmpl.Subject.CommonName, err)
	}
	keyPEM, err = encodeKey(key)
	return pemBlock("CERTIFICATE", der), keyPEM, err
}

// Enroll issues a client bundle for cluster, valid for validity, from the
// CA in dir (created if missing): the CA certificate, the client
// certificate (CommonName = cluster) and its key, as one PEM document.
func Enroll(dir, cluster string, validity time.Duration) ([]byte, error) {
	if err := checkClusterName(cluster); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("qnetd: data dir: %w", err)
	}
	ca, _, err := loadOrCreateCA(dir)
	if err != nil {
		return nil, err
	}
	return ca.enroll(cluster, time.Now().Add(-backdate), time.Now().Add(validity))
}

func (ca *authority) enroll(cluster string, notBefore, notAfter time.Time) ([]byte, error) {
	tmpl, err := template(cluster, 0)
	if err != nil {
		return nil, err
	}
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	certPEM, keyPEM, err := ca.issue(tmpl)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(pemBlock("CERTIFICATE", ca.der))
	b.Write(certPEM)
	b.Write(keyPEM)
	return b.Bytes(), nil
}

// checkClusterName accepts what totem.cluster_name may hold and a hello
// can carry.
func checkClusterName(s string) error {
	if s == "" || len(s) > maxName {
		return fmt.Errorf("%w %q: want 1 to %d bytes", ErrClusterName, s, maxName)
	}
	for _, r := range s {
		if r < 0x21 || r == 0x7f || r == 0xfffd {
			return fmt.Errorf("%w %q: no blanks or control characters", ErrClusterName, s)
		}
	}
	return nil
}

// Bundle is a node's client identity: the CA to trust and the certificate
// (with key) to present.
type Bundle struct {
	Path    string
	Cluster string // the client certificate's CommonName
	CA      *x509.Certificate
	Cert    tls.Certificate
}

// LoadBundle reads and checks a bundle file: a CA certificate, a client
// certificate that CA signed, currently valid, naming a cluster, and the
// matching private key. Every error wraps ErrBundle and names the file.
func LoadBundle(path string) (*Bundle, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	return ParseBundle(path, b, time.Now())
}

// ParseBundle checks bundle text as LoadBundle does, at time now.
func ParseBundle(path string, b []byte, now time.Time) (*Bundle, error) {
	bad := func(format string, args ...any) (*Bundle, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrBundle, path, fmt.Sprintf(format, args...))
	}
	var ca, leaf *x509.Certificate
	var leafDER, keyPEM []byte
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return bad("PEM block %d: %v", n, err)
			}
			if c.IsCA {
				ca = c
			} else {
				leaf, leafDER = c, blk.Bytes
			}
		case "PRIVATE KEY", "EC PRIVATE KEY":
			keyPEM = pem.EncodeToMemory(blk)
		default:
			return bad("PEM block %d has unexpected type %q", n, blk.Type)
		}
	}
	switch {
	case ca == nil && leaf == nil && keyPEM == nil:
		return bad("no PEM data (want the CA certificate, the client certificate and its key, as `quorate qnetd enroll` writes them)")
	case ca == nil:
		return bad("no CA certificate")
	case leaf == nil:
		return bad("no client certificate")
	case keyPEM == nil:
		return bad("no private key")
	}
	pair, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), keyPEM)
	if err != nil {
		return bad("the key does not match the client certificate: %v", err)
	}
	if now.After(leaf.NotAfter) {
		return bad("the client certificate expired at %s; enroll again on the qnetd host", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return bad("the client certificate is valid only from %s (is the clock right?)", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return bad("the client certificate is not signed by the bundle's CA: %v", err)
	}
	if err := checkClusterName(leaf.Subject.CommonName); err != nil {
		return bad("the client certificate names no usable cluster: %v", err)
	}
	return &Bundle{Path: path, Cluster: leaf.Subject.CommonName, CA: ca, Cert: pair}, nil
}

// ClientConfig is the TLS configuration a qdevice dials with: TLS 1.3,
// the bundle's CA as the only root, its certificate presented, and the
// daemon's certificate checked against host (quorum.device.net.host).
func (b *Bundle) ClientConfig(host string) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(b.CA)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      pool,
		Certificates: []tls.Certificate{b.Cert},
		ServerName:   host,
	}
}

// serverConfig is the daemon's TLS configuration: TLS 1.3 only, a client
// certificate from its own CA required.
func serverConfig(dir string) (*tls.Config, *x509.Certificate, error) {
	ca, err := loadCA(dir)
	if err != nil {
		return nil, nil, err
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("qnetd: server certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, pair.Leaf, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("qnetd: encode key: %w", err)
	}
	return pemBlock("PRIVATE KEY", der), nil
}
