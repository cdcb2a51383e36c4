package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
)

func (a *app) catalogCmd() *cobra.Command {
	var asJSON bool
	var level int
	c := &cobra.Command{
		Use:   "catalog",
		Short: "Print the IEC 62443-3-3 catalog: every FR, SR and RE with the security levels that select it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if level < 0 || level > mapping.MaxLevel {
				return usageErr("--level %d: want 1..4 (0 = all)", level)
			}
			cat := mapping.DefaultCatalog()
			items := cat.Items
			if level > 0 {
				items = cat.SelectedAt(level)
			}
			if asJSON {
				if items == nil {
					items = []mapping.Requirement{}
				}
				return writeJSON(a.out, items)
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fr := ""
			for _, r := range items {
				if r.FR != fr {
					fr = r.FR
					f := cat.FRs[mapping.FRIndex(fr)]
					fmt.Fprintf(tw, "%s\t%s (%s)\t\n", f.ID, f.Title, f.Abbrev)
				}
				id := "  " + r.ID
				if r.IsRE {
					id = "    " + r.ID
				}
				fmt.Fprintf(tw, "%s\t%s\tSL %s\n", id, r.Title, levelsText(r.Levels))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "\n%s. SL 1: %d, SL 2: %d, SL 3: %d, SL 4: %d requirements selected.\n", cat.Standard,
				len(cat.SelectedAt(1)), len(cat.SelectedAt(2)), len(cat.SelectedAt(3)), len(cat.SelectedAt(4)))
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	c.Flags().IntVar(&level, "level", 0, "only the requirements selected at this security level (1-4)")
	return c
}

func levelsText(l []int) string {
	parts := make([]string, len(l))
	for i, n := range l {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ",")
}

// checkInfo is one row of `otsweep checks --json`.
type checkInfo struct {
	ID           string   `json:"id"`
	Title        string   `json:"title"`
	Platform     string   `json:"platform"`
	Requirements []string `json:"requirements"`
	Expected     string   `json:"expected"`
	Expr         string   `json:"expr"`
	When         string   `json:"when,omitempty"`
	Facts        []string `json:"facts"`
	Params       []string `json:"parameters,omitempty"`
	Remediation  string   `json:"remediation,omitempty"`
	Reference    string   `json:"reference,omitempty"`
	Source       string   `json:"source"`
}

func (a *app) checksCmd() *cobra.Command {
	var asJSON bool
	var platform string
	c := &cobra.Command{
		Use:   "checks",
		Short: "List every check with the SRs/REs it supports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if platform != "" && !probes.Platform(platform).Valid() {
				return usageErr("--platform %q: want linux, windows or snmp", platform)
			}
			defs, err := a.loadDefinitions()
			if err != nil {
				return err
			}
			rows := []checkInfo{}
			for _, ch := range defs.Checks.All() {
				if platform != "" && ch.Platform != platform {
					continue
				}
				reqs := defs.Requirements(ch.ID)
				if reqs == nil {
					reqs = []string{}
				}
				rows = append(rows, checkInfo{ID: ch.ID, Title: ch.Title, Platform: ch.Platform, Requirements: reqs,
					Expected: ch.Expected, Expr: ch.Expr, When: ch.When, Facts: ch.Facts, Params: ch.Params,
					Remediation: ch.Remediation, Reference: ch.Reference, Source: ch.Source})
			}
			if asJSON {
				return writeJSON(a.out, rows)
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPLATFORM\tREQUIREMENTS\tTITLE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Platform, strings.Join(r.Requirements, ", "), r.Title)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	c.Flags().StringVar(&platform, "platform", "", "only checks of this platform (linux, windows, snmp)")
	return c
}

func (a *app) blueprintsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "blueprints",
		Short: "List role blueprints with their SL-T per FR and parameters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defs, err := a.loadDefinitions()
			if err != nil {
				return err
			}
			var bps []*mapping.Blueprint
			for _, n := range defs.Blueprints.Names() {
				bp, _ := defs.Blueprints.Get(n)
				bps = append(bps, bp)
			}
			if asJSON {
				return writeJSON(a.out, bps)
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ROLE\tPLATFORMS\tSL-T {IAC UC SI DC RDF TRE RA}\tTITLE")
			for _, bp := range bps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", bp.Name, strings.Join(bp.Platforms, ","), bp.Target, bp.Title)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return c
}
