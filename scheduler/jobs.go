package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/otsweep/otsweep/inventories"
	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/linux"
	"github.com/otsweep/otsweep/probes/local"
	"github.com/otsweep/otsweep/probes/snmp"
	"github.com/otsweep/otsweep/probes/ssh"
	"github.com/otsweep/otsweep/probes/windows"
	"github.com/otsweep/otsweep/probes/winrm"
	"github.com/otsweep/otsweep/store"
)

// ProbeOptions shape how every target of a sweep is reached. Per-asset and
// per-credential settings of the inventory take precedence where they exist.
type ProbeOptions struct {
	KnownHosts string        // default known_hosts file for SSH (empty: ~/.ssh/known_hosts)
	TOFU       bool          // trust unknown SSH host keys on first use
	Sudo       bool          // try sudo -n on Linux hosts
	Deep       bool          // run the slow filesystem probes
	Timeout    time.Duration // per-host deadline, also bounds the remote script
	// HostKeys is shared by the SSH targets so that each known_hosts file
	// is read once per sweep, not once per host; Jobs sets one when nil.
	HostKeys *ssh.KnownHostsCache
}

// Target is one asset with what reaches it: an inventory credential, or, for
// ad hoc targets, secrets resolved already.
type Target struct {
	Asset      inventories.Asset
	Credential *inventories.Credential
	Secrets    inventories.Resolved
	// SNMP and WinRM hold the protocol settings of an ad hoc target (an
	// inventory target takes them from its credential).
	SNMP  *inventories.SNMPOptions
	WinRM *inventories.WinRMOptions
}

// Jobs turns targets into runnable jobs. A target whose credential cannot be
// resolved becomes a failed result (status error) instead of a job: one bad
// secret does not stop the sweep. An unknown role is an error for the caller.
func (d *Definitions) Jobs(inv *inventories.Inventory, targets []Target, o ProbeOptions, log *slog.Logger) ([]Job, []AssetResult, error) {
	var (
		jobs   []Job
		failed []AssetResult
	)
	if o.HostKeys == nil {
		o.HostKeys = ssh.NewKnownHostsCache()
	}
	for _, t := range targets {
		bp, ok := d.Blueprints.Get(t.Asset.Role)
		if !ok {
			return nil, nil, fmt.Errorf("asset %s: unknown role %q (known: %v)", t.Asset.Name, t.Asset.Role, d.Blueprints.Names())
		}
		p, err := NewProber(t, o, log)
		if err != nil {
			failed = append(failed, AssetResult{Asset: StoreAsset(t.Asset), Status: probes.StatusError, Error: err.Error()})
			continue
		}
		job := Job{Asset: StoreAsset(t.Asset), Prober: p, Blueprint: bp, Timeout: t.Asset.Timeout}
		if inv != nil && t.Asset.Zone != "" {
			if z, ok := inv.Zone(t.Asset.Zone); ok {
				v := mapping.Vector(z.Target())
				job.ZoneTarget = &v
			}
		}
		jobs = append(jobs, job)
	}
	return jobs, failed, nil
}

// InventoryTargets pairs the selected assets with their credentials.
func InventoryTargets(inv *inventories.Inventory, assets []inventories.Asset) []Target {
	out := make([]Target, 0, len(assets))
	for _, as := range assets {
		t := Target{Asset: as}
		if as.Credential != "" {
			if cr, ok := inv.Credential(as.Credential); ok {
				t.Credential = &cr
			}
		}
		out = append(out, t)
	}
	return out
}

// StoreAsset is the stored view of an inventory asset.
func StoreAsset(a inventories.Asset) store.Asset {
	return store.Asset{Name: a.Name, Address: a.Address, Role: a.Role, Zone: a.Zone,
		Platform: string(a.Platform), Transport: string(a.Transport)}
}

// Countermeasures converts the inventory's records for the engine.
func Countermeasures(inv *inventories.Inventory) []mapping.Countermeasure {
	var out []mapping.Countermeasure
	for _, c := range inv.Countermeasures {
		out = append(out, mapping.Countermeasure{ID: c.ID, Requirement: c.Requirement, Asset: c.Scope.Asset,
			Role: c.Scope.Role, Zone: c.Scope.Zone, Kind: string(c.Kind), Justification: c.Justification,
			Owner: c.Owner, Expires: c.Expires, Evidence: c.Evidence})
	}
	return out
}

// linuxBundle adapts the Linux bundle to probes.Bundle with a sweep's options.
type linuxBundle struct{ opts linux.Options }

func (b linuxBundle) Platform() probes.Platform { return probes.Linux }
func (b linuxBundle) Command(nonce string) probes.Command {
	return linux.Command(nonce, b.opts)
}
func (b linuxBundle) Parse(nonce string, out []byte) (*probes.Observation, error) {
	return linux.Parse(nonce, out)
}

// windowsBundle adapts the Windows PowerShell bundle to probes.Bundle.
type windowsBundle struct{}

