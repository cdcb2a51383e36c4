package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/lab/winhosts"
	"github.com/otsweep/otsweep/lab/wsman"
)

// winRole is the blueprint each recorded host is scanned as.
var winRole = map[string]string{
	"win7-ps2": "hmi", "ws2008r2-ps2": "historian", "win10-22h2": "hmi", "ws2016": "historian",
	"ws2019-dc": "domain-controller", "ws2022": "historian", "win11-23h2": "laptop",
	"win10-de": "engineering-workstation", "win10-clm": "hmi", "win10-nonadmin": "hmi",
}

// startWindowsHosts serves every recording over a WS-Management server the
// real masterzen/winrm client talks to: even hosts over HTTPS with a pinned
// certificate, odd ones over HTTP with NTLM message encryption required.
func startWindowsHosts(t *testing.T, password string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("zones:\n  - name: cell-3\n    sl_target: 2\ncredentials:\n")
	var assets strings.Builder
	for i, h := range winhosts.Hosts() {
		https := i%2 == 0
		srv, err := wsman.Start(wsman.Options{TLS: https, RequireEncryption: !https, Machine: strings.ToUpper(h.Name),
			Users: map[string]wsman.User{"otscan": {Password: password}}, Handler: winhosts.Replayer(h.Name)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		transport, extra := "winrm", ""
		if https {
			transport, extra = "winrms", fmt.Sprintf("    fingerprint: %s\n", srv.Fingerprint)
		}
		fmt.Fprintf(&b, "  - name: cred-%s\n    username: otscan\n    password_env: OTS_WIN_PW\n    auth: ntlm\n%s", h.Name, extra)
		host, port := srv.Addr().IP.String(), fmt.Sprint(srv.Addr().Port)
		fmt.Fprintf(&assets, "  - name: %s\n    address: %s\n    port: %s\n    platform: windows\n    transport: %s\n    credential: cred-%s\n    role: %s\n    zone: cell-3\n",
			h.Name, host, port, transport, h.Name, winRole[h.Name])
	}
	b.WriteString("assets:\n")
	b.WriteString(assets.String())
	p := filepath.Join(dir, "windows.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScanWindowsHosts(t *testing.T) {
	const pw = "Winrm-Lab-Pass-42"
	inv := startWindowsHosts(t, pw)
	t.Setenv("OTS_WIN_PW", pw)
	db := filepath.Join(t.TempDir(), "otsweep.db")
	code, out, errOut := cli(t, "scan", "-i", inv, "--db", db, "--format", "json", "--timeout", "60s")
	if code != ExitVariance {
		t.Fatalf("exit %d\n%s\n%s", code, errOut, out)
	}
	if strings.Contains(out+errOut, pw) {
		t.Fatal("the WinRM password appears in the output")
	}
	assertNotInFiles(t, pw, db, db+"-wal")
	r := parseReport(t, out)
	if len(r.Assets) != len(winhosts.Hosts()) {
		t.Fatalf("%d assets", len(r.Assets))
	}
	for _, a := range r.Assets {
		if a.Status != "ok" || !a.Complete {
			t.Errorf("%s: status %s complete %v: %s", a.Name, a.Status, a.Complete, a.Error)
		}
		if testing.Verbose() {
			for _, c := range a.Checks {
				t.Logf("%s %s %s %s", a.Name, c.ID, c.Status, c.Message)
			}
			for _, q := range a.Requirements {
				t.Logf("%s %s %s", a.Name, q.ID, q.State)
			}
		}
	}
	for host, checks := range map[string]map[string]string{
		"win7-ps2":       {"windows.os.supported": "fail", "windows.smb.v1_off": "fail", "windows.appctl.wdac": "not-applicable"},
		"win10-22h2":     {"windows.os.supported": "fail", "windows.av.defender": "pass"},
		"ws2022":         {"windows.os.supported": "pass"},
		"ws2019-dc":      {"windows.dc.kerberos_policy": "pass"},
		"win10-nonadmin": {"windows.password.min_length": "error", "windows.lockout.threshold": "error"},
		"win10-clm":      {"windows.appctl.applocker": "pass"},
		"ws2008r2-ps2":   {"windows.av.thirdparty_service": "pass", "windows.av.defender": "not-applicable"},
		// Defender with 9-day-old signatures; its own services do not count as a third-party agent.
		"win10-de": {"windows.av.defender": "fail", "windows.av.thirdparty_service": "fail", "windows.av.thirdparty_registered": "fail"},
	} {
		for id, want := range checks {
			if got := r.check(host, id); got != want {
				t.Errorf("%s: %s = %s, want %s", host, id, got, want)
			}
		}
	}
	// The evidence names the alternative that met malicious code protection.
	if reason, _ := r.requirement("win10-clm", "SR 3.2"); !strings.Contains(reason, "met by windows.av.defender, windows.appctl.applocker") {
		t.Errorf("win10-clm SR 3.2 reason %q", reason)
	}
	// A shared operator HMI that does not lock: the finding points to
	// essential functions and a compensating countermeasure.
	if _, note := r.requirement("win10-22h2", "SR 2.5"); !strings.Contains(note, "essential functions") || !strings.Contains(note, "compensating countermeasure") {
		t.Errorf("hmi SR 2.5 note %q", note)
	}
	for _, a := range r.Assets {
		if a.Name == "win10-nonadmin" && a.Elevated {
			t.Error("win10-nonadmin reported as elevated")
		}
	}
	for host, states := range map[string]map[string]string{
		// AppLocker enforced, Defender on, AutoRun off.
		"win10-clm": {"SR 3.2": "met"},
		// Defender on, but AutoRun is not off: the second SR 3.2 control fails.
		"win10-22h2": {"SR 3.2": "not-met", "SR 1.12": "not-met"},
		// No AV at all on the Windows 7 HMI: the any-of control fails.
		"win7-ps2": {"SR 3.2": "not-met"},
	} {
		for id, want := range states {
			if got := r.state(host, id); got != want {
				t.Errorf("%s: %s = %s, want %s", host, id, got, want)
			}
		}
	}
}
