package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/otsweep/otsweep/probes"
)

// sweepRow is one element of `otsweep sweeps --json`.
type sweepRow struct {
	ID       int64                     `json:"id"`
	Name     string                    `json:"name"`
	Trigger  string                    `json:"trigger"`
	Status   string                    `json:"status"`
	Started  time.Time                 `json:"started"`
	Finished *time.Time                `json:"finished,omitempty"`
	Hosts    int                       `json:"hosts"`
	ByStatus map[probes.ScanStatus]int `json:"by_status"`
}

func (a *app) sweepsCmd() *cobra.Command {
	var db string
	var limit int
	var asJSON bool
	c := &cobra.Command{
		Use:   "sweeps",
		Short: "List the stored sweeps, newest first (their numbers are what report --sweep takes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return usageErr("--limit must be at least 1")
			}
			st, err := openExistingStore(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			sweeps, err := st.Sweeps(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if asJSON {
				rows := make([]sweepRow, 0, len(sweeps))
				for _, s := range sweeps {
					r := sweepRow{ID: s.ID, Name: s.Name, Trigger: s.Trigger, Status: s.Status, Started: s.Started, Hosts: s.Hosts, ByStatus: s.Counts}
					if !s.Finished.IsZero() {
						f := s.Finished
						r.Finished = &f
					}
					rows = append(rows, r)
				}
				return writeJSON(a.out, rows)
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SWEEP\tNAME\tTRIGGER\tSTATUS\tSTARTED\tDURATION\tHOSTS\tBY STATUS")
			for _, s := range sweeps {
				dur := "-"
				if !s.Finished.IsZero() {
					dur = s.Finished.Sub(s.Started).Round(time.Second).String()
				}
				var counts []string
				for _, k := range slices.Sorted(maps.Keys(s.Counts)) {
					counts = append(counts, fmt.Sprintf("%s:%d", k, s.Counts[k]))
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.ID, s.Name, s.Trigger, s.Status,
					s.Started.UTC().Format("2006-01-02 15:04Z"), dur, s.Hosts, strings.Join(counts, " "))
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&db, "db", envOr("OTSWEEP_DB", "otsweep.db"), "SQLite database file")
	c.Flags().IntVar(&limit, "limit", 20, "how many sweeps")
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return c
}
