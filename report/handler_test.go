package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
	"X-Content-Type-Options":  "nosniff",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "no-referrer",
	"Cache-Control":           "no-store",
}

type request struct {
	method, path string
	header       map[string]string
	basic        []string // user, password
}

func do(t *testing.T, h http.Handler, rq request) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), rq.method, rq.path, nil)
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	if rq.basic != nil {
		req.SetBasicAuth(rq.basic[0], rq.basic[1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	for k, v := range securityHeaders {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s %s: header %s = %q, want %q", rq.method, rq.path, k, got, v)
		}
	}
	return res, string(body)
}

func TestHandlerRoutes(t *testing.T) {
	st, cms := populate(t)
	h := Handler(st, definitions(t), HandlerOptions{Now: func() time.Time { return fixedNow }, Countermeasures: cms})
	tests := []struct {
		name     string
		rq       request
		status   int
		ctype    string
		contains []string
		absent   []string
	}{
		{"dashboard", request{method: "GET", path: "/"}, 200, "text/html", []string{"Sweep 2", "hist-01", "/report.csv?sweep=2",
			"rogue-7 &#34;test&#34; &lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script"}},
		{"head", request{method: "HEAD", path: "/"}, 200, "text/html", nil, nil},
		{"sweep list", request{method: "GET", path: "/sweeps"}, 200, "text/html", []string{`href="/sweeps/1"`, `href="/sweeps/2"`, "unreachable: 1"}, nil},
		{"older sweep", request{method: "GET", path: "/sweeps/1"}, 200, "text/html", []string{"Sweep 1", "plc-03"}, nil},
		{"missing sweep", request{method: "GET", path: "/sweeps/42"}, 404, "text/plain", nil, nil},
		{"bad sweep number", request{method: "GET", path: "/sweeps/x"}, 400, "text/plain", nil, nil},
		{"json latest", request{method: "GET", path: "/api/report"}, 200, "application/json", []string{`"schema": "otsweep.report/v1"`, `"id": 2`}, []string{"<script"}},
		{"json sweep 1", request{method: "GET", path: "/api/report?sweep=1"}, 200, "application/json", []string{`"id": 1`}, nil},
		{"json bad sweep", request{method: "GET", path: "/api/report?sweep=-3"}, 400, "text/plain", nil, nil},
		{"json missing sweep", request{method: "GET", path: "/api/report?sweep=9"}, 404, "text/plain", nil, nil},
		{"sweeps json", request{method: "GET", path: "/api/sweeps"}, 200, "application/json", []string{`"unreachable": 1`}, nil},
		{"csv", request{method: "GET", path: "/report.csv?sweep=latest"}, 200, "text/csv", []string{"'=cmd|' /C calc'!A0"}, []string{",=cmd"}},
		{"healthz", request{method: "GET", path: "/healthz"}, 200, "text/plain", []string{"ok"}, nil},
		{"unknown path", request{method: "GET", path: "/admin"}, 404, "text/plain", nil, nil},
		{"post", request{method: "POST", path: "/"}, 405, "text/plain", nil, nil},
		{"put api", request{method: "PUT", path: "/api/report"}, 405, "text/plain", nil, nil},
		{"delete sweep", request{method: "DELETE", path: "/sweeps/1"}, 405, "text/plain", nil, nil},
		{"options", request{method: "OPTIONS", path: "/"}, 405, "text/plain", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(t, h, tc.rq)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", res.StatusCode, tc.status, body)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("content type %q, want %s", ct, tc.ctype)
			}
			if tc.status == 405 && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", res.Header.Get("Allow"))
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("body contains %q", s)
				}
			}
		})
	}
	t.Run("csv parses and is neutralised", func(t *testing.T) {
		_, body := do(t, h, request{method: "GET", path: "/report.csv"})
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			for _, c := range row {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Fatalf("cell %q is not neutralised", c)
				}
			}
		}
	})
	t.Run("json is the report", func(t *testing.T) {
		_, body := do(t, h, request{method: "GET", path: "/api/report?sweep=2"})
		var r Report
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Assets) != 5 || r.Summary.ByStatus[probes.StatusUnreachable] != 1 {
			t.Errorf("assets %d, statuses %v", len(r.Assets), r.Summary.ByStatus)
		}
	})
}

