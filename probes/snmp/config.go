package snmp

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/otsweep/otsweep/probes"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultPort           = 161
	DefaultTimeout        = 2 * time.Second
	DefaultRetries        = 1
	DefaultMaxRepetitions = 10
	DefaultMaxRows        = 5000

	// FragileMaxRepetitions and FragileMinInterval are the conservative
	// settings forced by Config.Fragile.
	FragileMaxRepetitions = 5
	FragileMinInterval    = 200 * time.Millisecond
)

// SNMP versions accepted in Config.Version.
const (
	Version1  = "1"
	Version2c = "2c"
	Version3  = "3"
)

// SNMPv3 security levels accepted in Config.SecurityLevel.
const (
	NoAuthNoPriv = "noAuthNoPriv"
	AuthNoPriv   = "authNoPriv"
	AuthPriv     = "authPriv"
)

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("invalid snmp configuration")

// Config is one SNMP target and the credentials to read it with.
//
// Credentials are probes.Secret values: they never appear in errors, plans,
// logs or observations.
type Config struct {
	Address string // host name or IP address of the agent
	Port    int    // UDP port; 161 when zero
	Version string // "1", "2c" or "3"

	Community probes.Secret // v1/v2c read community

	User          string        // v3 USM user name
	SecurityLevel string        // authPriv (default for v3), authNoPriv or noAuthNoPriv
	AuthProtocol  string        // SHA, SHA224, SHA256, SHA384, SHA512, MD5
	AuthPassword  probes.Secret // v3 authentication passphrase
	PrivProtocol  string        // AES, AES192, AES256, DES
	PrivPassword  probes.Secret // v3 privacy passphrase
	Context       string        // v3 context name; empty for the default context

	Timeout        time.Duration // per request attempt; 2 s when zero
	Retries        int           // extra attempts after a timeout; 1 when zero, none when negative
	MinInterval    time.Duration // minimum time between two requests to this device
	MaxRepetitions uint32        // GETBULK max-repetitions; 10 when zero
	MaxRows        int           // cap on the rows of one walk; 5000 when zero

	// Fragile marks a resource-constrained device (PLC, CP): requests stay one
	// at a time, max-repetitions is at most 5 and MinInterval at least 200 ms.
	Fragile bool

	// GuessDefaultCommunities opts in to S03: GETs of sysDescr.0 with the
	// well-known communities "public" and "private". Failed guesses may raise
	// authenticationFailure traps at the site's SOC, so it is off by default.
	GuessDefaultCommunities bool
}

// defaultCommunities are the well-known communities S03 tries, in order.
// Source: nmap nselib/data/snmpcommunities.lst starts with these two; CAC
// snmpd_not_default_password.
func defaultCommunities() []string { return []string{"public", "private"} }

// wellKnownCommunities are community names shipped as factory defaults by
// agents and tools (nmap snmpcommunities.lst head); a configured community
// in this list is reported by snmp.community_is_default without sending
// anything.
func wellKnownCommunities() []string {
	return []string{"public", "private", "snmpd", "mngt", "cisco", "admin", "ILMI", "write", "secret", "manager", "community", "default", "snmp", "read", "monitor"}
}

// readWriteCommunityNames are conventional names of write communities; one
// accepted for GET makes S04 report "probable".
func readWriteCommunityNames() []string {
	return []string{"private", "write", "secret", "admin", "manager", "rw", "private@es0"}
}

