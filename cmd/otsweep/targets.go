package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/otsweep/otsweep/inventories"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/scheduler"
)

// scanOptions are the scan flags that shape how targets are reached.
type scanOptions struct {
	identity    string // --identity KEYFILE for ad hoc SSH
	knownHosts  string
	passwordEnv string
	tofu        bool
	sudo        bool
	deep        bool
	timeout     time.Duration
	role        string
	zone        string
	// WinRM ad hoc settings.
	winrmAuth   string
	caFile      string
	fingerprint string
	// SNMP ad hoc settings.
	snmpVersion  string
	communityEnv string
	snmpUser     string
	authProto    string
	authEnv      string
	privProto    string
	privEnv      string
}

// adhocSNMP fills an ad hoc SNMP target's protocol settings and secrets.
func adhocSNMP(t *scheduler.Target, o scanOptions) error {
	env := func(flag, name string) (probes.Secret, error) {
		if name == "" {
			return probes.Secret{}, nil
		}
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return probes.Secret{}, usageErr("%s %s: the variable is not set", flag, name)
		}
		return probes.NewSecret(v), nil
	}
	opts := &inventories.SNMPOptions{Version: o.snmpVersion, AuthProtocol: o.authProto, PrivProtocol: o.privProto}
	var err error
	switch o.snmpVersion {
	case "1", "2c":
		if o.communityEnv == "" {
			return usageErr("SNMP v%s needs --community-env VAR", o.snmpVersion)
		}
		if t.Secrets.Community, err = env("--community-env", o.communityEnv); err != nil {
			return err
		}
	case "3":
		if o.snmpUser == "" {
			return usageErr("SNMPv3 needs --snmp-user")
		}
		t.Secrets.Username = o.snmpUser
		if t.Secrets.AuthPassword, err = env("--auth-password-env", o.authEnv); err != nil {
			return err
		}
		if t.Secrets.PrivPassword, err = env("--priv-password-env", o.privEnv); err != nil {
			return err
		}
		switch {
		case o.authEnv != "" && o.privEnv != "":
			opts.SecurityLevel = inventories.AuthPriv
		case o.authEnv != "":
			opts.SecurityLevel = inventories.AuthNoPriv
		default:
			opts.SecurityLevel = inventories.NoAuthNoPriv
		}
	default:
		return usageErr("--snmp-version %q: want 1, 2c or 3", o.snmpVersion)
	}
	t.SNMP = opts
	return nil
}

// parseTarget turns --target URL into an asset: ssh://user@host:port or local://.
func parseTarget(raw string, o scanOptions) (scheduler.Target, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return scheduler.Target{}, usageErr("--target %q: want ssh://user@host[:port], local://, winrm(s)://user@host[:port] or snmp://host[:port]", raw)
	}
	t := scheduler.Target{Asset: inventories.Asset{Transport: inventories.Transport(u.Scheme), Role: o.role, Zone: o.zone}}
	switch t.Asset.Transport {
	case inventories.Local:
		if u.Host != "" && u.Host != "localhost" {
			return scheduler.Target{}, usageErr("--target %q: local:// takes no host", raw)
		}
		host, _ := os.Hostname()
		t.Asset.Name, t.Asset.Address, t.Asset.Platform = "local:"+host, "localhost", probes.Linux
	case inventories.SSH:
		t.Asset.Platform = probes.Linux
		if u.User == nil || u.User.Username() == "" {
			return scheduler.Target{}, usageErr("--target %q: name the user: ssh://user@host", raw)
		}
		if _, hasPw := u.User.Password(); hasPw {
			return scheduler.Target{}, usageErr("--target: a password in the URL is not allowed; use --password-env VAR")
		}
		t.Secrets.Username = u.User.Username()
		if err := adhocHostPort(&t.Asset, u, 22); err != nil {
			return scheduler.Target{}, err
		}
	case inventories.WinRM, inventories.WinRMS:
		t.Asset.Platform = probes.Windows
		if u.User == nil || u.User.Username() == "" {
			return scheduler.Target{}, usageErr("--target %q: name the user: %s://user@host", raw, u.Scheme)
		}
		if _, hasPw := u.User.Password(); hasPw {
			return scheduler.Target{}, usageErr("--target: a password in the URL is not allowed; use --password-env VAR")
		}
		t.Secrets.Username = u.User.Username()
		if err := adhocHostPort(&t.Asset, u, t.Asset.Transport.DefaultPort()); err != nil {
			return scheduler.Target{}, err
		}
		t.WinRM = &inventories.WinRMOptions{Auth: o.winrmAuth, CAFile: o.caFile, Fingerprint: o.fingerprint}
	case inventories.SNMP:
		t.Asset.Platform = probes.SNMP
		if u.User != nil {
			return scheduler.Target{}, usageErr("--target %q: SNMP takes no user in the URL; use --snmp-user (v3) or --community-env (v1/v2c)", raw)
		}
		if err := adhocHostPort(&t.Asset, u, 161); err != nil {
			return scheduler.Target{}, err
		}
		if err := adhocSNMP(&t, o); err != nil {
			return scheduler.Target{}, err
		}
	default:
		return scheduler.Target{}, usageErr("--target %q: transport %q is not supported (ssh, local, winrm, winrms, snmp)", raw, u.Scheme)
	}
	if t.Asset.Role == "" {
		switch t.Asset.Platform {
		case probes.Linux:
			t.Asset.Role = "linux-server"
		case probes.SNMP:
			t.Asset.Role = "network-switch"
		default:
			return scheduler.Target{}, usageErr("--target %q: give the asset's role with --role (hmi, historian, engineering-workstation, domain-controller, laptop)", raw)
		}
	}
	if o.passwordEnv != "" {
		v, ok := os.LookupEnv(o.passwordEnv)
		if !ok {
			return scheduler.Target{}, usageErr("--password-env %s: the variable is not set", o.passwordEnv)
		}
		t.Secrets.Password = probes.NewSecret(v)
	}
	if o.identity != "" {
		key, err := readKeyFile(o.identity)
		if err != nil {
			return scheduler.Target{}, &exitError{code: ExitUsage, err: err}
		}
		t.Secrets.PrivateKey = key
	}
	return t, nil
}

func adhocHostPort(a *inventories.Asset, u *url.URL, def int) error {
	host := u.Hostname()
	if host == "" || (net.ParseIP(host) == nil && !validHostname(host)) {
		return usageErr("--target: %q is not an IP address or host name", host)
	}
	a.Address, a.Port, a.Name = host, def, host
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return usageErr("--target: bad port %q", p)
		}
		a.Port = n
		if n != def {
			a.Name = net.JoinHostPort(host, p)
		}
	}
	return nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// readKeyFile reads a private key with the same permission rule as inventory
// credential files: owner-only.
func readKeyFile(path string) (probes.Secret, error) {
	st, err := os.Stat(path)
	if err != nil {
		return probes.Secret{}, fmt.Errorf("--identity: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return probes.Secret{}, fmt.Errorf("--identity %s: mode %04o is too open; chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return probes.Secret{}, fmt.Errorf("--identity: %w", err)
	}
	return probes.NewSecret(string(b)), nil
}
