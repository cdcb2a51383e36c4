package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/otsweep/otsweep/inventories"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/linux"
	"github.com/otsweep/otsweep/probes/local"
	"github.com/otsweep/otsweep/probes/ssh"
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
}

// target is one asset with the credential it is reached with.
type target struct {
	asset inventories.Asset
	cred  *inventories.Credential // nil for local and ad hoc targets
	adhoc inventories.Resolved    // secrets of an ad hoc target
}

// parseTarget turns --target URL into an asset: ssh://user@host:port or local://.
func parseTarget(raw string, o scanOptions) (target, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return target{}, usageErr("--target %q: want ssh://user@host[:port], local://, winrm(s)://user@host[:port] or snmp://host[:port]", raw)
	}
	t := target{asset: inventories.Asset{Transport: inventories.Transport(u.Scheme), Role: o.role, Zone: o.zone}}
	switch t.asset.Transport {
	case inventories.Local:
		if u.Host != "" && u.Host != "localhost" {
			return target{}, usageErr("--target %q: local:// takes no host", raw)
		}
		host, _ := os.Hostname()
		t.asset.Name, t.asset.Address, t.asset.Platform = "local:"+host, "localhost", probes.Linux
	case inventories.SSH:
		t.asset.Platform = probes.Linux
		if u.User == nil || u.User.Username() == "" {
			return target{}, usageErr("--target %q: name the user: ssh://user@host", raw)
		}
		if _, hasPw := u.User.Password(); hasPw {
			return target{}, usageErr("--target: a password in the URL is not allowed; use --password-env VAR")
		}
		t.adhoc.Username = u.User.Username()
		if err := adhocHostPort(&t.asset, u, 22); err != nil {
			return target{}, err
		}
	default:
		return target{}, usageErr("--target %q: transport %q is not supported yet (ssh, local)", raw, u.Scheme)
	}
	if t.asset.Role == "" {
		t.asset.Role = "linux-server"
	}
	if o.passwordEnv != "" {
		v, ok := os.LookupEnv(o.passwordEnv)
		if !ok {
			return target{}, usageErr("--password-env %s: the variable is not set", o.passwordEnv)
		}
		t.adhoc.Password = probes.NewSecret(v)
	}
	if o.identity != "" {
		key, err := readKeyFile(o.identity)
		if err != nil {
			return target{}, &exitError{code: ExitUsage, err: err}
		}
		t.adhoc.PrivateKey = key
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

func defaultKnownHosts() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".ssh", "known_hosts")
	}
	return ""
}

// linuxBundle adapts the Linux bundle to probes.Bundle with the scan's options.
type linuxBundle struct{ opts linux.Options }

func (b linuxBundle) Platform() probes.Platform { return probes.Linux }
func (b linuxBundle) Command(nonce string) probes.Command {
	return linux.Command(nonce, b.opts)
}
func (b linuxBundle) Parse(nonce string, out []byte) (*probes.Observation, error) {
	return linux.Parse(nonce, out)
}

// prober builds the prober for one target. Secrets are resolved here, only
// for targets that are actually scanned.
func (a *app) prober(t target, o scanOptions, log *slog.Logger) (probes.Prober, error) {
	res := t.adhoc
	if t.cred != nil {
		r, err := t.cred.Resolve(os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("asset %s: credential %s: %w", t.asset.Name, t.cred.Name, err)
		}
		res = r
	}
	hostTimeout := o.timeout
	if t.asset.Timeout > 0 {
		hostTimeout = t.asset.Timeout
	}
	switch t.asset.Transport {
	case inventories.Local:
		return probes.NewScriptProber(probes.ScriptProber{
			Transport: "local", Address: "localhost", Logger: log,
			Bundle: linuxBundle{linux.Options{Sudo: o.sudo, Deep: o.deep, Timeout: hostTimeout}},
			Dial:   func(context.Context) (probes.Executor, error) { return local.New(), nil },
		}), nil
	case inventories.SSH:
		cfg := ssh.Config{
			Address: t.asset.Address, Port: t.asset.Port, User: res.Username,
			Password: res.Password, PrivateKey: res.PrivateKey, Passphrase: res.Passphrase,
			KnownHostsFile: o.knownHosts, TOFU: o.tofu, Retries: 3,
		}
		sudo := o.sudo
		if t.cred != nil && t.cred.SSH != nil {
			cfg.Agent = t.cred.SSH.Agent
			sudo = sudo || t.cred.SSH.Sudo
			if t.cred.SSH.KnownHosts != "" {
				cfg.KnownHostsFile = t.cred.SSH.KnownHosts
			}
			cfg.TOFU = cfg.TOFU || t.cred.SSH.TrustOnFirstUse
		}
		if cfg.KnownHostsFile == "" {
			cfg.KnownHostsFile = defaultKnownHosts()
		}
		return probes.NewScriptProber(probes.ScriptProber{
			Transport: "ssh", Address: net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)), Logger: log,
			Bundle: linuxBundle{linux.Options{Sudo: sudo, Deep: o.deep, Timeout: hostTimeout}},
			Dial: func(ctx context.Context) (probes.Executor, error) {
				return ssh.Dial(ctx, cfg)
			},
			HostFacts: sshHostFacts,
		}), nil
	}
	return nil, fmt.Errorf("asset %s: transport %s is not supported yet", t.asset.Name, t.asset.Transport)
}

// sshHostFacts records the host key the scan verified, a tracked fact.
func sshHostFacts(ex probes.Executor) probes.Facts {
	c, ok := ex.(*ssh.Client)
	if !ok {
		return nil
	}
	algo, fp := c.HostKey()
	f := probes.Facts{}
	f.Set("ssh.host_key", "transport", algo+" "+fp)
	return f
}
