package report

import (
	"bufio"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// templates parses the embedded templates. They are fixed data, so a parse
// error is a programming error the package tests catch; it is returned rather
// than panicking.
func templates() (*template.Template, error) {
	return template.New("report").Funcs(funcs).ParseFS(templateFS, "templates/*.tmpl")
}

// funcs are the template helpers. None returns template.HTML: everything a
// template prints is escaped by html/template.
var funcs = template.FuncMap{
	"level":       level,
	"cell":        heatCell,
	"stateClass":  stateClass,
	"statusClass": statusClass,
	"when":        when,
	"day":         day,
	"join":        func(s []string) string { return strings.Join(s, ", ") },
	"firstN":      firstN,
	"more":        func(s []string, n int) int { return max(0, len(s)-n) },
	"pct":         pct,
	"fr":          mapping.FRID,
	"frs":         func() []int { return []int{0, 1, 2, 3, 4, 5, 6} },
	"vecText":     vecText,
	"varText":     varText,
	"add":         func(a, b int) int { return a + b },
	"neg":         func(a int) int { return -a },
	"groups":      func(title string, g []Group) groupTable { return groupTable{title, g} },
}

// groupTable is the argument of the "groups" template.
type groupTable struct {
	Title  string
	Groups []Group
}

// nav holds the dashboard's links; nil in a report file, which links nowhere.
type nav struct {
	Dashboard, Sweeps, JSON, CSV string
}

// htmlView is what the report template reads.
type htmlView struct {
	*Report
	Nav   *nav
	Chart chart
}

// assetChange is one row of the drift change table.
type assetChange struct {
	Asset string
	SLChange
}

// DriftChanges lists every asset's SL-A changes, by asset then time.
func (v htmlView) DriftChanges() []assetChange {
	var out []assetChange
	for _, a := range v.Drift.Assets {
		for _, c := range a.Changes {
			out = append(out, assetChange{a.Name, c})
		}
	}
	return out
}

// WriteHTML writes the report as one self-contained HTML document: inline
// CSS and SVG, no script, and no reference to anything outside the file (no
// fonts, images or style sheets by URL), with a print style sheet that lays
// it out as an audit document. Every value from a host, the inventory or the
// database is escaped by html/template. It returns the first write error.
func (r *Report) WriteHTML(w io.Writer) error {
	return r.writeHTML(w, nil)
}

func (r *Report) writeHTML(w io.Writer, n *nav) error {
	t, err := templates()
	if err != nil {
		return fmt.Errorf("report: templates: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := t.ExecuteTemplate(bw, "report.html.tmpl", htmlView{Report: r, Nav: n, Chart: fleetChart(r)}); err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	return nil
}

// sweepsView is what the sweep list template reads.
type sweepsView struct {
	Generated time.Time
	Sweeps    []Sweep
	Counts    []map[probes.ScanStatus]int
	Nav       *nav
}

func writeSweepsHTML(w io.Writer, v sweepsView) error {
	t, err := templates()
	if err != nil {
		return fmt.Errorf("report: templates: %w", err)
	}
	if err := t.ExecuteTemplate(w, "sweeps.html.tmpl", v); err != nil {
		return fmt.Errorf("report: write sweep list: %w", err)
	}
	return nil
}

// noSweepsView is the dashboard of an empty database.
func writeEmptyHTML(w io.Writer, n *nav, now time.Time) error {
	t, err := templates()
	if err != nil {
		return fmt.Errorf("report: templates: %w", err)
	}
	if err := t.ExecuteTemplate(w, "empty.html.tmpl", struct {
		Nav       *nav
		Generated time.Time
	}{n, now}); err != nil {
		return fmt.Errorf("report: write dashboard: %w", err)
	}
	return nil
}

// level prints the level of FR i of v, or "–" when v is nil (not assessed).
func level(v *mapping.Vector, i int) string {
	if v == nil {
		return "–"
	}
	return strconv.Itoa(v[i])
}

func vecText(v *mapping.Vector) string {
	if v == nil {
		return "not assessed"
	}
	return v.String()
}

func varText(v *mapping.Variance) string {
	if v == nil {
		return "–"
	}
	parts := make([]string, len(v))
	for i, d := range v {
		parts[i] = strconv.Itoa(d)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// cell is one square of the heat map.
type cell struct {
	Text, Class, Title string
}

// heatCell classifies FR i of an asset or group: "ok" SL-A reaches SL-T,
// "pending" it does not but would if the unassessed requirements hold,
// "short" it does not even then, "none" nothing was assessed.
func heatCell(target mapping.Vector, achieved, potential *mapping.Vector, i int) cell {
	t := target[i]
	if achieved == nil {
		return cell{Text: "–/" + strconv.Itoa(t), Class: "none", Title: fmt.Sprintf("%s: not assessed; SL-T %d", mapping.FRID(i), t)}
	}
	a, p := achieved[i], achieved[i]
	if potential != nil {
		p = potential[i]
	}
	c := cell{Text: fmt.Sprintf("%d/%d", a, t), Title: fmt.Sprintf("%s: SL-A %d, potential %d, SL-T %d", mapping.FRID(i), a, p, t)}
	switch {
	case a >= t:
		c.Class = "ok"
	case p >= t:
		c.Class = "pending"
	default:
		c.Class = "short"
	}
	return c
}

// stateClass maps a requirement state to a fixed CSS class.
func stateClass(s mapping.State) string {
	switch s {
	case mapping.Met:
		return "met"
	case mapping.NotMet:
		return "notmet"
	case mapping.Compensated:
		return "comp"
	case mapping.NotApplicable:
		return "na"
	case mapping.NotAssessable:
		return "manual"
	}
	return "unknown"
}

// statusClass maps a scan or check status to a fixed CSS class.
func statusClass(s string) string {
	switch s {
	case "ok", "pass", "complete":
		return "good"
	case "fail":
		return "bad"
	case "not-applicable":
		return "na"
	}
	return "warn"
}

func when(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func day(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format(time.DateOnly)
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func pct(n, of int) string {
	if of == 0 {
		return "–"
	}
	return strconv.Itoa(n*100/of) + " %"
}

// chart is the drift chart: one small panel per FR with the fleet minimum
// SL-A (solid) and the highest SL-T (dashed) per sweep.
type chart struct {
	Width, Height int
	Panels        []panel
	Sweeps        int
	From, To      string
}

type panel struct {
	FR             string
	X, Y           int // top-left corner
	W, H           int
	Achieved       []string // polyline point lists; a gap splits them
	Target         []string
	Dots           []dot // single points (a sweep between two gaps)
	Grid           []gridLine
	Last           string // latest fleet SL-A, or –
	LastT          string
	BaseY, RightX  int
	LabelX, LabelY int
}

type dot struct{ X, Y int }

// polyline formats points for an SVG points attribute.
func polyline(ds []dot) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = strconv.Itoa(d.X) + "," + strconv.Itoa(d.Y)
	}
	return strings.Join(parts, " ")
}

type gridLine struct {
	Y     int
	Label string
}

const (
	panelW, panelH = 150, 96
	panelPad       = 14
	plotTop        = 22
	plotBottom     = 14
	plotLeft       = 18
	plotRight      = 8
)

// fleetChart lays out the drift chart from the report's fleet points.
func fleetChart(r *Report) chart {
	pts := r.Drift.Fleet
	c := chart{Sweeps: len(pts)}
	if len(pts) > 0 {
		c.From, c.To = day(pts[0].Started), day(pts[len(pts)-1].Started)
	}
	cols := 4
	rows := (mapping.FRCount + cols - 1) / cols
	c.Width = cols*(panelW+panelPad) - panelPad
	c.Height = rows*(panelH+panelPad) - panelPad
	for fr := range mapping.FRCount {
		p := panel{FR: mapping.FRID(fr), X: (fr % cols) * (panelW + panelPad), Y: (fr / cols) * (panelH + panelPad),
			W: panelW, H: panelH, Last: "–", LastT: "–"}
		p.LabelX, p.LabelY = p.X+4, p.Y+14
		plotH := panelH - plotTop - plotBottom
		p.BaseY = p.Y + plotTop + plotH
		p.RightX = p.X + panelW - plotRight
		y := func(l int) int { return p.BaseY - l*plotH/mapping.MaxLevel }
		x := func(i int) int {
			if len(pts) <= 1 {
				return p.X + plotLeft + (panelW-plotLeft-plotRight)/2
			}
			return p.X + plotLeft + i*(panelW-plotLeft-plotRight)/(len(pts)-1)
		}
		for l := 0; l <= mapping.MaxLevel; l++ {
			p.Grid = append(p.Grid, gridLine{Y: y(l), Label: strconv.Itoa(l)})
		}
		var seg, tseg []dot
		flush := func() {
			switch len(seg) {
			case 0:
			case 1:
				p.Dots = append(p.Dots, seg[0])
			default:
				p.Achieved = append(p.Achieved, polyline(seg))
			}
			seg = nil
		}
		for i, fp := range pts {
			tseg = append(tseg, dot{x(i), y(fp.Target[fr])})
			if fp.Achieved == nil {
				flush()
				continue
			}
			seg = append(seg, dot{x(i), y(fp.Achieved[fr])})
		}
		flush()
		if len(tseg) == 1 { // one sweep: a short target mark around its point
			tseg = []dot{{tseg[0].X - 20, tseg[0].Y}, {tseg[0].X + 20, tseg[0].Y}}
		}
		if len(tseg) > 0 {
			p.Target = []string{polyline(tseg)}
			last := pts[len(pts)-1]
			p.LastT = strconv.Itoa(last.Target[fr])
			if last.Achieved != nil {
				p.Last = strconv.Itoa(last.Achieved[fr])
			}
		}
		c.Panels = append(c.Panels, p)
	}
	return c
}