func (windowsBundle) Platform() probes.Platform           { return probes.Windows }
func (windowsBundle) Command(nonce string) probes.Command { return windows.Command(nonce) }
func (windowsBundle) Parse(nonce string, out []byte) (*probes.Observation, error) {
	return windows.Parse(nonce, out)
}

// NewProber builds the prober of one target. Secrets are resolved here, only
// for targets that are actually probed, and never logged.
func NewProber(t Target, o ProbeOptions, log *slog.Logger) (probes.Prober, error) {
	res := t.Secrets
	if t.Credential != nil {
		r, err := t.Credential.Resolve(os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("asset %s: credential %s: %w", t.Asset.Name, t.Credential.Name, err)
		}
		res = r
	}
	timeout := o.Timeout
	if t.Asset.Timeout > 0 {
		timeout = t.Asset.Timeout
	}
	switch t.Asset.Transport {
	case inventories.Local:
		return probes.NewScriptProber(probes.ScriptProber{
			Transport: "local", Address: "localhost", Logger: log,
			Bundle: linuxBundle{linux.Options{Sudo: o.Sudo, Deep: o.Deep, Timeout: timeout}},
			Dial:   func(context.Context) (probes.Executor, error) { return local.New(), nil },
		}), nil
	case inventories.SSH:
		cfg := ssh.Config{
			Address: t.Asset.Address, Port: t.Asset.Port, User: res.Username,
			Password: res.Password, PrivateKey: res.PrivateKey, Passphrase: res.Passphrase,
			KnownHostsFile: o.KnownHosts, TOFU: o.TOFU, HostKeys: o.HostKeys, Retries: 3,
		}
		sudo := o.Sudo
		if t.Credential != nil && t.Credential.SSH != nil {
			cfg.Agent = t.Credential.SSH.Agent
			sudo = sudo || t.Credential.SSH.Sudo
			if t.Credential.SSH.KnownHosts != "" {
				cfg.KnownHostsFile = t.Credential.SSH.KnownHosts
			}
			cfg.TOFU = cfg.TOFU || t.Credential.SSH.TrustOnFirstUse
		}
		if cfg.KnownHostsFile == "" {
			cfg.KnownHostsFile = defaultKnownHosts()
		}
		if cfg.Port == 0 {
			cfg.Port = 22
		}
		return probes.NewScriptProber(probes.ScriptProber{
			Transport: "ssh", Address: net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)), Logger: log,
			Bundle: linuxBundle{linux.Options{Sudo: sudo, Deep: o.Deep, Timeout: timeout}},
			Dial: func(ctx context.Context) (probes.Executor, error) {
				return ssh.Dial(ctx, cfg)
			},
			HostFacts: sshHostFacts,
		}), nil
	case inventories.WinRM, inventories.WinRMS:
		cfg := winrm.Config{Address: t.Asset.Address, Port: t.Asset.Port, HTTPS: t.Asset.Transport == inventories.WinRMS,
			User: res.Username, Password: res.Password}
		w := t.WinRM
		if t.Credential != nil && t.Credential.WinRM != nil {
			w = t.Credential.WinRM
		}
		if w != nil {
			cfg.Auth, cfg.CAFile, cfg.Fingerprint = w.Auth, w.CAFile, w.Fingerprint
		}
		if cfg.Port == 0 {
			cfg.Port = t.Asset.Transport.DefaultPort()
		}
		return probes.NewScriptProber(probes.ScriptProber{
			Transport: string(t.Asset.Transport), Address: net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)), Logger: log,
			Bundle: windowsBundle{},
			Dial: func(ctx context.Context) (probes.Executor, error) {
				return winrm.Dial(ctx, cfg)
			},
		}), nil
	case inventories.SNMP:
		cfg := snmp.Config{Address: t.Asset.Address, Port: t.Asset.Port, Community: res.Community,
			User: res.Username, AuthPassword: res.AuthPassword, PrivPassword: res.PrivPassword,
			Fragile: t.Asset.Fragile, GuessDefaultCommunities: t.Asset.GuessDefaultCommunities}
		if t.Credential != nil && t.Credential.SNMP != nil {
			o := t.Credential.SNMP
			cfg.Version, cfg.SecurityLevel, cfg.AuthProtocol, cfg.PrivProtocol, cfg.Context = o.Version, o.SecurityLevel, o.AuthProtocol, o.PrivProtocol, o.Context
		} else if t.SNMP != nil {
			cfg.Version, cfg.SecurityLevel, cfg.AuthProtocol, cfg.PrivProtocol = t.SNMP.Version, t.SNMP.SecurityLevel, t.SNMP.AuthProtocol, t.SNMP.PrivProtocol
		}
		p, err := snmp.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("asset %s: %w", t.Asset.Name, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("asset %s: transport %s is not supported yet", t.Asset.Name, t.Asset.Transport)
}

func defaultKnownHosts() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".ssh", "known_hosts")
	}
	return ""
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