func TestHandlerAuth(t *testing.T) {
	st, _ := populate(t)
	defs := definitions(t)
	now := func() time.Time { return fixedNow }
	token := "s3cret-t0ken-value"
	tests := []struct {
		name   string
		opts   HandlerOptions
		rq     request
		status int
	}{
		{"token: none given", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "GET", path: "/"}, 401},
		{"token: wrong", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "GET", path: "/", header: map[string]string{"Authorization": "Bearer " + token + "x"}}, 401},
		{"token: prefix", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "GET", path: "/", header: map[string]string{"Authorization": "Bearer " + token[:5]}}, 401},
		{"token: wrong scheme", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "GET", path: "/", header: map[string]string{"Authorization": "Token " + token}}, 401},
		{"token: as basic password", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "GET", path: "/", basic: []string{"x", token}}, 401},
		{"token: right", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "GET", path: "/", header: map[string]string{"Authorization": "Bearer " + token}}, 200},
		{"token: scheme case", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "GET", path: "/api/report", header: map[string]string{"Authorization": "bearer " + token}}, 200},
		{"token: healthz needs it too", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "GET", path: "/healthz"}, 401},
		{"token: post with token", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "POST", path: "/", header: map[string]string{"Authorization": "Bearer " + token}}, 405},
		{"token: post without", HandlerOptions{Token: probes.NewSecret(token)}, request{method: "POST", path: "/"}, 401},
		{"basic: none", HandlerOptions{BasicUser: "auditor", BasicPassword: probes.NewSecret("pw-1")}, request{method: "GET", path: "/"}, 401},
		{"basic: wrong password", HandlerOptions{BasicUser: "auditor", BasicPassword: probes.NewSecret("pw-1")}, request{method: "GET", path: "/", basic: []string{"auditor", "pw-2"}}, 401},
		{"basic: wrong user", HandlerOptions{BasicUser: "auditor", BasicPassword: probes.NewSecret("pw-1")}, request{method: "GET", path: "/", basic: []string{"admin", "pw-1"}}, 401},
		{"basic: right", HandlerOptions{BasicUser: "auditor", BasicPassword: probes.NewSecret("pw-1")}, request{method: "GET", path: "/report.csv", basic: []string{"auditor", "pw-1"}}, 200},
		{"basic: user without password locks", HandlerOptions{BasicUser: "auditor"}, request{method: "GET", path: "/", basic: []string{"auditor", ""}}, 401},
		{"both: token works", HandlerOptions{Token: probes.NewSecret(token), BasicUser: "auditor", BasicPassword: probes.NewSecret("pw-1")}, request{method: "GET", path: "/sweeps", header: map[string]string{"Authorization": "Bearer " + token}}, 200},
		{"both: basic works", HandlerOptions{Token: probes.NewSecret(token), BasicUser: "auditor", BasicPassword: probes.NewSecret("pw-1")}, request{method: "GET", path: "/sweeps", basic: []string{"auditor", "pw-1"}}, 200},
		{"none configured", HandlerOptions{}, request{method: "GET", path: "/healthz"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Now = now
			res, body := do(t, Handler(st, defs, tc.opts), tc.rq)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.200s", res.StatusCode, tc.status, body)
			}
			if tc.status == 401 {
				if res.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if strings.Contains(body, "hist-01") {
					t.Error("401 response leaks report content")
				}
			}
			if strings.Contains(body, token) {
				t.Error("response contains the token")
			}
		})
	}
}

func TestHandlerEmptyDatabase(t *testing.T) {
	h := Handler(openStore(t, &clock{now: fixedNow}), definitions(t), HandlerOptions{Now: func() time.Time { return fixedNow }})
	for _, tc := range []struct {
		name, path string
		status     int
		contains   string
	}{
		{"dashboard", "/", 200, "No sweep has been recorded"},
		{"sweeps", "/sweeps", 200, "No sweep has been recorded"},
		{"api", "/api/report", 404, "no such sweep"},
		{"api sweeps", "/api/sweeps", 200, "[]"},
		{"csv", "/report.csv", 404, "no such sweep"},
		{"healthz", "/healthz", 200, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(t, h, request{method: "GET", path: tc.path})
			if res.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Errorf("status %d body %.200q, want %d containing %q", res.StatusCode, body, tc.status, tc.contains)
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	for _, tc := range []struct {
		name          string
		addr          string
		authenticated bool
		wantErr       error
	}{
		{"loopback v4", "127.0.0.1:8443", false, nil},
		{"loopback range", "127.0.0.2:8443", false, nil},
		{"loopback v6", "[::1]:8443", false, nil},
		{"localhost", "localhost:8443", false, nil},
		{"all interfaces", ":8443", false, ErrUnprotected},
		{"unspecified v4", "0.0.0.0:8443", false, ErrUnprotected},
		{"unspecified v6", "[::]:8443", false, ErrUnprotected},
		{"lan address", "192.0.2.10:8443", false, ErrUnprotected},
		{"lan with credentials", "192.0.2.10:8443", true, nil},
		{"all with credentials", ":8443", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckListen(t.Context(), tc.addr, tc.authenticated)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("CheckListen(%q, %v) = %v, want %v", tc.addr, tc.authenticated, err, tc.wantErr)
			}
		})
	}
	t.Run("malformed", func(t *testing.T) {
		if err := CheckListen(t.Context(), "127.0.0.1", false); err == nil {
			t.Fatal("accepted an address without port")
		}
	})
}

func TestServeAndShutdown(t *testing.T) {
	st, _ := populate(t)
	ln, err := Listen(t.Context(), "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, Handler(st, definitions(t), HandlerOptions{Now: func() time.Time { return fixedNow }}), nil, nil)
	}()
	url := "http://" + ln.Addr().String()
	res, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(body, []byte("ok\n")) {
		t.Fatalf("healthz: %d %q", res.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after shutdown: %v", err)
		}
	case <-time.After(ShutdownTimeout + 5*time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("listener still accepts after shutdown")
	}
}
