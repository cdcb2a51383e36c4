package notify

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/store"
)

// SweepInfo names the sweep a digest reports on.
type SweepInfo struct {
	ID       int64
	Name     string
	Status   string // complete | partial
	Started  time.Time
	Finished time.Time
}

// kindLabels are the headings of drift kinds in a digest.
var kindLabels = map[string]string{
	store.DriftNewAsset:     "new asset",
	store.DriftAssetRemoved: "asset removed from the inventory",
	store.DriftUnreachable:  "asset newly unreachable",
	store.DriftReachable:    "asset reachable again",
	store.DriftCheckFailing: "check newly failing",
	store.DriftCheckPassing: "check newly passing",
	store.DriftCheckChanged: "check status changed",
	store.DriftRequirement:  "requirement state changed",
	store.DriftLevel:        "SL-A changed",
	store.DriftFact:         "tracked fact changed",
}

// digestItem is one event as the templates show it. Every string from a host
// or the inventory is cleaned of control characters here, and escaped by
// html/template in the HTML part.
type digestItem struct {
	N            int
	Regression   bool
	Asset, Zone  string
	Kind         string
	Subject      string
	Title        string
	FR           string
	FRTitles     []string
	Requirements []requirementRef
	Before       string
	After        string
	Seen         string
	ScanID       int64
}

type requirementRef struct{ ID, Title string }

type digestData struct {
	Sweep       SweepInfo
	Started     string
	Finished    string
	Regressions []digestItem
	Others      []digestItem
	Assets      int
}

