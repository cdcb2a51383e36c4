package report

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/internal/testbed/chromium"
)

// domChecks asserts what a rendered report must show in the browser's DOM:
// asset names, SL cells and a requirement title, the hostile host data as
// inert text, and no trace of it having run.
func domChecks(t *testing.T, dom string) {
	t.Helper()
	for _, want := range []string{
		"hist-01", "hmi-01", "plc-03", // asset names
		">0/3<", ">1/1<", // SL-A/SL-T heat map cells
		"Strength of password-based authentication", // a requirement title
		"EXPIRED",
		// The payloads arrive as text.
		"rogue-7 \"test\" &lt;script&gt;alert(1)&lt;/script&gt;",
		"&lt;script&gt;document.title='pwned'&lt;/script&gt;",
		"=cmd|' /C calc'!A0",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}
	lower := strings.ToLower(dom)
	if strings.Contains(lower, "<script") || strings.Contains(lower, "<img") {
		t.Error("the rendered DOM holds a script or img element: host data was not escaped")
	}
	start, end := strings.Index(dom, "<title>"), strings.Index(dom, "</title>")
	if start < 0 || end < start {
		t.Fatal("no title in the DOM")
	}
	if title := dom[start+len("<title>") : end]; !strings.HasPrefix(title, "otsweep report · sweep 2") || strings.Contains(title, "pwned") {
		t.Errorf("document title %q: an injected script changed it", title)
	}
}

// TestBrowserReportFile opens the HTML report as a file in headless Chromium.
func TestBrowserReportFile(t *testing.T) {
	b := chromium.New(t)
	_, r, _ := buildFixture(t)
	dir := chromium.ArtifactDir(t)
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page
	dom, err := b.DumpDOM(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	domChecks(t, dom)
	if err := b.Screenshot(t.Context(), url, filepath.Join(dir, "report.png")); err != nil {
		t.Fatal(err)
	}
	// The print style sheet: the audit document as the browser prints it.
	if err := b.PrintPDF(t.Context(), url, filepath.Join(dir, "report.pdf")); err != nil {
		t.Fatal(err)
	}
	b.AssertNoExternalRequests(t)
	t.Logf("artifacts in %s", dir)
}

// TestBrowserDashboard opens the live dashboard on loopback in headless
// Chromium.
func TestBrowserDashboard(t *testing.T) {
	b := chromium.New(t)
	st, cms := populate(t)
	srv := httptest.NewServer(Handler(st, definitions(t), HandlerOptions{Now: func() time.Time { return fixedNow }, Countermeasures: cms}))
	defer srv.Close()
	dir := chromium.ArtifactDir(t)
	dom, err := b.DumpDOM(t.Context(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	domChecks(t, dom)
	if !strings.Contains(dom, `href="/sweeps"`) || !strings.Contains(dom, `href="/report.csv?sweep=2"`) {
		t.Error("the dashboard lacks its navigation")
	}
	list, err := b.DumpDOM(t.Context(), srv.URL+"/sweeps")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, `href="/sweeps/1"`) || !strings.Contains(list, "complete") {
		t.Errorf("sweep list: %.500s", list)
	}
	if err := b.Screenshot(t.Context(), srv.URL+"/", filepath.Join(dir, "dashboard.png")); err != nil {
		t.Fatal(err)
	}
	b.AssertNoExternalRequests(t)
}
