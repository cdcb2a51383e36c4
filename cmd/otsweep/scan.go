package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/otsweep/otsweep/inventories"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

type scanFlags struct {
	scanOptions
	inventory   string
	targets     []string
	assets      []string
	roles       []string
	zones       []string
	tags        []string
	db          string
	format      string
	dryRun      bool
	concurrency int
	zoneLimit   int
	name        string
	noProgress  bool
}

func (a *app) scanCmd() *cobra.Command {
	f := &scanFlags{}
	c := &cobra.Command{
		Use:   "scan",
		Short: "Scan assets now and compare their SL-A with the SL-T of their role",
		Long: `Scan assets from an inventory (--inventory, narrowed by --asset/--role/--zone/--tag) or ad hoc
targets (--target ssh://user@host:port, local://, winrm://user@host:port, winrms://user@host:port,
snmp://host:port), store the results and print SL-A vs SL-T.

Exit codes: 0 every asset at target, 1 variance found, 2 usage or configuration error,
3 at least one asset could not be scanned.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runScan(cmd.Context(), f) },
	}
	fl := c.Flags()
	fl.StringVarP(&f.inventory, "inventory", "i", "", "inventory file or folder")
	fl.StringArrayVarP(&f.targets, "target", "t", nil, "ad hoc target URL (repeatable): ssh://user@host:port or local://")
	fl.StringSliceVar(&f.assets, "asset", nil, "only these assets (by name)")
	fl.StringSliceVar(&f.roles, "role", nil, "only assets of these roles; with --target, the role of the ad hoc target")
	fl.StringSliceVar(&f.zones, "zone", nil, "only assets in these zones")
	fl.StringSliceVar(&f.tags, "tag", nil, "only assets with these tags")
	fl.StringVar(&f.identity, "identity", "", "SSH private key file for ad hoc targets (mode 0600)")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file that host keys are verified against (default ~/.ssh/known_hosts)")
	fl.StringVar(&f.passwordEnv, "password-env", "", "environment variable holding the password for ad hoc targets")
	fl.StringVar(&f.winrmAuth, "winrm-auth", "ntlm", "WinRM authentication of ad hoc targets: ntlm, or basic (HTTPS only)")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM CA bundle that a winrms:// host's certificate must chain to")
	fl.StringVar(&f.fingerprint, "fingerprint", "", "SHA-256 fingerprint (hex) pinning a winrms:// host's certificate")
	fl.StringVar(&f.snmpVersion, "snmp-version", "3", "SNMP version of ad hoc snmp:// targets: 1, 2c or 3")
	fl.StringVar(&f.communityEnv, "community-env", "", "environment variable holding the SNMPv1/v2c community of ad hoc targets")
	fl.StringVar(&f.snmpUser, "snmp-user", "", "SNMPv3 user of ad hoc targets")
	fl.StringVar(&f.authProto, "snmp-auth-protocol", "SHA", "SNMPv3 authentication protocol: SHA, SHA224, SHA256, SHA384, SHA512, MD5")
	fl.StringVar(&f.authEnv, "auth-password-env", "", "environment variable holding the SNMPv3 authentication passphrase")
	fl.StringVar(&f.privProto, "snmp-priv-protocol", "AES", "SNMPv3 privacy protocol: AES, AES192, AES256, DES")
	fl.StringVar(&f.privEnv, "priv-password-env", "", "environment variable holding the SNMPv3 privacy passphrase")
	fl.BoolVar(&f.tofu, "trust-on-first-use", false, "accept and record the key of a host not yet in known_hosts (a changed key is always refused)")
	fl.BoolVar(&f.sudo, "sudo", false, "try sudo -n on Linux hosts for root-only probes")
	fl.BoolVar(&f.deep, "deep", false, "also run the slow filesystem probes (world-writable and SUID files, bounded in time)")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "per-host deadline; it also ends the remote command")
	fl.StringVar(&f.db, "db", envOr("OTSWEEP_DB", "otsweep.db"), "SQLite database file")
	fl.StringVar(&f.format, "format", "table", "output: table or json")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print exactly what would be sent to each host and send nothing")
	fl.IntVar(&f.concurrency, "concurrency", 8, "hosts scanned at once")
	fl.IntVar(&f.zoneLimit, "zone-limit", 0, "hosts scanned at once per zone (0 = no limit)")
	fl.StringVar(&f.name, "name", "on-demand", "sweep name recorded with the results")
	fl.BoolVar(&f.noProgress, "no-progress", false, "no progress bar even on a terminal")
	return c
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (a *app) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		lvl = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: lvl}))
}

func (a *app) runScan(ctx context.Context, f *scanFlags) error {
	if f.format != "table" && f.format != "json" {
		return usageErr("--format %q: want table or json", f.format)
	}
	if (f.inventory == "") == (len(f.targets) == 0) {
		return usageErr("give either --inventory PATH or --target URL")
	}
	if f.concurrency < 1 {
		return usageErr("--concurrency must be at least 1")
	}
	defs, err := a.loadDefinitions()
	if err != nil {
		return err
	}
	var (
		targets []scheduler.Target
		inv     *inventories.Inventory
	)
	if f.inventory != "" {
		inv, err = a.loadInventory(f.inventory, defs)
		if err != nil {
			return err
		}
		sel, err := inv.Select(f.assets, f.roles, f.zones, f.tags)
		if err != nil {
			return usageErr("%v", err)
		}
		targets = scheduler.InventoryTargets(inv, sel)
	} else {
		o := f.scanOptions
		if len(f.roles) > 1 {
			return usageErr("--role: one role for ad hoc targets")
		}
		if len(f.roles) == 1 {
			o.role = f.roles[0]
		}
		for _, raw := range f.targets {
			t, err := parseTarget(raw, o)
			if err != nil {
				return err
			}
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return usageErr("no assets selected")
	}
	log := a.logger()
	jobs, failed, err := defs.Jobs(inv, targets, scheduler.ProbeOptions{KnownHosts: f.knownHosts, TOFU: f.tofu,
		Sudo: f.sudo, Deep: f.deep, Timeout: f.timeout}, log)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.dryRun {
		return a.printPlan(jobs, failed)
	}
	st, err := store.Open(ctx, f.db)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("database %s: %w", f.db, err)}
	}
	defer func() { _ = st.Close() }()
	if n, err := st.RecoverIncomplete(ctx); err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("database %s: %w", f.db, err)}
	} else if n > 0 {
		log.Warn("sweeps left running by a stopped process were marked incomplete", "count", n)
	}
	drift := &scheduler.Drift{Store: st, Defs: defs, Logger: log}
	r := &scheduler.Runner{Defs: defs, Store: st, Concurrency: f.concurrency, ZoneLimit: f.zoneLimit,
		DefaultTimeout: f.timeout, Logger: log, AfterSave: drift.AfterSave,
		// The table shows counts and findings only; the store keeps the rest.
		Summarize: f.format != "json"}
	if inv != nil {
		r.Countermeasures = scheduler.Countermeasures(inv)
	}
	bar := a.progress(len(jobs), f)
	r.OnResult = func(ar scheduler.AssetResult) {
		if bar != nil {
			bar.Describe(ar.Asset.Name)
			_ = bar.Add(1)
		}
	}
	res, runErr := r.Run(ctx, f.name, "manual", jobs)
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(a.errOut)
	}
	if runErr != nil && res == nil {
		return &exitError{code: ExitScanErrors, err: runErr}
	}
	res.Assets = append(res.Assets, failed...)
	rep := newScanReport(res, defs, f.db)
	if f.format == "json" {
		if err := writeJSON(a.out, rep); err != nil {
			return err
		}
	} else {
		rep.writeTable(a.out)
	}
	if runErr != nil {
		return &exitError{code: ExitScanErrors, err: runErr}
	}
	return &exitError{code: rep.exitCode()}
}

func (a *app) progress(n int, f *scanFlags) *progressbar.ProgressBar {
	if f.noProgress || f.format == "json" || !term.IsTerminal(int(a.errOut.Fd())) {
		return nil
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(a.errOut), progressbar.OptionSetDescription("scanning"),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
}

// printPlan is --dry-run: every request, exactly as it would be sent.
func (a *app) printPlan(jobs []scheduler.Job, failed []scheduler.AssetResult) error {
	w := a.out
	for _, j := range jobs {
		for _, p := range j.Prober.Plan() {
			fmt.Fprintf(w, "### %s (role %s) via %s to %s\n", j.Asset.Name, j.Asset.Role, p.Transport, p.Address)
			fmt.Fprintf(w, "command: %s\n", p.Request)
			if p.Body != "" {
				fmt.Fprintf(w, "stdin (%d bytes):\n%s", len(p.Body), p.Body)
				if !strings.HasSuffix(p.Body, "\n") {
					fmt.Fprintln(w)
				}
			}
			fmt.Fprintln(w)
		}
	}
	for _, f := range failed {
		fmt.Fprintf(w, "### %s: not scanned: %s\n", f.Asset.Name, f.Error)
	}
	fmt.Fprintf(w, "dry run: nothing was sent to %d host(s).\n", len(jobs))
	return nil
}

var _ io.Writer = (*os.File)(nil)