// clean replaces control characters (terminal escapes, CR, NUL …) with a
// space, so text from a host cannot forge lines or headers.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// orderEvents sorts regressions first, then by asset, kind (in
// store.DriftKinds order) and subject.
func orderEvents(events []store.DriftEvent) []store.DriftEvent {
	out := slices.Clone(events)
	rank := func(k string) int {
		if i := slices.Index(store.DriftKinds, k); i >= 0 {
			return i
		}
		return len(store.DriftKinds)
	}
	slices.SortStableFunc(out, func(a, b store.DriftEvent) int {
		switch {
		case a.Regression != b.Regression:
			if a.Regression {
				return -1
			}
			return 1
		case a.Asset != b.Asset:
			return strings.Compare(a.Asset, b.Asset)
		case a.Kind != b.Kind:
			return rank(a.Kind) - rank(b.Kind)
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	return out
}

func frTitle(cat *mapping.Catalog, id string) string {
	if cat != nil {
		for _, f := range cat.FRs {
			if f.ID == id {
				return f.ID + " " + f.Title
			}
		}
	}
	return id
}

func newItem(n int, e store.DriftEvent, cat *mapping.Catalog) digestItem {
	it := digestItem{N: n, Regression: e.Regression, Asset: clean(e.Asset), Zone: clean(e.Zone), Kind: kindLabels[e.Kind],
		Subject: clean(e.Subject), Title: clean(e.Title), FR: e.FR, Before: clean(e.Before), After: clean(e.After),
		Seen: fmtTime(e.At), ScanID: e.ScanID}
	if it.Kind == "" {
		it.Kind = clean(e.Kind)
	}
	if e.FR != "" {
		for _, fr := range strings.Split(e.FR, ", ") {
			it.FRTitles = append(it.FRTitles, frTitle(cat, fr))
		}
	}
	for _, id := range e.Requirements {
		ref := requirementRef{ID: id}
		if cat != nil {
			if r, ok := cat.Lookup(id); ok {
				ref.Title = r.Title
			}
		}
		it.Requirements = append(it.Requirements, ref)
	}
	return it
}

// BuildDigest renders the digest of one sweep's drift events: a subject, a
// plain-text body and an HTML body, regressions first. Titles of FRs and
// SRs/REs come from cat (nil: ids only). The message has no recipients.
func BuildDigest(sw SweepInfo, events []store.DriftEvent, cat *mapping.Catalog, subjectPrefix string) (Message, error) {
	d := digestData{Sweep: sw, Started: fmtTime(sw.Started), Finished: fmtTime(sw.Finished)}
	d.Sweep.Name = clean(sw.Name)
	assets := map[string]bool{}
	for i, e := range orderEvents(events) {
		it := newItem(i+1, e, cat)
		assets[e.Asset] = true
		if e.Regression {
			d.Regressions = append(d.Regressions, it)
		} else {
			d.Others = append(d.Others, it)
		}
	}
	d.Assets = len(assets)
	if subjectPrefix == "" {
		subjectPrefix = "[otsweep]"
	}
	subject := fmt.Sprintf("%s %s: %d regression(s), %d other change(s) on %d asset(s)",
		subjectPrefix, d.Sweep.Name, len(d.Regressions), len(d.Others), d.Assets)
	var text, html bytes.Buffer
	if err := textDigest.Execute(&text, d); err != nil {
		return Message{}, fmt.Errorf("render digest text: %w", err)
	}
	if err := htmlDigest.Execute(&html, d); err != nil {
		return Message{}, fmt.Errorf("render digest html: %w", err)
	}
	return Message{Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

const textItem = `{{define "item"}}
[{{.N}}] {{.Asset}}{{if .Zone}} (zone {{.Zone}}){{end}}: {{.Kind}}{{if .Subject}}: {{.Subject}}{{end}}{{if .Title}} - {{.Title}}{{end}}
{{- range .FRTitles}}
    FR:      {{.}}{{end}}
{{- range .Requirements}}
    SR/RE:   {{.ID}}{{if .Title}} {{.Title}}{{end}}{{end}}
{{- if .Before}}
    Before:  {{.Before}}{{end}}
    After:   {{.After}}
    Seen:    {{.Seen}}{{if .ScanID}} (scan {{.ScanID}}){{end}}
{{end}}`

var textDigest = texttemplate.Must(texttemplate.New("digest").Parse(textItem + `otsweep drift digest: sweep "{{.Sweep.Name}}"{{if .Sweep.ID}} (#{{.Sweep.ID}}){{end}}{{if .Sweep.Status}}, {{.Sweep.Status}}{{end}}
Started {{.Started}}, finished {{.Finished}}.
{{len .Regressions}} regression(s) and {{len .Others}} other change(s) on {{.Assets}} asset(s).
Each change is reported once, in the sweep that first saw it.
{{if .Regressions}}
REGRESSIONS
==========={{range .Regressions}}{{template "item" .}}{{end}}{{end}}
{{- if .Others}}
OTHER CHANGES
============={{range .Others}}{{template "item" .}}{{end}}{{end}}
--
Sent by otsweep. List all changes with: otsweep drift --since 7d
`))

var htmlDigest = htmltemplate.Must(htmltemplate.New("digest").Parse(`{{define "item"}}
<table class="item{{if .Regression}} reg{{end}}">
<tr><th colspan="2">[{{.N}}] {{.Asset}}{{if .Zone}} <span class="zone">(zone {{.Zone}})</span>{{end}}: {{.Kind}}{{if .Subject}}: <code>{{.Subject}}</code>{{end}}{{if .Title}} &ndash; {{.Title}}{{end}}</th></tr>
{{- range .FRTitles}}
<tr><td class="k">FR</td><td>{{.}}</td></tr>{{end}}
{{- range .Requirements}}
<tr><td class="k">SR/RE</td><td>{{.ID}}{{if .Title}} {{.Title}}{{end}}</td></tr>{{end}}
{{- if .Before}}
<tr><td class="k">Before</td><td><code>{{.Before}}</code></td></tr>{{end}}
<tr><td class="k">After</td><td><code>{{.After}}</code></td></tr>
<tr><td class="k">Seen</td><td>{{.Seen}}{{if .ScanID}} (scan {{.ScanID}}){{end}}</td></tr>
</table>
{{end}}<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>otsweep drift digest</title>
<style>
body{font-family:sans-serif;font-size:14px;color:#222}
table.item{border-collapse:collapse;margin:0 0 12px 0;width:100%;border-left:4px solid #888}
table.item.reg{border-left-color:#c00}
th{text-align:left;padding:4px 8px;background:#f2f2f2}
td{padding:2px 8px;vertical-align:top}
td.k{width:70px;color:#555}
code{white-space:pre-wrap;word-break:break-word}
h2.reg{color:#c00}
</style></head><body>
<h1>otsweep drift digest</h1>
<p>Sweep <b>{{.Sweep.Name}}</b>{{if .Sweep.ID}} (#{{.Sweep.ID}}){{end}}{{if .Sweep.Status}}, {{.Sweep.Status}}{{end}}: started {{.Started}}, finished {{.Finished}}.<br>
{{len .Regressions}} regression(s) and {{len .Others}} other change(s) on {{.Assets}} asset(s). Each change is reported once, in the sweep that first saw it.</p>
{{if .Regressions}}<h2 class="reg">Regressions</h2>
{{range .Regressions}}{{template "item" .}}{{end}}{{end}}
{{- if .Others}}<h2>Other changes</h2>
{{range .Others}}{{template "item" .}}{{end}}{{end}}
<p style="color:#777">Sent by otsweep. List all changes with <code>otsweep drift --since 7d</code>.</p>
</body></html>
`))
