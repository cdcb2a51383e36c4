package inventories

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/otsweep/otsweep/probes"
)

// SecretRef says where one secret lives: an environment variable or an
// owner-only file (absolute path). At most one is set; both empty means the
// secret is not configured.
type SecretRef struct {
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`
}

// IsZero reports whether no source is configured.
func (r SecretRef) IsZero() bool { return r.Env == "" && r.File == "" }

// Credential is a named set of login parameters. Which option group is
// non-nil says what the credential is for: SSH, WinRM or SNMP fields (a
// credential never mixes groups). A credential with only Username and
// Password fits SSH and WinRM alike.
type Credential struct {
	Name     string    `json:"name"`
	Username string    `json:"username,omitempty"` // SSH/WinRM login, SNMPv3 security name
	Password SecretRef `json:"password,omitzero"`

	SSH   *SSHOptions   `json:"ssh,omitempty"`
	WinRM *WinRMOptions `json:"winrm,omitempty"`
	SNMP  *SNMPOptions  `json:"snmp,omitempty"`

	Pos Pos `json:"pos"`
}

// SSHOptions are the SSH-only fields of a credential.
type SSHOptions struct {
	PrivateKeyFile string    `json:"private_key_file,omitempty"` // PEM, owner-only mode
	Passphrase     SecretRef `json:"passphrase,omitzero"`
	Agent          bool      `json:"agent,omitempty"` // use ssh-agent via SSH_AUTH_SOCK
	Sudo           bool      `json:"sudo,omitempty"`  // try sudo -n for root-only probes
	// KnownHosts is the known_hosts file; empty means the transport's default.
	KnownHosts      string `json:"known_hosts,omitempty"`
	TrustOnFirstUse bool   `json:"trust_on_first_use,omitempty"`
}

// WinRM authentication schemes.
const (
	AuthNTLM     = "ntlm"
	AuthBasic    = "basic" // only over HTTPS (transport winrms)
	AuthKerberos = "kerberos"
)

// WinRMOptions are the WinRM-only fields of a credential.
type WinRMOptions struct {
	Auth   string `json:"auth"`              // AuthNTLM (default), AuthBasic or AuthKerberos
	CAFile string `json:"ca_file,omitempty"` // PEM CA bundle for HTTPS
	// Fingerprint pins the server certificate: lower-case hex SHA-256 of
	// its DER encoding, without separators.
	Fingerprint string `json:"fingerprint,omitempty"`
	// HTTPS restricts the credential to transport winrms.
	HTTPS bool `json:"https,omitempty"`
}

// SNMP versions and security levels.
const (
	SNMPv1  = "1"
	SNMPv2c = "2c"
	SNMPv3  = "3"

	AuthPriv     = "authPriv"
	AuthNoPriv   = "authNoPriv"
	NoAuthNoPriv = "noAuthNoPriv"
)

// SNMPOptions are the SNMP fields of a credential. Version 1 and 2c use
// Community; version 3 uses the credential's Username as security name and the
// USM fields.
type SNMPOptions struct {
	Version       string    `json:"version"` // SNMPv1, SNMPv2c or SNMPv3
	Community     SecretRef `json:"community,omitzero"`
	SecurityLevel string    `json:"security_level,omitempty"` // v3: AuthPriv (default), AuthNoPriv, NoAuthNoPriv
	AuthProtocol  string    `json:"auth_protocol,omitempty"`  // SHA, SHA224, SHA256, SHA384, SHA512, MD5
	AuthPassword  SecretRef `json:"auth_password,omitzero"`
	PrivProtocol  string    `json:"priv_protocol,omitempty"` // AES, AES192, AES256, DES
	PrivPassword  SecretRef `json:"priv_password,omitzero"`
	Context       string    `json:"context,omitempty"` // v3 context name
}

// Resolved holds a credential's secrets, read from their sources. Every secret
// field is a probes.Secret and never prints its value.
type Resolved struct {
	Username     string
	Password     probes.Secret
	Passphrase   probes.Secret
	PrivateKey   probes.Secret // the PEM file's content
	Community    probes.Secret
	AuthPassword probes.Secret
	PrivPassword probes.Secret
}

// maxSecretFile bounds what Resolve reads from a secret file.
const maxSecretFile = 64 << 10

// Errors of secret resolution. Messages name variables and files, never
// values.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrEmpty      = errors.New("is empty")
	ErrTooLarge   = errors.New("is larger than 64 KiB")
	ErrNotPEM     = errors.New("is not a PEM-encoded private key")
)

// EnvError reports an environment variable that is unset or empty.
type EnvError struct{ Var string }

func (e *EnvError) Error() string {
	return fmt.Sprintf("environment variable %s is not set or empty", e.Var)
}

// ModeError reports a secret file that group or others may access.
type ModeError struct {
	Path string
	Mode fs.FileMode
}

func (e *ModeError) Error() string {
	return fmt.Sprintf("%s: mode %04o is too open; chmod 600 %s", e.Path, e.Mode.Perm(), e.Path)
}

// secretSource is one configured secret of a credential. base is the field
// name without its _env/_file suffix ("password", "private_key", …).
type secretSource struct {
	base string
	ref  SecretRef
	dst  *probes.Secret
	pem  bool
}

// field is the inventory field that configures the source: "password_env".
func (s secretSource) field() string {
	if s.ref.Env != "" {
		return s.base + "_env"
	}
	return s.base + "_file"
}

// sources lists the credential's configured secrets, binding each to its
// field in r.
func (c Credential) sources(r *Resolved) []secretSource {
	all := []secretSource{{base: "password", ref: c.Password, dst: &r.Password}}
	if s := c.SSH; s != nil {
		all = append(all,
			secretSource{base: "private_key", ref: SecretRef{File: s.PrivateKeyFile}, dst: &r.PrivateKey, pem: true},
			secretSource{base: "passphrase", ref: s.Passphrase, dst: &r.Passphrase})
	}
	if s := c.SNMP; s != nil {
		all = append(all,
			secretSource{base: "community", ref: s.Community, dst: &r.Community},
			secretSource{base: "auth_password", ref: s.AuthPassword, dst: &r.AuthPassword},
			secretSource{base: "priv_password", ref: s.PrivPassword, dst: &r.PrivPassword})
	}
	out := all[:0]
	for _, s := range all {
		if !s.ref.IsZero() {
			out = append(out, s)
		}
	}
	return out
}

// Resolve reads the credential's secrets from the environment (through env,
// typically os.Getenv) and from files. A file must be a regular file (symbolic
// links are followed) with no group or other permission bits (0600 or 0400);
// anything looser is a *ModeError. A missing variable is an *EnvError naming
// it. Trailing newlines are trimmed from password files, not from key files.
// Every problem is reported (errors.Join), each prefixed with the credential
// and field; no error contains a secret value.
func (c Credential) Resolve(env func(string) string) (Resolved, error) {
	r := Resolved{Username: c.Username}
	var errs []error
	for _, s := range c.sources(&r) {
		v, err := s.read(env)
		if err != nil {
			errs = append(errs, fmt.Errorf("credential %q: %s: %w", c.Name, s.field(), err))
			continue
		}
		*s.dst = probes.NewSecret(v)
	}
	if err := errors.Join(errs...); err != nil {
		return Resolved{}, err
	}
	return r, nil
}

// CheckSources verifies, without reading any secret, that every variable the
// credential names is set in env and that every secret file exists, is regular
// and is owner-only. It is what `inventory validate` runs. Every problem is
// reported (errors.Join).
func (c Credential) CheckSources(env func(string) string) error {
	var errs []error
	for _, s := range c.sources(&Resolved{}) {
		var err error
		if s.ref.Env != "" {
			if env(s.ref.Env) == "" {
				err = &EnvError{Var: s.ref.Env}
			}
		} else {
			_, err = statSecretFile(s.ref.File)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("credential %q: %s: %w", c.Name, s.field(), err))
		}
	}
	for _, f := range c.publicFiles() {
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("credential %q: %s: %w", c.Name, f.field, err))
		}
	}
	return errors.Join(errs...)
}

// publicFile is a non-secret file a credential names.
type publicFile struct{ field, path string }

// publicFiles lists the non-secret files that must exist: the CA bundle, and
// known_hosts unless trust on first use may create it.
func (c Credential) publicFiles() []publicFile {
	var out []publicFile
	if s := c.SSH; s != nil && s.KnownHosts != "" && !s.TrustOnFirstUse {
		out = append(out, publicFile{"known_hosts", s.KnownHosts})
	}
	if w := c.WinRM; w != nil && w.CAFile != "" {
		out = append(out, publicFile{"ca_file", w.CAFile})
	}
	return out
}

func (s secretSource) read(env func(string) string) (string, error) {
	if s.ref.Env != "" {
		v := env(s.ref.Env)
		if v == "" {
			return "", &EnvError{Var: s.ref.Env}
		}
		return v, nil
	}
	b, err := readSecretFile(s.ref.File)
	if err != nil {
		return "", err
	}
	if s.pem {
		if blk, _ := pem.Decode(b); blk == nil {
			return "", fmt.Errorf("%s %w", s.ref.File, ErrNotPEM)
		}
		return string(b), nil
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return "", fmt.Errorf("%s %w", s.ref.File, ErrEmpty)
	}
	return string(b), nil
}

// statSecretFile checks that path is a regular, owner-only file.
func statSecretFile(path string) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return fi, checkSecretMode(path, fi)
}

func checkSecretMode(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return &ModeError{Path: path, Mode: fi.Mode().Perm()}
	}
	return nil
}

// readSecretFile reads an owner-only regular file. The checks run on the
// opened file, so a swap between the check and the read cannot slip past
// them; the pre-open stat keeps a FIFO from blocking the open.
func readSecretFile(path string) ([]byte, error) {
	if _, err := statSecretFile(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkSecretMode(path, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s %w", path, ErrTooLarge)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s %w", path, ErrEmpty)
	}
	return b, nil
}

// Kind names what the credential is for: "ssh", "winrm", "snmp", or
// "password" for a plain username/password that fits SSH and WinRM.
func (c Credential) Kind() string {
	switch {
	case c.SNMP != nil:
		return "snmp"
	case c.SSH != nil:
		return "ssh"
	case c.WinRM != nil:
		return "winrm"
	}
	return "password"
}
