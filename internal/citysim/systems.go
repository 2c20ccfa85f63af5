package citysim

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/citysim/utilitysim"

	"golang.org/x/crypto/ssh"
)

// Credentials the simulated city accepts by default, printed by `citylink
// sim` and used by `citylink dev` and the end-to-end tests.
const (
	SystemsArcGISUser     = "citylink"
	SystemsArcGISPassword = "citylink-dev-password"
)

// SystemsOptions configures the whole simulated city.
type SystemsOptions struct {
	// Seed makes the city and every system's behaviour reproducible.
	Seed uint64
	// Lights is the city's size; DefaultLights when zero.
	Lights int
	// Faults, when active, are put in front of every HTTP system, each with
	// its own seed drawn from Seed.
	Faults simcity.Faults
	// BasePort, when non-zero, serves the systems on consecutive ports from
	// it (audit, DOT, CMS, Open311, utility HTTPS, utility SFTP); free
	// ports otherwise.
	BasePort int
	// Clock is every system's clock; time.Now when nil.
	Clock  func() time.Time
	Logger *slog.Logger
	// City, when set, is served instead of the city of Seed and Lights:
	// `citylink bench` serves one in which every light has an approved
	// audit.
	City *simcity.City
	// AlarmsPerDay is the CMS's alarm rate per day of its clock (see
	// cmssim.Options.AlarmsPerDay): 0.5% of the commissioned devices when
	// zero. `citylink dev`, whose workflows run on compressed schedules
	// while the city keeps the wall clock, raises it so that each alarm-311
	// run has alarms to file.
	AlarmsPerDay float64
	// EmptyDOT serves the DOT layer with no features, as before the GIS's
	// first load: `citylink bench gis-push` fills it.
	EmptyDOT bool
	// Wrap, when set, is put around each HTTP system's handler (outside its
	// faults), by name: SystemAudit, SystemDOT, SystemCMS, SystemOpen311,
	// SystemUtilityHTTPS. `citylink bench` counts the calls with it.
	Wrap func(system string, h http.Handler) http.Handler
}

// Names of the HTTP systems, as SystemsOptions.Wrap is told them.
const (
	SystemAudit        = "arcgis-audit"
	SystemDOT          = "arcgis-dot"
	SystemCMS          = "cms"
	SystemOpen311      = "open311"
	SystemUtilityHTTPS = "utility-https"
)

// Systems is the simulated city running: the two ArcGIS feature services
// (the third-party audit layer and the DOT GIS layer), the streetlight CMS,
// the Open311 server and the utility's drop box over HTTPS and SFTP, each on
// its own loopback port.
type Systems struct {
	City *simcity.City
	*arcgissim.Servers
	CMS          *cmssim.Server
	Open311      *open311sim.Server
	Inbox        *utilitysim.Inbox
	UtilityHTTPS *utilitysim.HTTPS
	UtilitySFTP  *utilitysim.SFTP

	// Base URLs of the HTTP systems, and the SFTP drop's host:port.
	AuditURL, DOTURL, CMSURL, Open311URL, UtilityURL, SFTPAddr string
	// UtilityCA trusts the HTTPS drop's self-signed certificate.
	UtilityCA *x509.CertPool
	// SFTPClientKey is authorised on the SFTP drop (KeyFromSeed(Seed+1)),
	// and SFTPClientKeyPEM is its private key in OpenSSH PEM form, as an
	// operator configures it (UTILITY_SFTP_KEY).
	SFTPClientKey    ssh.Signer
	SFTPClientKeyPEM []byte

	servers []*http.Server
	logger  *slog.Logger
}

