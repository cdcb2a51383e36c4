package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/otsweep/otsweep/lab/demo"
	"github.com/otsweep/otsweep/report"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

func (a *app) demoCmd() *cobra.Command {
	var dir string
	var serve bool
	var listen string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a simulated plant on loopback, sweep it twice with a change between, and write the report",
		Long: `Start a simulated plant inside this process, on 127.0.0.1 only: six Windows hosts over WinRM (an
operator HMI, a Windows 7 HMI, an engineering workstation, a historian, a domain controller and a
technician laptop), three Linux hosts over SSH and four switches and PLCs over SNMP. Sweep it, apply a
change (Defender real-time protection off on an HMI, a cell switch stops answering), sweep again, and
write the database and the HTML report into --dir. The real scanner does the work: the same
transports, probes, checks, SL-A engine, store, drift and report as with real hosts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDemo(cmd.Context(), dir, serve, listen) },
	}
	c.Flags().StringVar(&dir, "dir", "otsweep-demo", "folder for the demo's inventory, database and report")
	c.Flags().BoolVar(&serve, "serve", false, "after the sweeps, serve the dashboard until interrupted")
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8443", "dashboard address with --serve (loopback only)")
	return c
}

func (a *app) runDemo(ctx context.Context, dir string, serve bool, listen string) error {
	out := a.out
	defs, err := a.loadDefinitions()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Starting the simulated plant on 127.0.0.1 ...")
	lab, err := demo.Start(dir)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	defer func() { _ = lab.Close() }()
	for _, h := range lab.Hosts {
		fmt.Fprintf(out, "  %-12s %-24s %-7s %-6s 127.0.0.1:%-5d %s\n", h.Name, h.Role, h.Platform, h.Transport, h.Port, h.Source)
	}
	inv, err := a.loadInventory(lab.Inventory, defs)
	if err != nil {
		return err
	}
	dbPath := filepath.Join(dir, "otsweep.db")
	_ = os.Remove(dbPath)
	_ = os.Remove(dbPath + "-wal")
	_ = os.Remove(dbPath + "-shm")
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("database %s: %w", dbPath, err)}
	}
	defer func() { _ = st.Close() }()
	log := a.logger()
	drift := &scheduler.Drift{Store: st, Defs: defs, Logger: log}
	runner := &scheduler.Runner{Defs: defs, Store: st, Concurrency: 8, DefaultTimeout: time.Minute, Logger: log,
		Countermeasures: scheduler.Countermeasures(inv), AfterSave: drift.AfterSave}
	sweep := func(name string) (*scanReport, error) {
		targets := scheduler.InventoryTargets(inv, inv.Assets)
		jobs, failed, err := defs.Jobs(inv, targets, scheduler.ProbeOptions{Timeout: time.Minute}, log)
		if err != nil {
			return nil, err
		}
		res, err := runner.Run(ctx, name, "demo", jobs)
		if err != nil {
			return nil, err
		}
		res.Assets = append(res.Assets, failed...)
		return newScanReport(res, defs, dbPath), nil
	}
	fmt.Fprintln(out, "\nSweep 1: baseline")
	first, err := sweep("demo baseline")
	if err != nil {
		return &exitError{code: ExitScanErrors, err: err}
	}
	first.writeTable(out)
	fmt.Fprintln(out, "\nChange between the sweeps:")
	for _, c := range lab.Change() {
		fmt.Fprintln(out, "  -", c)
	}
	fmt.Fprintln(out, "\nSweep 2: after the change")
	second, err := sweep("demo after change")
	if err != nil {
		return &exitError{code: ExitScanErrors, err: err}
	}
	second.writeTable(out)

	events, err := st.DriftEvents(ctx, store.DriftFilter{SweepID: second.Sweep.ID})
	if err != nil {
		return err
	}
	regressions := 0
	for _, e := range events {
		if e.Regression {
			regressions++
		}
	}
	fmt.Fprintf(out, "\nDrift in sweep 2: %d change(s), %d regression(s). List them: otsweep drift --db %s\n", len(events), regressions, dbPath)

	rep, err := report.Build(ctx, st, defs, report.Options{Countermeasures: scheduler.Countermeasures(inv)})
	if err != nil {
		return err
	}
	htmlPath := filepath.Join(dir, "otsweep-report.html")
	f, err := os.OpenFile(htmlPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := rep.WriteHTML(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	absHTML, _ := filepath.Abs(htmlPath)
	fmt.Fprintf(out, "\nDatabase:    %s\nHTML report: %s (open it in a browser: file://%s)\n", dbPath, htmlPath, absHTML)
	fmt.Fprintf(out, "Dashboard:   otsweep serve --db %s   (then open http://127.0.0.1:8443/)\n", dbPath)
	fmt.Fprintf(out, "Inventory:   %s (the simulated hosts stop when this command ends)\n", lab.Inventory)
	if !serve {
		return nil
	}
	fmt.Fprintf(out, "\nServing the dashboard on http://%s/ until interrupted (Ctrl-C).\n", listen)
	ln, err := report.Listen(ctx, listen, false)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	return report.Serve(ctx, ln, report.Handler(st, defs, report.HandlerOptions{Countermeasures: scheduler.Countermeasures(inv), Logger: log}), nil, log)
}
