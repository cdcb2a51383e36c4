package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/otsweep/otsweep/store"
)

type driftFlags struct {
	db, since, asset string
	sweep            int64
	limit            int
	asJSON           bool
}

func (a *app) driftCmd() *cobra.Command {
	f := &driftFlags{}
	c := &cobra.Command{
		Use:   "drift",
		Short: "List drift events: what changed on each asset between scans",
		Long: `List the drift events stored by the daemon (or computed by it for scans made with 'otsweep scan'):
checks newly failing or passing, requirement state and SL-A changes per FR, tracked facts that changed
(software, ports, administrators, services, firmware, host keys), assets newly unreachable or back,
new assets and assets gone from the inventory. Regressions are marked with R.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDrift(cmd.Context(), f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.db, "db", envOr("OTSWEEP_DB", "otsweep.db"), "SQLite database file")
	fl.StringVar(&f.since, "since", "7d", "only events since: a duration (7d, 36h, 90m) or a date (2025-06-01, RFC 3339); 0 = all")
	fl.StringVar(&f.asset, "asset", "", "only events of this asset")
	fl.Int64Var(&f.sweep, "sweep", 0, "only events of this sweep id")
	fl.IntVar(&f.limit, "limit", 0, "only the newest N events (0 = all)")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON")
	return c
}

func (a *app) runDrift(ctx context.Context, f *driftFlags) error {
	since, err := parseSince(f.since, time.Now())
	if err != nil {
		return err
	}
	if f.limit < 0 {
		return usageErr("--limit must not be negative")
	}
	st, err := openExistingStore(ctx, f.db)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	evs, err := st.DriftEvents(ctx, store.DriftFilter{Since: since, Asset: f.asset, SweepID: f.sweep, Limit: f.limit})
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if f.asJSON {
		if evs == nil {
			evs = []store.DriftEvent{}
		}
		return writeJSON(a.out, evs)
	}
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tASSET\tZONE\tKIND\tSUBJECT\tR\tBEFORE\tAFTER")
	regressions := 0
	for _, e := range evs {
		mark := ""
		if e.Regression {
			mark, regressions = "R", regressions+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04"), cell(e.Asset, 30),
			cell(e.Zone, 16), e.Kind, cell(e.Subject, 40), mark, cell(e.Before, 50), cell(e.After, 50))
	}
	_ = tw.Flush()
	fmt.Fprintf(a.out, "\n%d event(s), %d regression(s). --json shows the full evidence.\n", len(evs), regressions)
	return nil
}

// cell makes s fit a table cell: one line, at most n runes, safe to print
// on a terminal (see termLine).
func cell(s string, n int) string {
	s = strings.Join(strings.Fields(termLine(s)), " ")
	if s == "" {
		return "-"
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// parseSince reads --since: a duration back from now (with d for days), a
// date or an RFC 3339 time; "" or "0" mean no bound (zero time).
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageErr("--since %q: want a duration (7d, 36h, 90m), a date (2025-06-01) or an RFC 3339 time", s)
}
