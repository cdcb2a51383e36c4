package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/scheduler"
)

// scanReport is the JSON document `otsweep scan --format json` prints. Its
// fields are documented in README.md ("Scan output").
type scanReport struct {
	Sweep   sweepInfo     `json:"sweep"`
	Summary summary       `json:"summary"`
	Assets  []assetReport `json:"assets"`
}

type sweepInfo struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Database string    `json:"database,omitempty"`
}

type summary struct {
	Assets       int                       `json:"assets"`
	ByStatus     map[probes.ScanStatus]int `json:"by_status"`
	AtTarget     int                       `json:"at_target"`
	BelowTarget  int                       `json:"below_target"`
	ChecksByStat map[checks.Status]int     `json:"checks"`
}

type checkReport struct {
	checks.Result
	Requirements []string `json:"requirements"`
}

type assetReport struct {
	Name         string                      `json:"name"`
	Address      string                      `json:"address"`
	Role         string                      `json:"role"`
	Zone         string                      `json:"zone,omitempty"`
	Platform     string                      `json:"platform"`
	Transport    string                      `json:"transport"`
	Status       probes.ScanStatus           `json:"status"`
	Error        string                      `json:"error,omitempty"`
	ScanID       int64                       `json:"scan_id,omitempty"`
	Elevated     bool                        `json:"elevated"`
	Complete     bool                        `json:"complete"`
	DurationMS   int64                       `json:"duration_ms"`
	TargetCost   probes.Cost                 `json:"target_cost"`
	SLTarget     mapping.Vector              `json:"sl_target"`
	SLAchieved   mapping.Vector              `json:"sl_achieved"`
	SLPotential  mapping.Vector              `json:"sl_potential"`
	Variance     mapping.Variance            `json:"variance"`
	Coverage     []mapping.LevelCoverage     `json:"coverage"`
	Checks       []checkReport               `json:"checks"`
	Requirements []mapping.RequirementResult `json:"requirements"`
	Expired      []mapping.Countermeasure    `json:"expired_countermeasures,omitempty"`

	counts map[checks.Status]int // checks by status, whole when Checks is trimmed
}

func newScanReport(res *scheduler.SweepResult, defs *scheduler.Definitions, db string) *scanReport {
	rep := &scanReport{
		Sweep:   sweepInfo{ID: res.ID, Name: res.Name, Status: res.Status, Started: res.Started, Finished: res.Finished, Database: db},
		Summary: summary{ByStatus: map[probes.ScanStatus]int{}, ChecksByStat: map[checks.Status]int{}},
		Assets:  []assetReport{},
	}
	for _, ar := range res.Assets {
		r := assetReport{Name: ar.Asset.Name, Address: ar.Asset.Address, Role: ar.Asset.Role, Zone: ar.Asset.Zone,
			Platform: ar.Asset.Platform, Transport: ar.Asset.Transport, Status: ar.Status, Error: ar.Error, ScanID: ar.ScanID,
			Elevated: ar.Elevated, Complete: ar.Complete, DurationMS: ar.Finished.Sub(ar.Started).Milliseconds(), TargetCost: ar.Cost,
			SLTarget: ar.Assessment.Target, SLAchieved: ar.Assessment.Achieved, SLPotential: ar.Assessment.Potential,
			Variance: ar.Assessment.Variance, Coverage: ar.Assessment.Coverage, Requirements: ar.Assessment.Requirements,
			Expired: ar.Assessment.Expired, Checks: []checkReport{}}
		if r.Requirements == nil {
			r.Requirements = []mapping.RequirementResult{}
		}
		for _, c := range ar.Checks {
			reqs := defs.Requirements(c.ID)
			if reqs == nil {
				reqs = []string{}
			}
			r.Checks = append(r.Checks, checkReport{Result: c, Requirements: reqs})
		}
		r.counts = ar.CheckCounts
		for st, n := range ar.CheckCounts {
			rep.Summary.ChecksByStat[st] += n
		}
		rep.Summary.Assets++
		rep.Summary.ByStatus[ar.Status]++
		if ar.Assessment.Variance.Shortfall() {
			rep.Summary.BelowTarget++
		} else if ar.Status == probes.StatusOK {
			rep.Summary.AtTarget++
		}
		rep.Assets = append(rep.Assets, r)
	}
	return rep
}

// exitCode: scan errors first (results cannot be trusted), then variance.
func (rep *scanReport) exitCode() int {
	if rep.Summary.ByStatus[probes.StatusOK] != rep.Summary.Assets {
		return ExitScanErrors
	}
	if rep.Summary.BelowTarget > 0 {
		return ExitVariance
	}
	return ExitOK
}

// vectorCells renders SL-A against SL-T per FR, marking shortfalls with "!".
func vectorCells(target, achieved mapping.Vector) string {
	parts := make([]string, mapping.FRCount)
	for i := range target {
		mark := " "
		if achieved[i] < target[i] {
			mark = "!"
		}
		parts[i] = fmt.Sprintf("%d/%d%s", achieved[i], target[i], mark)
	}
	return strings.Join(parts, " ")
}

func (rep *scanReport) writeTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ASSET\tROLE\tSTATUS\tSL-A/SL-T  FR1  FR2  FR3  FR4  FR5  FR6  FR7\tCHECKS pass/fail/error/n-a")
	for _, a := range rep.Assets {
		var p, f, e, n int
		for st, k := range a.counts {
			switch st {
			case checks.Pass:
				p += k
			case checks.Fail:
				f += k
			case checks.NotApplicable:
				n += k
			default:
				e += k
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t           %s\t%d/%d/%d/%d\n", termLine(a.Name), termLine(a.Role), a.Status, vectorCells(a.SLTarget, a.SLAchieved), p, f, e, n)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\n! = SL-A below SL-T. SL-A counts unassessed requirements as not holding; see --format json for sl_potential.")
	for _, a := range rep.Assets {
		if a.Error != "" {
			fmt.Fprintf(w, "\n%s: %s: %s\n", termLine(a.Name), a.Status, termLine(a.Error))
		}
		var fails []checkReport
		for _, c := range a.Checks {
			if c.Status == checks.Fail || (c.Status == checks.Error && a.Status == probes.StatusOK) {
				fails = append(fails, c)
			}
		}
		if len(fails) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%s): %d finding(s)\n", termLine(a.Name), termLine(a.Role), len(fails))
		for _, c := range fails {
			fmt.Fprintf(w, "  %-5s %-40s %s\n", c.Status, termLine(c.ID), strings.Join(c.Requirements, ", "))
			fmt.Fprintf(w, "        %s\n", termLine(c.Message))
		}
	}
	if rep.Sweep.ID != 0 {
		fmt.Fprintf(w, "\nSweep %d (%s) stored in %s.\n", rep.Sweep.ID, rep.Sweep.Status, rep.Sweep.Database)
	}
}

// termLine makes text that may come from a host (an error a host provoked,
// a check message quoting its values, a stored name) safe to print as one
// line on a terminal: control characters (C0, DEL and C1), which could move
// the cursor, retitle the window or forge lines of the report, become '?',
// and a line break becomes a space. Everything else is kept.
func termLine(s string) string {
	return termText(strings.NewReplacer("\r\n", " ", "\n", " ").Replace(s))
}

// termText is termLine that keeps line breaks (for multi-line errors).
func termText(s string) string {
	clean := utf8.ValidString(s) // strings.Map below replaces invalid bytes (a lone 0x9b is CSI to some terminals)
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return '?'
		}
		return r
	}, s)
}

func unsafeRune(r rune) bool {
	return r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r <= 0x9f
}
