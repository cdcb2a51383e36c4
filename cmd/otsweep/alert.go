package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

func (a *app) alertCmd() *cobra.Command {
	c := &cobra.Command{Use: "alert", Short: "Test and review drift alert emails"}
	var cfgPath string
	test := &cobra.Command{
		Use:   "test",
		Short: "Send a test message with the smtp and alerts sections of a daemon config",
		Long: `Send a short test message to every recipient of the daemon config (alerts.to and alerts.zones),
through its smtp section, with the same TLS, authentication and retries as the daemon's digests.
The delivery is recorded in the config's database.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runAlertTest(cmd.Context(), cfgPath) },
	}
	test.Flags().StringVar(&cfgPath, "config", os.Getenv("OTSWEEP_CONFIG"), "daemon config file (YAML)")

	var (
		db     string
		sweep  int64
		limit  int
		asJSON bool
	)
	list := &cobra.Command{
		Use:   "deliveries",
		Short: "List alert emails and whether they were sent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openExistingStore(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			dels, err := st.Deliveries(cmd.Context(), sweep, limit)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if asJSON {
				if dels == nil {
					dels = []store.Delivery{}
				}
				return writeJSON(a.out, dels)
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tSWEEP\tKIND\tSTATUS\tATTEMPTS\tEVENTS\tTO\tSUBJECT / ERROR")
			for _, d := range dels {
				sw, what := "-", d.Subject
				if d.SweepID != 0 {
					sw = fmt.Sprint(d.SweepID)
				}
				if d.Error != "" {
					what = d.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", d.Started.Local().Format("2006-01-02 15:04"), sw, d.Kind,
					d.Status, d.Attempts, len(d.Events), cell(strings.Join(d.Recipients, ","), 40), cell(what, 80))
			}
			_ = tw.Flush()
			return nil
		},
	}
	list.Flags().StringVar(&db, "db", envOr("OTSWEEP_DB", "otsweep.db"), "SQLite database file")
	list.Flags().Int64Var(&sweep, "sweep", 0, "only the deliveries of this sweep id")
	list.Flags().IntVar(&limit, "limit", 50, "only the newest N deliveries (0 = all)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.AddCommand(test, list)
	return c
}

func (a *app) runAlertTest(ctx context.Context, cfgPath string) error {
	if cfgPath == "" {
		return usageErr("--config FILE is required")
	}
	cfg, err := scheduler.LoadConfig(cfgPath, os.Getenv)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if cfg.SMTP == nil {
		return usageErr("%s: no smtp section: alerts are off", cfgPath)
	}
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("database %s: %w", cfg.DB, err)}
	}
	defer func() { _ = st.Close() }()
	n := scheduler.AlertNotifier(cfg, mapping.DefaultCatalog(), st, a.logger())
	d, err := n.SendTest(ctx)
	if err != nil { // most likely the smtp section: a configuration error
		return &exitError{code: ExitUsage, err: err}
	}
	fmt.Fprintf(a.out, "Test message sent to %s via %s (%d attempt(s)); delivery %d recorded in %s.\n",
		strings.Join(d.Recipients, ", "), cfg.SMTP.Host, d.Attempts, d.ID, cfg.DB)
	return nil
}
