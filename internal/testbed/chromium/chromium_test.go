package chromium

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordsExternalRequests proves the detector: a page that runs a script
// and references an image, a style sheet and a font on other hosts must show
// the script's effect in the DOM and leave every external request recorded.
func TestRecordsExternalRequests(t *testing.T) {
	b := New(t)
	page := filepath.Join(t.TempDir(), "leaky.html")
	html := `<!DOCTYPE html><html><head><title>before</title>
<link rel="stylesheet" href="https://cdn.example.invalid/style.css">
<style>@font-face { font-family: X; src: url(http://fonts.example.invalid/x.woff2); } body { font-family: X; }</style>
</head><body><p>leaky page</p><img src="http://203.0.113.9/pixel.png" alt="">
<script>document.title = "script ran";</script></body></html>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, err := b.DumpDOM(t.Context(), "file://"+page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, "<title>script ran</title>") {
		t.Errorf("DumpDOM does not show the script's effect:\n%s", dom)
	}
	var hosts []string
	for _, r := range b.External() {
		hosts = append(hosts, r.Host)
	}
	all := strings.Join(hosts, " ")
	for _, want := range []string{"cdn.example.invalid", "203.0.113.9"} {
		if !strings.Contains(all, want) {
			t.Errorf("request to %s was not recorded; recorded: %v", want, b.External())
		}
	}
}

// TestLoopbackIsDirect: a server on 127.0.0.1 is reached without the proxy,
// a screenshot is a PNG and nothing external is recorded.
func TestLoopbackIsDirect(t *testing.T) {
	b := New(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>local</title></head><body><h1>served from loopback</h1></body></html>`)
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server is not on 127.0.0.1: %s", srv.URL)
	}
	dom, err := b.DumpDOM(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, "served from loopback") {
		t.Errorf("page not loaded:\n%s", dom)
	}
	shot := filepath.Join(ArtifactDir(t), "loopback.png")
	if err := b.Screenshot(t.Context(), srv.URL, shot); err != nil {
		t.Fatal(err)
	}
	b.AssertNoExternalRequests(t)
}
