package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d (go test ./report -update rewrites it):\n got: %.300s\nwant: %.300s", name, i+1, g, w)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	_, r, _ := buildFixture(t)
	for _, tc := range []struct {
		name, file string
		write      func(io.Writer) error
	}{
		{"html", "report.html.golden", r.WriteHTML},
		{"json", "report.json.golden", r.WriteJSON},
		{"csv", "report.csv.golden", r.WriteCSV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, buf.Bytes())
		})
	}
}

func assetByName(t *testing.T, r *Report, prefix string) *Asset {
	t.Helper()
	for i := range r.Assets {
		if strings.HasPrefix(r.Assets[i].Name, prefix) {
			return &r.Assets[i]
		}
	}
	t.Fatalf("no asset %s in the report", prefix)
	return nil
}

func requirement(t *testing.T, a *Asset, id string) Requirement {
	t.Helper()
	for _, r := range a.Requirements {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("%s: no requirement %s", a.Name, id)
	return Requirement{}
}

func countermeasure(t *testing.T, r *Report, id string) Countermeasure {
	t.Helper()
	for _, c := range r.Countermeasures {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no countermeasure %s", id)
	return Countermeasure{}
}

// TestBuildModel checks the model itself, independently of the renderers.
func TestBuildModel(t *testing.T) {
	_, r, _ := buildFixture(t)
	cat := mapping.DefaultCatalog()

	t.Run("summary", func(t *testing.T) {
		s := r.Summary
		if s.Assets != 5 || s.ByStatus[probes.StatusOK] != 4 || s.ByStatus[probes.StatusUnreachable] != 1 {
			t.Errorf("assets %d by status %v", s.Assets, s.ByStatus)
		}
		if s.NotAssessed != 1 || s.AtTarget+s.BelowTarget != 4 {
			t.Errorf("at %d below %d not assessed %d", s.AtTarget, s.BelowTarget, s.NotAssessed)
		}
		if s.Checks[checks.Fail] == 0 || s.Checks[checks.Error] != 1 {
			t.Errorf("checks %v: want failures and the one error of hist-01", s.Checks)
		}
		if s.Achieved == nil || s.Achieved[0] > s.Target[0] {
			t.Errorf("fleet SL-A %v SL-T %v", s.Achieved, s.Target)
		}
		if r.Sweep.ID != 2 || r.Schema != SchemaVersion || !r.Generated.Equal(fixedNow) {
			t.Errorf("sweep %d schema %s generated %s", r.Sweep.ID, r.Schema, r.Generated)
		}
	})
	t.Run("unreachable asset claims nothing", func(t *testing.T) {
		a := assetByName(t, r, "plc-03")
		if a.Assessed() || a.Achieved != nil || a.Potential != nil || a.Variance != nil || a.BelowTarget {
			t.Errorf("plc-03: %+v", a)
		}
		if len(a.Requirements) != len(cat.Items) {
			t.Fatalf("plc-03 has %d requirements, want every catalog item (%d)", len(a.Requirements), len(cat.Items))
		}
		for _, req := range a.Requirements {
			if req.State != mapping.Unknown {
				t.Fatalf("plc-03 %s is %s, want unknown", req.ID, req.State)
			}
		}
		if a.Coverage[0].Assessed != 0 || a.Coverage[0].Holding != 0 || a.Coverage[0].Selected == 0 {
			t.Errorf("plc-03 coverage %+v", a.Coverage)
		}
	})
	t.Run("requirements in catalog order with titles", func(t *testing.T) {
		a := assetByName(t, r, "hist-01")
		if len(a.Requirements) != len(cat.Items) {
			t.Fatalf("%d requirements", len(a.Requirements))
		}
		for i, req := range a.Requirements {
			if req.ID != cat.Items[i].ID || req.Title != cat.Items[i].Title || req.Level != cat.Items[i].MinLevel() {
				t.Fatalf("requirement %d: %+v, want %s %q", i, req, cat.Items[i].ID, cat.Items[i].Title)
			}
		}
		if got := requirement(t, a, "SR 1.7 RE 1"); got.State != mapping.NotMet || !strings.Contains(got.Reason, "99999 > 90") {
			t.Errorf("SR 1.7 RE 1: %+v", got)
		}
		if got := requirement(t, a, "SR 1.1"); got.State != mapping.Unknown {
			t.Errorf("SR 1.1 with an errored check: %+v", got)
		}
	})
	t.Run("findings carry evidence and requirements", func(t *testing.T) {
		a := assetByName(t, r, "hist-01")
		var ids []string
		for _, f := range a.Findings {
			ids = append(ids, f.ID)
			if f.Status != checks.Fail && f.Status != checks.Error {
				t.Errorf("finding %s has status %s", f.ID, f.Status)
			}
		}
		want := []string{"linux.acct.no_empty_passwords", "linux.pw.min_length", "linux.pw.max_age", "linux.auth.lockout", "linux.ssh.banner"}
		for _, w := range want {
			if !slices.Contains(ids, w) {
				t.Errorf("finding %s missing from %v", w, ids)
			}
		}
		for _, f := range a.Findings {
			if f.ID == "linux.pw.max_age" && (!slices.Equal(f.Requirements, []string{"SR 1.7 RE 1"}) || len(f.Evidence) == 0) {
				t.Errorf("max_age finding: %+v", f)
			}
		}
	})
	t.Run("countermeasures", func(t *testing.T) {
		exp := countermeasure(t, r, "CM-HIST-LOCKOUT")
		if !exp.Expired || exp.DaysLeft >= 0 || len(exp.AppliedTo) != 0 || !slices.Equal(exp.InScope, []string{"hist-01"}) {
			t.Errorf("expired countermeasure: %+v", exp)
		}
		if a := assetByName(t, r, "hist-01"); !slices.Equal(a.Expired, []string{"CM-HIST-LOCKOUT"}) || requirement(t, a, "SR 1.11").State != mapping.NotMet {
			t.Errorf("hist-01 expired %v, SR 1.11 %+v", a.Expired, requirement(t, a, "SR 1.11"))
		}
		pw := countermeasure(t, r, "CM-HMI-PW")
		if pw.Expired || !slices.Equal(pw.AppliedTo, []string{"hmi-01"}) || pw.RequirementTitle == "" {
			t.Errorf("valid countermeasure: %+v", pw)
		}
		if got := requirement(t, assetByName(t, r, "hmi-01"), "SR 1.7"); got.State != mapping.Compensated || got.Countermeasure != "CM-HMI-PW" {
			t.Errorf("hmi-01 SR 1.7: %+v", got)
		}
		att := countermeasure(t, r, "ATT-CELL3-SEG")
		if !slices.Equal(att.AppliedTo, []string{"hmi-01"}) || !slices.Equal(att.InScope, []string{"hmi-01", "plc-03"}) {
			t.Errorf("attestation: %+v", att)
		}
	})
	t.Run("countermeasures without inventory", func(t *testing.T) {
		st, _ := populate(t)
		r2, err := Build(t.Context(), st, definitions(t), Options{Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		c := countermeasure(t, r2, "CM-HMI-PW")
		if c.Known || c.Expired || !slices.Equal(c.AppliedTo, []string{"hmi-01"}) {
			t.Errorf("countermeasure known only from a stored state: %+v", c)
		}
		if len(assetByName(t, r2, "hist-01").Expired) != 0 {
			t.Error("expired countermeasures reported without any given")
		}
	})
	t.Run("variance per zone and role", func(t *testing.T) {
		var cell3 *Group
		for i := range r.Zones {
			if r.Zones[i].Name == "cell-3" {
				cell3 = &r.Zones[i]
			}
		}
		if cell3 == nil || cell3.Assets != 2 || cell3.Assessed != 1 || cell3.Achieved == nil || cell3.Variance == nil {
			t.Fatalf("zone cell-3: %+v", cell3)
		}
		hmi := assetByName(t, r, "hmi-01")
		if *cell3.Achieved != *hmi.Achieved {
			t.Errorf("cell-3 SL-A %v, want hmi-01's %v (plc-03 was not assessed)", cell3.Achieved, hmi.Achieved)
		}
		for _, g := range r.Roles {
			if g.Name == "plc" && (g.Achieved != nil || g.Variance != nil || g.Assessed != 0) {
				t.Errorf("role plc with no assessed asset: %+v", g)
			}
		}
	})
	t.Run("coverage", func(t *testing.T) {
		if len(r.Coverage.Manual) == 0 || len(r.Coverage.Unknown) == 0 {
			t.Fatalf("coverage: %d manual, %d unknown", len(r.Coverage.Manual), len(r.Coverage.Unknown))
		}
		for _, p := range r.Coverage.Manual {
			if slices.Contains(p.Assets, "plc-03") {
				t.Errorf("%s: the unreachable asset is not a manual-assessment item", p.ID)
			}
		}
		l1 := r.Coverage.Levels[0]
		if l1.Selected != 4*len(cat.SelectedAt(1)) || l1.Assessed > l1.Selected || l1.Holding > l1.Assessed+l1.Selected {
			t.Errorf("SL 1 coverage %+v", l1)
		}
	})
	t.Run("drift", func(t *testing.T) {
		if len(r.Drift.Fleet) != 2 || r.Drift.Fleet[0].SweepID != 1 || r.Drift.Fleet[1].Failed != 1 {
			t.Fatalf("fleet drift: %+v", r.Drift.Fleet)
		}
		for i, ad := range r.Drift.Assets {
			if ad.Name != r.Assets[i].Name || len(ad.Points) != 2 {
				t.Errorf("drift of %s: %+v", ad.Name, ad.Points)
			}
		}
		hist := r.Drift.Assets[slices.IndexFunc(r.Drift.Assets, func(a AssetDrift) bool { return a.Name == "hist-01" })]
		if len(hist.Changes) == 0 || hist.Changes[0].SweepID != 2 {
			t.Errorf("hist-01 changes: %+v", hist.Changes)
		}
		plc := r.Drift.Assets[slices.IndexFunc(r.Drift.Assets, func(a AssetDrift) bool { return a.Name == "plc-03" })]
		if plc.Points[1].Achieved != nil || plc.Points[1].Status != probes.StatusUnreachable || len(plc.Changes) != 0 {
			t.Errorf("plc-03 drift: %+v", plc)
		}
	})
}

func TestBuildOptions(t *testing.T) {
	st, cms := populate(t)
	defs := definitions(t)
	tests := []struct {
		name    string
		opts    Options
		wantErr error
		check   func(t *testing.T, r *Report)
	}{
		{name: "first sweep", opts: Options{SweepID: 1, Now: fixedNow, Countermeasures: cms}, check: func(t *testing.T, r *Report) {
			if r.Sweep.ID != 1 || r.Summary.ByStatus[probes.StatusOK] != 5 || len(r.Drift.Fleet) != 1 {
				t.Errorf("sweep %d, statuses %v, %d drift points", r.Sweep.ID, r.Summary.ByStatus, len(r.Drift.Fleet))
			}
		}},
		{name: "short history window", opts: Options{HistoryDays: 3, Now: fixedNow}, check: func(t *testing.T, r *Report) {
			if len(r.Drift.Fleet) != 1 || r.Drift.Fleet[0].SweepID != 2 || r.HistoryDays != 3 {
				t.Errorf("3-day window: %+v", r.Drift.Fleet)
			}
			if !r.Drift.Since.Equal(r.Sweep.Started.AddDate(0, 0, -3)) {
				t.Errorf("since %s", r.Drift.Since)
			}
		}},
		{name: "default window", opts: Options{Now: fixedNow}, check: func(t *testing.T, r *Report) {
			if r.HistoryDays != DefaultHistoryDays {
				t.Errorf("history days %d", r.HistoryDays)
			}
		}},
		{name: "missing sweep", opts: Options{SweepID: 99}, wantErr: store.ErrNotFound},
		{name: "negative window", opts: Options{HistoryDays: -1}, wantErr: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Build(t.Context(), st, defs, tc.opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
	t.Run("empty database", func(t *testing.T) {
		_, err := Build(t.Context(), openStore(t, &clock{now: fixedNow}), defs, Options{})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("error %v, want store.ErrNotFound", err)
		}
	})
	t.Run("nil definitions", func(t *testing.T) {
		if _, err := Build(t.Context(), st, nil, Options{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v, want ErrInvalid", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := Build(ctx, st, defs, Options{}); err == nil {
			t.Fatal("Build ignored a cancelled context")
		}
	})
}

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	_, r, _ := buildFixture(t)
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, p := range activeOrExternal(html) {
		t.Error(p)
	}
	for _, want := range []string{
		"rogue-7 &#34;test&#34; &lt;script&gt;alert(1)&lt;/script&gt;",
		"&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;",
		"&lt;img src=x onerror=&#34;document.title=&#39;pwned&#39;&#34;&gt;",
		"=cmd|&#39; /C calc&#39;!A0",
		"@media print", "break-before: page", "<svg",
		"EXPIRED", "Compensating countermeasures",
		cellOf(mapping.DefaultCatalog(), "SR 1.7 RE 1"),
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// activeOrExternal lists every element, attribute or style rule of doc that
// could run script or make the browser fetch something: script, img, link,
// iframe and similar elements, event handler attributes, src-like attributes,
// links that leave the document, url() and @import in CSS.
func activeOrExternal(doc string) []string {
	var problems []string
	z := xhtml.NewTokenizer(strings.NewReader(doc))
	inStyle := false
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return problems
		case xhtml.TextToken:
			if inStyle {
				css := strings.ToLower(string(z.Text()))
				for _, bad := range []string{"url(", "@import", "@font-face"} {
					if strings.Contains(css, bad) {
						problems = append(problems, "style sheet uses "+bad)
					}
				}
			}
		case xhtml.EndTagToken:
			inStyle = false
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			tok := z.Token()
			inStyle = tok.Data == "style"
			switch tok.Data {
			case "script", "img", "link", "iframe", "frame", "object", "embed", "base", "audio", "video",
				"source", "track", "form", "image", "use", "foreignobject":
				problems = append(problems, "element <"+tok.Data+">")
			}
			for _, a := range tok.Attr {
				k, v := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case strings.HasPrefix(k, "on"):
					problems = append(problems, "event handler "+k+" on <"+tok.Data+">")
				case k == "src" || k == "srcset" || k == "data" || k == "poster" || k == "action" ||
					k == "formaction" || k == "background" || k == "xlink:href" || k == "ping":
					problems = append(problems, "attribute "+k+" on <"+tok.Data+">")
				case k == "href" && !strings.HasPrefix(v, "#") && (!strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//")):
					problems = append(problems, "link out of the document: "+a.Val)
				case k == "style" && strings.Contains(v, "url("):
					problems = append(problems, "inline style with url() on <"+tok.Data+">")
				case k == "http-equiv" && v == "refresh":
					problems = append(problems, "meta refresh")
				case k == "xmlns" && v != "http://www.w3.org/2000/svg":
					problems = append(problems, "namespace "+v)
				}
			}
		}
	}
}

// TestActiveOrExternal proves the checker above finds what it looks for.
func TestActiveOrExternal(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		bad       bool
	}{
		{"clean", `<p class="x">text &lt;script&gt;</p><a href="#asset-1">a</a><a href="/sweeps">s</a><svg xmlns="http://www.w3.org/2000/svg"></svg>`, false},
		{"script", `<p>x</p><script>alert(1)</script>`, true},
		{"image", `<img src="http://example.invalid/x.png">`, true},
		{"style sheet link", `<link rel="stylesheet" href="https://cdn.example.invalid/a.css">`, true},
		{"event handler", `<p onclick="x()">x</p>`, true},
		{"font in css", `<style>@font-face { src: url(http://example.invalid/f.woff) }</style>`, true},
		{"import in css", `<style>@import "https://example.invalid/a.css";</style>`, true},
		{"external link", `<a href="https://example.invalid/">x</a>`, true},
		{"protocol-relative link", `<a href="//example.invalid/">x</a>`, true},
		{"javascript link", `<a href="javascript:alert(1)">x</a>`, true},
		{"inline style url", `<div style="background: url(http://example.invalid/)">x</div>`, true},
		{"svg image", `<svg xmlns="http://www.w3.org/2000/svg"><image href="http://example.invalid/x.png"/></svg>`, true},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=http://example.invalid/">`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := activeOrExternal(tc.doc); (len(got) > 0) != tc.bad {
				t.Errorf("activeOrExternal = %v, want problems: %v", got, tc.bad)
			}
		})
	}
}

func cellOf(cat *mapping.Catalog, id string) string {
	r, _ := cat.Lookup(id)
	return r.Title
}

func TestCSVNeutralised(t *testing.T) {
	_, r, _ := buildFixture(t)
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVHeader()) {
		t.Fatalf("header %v", rows[0])
	}
	cat := mapping.DefaultCatalog()
	if got, want := len(rows)-1, len(r.Assets)*len(cat.Items); got != want {
		t.Errorf("%d rows, want one per asset and requirement (%d)", got, want)
	}
	var sawAddress, sawReason, sawUnreachable bool
	for _, row := range rows[1:] {
		for j, c := range row {
			if c != "" && strings.ContainsRune("=+-@\t\r\n", rune(c[0])) {
				t.Fatalf("cell %s=%q starts with a formula character", rows[0][j], c)
			}
		}
		sawAddress = sawAddress || row[1] == "'=cmd|' /C calc'!A0"
		sawReason = sawReason || strings.HasPrefix(row[8], "'-- no wireless")
		if strings.HasPrefix(row[0], "plc-03") {
			sawUnreachable = true
			if row[7] != "unknown" || row[11] != "" || row[10] == "" {
				t.Errorf("unreachable asset row %v: want state unknown, SL-T set, no SL-A", row)
			}
		}
	}
	if !sawAddress || !sawReason || !sawUnreachable {
		t.Errorf("address neutralised %v, reason neutralised %v, unreachable rows %v", sawAddress, sawReason, sawUnreachable)
	}
}

func TestNeutralize(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", ""},
		{"plain", "hist-01", "hist-01"},
		{"equals", "=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"plus", "+1+1", "'+1+1"},
		{"minus", "-2+3", "'-2+3"},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"tab", "\t=1", "'\t=1"},
		{"carriage return", "\r=1", "'\r=1"},
		{"full-width equals", "＝1+1", "'＝1+1"},
		{"inner equals", "a=b", "a=b"},
		{"digit", "2", "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := neutralize(tc.in); got != tc.want {
				t.Errorf("neutralize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// isStatusWord tells map keys that are values (scan, check and requirement
// states), documented as value lists rather than as fields.
func isStatusWord(k string) bool {
	switch k {
	case "ok", "unreachable", "auth-failed", "host-key-mismatch", "timeout", "error",
		"pass", "fail", "not-applicable", "met", "not-met", "compensated", "not-assessable", "unknown":
		return true
	}
	return false
}

func TestJSONSchema(t *testing.T) {
	_, r, _ := buildFixture(t)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script") {
		t.Error("JSON carries unescaped markup")
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// Every key the document uses is documented in docs/report-schema.md.
	schema, err := os.ReadFile(filepath.Join("..", "docs", "report-schema.md"))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if !strings.HasPrefix(k, "FR ") && !isStatusWord(k) {
					keys[k] = true
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	for k := range keys {
		if !strings.Contains(string(schema), "`"+k+"`") {
			t.Errorf("key %q is not documented in docs/report-schema.md", k)
		}
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Assets[0].Name != r.Assets[0].Name || !back.Generated.Equal(fixedNow) {
		t.Error("JSON does not round-trip")
	}
}

// TestBuildSmallSweep: a sweep of one asset in a database of many reads the
// history of that asset only, and still shows its drift.
func TestBuildSmallSweep(t *testing.T) {
	clk := &clock{now: fixedNow.AddDate(0, 0, -2)}
	st := openStore(t, clk)
	ctx := t.Context()
	save := func(names []string, achieved int) {
		sw, err := st.BeginSweep(ctx, "zone", "manual")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			sc := &store.Scan{SweepID: sw.ID, Asset: store.Asset{Name: n, Address: "192.0.2.1", Role: "hmi", Zone: "z", Platform: "linux", Transport: "ssh"},
				Status: probes.StatusOK, Started: clk.Now(), Target: mapping.Vector{2, 2, 2, 2, 2, 2, 2},
				Achieved: mapping.Vector{achieved, 0, 0, 0, 0, 0, 0}, Potential: mapping.Vector{2, 2, 2, 2, 2, 2, 2}}
			if _, err := st.SaveScan(ctx, sc); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.FinishSweep(ctx, sw.ID, store.SweepComplete); err != nil {
			t.Fatal(err)
		}
		clk.Set(clk.Now().Add(24 * time.Hour))
	}
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("host-%02d", i))
	}
	save(many, 1)
	save([]string{"host-07"}, 2)
	r, err := Build(ctx, st, definitions(t), Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Assets) != 1 || len(r.Drift.Assets) != 1 || len(r.Drift.Assets[0].Points) != 2 {
		t.Fatalf("assets %d, drift %+v", len(r.Assets), r.Drift.Assets)
	}
	if ch := r.Drift.Assets[0].Changes; len(ch) != 1 || ch[0].From != 1 || ch[0].To != 2 {
		t.Errorf("changes %+v", ch)
	}
	if len(r.Drift.Fleet) != 2 || r.Drift.Fleet[0].Assessed != 1 {
		t.Errorf("fleet drift counts only the report's assets: %+v", r.Drift.Fleet)
	}
}