// StartSystems builds the city and serves every system on loopback.
func StartSystems(opts SystemsOptions) (*Systems, error) {
	logger := cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	faults := func(i uint64) simcity.Faults {
		f := opts.Faults
		f.Seed = opts.Seed*31 + i
		return f
	}
	town := opts.City
	if town == nil {
		town = simcity.New(opts.Seed, cmp.Or(opts.Lights, simcity.DefaultLights))
	}
	wrap := opts.Wrap
	if wrap == nil {
		wrap = func(_ string, h http.Handler) http.Handler { return h }
	}
	auth := arcgissim.Auth{Users: map[string]string{SystemsArcGISUser: SystemsArcGISPassword}}
	s := &Systems{City: town, logger: logger}
	newServers := arcgissim.NewServers
	if opts.EmptyDOT {
		newServers = arcgissim.NewServersEmptyDOT
	}
	s.Servers = newServers(town,
		arcgissim.Options{Auth: auth, Faults: faults(1), Seed: opts.Seed, Clock: clock, Logger: logger.With("system", SystemAudit)},
		arcgissim.Options{Auth: auth, Faults: faults(2), Seed: opts.Seed + 1, Clock: clock, Logger: logger.With("system", SystemDOT)})
	s.CMS = cmssim.NewServer(cmssim.Options{City: town, Seed: opts.Seed, Clock: clock, Faults: faults(3),
		AlarmsPerDay: opts.AlarmsPerDay, Logger: logger.With("system", "cms")})
	s.Open311 = open311sim.NewServer(open311sim.Options{Seed: opts.Seed, Faults: faults(4), Now: clock, City: town, Logger: logger.With("system", "open311")})
	s.Inbox = utilitysim.NewInbox(clock)
	s.UtilityHTTPS = utilitysim.NewHTTPS(utilitysim.HTTPSOptions{Faults: faults(5), Inbox: s.Inbox, Logger: logger.With("system", "utility-https")})
	s.SFTPClientKey = utilitysim.KeyFromSeed(opts.Seed + 1)
	s.SFTPClientKeyPEM = utilitysim.KeyPEM(opts.Seed + 1)
	var err error
	s.UtilitySFTP, err = utilitysim.NewSFTP(utilitysim.SFTPOptions{
		Seed: opts.Seed, AuthorizedKeys: []ssh.PublicKey{s.SFTPClientKey.PublicKey()},
		Inbox: s.Inbox, Now: clock, Logger: logger.With("system", "utility-sftp"),
	})
	if err != nil {
		return nil, err
	}

	port := func(i int) string {
		if opts.BasePort == 0 {
			return "127.0.0.1:0"
		}
		return "127.0.0.1:" + strconv.Itoa(opts.BasePort+i)
	}
	for i, sys := range []struct {
		name string
		h    http.Handler
		url  *string
	}{{SystemAudit, s.Audit, &s.AuditURL}, {SystemDOT, s.DOT, &s.DOTURL}, {SystemCMS, s.CMS, &s.CMSURL}, {SystemOpen311, s.Open311, &s.Open311URL}} {
		addr, err := s.serve(port(i), wrap(sys.name, sys.h), nil)
		if err != nil {
			s.Close()
			return nil, err
		}
		*sys.url = "http://" + addr
	}
	cert, pool, err := selfSignedLoopback()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.UtilityCA = pool
	addr, err := s.serve(port(4), wrap(SystemUtilityHTTPS, s.UtilityHTTPS), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.UtilityURL = "https://" + addr
	sftpAddr, err := s.UtilitySFTP.Listen(port(5))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("serving the utility's sftp drop: %w", err)
	}
	s.SFTPAddr = sftpAddr.String()
	return s, nil
}

func (s *Systems) serve(addr string, h http.Handler, tlsConfig *tls.Config) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listening on %s: %w", addr, err)
	}
	if tlsConfig != nil {
		l = tls.NewListener(l, tlsConfig)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug)}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener was closed under it: Close is the only way out
		}
	}()
	return l.Addr().String(), nil
}

// Advance moves the simulated city on to now: auditors add and review
// audits, DOT crews edit poles, the CMS raises and clears alarms and changes
// devices, and Open311 crews work their requests.
func (s *Systems) Advance(now time.Time) error {
	if _, _, err := s.AuditFeed.Sync(now, systemsAuditsPerTick); err != nil {
		return fmt.Errorf("advancing the audit layer: %w", err)
	}
	if _, err := s.DOTCrew.Edit(now, systemsPoleEditsPerTick); err != nil {
		return fmt.Errorf("advancing the DOT layer: %w", err)
	}
	s.CMS.Advance(now)
	s.Open311.Advance(now)
	return nil
}

// How much the ArcGIS layers change per Advance.
const (
	systemsAuditsPerTick    = 25
	systemsPoleEditsPerTick = 5
)

// Close stops every system.
func (s *Systems) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	if s.UtilitySFTP != nil {
		_ = s.UtilitySFTP.Close()
	}
}

// selfSignedLoopback makes a certificate for 127.0.0.1 and localhost, and a
// pool that trusts it, for the utility's HTTPS drop.
func selfSignedLoopback() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generating the drop's key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"citylink simulated utility"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("signing the drop's certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