// normalize validates cfg and returns a copy with defaults applied.
func normalize(cfg Config) (Config, error) {
	bad := func(format string, a ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	cfg.Address = strings.TrimSpace(cfg.Address)
	if cfg.Address == "" {
		return bad("address is empty")
	}
	if strings.ContainsAny(cfg.Address, " /") {
		return bad("address %q is not a host name or IP address", cfg.Address)
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return bad("port %d out of range", cfg.Port)
	}
	switch strings.ToLower(cfg.Version) {
	case "1", "v1":
		cfg.Version = Version1
	case "2c", "v2c", "2":
		cfg.Version = Version2c
	case "3", "v3":
		cfg.Version = Version3
	default:
		return bad("version %q (want 1, 2c or 3)", cfg.Version)
	}
	if cfg.Version == Version3 {
		if cfg.User == "" {
			return bad("SNMPv3 needs a user")
		}
		if !cfg.Community.IsZero() {
			return bad("a community is set for SNMPv3")
		}
		if cfg.SecurityLevel == "" {
			cfg.SecurityLevel = AuthPriv
		}
		lvl, ok := canonicalLevel(cfg.SecurityLevel)
		if !ok {
			return bad("security level %q (want authPriv, authNoPriv or noAuthNoPriv)", cfg.SecurityLevel)
		}
		cfg.SecurityLevel = lvl
		if lvl != NoAuthNoPriv {
			if cfg.AuthProtocol == "" {
				cfg.AuthProtocol = "SHA"
			}
			ap, ok := authProtocol(cfg.AuthProtocol)
			if !ok {
				return bad("auth protocol %q (want SHA, SHA224, SHA256, SHA384, SHA512 or MD5)", cfg.AuthProtocol)
			}
			cfg.AuthProtocol = ap.String()
			if cfg.AuthPassword.IsZero() {
				return bad("%s needs an auth password", lvl)
			}
			if len(cfg.AuthPassword.Reveal()) < 8 {
				return bad("auth password is shorter than 8 characters (RFC 3414)")
			}
		} else if cfg.AuthProtocol != "" || !cfg.AuthPassword.IsZero() {
			return bad("noAuthNoPriv with an auth protocol or password set")
		}
		if lvl == AuthPriv {
			if cfg.PrivProtocol == "" {
				cfg.PrivProtocol = "AES"
			}
			pp, ok := privProtocol(cfg.PrivProtocol)
			if !ok {
				return bad("priv protocol %q (want AES, AES192, AES256, AES192C, AES256C or DES)", cfg.PrivProtocol)
			}
			cfg.PrivProtocol = pp.String()
			if cfg.PrivPassword.IsZero() {
				return bad("authPriv needs a priv password")
			}
			if len(cfg.PrivPassword.Reveal()) < 8 {
				return bad("priv password is shorter than 8 characters (RFC 3414)")
			}
		} else if cfg.PrivProtocol != "" || !cfg.PrivPassword.IsZero() {
			return bad("%s with a priv protocol or password set", lvl)
		}
	} else {
		if cfg.Community.IsZero() {
			return bad("SNMPv%s needs a community", cfg.Version)
		}
		if cfg.User != "" || !cfg.AuthPassword.IsZero() || !cfg.PrivPassword.IsZero() {
			return bad("SNMPv3 credentials set for SNMPv%s", cfg.Version)
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return bad("negative timeout")
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	case cfg.Retries > 10:
		return bad("retries %d > 10", cfg.Retries)
	}
	if cfg.MinInterval < 0 {
		return bad("negative minimum interval")
	}
	if cfg.MaxRepetitions == 0 {
		cfg.MaxRepetitions = DefaultMaxRepetitions
	}
	if cfg.MaxRepetitions > 255 {
		return bad("max-repetitions %d > 255", cfg.MaxRepetitions)
	}
	if cfg.MaxRows == 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if cfg.MaxRows < 0 {
		return bad("negative max rows")
	}
	if cfg.Fragile {
		cfg.MaxRepetitions = min(cfg.MaxRepetitions, FragileMaxRepetitions)
		cfg.MinInterval = max(cfg.MinInterval, FragileMinInterval)
	}
	return cfg, nil
}

func canonicalLevel(s string) (string, bool) {
	for _, l := range []string{NoAuthNoPriv, AuthNoPriv, AuthPriv} {
		if strings.EqualFold(s, l) {
			return l, true
		}
	}
	return "", false
}

func authProtocol(s string) (gosnmp.SnmpV3AuthProtocol, bool) {
	switch strings.ToUpper(s) {
	case "MD5":
		return gosnmp.MD5, true
	case "SHA", "SHA1", "SHA-1":
		return gosnmp.SHA, true
	case "SHA224":
		return gosnmp.SHA224, true
	case "SHA256":
		return gosnmp.SHA256, true
	case "SHA384":
		return gosnmp.SHA384, true
	case "SHA512":
		return gosnmp.SHA512, true
	}
	return 0, false
}

func privProtocol(s string) (gosnmp.SnmpV3PrivProtocol, bool) {
	switch strings.ToUpper(s) {
	case "DES":
		return gosnmp.DES, true
	case "AES", "AES128":
		return gosnmp.AES, true
	case "AES192":
		return gosnmp.AES192, true
	case "AES256":
		return gosnmp.AES256, true
	case "AES192C":
		return gosnmp.AES192C, true
	case "AES256C":
		return gosnmp.AES256C, true
	}
	return 0, false
}

// target is "host:port" for plans and errors.
func (c Config) target() string { return net.JoinHostPort(c.Address, fmt.Sprint(c.Port)) }

// secrets returns every credential value, for redaction.
func (c Config) secrets() []string {
	var out []string
	for _, s := range []probes.Secret{c.Community, c.AuthPassword, c.PrivPassword} {
		if !s.IsZero() {
			out = append(out, s.Reveal())
		}
	}
	return out
}
