package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/store"
)

// reportCLI runs otsweep in-process under ctx and returns its exit code,
// stdout and stderr.
func reportCLI(ctx context.Context, t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	code := run(ctx, args, out, errf)
	_ = out.Close()
	_ = errf.Close()
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return code, string(o), string(e)
}

// reportDB writes a database with one sweep: a Linux host scanned with a
// failing check, and an unreachable PLC.
func reportDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "otsweep.db")
	ctx := t.Context()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sw, err := st.BeginSweep(ctx, "on-demand", "manual")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	target := mapping.Vector{2, 2, 2, 2, 2, 1, 2}
	scans := []*store.Scan{
		{SweepID: sw.ID, Asset: store.Asset{Name: "hist-01", Address: "192.0.2.10", Role: "historian", Zone: "ops-l3", Platform: "linux", Transport: "ssh"},
			Status: probes.StatusOK, Started: now, Finished: now.Add(time.Second), Target: target,
			Achieved: mapping.Vector{0, 0, 0, 0, 0, 0, 0}, Potential: mapping.Vector{1, 2, 2, 1, 2, 1, 2},
			Checks: []checks.Result{{ID: "linux.pw.max_age", Title: "Passwords expire", Status: checks.Fail, Probe: "L04",
				Expected: "PASS_MAX_DAYS between 1 and 90", Actual: "PASS_MAX_DAYS = 99999", Message: "99999 > 90", Evidence: []string{"PASS_MAX_DAYS\t99999"}}},
			Requirements: []mapping.RequirementResult{
				{ID: "SR 1.7 RE 1", FR: "FR 1", State: mapping.NotMet, Reason: "linux.pw.max_age: 99999 > 90", Controls: []string{"lnx.password-lifetime"}, Checks: []string{"linux.pw.max_age"}},
				{ID: "SR 5.1", FR: "FR 5", State: mapping.NotAssessable, Reason: "no automated control on this platform"},
			}},
		{SweepID: sw.ID, Asset: store.Asset{Name: "plc-03", Address: "=1+2", Role: "plc", Zone: "cell-3", Platform: "snmp", Transport: "snmp"},
			Status: probes.StatusUnreachable, Error: "timeout: unreachable", Started: now, Finished: now.Add(2 * time.Second), Target: target},
	}
	for _, sc := range scans {
		if _, err := st.SaveScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.FinishSweep(ctx, sw.ID, store.SweepComplete); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportCommand(t *testing.T) {
	db := reportDB(t)
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		code     int
		file     string // output file to check
		contains []string
	}{
		{"html by extension", []string{"report", "--db", db, "--out", filepath.Join(dir, "r.html")}, ExitOK, "r.html", []string{"<!DOCTYPE html>", "hist-01", "Password generation and lifetime restrictions"}},
		{"json by extension", []string{"report", "--db", db, "--out", filepath.Join(dir, "r.json")}, ExitOK, "r.json", []string{`"schema": "otsweep.report/v1"`}},
		{"csv", []string{"report", "--db", db, "--sweep", "1", "--format", "csv", "--out", filepath.Join(dir, "r.txt")}, ExitOK, "r.txt", []string{"asset,address,role", "'=1+2"}},
		{"stdout", []string{"report", "--db", db, "--format", "json"}, ExitOK, "", []string{`"not_assessed": 1`}},
		{"missing sweep", []string{"report", "--db", db, "--sweep", "7"}, ExitUsage, "", nil},
		{"bad sweep", []string{"report", "--db", db, "--sweep", "first"}, ExitUsage, "", nil},
		{"bad format", []string{"report", "--db", db, "--format", "pdf"}, ExitUsage, "", nil},
		{"missing database", []string{"report", "--db", filepath.Join(dir, "none.db")}, ExitUsage, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := reportCLI(t.Context(), t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			got := stdout
			if tc.file != "" {
				p := filepath.Join(dir, tc.file)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
				if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
					t.Errorf("report file mode %04o, want 0600", fi.Mode().Perm())
				}
			}
			for _, s := range tc.contains {
				if !strings.Contains(got, s) {
					t.Errorf("output lacks %q", s)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("report created a database that did not exist")
	}
}

func TestServeRefuses(t *testing.T) {
	db := reportDB(t)
	dir := t.TempDir()
	open := filepath.Join(dir, "token-open")
	if err := os.WriteFile(open, []byte("tok-123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTSWEEP_TEST_EMPTY", "")
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"all interfaces without credentials", "refusing", []string{"--listen", "0.0.0.0:0"}},
		{"empty host without credentials", "refusing", []string{"--listen", ":0"}},
		{"lan address without credentials", "refusing", []string{"--listen", "192.0.2.1:8443"}},
		{"token file readable by others", "mode 0644", []string{"--listen", "0.0.0.0:0", "--token-file", open}},
		{"token variable unset", "not set", []string{"--listen", "0.0.0.0:0", "--token-env", "OTSWEEP_TEST_EMPTY"}},
		{"basic user without password", "basic authentication needs", []string{"--listen", "0.0.0.0:0", "--basic-user", "auditor"}},
		{"token twice", "not both", []string{"--token-env", "X", "--token-file", open}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			code, _, stderr := reportCLI(ctx, t, append([]string{"serve", "--db", db}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tc.want)
			}
			if strings.Contains(stderr, "tok-123") {
				t.Error("stderr shows the token")
			}
		})
	}
}

// TestServeLoopback starts `otsweep serve` with a token on 127.0.0.1, checks
// that it requires the token, and stops it by ending its context.
func TestServeLoopback(t *testing.T) {
	db := reportDB(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errPath := filepath.Join(t.TempDir(), "stderr")
	errf, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--token-file", tokenFile}, out, errf)
	}()
	addrRe := regexp.MustCompile(`http://(127\.0\.0\.1:[0-9]+)/`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && base == ""; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(errPath)
		if m := addrRe.FindSubmatch(b); m != nil {
			base = "http://" + string(m[1])
		}
	}
	if base == "" {
		b, _ := os.ReadFile(errPath)
		t.Fatalf("serve did not report its address: %s", b)
	}
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("/", ""); code != http.StatusUnauthorized {
		t.Errorf("without token: %d", code)
	}
	if code, _ := get("/", "tok-12"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	code, body := get("/api/report", "tok-123")
	var rep struct {
		Summary struct {
			Assets int `json:"assets"`
		} `json:"summary"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil || rep.Summary.Assets != 2 {
		t.Errorf("with token: %d %.200s", code, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			b, _ := os.ReadFile(errPath)
			t.Errorf("serve exited %d after shutdown: %s", code, b)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop when its context ended")
	}
}
