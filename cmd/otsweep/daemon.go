package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/otsweep/otsweep/scheduler"
)

func (a *app) daemonCmd() *cobra.Command {
	var cfgPath string
	c := &cobra.Command{
		Use:   "daemon",
		Short: "Run the sweeps of a config file on their schedules, record drift and mail alerts",
		Long: `Run the sweeps of a daemon config file (see README.md, "Daemon, drift and alerts") on their cron
schedules: one runner and one database with 'otsweep scan', blackout windows, rate limits and per-zone
caps, drift after every scan, one alert digest per sweep. Serves /healthz and /metrics (Prometheus) on
the config's listen address (127.0.0.1:9464 by default).

SIGHUP reloads the config; a config that does not load is rejected and the one in force stays.
SIGTERM or SIGINT stops: hosts in flight may finish within the grace period, the rest are cancelled
and the sweep is recorded as partial.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDaemon(cmd.Context(), cfgPath, cmd.Flags().Changed("log-level"))
		},
	}
	c.Flags().StringVar(&cfgPath, "config", os.Getenv("OTSWEEP_CONFIG"), "daemon config file (YAML)")
	c.AddCommand(a.missedCmd())
	return c
}

func (a *app) runDaemon(ctx context.Context, cfgPath string, fixedLevel bool) error {
	if cfgPath == "" {
		return usageErr("--config FILE is required")
	}
	level := &slog.LevelVar{}
	opts := scheduler.DaemonOptions{ConfigPath: cfgPath}
	if fixedLevel {
		if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
			return usageErr("--log-level %q: want debug, info, warn or error", a.logLevel)
		}
	} else {
		opts.LogLevel = level // the config's log_level (default info)
	}
	opts.Logger = slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: level}))
	d, err := scheduler.NewDaemon(ctx, opts)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	defer func() { _ = d.Close() }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-hup:
				_ = d.Reload() // a rejected reload is logged and keeps the config in force
			case <-done:
				return
			}
		}
	}()
	if err := d.Run(ctx); err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	return nil
}

// missedCmd lists the scheduled runs that did not happen.
func (a *app) missedCmd() *cobra.Command {
	var (
		db, since string
		asJSON    bool
	)
	c := &cobra.Command{
		Use:   "missed",
		Short: "List scheduled runs that did not happen (overlap, blackout, downtime)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			st, err := openExistingStore(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			runs, err := st.MissedRuns(cmd.Context(), from, 0)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if asJSON {
				if runs == nil {
					return writeJSON(a.out, []any{})
				}
				return writeJSON(a.out, runs)
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SCHEDULED\tSWEEP\tREASON\tDETAIL")
			for _, m := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Scheduled.Local().Format("2006-01-02 15:04 MST"), m.Sweep, m.Reason, m.Detail)
			}
			_ = tw.Flush()
			if len(runs) == 0 {
				fmt.Fprintln(a.out, "No missed runs.")
			}
			return nil
		},
	}
	c.Flags().StringVar(&db, "db", envOr("OTSWEEP_DB", "otsweep.db"), "SQLite database file")
	c.Flags().StringVar(&since, "since", "30d", "only runs scheduled since: a duration (7d, 36h) or a date (2025-06-01); 0 = all")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}
