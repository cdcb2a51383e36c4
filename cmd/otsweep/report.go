package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/report"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

type reportFlags struct {
	db, sweep, format, out, inventory string
	historyDays                       int
}

func (a *app) reportCmd() *cobra.Command {
	f := &reportFlags{}
	c := &cobra.Command{
		Use:   "report",
		Short: "Write the compliance report of a stored sweep as HTML, JSON or CSV",
		Long: `Write the report of one stored sweep: fleet summary, FR × asset heat map of SL-A against SL-T,
variance per zone and role, per-asset requirement states with evidence, countermeasures and their
expiry, assessment coverage and SL-A drift over --history-days.

html is one self-contained file (no script, nothing loaded from elsewhere) that prints as an audit
document; json follows docs/report-schema.md; csv has one row per asset and requirement, with cells
that a spreadsheet would evaluate as formulas neutralised. --format defaults to the extension of
--out (.html, .json, .csv), else html. A file written with --out is readable by its owner only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("format") {
				switch strings.ToLower(filepath.Ext(f.out)) {
				case ".json":
					f.format = "json"
				case ".csv":
					f.format = "csv"
				}
			}
			return a.runReport(cmd.Context(), f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.db, "db", envOr("OTSWEEP_DB", "otsweep.db"), "SQLite database file")
	fl.StringVar(&f.sweep, "sweep", "latest", "sweep number, or latest")
	fl.StringVar(&f.format, "format", "html", "html, json or csv")
	fl.StringVarP(&f.out, "out", "o", "", "output file (default: standard output)")
	fl.StringVarP(&f.inventory, "inventory", "i", "", "inventory file or folder whose countermeasures and attestations the report details")
	fl.IntVar(&f.historyDays, "history-days", report.DefaultHistoryDays, "drift window in days before the sweep")
	return c
}

// parseSweep reads --sweep: a positive sweep number, or latest (0).
func parseSweep(s string) (int64, error) {
	if s == "" || s == "latest" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErr("--sweep %q: want a sweep number or latest", s)
	}
	return id, nil
}

// openExistingStore opens the database at path, refusing to create one: a
// report of a database that does not exist is a mistake in the path.
func openExistingStore(ctx context.Context, path string) (*store.Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, usageErr("database %s: %v", path, err)
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("database %s: %w", path, err)}
	}
	return st, nil
}

// reportInputs loads what Build needs besides the store: the definitions
// and, with an inventory, its countermeasures.
func (a *app) reportInputs(inventory string) (*scheduler.Definitions, []mapping.Countermeasure, error) {
	defs, err := a.loadDefinitions()
	if err != nil {
		return nil, nil, err
	}
	if inventory == "" {
		return defs, nil, nil
	}
	inv, err := a.loadInventory(inventory, defs)
	if err != nil {
		return nil, nil, err
	}
	return defs, scheduler.Countermeasures(inv), nil
}

func (a *app) runReport(ctx context.Context, f *reportFlags) error {
	var write func(*report.Report, io.Writer) error
	switch f.format {
	case "html":
		write = (*report.Report).WriteHTML
	case "json":
		write = (*report.Report).WriteJSON
	case "csv":
		write = (*report.Report).WriteCSV
	default:
		return usageErr("--format %q: want html, json or csv", f.format)
	}
	if f.historyDays < 1 {
		return usageErr("--history-days %d: want at least 1", f.historyDays)
	}
	sweepID, err := parseSweep(f.sweep)
	if err != nil {
		return err
	}
	defs, cms, err := a.reportInputs(f.inventory)
	if err != nil {
		return err
	}
	st, err := openExistingStore(ctx, f.db)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	rep, err := report.Build(ctx, st, defs, report.Options{SweepID: sweepID, HistoryDays: f.historyDays, Countermeasures: cms})
	if errors.Is(err, store.ErrNotFound) {
		if sweepID == 0 {
			return usageErr("database %s holds no sweep yet", f.db)
		}
		return usageErr("database %s has no sweep %d", f.db, sweepID)
	}
	if err != nil {
		return err
	}
	if f.out == "" || f.out == "-" {
		return write(rep, a.out)
	}
	return writeFileAtomic(f.out, func(w io.Writer) error { return write(rep, w) })
}

// writeFileAtomic writes path through a temporary file in the same folder,
// renamed into place only when fill succeeded; the file is owner-only (a
// report lists every weakness of the plant).
func writeFileAtomic(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	err = fill(tmp)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
