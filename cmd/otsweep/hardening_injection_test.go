package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/otsweep/otsweep/internal/testbed/chromium"
	"github.com/otsweep/otsweep/internal/testbed/smtpd"
	"github.com/otsweep/otsweep/lab/winhosts"
	"github.com/otsweep/otsweep/lab/wsman"
)

// Injection (issue 8, point 4): text a host controls (banners, file
// content, package and software names) carrying shell metacharacters,
// command substitutions, HTML/JS and spreadsheet formulas must execute
// nowhere: not on the scanner, not on a target (nothing read from a host is
// ever sent to a host), not in the HTML report or the dashboard, not in the
// email, not in a spreadsheet opening the CSV, not on the terminal.

// payloads returns the hostile texts; shell payloads touch files under
// canary, which must never exist.
func payloads(canary string) map[string]string {
	return map[string]string{
		"subshell":  "$(touch " + canary + "/subshell)",
		"backtick":  "`touch " + canary + "/backtick`",
		"chain":     "; touch " + canary + "/semicolon | touch " + canary + "/pipe && touch " + canary + "/and",
		"script":    "<script>document.documentElement.setAttribute('data-xss','script')</script>",
		"img":       `"><img src=x onerror="document.documentElement.setAttribute('data-xss','img')">`,
		"formula":   `=HYPERLINK("http://evil.example/","click")`,
		"cmd":       "=cmd|' /C calc'!A0",
		"plus":      "+SUM(1+1)",
		"minus":     "-2+3",
		"at":        "@SUM(1)",
		"terminal":  "\x1b]0;owned\x07\x1b[2J",
		"separator": "a\tb\rc",
	}
}

// hostileLinux plants the payloads in a real Debian recording: in
// /etc/issue (a banner check that fails, so its evidence is reported), in
// login.defs, and, with extra, as names of installed packages.
func hostileLinux(t *testing.T, canary string, extraPackages bool) linuxRecording {
	t.Helper()
	p := payloads(canary)
	issue := "/etc/issue:Debian GNU/Linux 12 \\n \\l"
	var banner strings.Builder
	banner.WriteString(issue)
	for _, k := range []string{"script", "img", "subshell", "backtick", "chain", "formula"} {
		banner.WriteString("\n/etc/issue:" + p[k])
	}
	pairs := []string{issue, banner.String(),
		"/etc/login.defs:ENCRYPT_METHOD SHA512", "/etc/login.defs:ENCRYPT_METHOD " + p["cmd"]}
	if extraPackages {
		var pk strings.Builder
		pk.WriteString("install ok installed\tzstd\t1.5.4+dfsg2-5\tamd64")
		for _, k := range []string{"script", "img", "subshell", "formula", "cmd", "plus", "minus", "at"} {
			pk.WriteString("\ninstall ok installed\t" + p[k] + "\t1.0\tamd64")
		}
		pairs = append(pairs, "install ok installed\tzstd\t1.5.4+dfsg2-5\tamd64", pk.String())
	}
	return loadLinuxRecording(t, "debian12-root.out").edit(t, pairs...)
}

func TestTermLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "hmi-01: ssh run: timeout", "hmi-01: ssh run: timeout"},
		{"OSC retitle", "Java \x1b]0;owned\x07 8", "Java ?]0;owned? 8"},
		{"CSI clear", "\x1b[2J\x1b[Hok", "?[2J?[Hok"},
		{"forged line", "fault\r\nhmi-02: ok", "fault hmi-02: ok"},
		{"C1 CSI", "a\u009b2Jb", "a?2Jb"},
		{"lone 8-bit CSI byte", "a\x9b2Jb", "a\ufffd2Jb"},
		{"tab and unicode kept", "Größe\t42 ✓", "Größe\t42 ✓"},
		{"DEL", "a\x7fb", "a?b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := termLine(tc.in); got != tc.want {
				t.Errorf("termLine(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := termText("line 1\nline\x1b 2"); got != "line 1\nline? 2" {
		t.Errorf("termText keeps line breaks only: %q", got)
	}
}

// winExec is one command a WinRM host received.
type winExec struct{ Line, Stdin string }

// hostileWindows serves the win10-22h2 recording; once hostile is set, its
// first software entry is renamed to payloads (with terminal escapes).
type hostileWindows struct {
	hostile atomic.Bool
	canary  string
	mu      sync.Mutex
	execs   []winExec
}

var winNonce = regexp.MustCompile(`\$N = '([0-9a-f]{8,64})'`)

func (h *hostileWindows) handle(ctx context.Context, req wsman.CommandRequest) wsman.Response {
	line := strings.Join(append([]string{req.Command}, req.Arguments...), " ")
	stdin := string(req.Stdin)
	if m := winNonce.FindStringSubmatch(stdin); m != nil {
		line, stdin = strings.ReplaceAll(line, m[1], "NONCE"), strings.ReplaceAll(stdin, m[1], "NONCE")
	}
	h.mu.Lock()
	h.execs = append(h.execs, winExec{line, stdin})
	h.mu.Unlock()
	resp := winhosts.Replayer("win10-22h2")(ctx, req)
	if h.hostile.Load() {
		p := payloads(h.canary)
		name, _ := jsonString(p["terminal"] + p["cmd"] + " " + p["script"] + " " + p["subshell"])
		resp.Stdout = bytes.Replace(resp.Stdout, []byte(`"name":"Microsoft OneDrive"`), []byte(`"name":`+name), 1)
	}
	return resp
}

// jsonString encodes s as the bundle does: ASCII only, everything else
// escaped as \uXXXX.
func jsonString(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

func TestHostileContentExecutesNowhere(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sweeps, the daemon, the dashboard and a browser")
	}
	dir := t.TempDir()
	canary := filepath.Join(dir, "canary")
	if err := os.Mkdir(canary, 0o700); err != nil {
		t.Fatal(err)
	}
	p := payloads(canary)

	// Two Linux hosts over SSH (one hostile, one plain) and one Windows
	// host over WinRM; the hostile ones add hostile software names later.
	plain := loadLinuxRecording(t, "debian12-root.out")
	withPackages := atomic.Bool{}
	v1, v2 := hostileLinux(t, canary, false), hostileLinux(t, canary, true)
	srv := newFakeSSH(t, sshOptions{})
	hostile := srv.host(t, "hostile-linux", func(ctx context.Context, ex sshExec, ch xssh.Channel, c net.Conn) {
		r := v1
		if withPackages.Load() {
			r = v2
		}
		replay(r)(ctx, ex, ch, c)
	})
	plainHost := srv.host(t, "plain-linux", replay(plain))
	win := &hostileWindows{canary: canary}
	ws, err := wsman.Start(wsman.Options{Users: map[string]wsman.User{"otscan": {Password: "Inj-Win-Pw-1"}}, Handler: win.handle})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	t.Setenv("OTS_INJ_WINPW", "Inj-Win-Pw-1")
	inv := filepath.Join(dir, "plant.yaml")
	if err := os.WriteFile(inv, fmt.Appendf(nil, `zones:
  - name: cell-3
    sl_target: 2
credentials:
  - {name: lab-key, username: otscan, private_key_file: %s, known_hosts: %s}
  - {name: win, username: otscan, password_env: OTS_INJ_WINPW, auth: ntlm}
assets:
  - {name: hostile-linux, address: 127.0.0.1, port: %d, platform: linux, transport: ssh, credential: lab-key, role: linux-server, zone: cell-3}
  - {name: plain-linux, address: 127.0.0.1, port: %d, platform: linux, transport: ssh, credential: lab-key, role: linux-server, zone: cell-3}
  - {name: hostile-windows, address: 127.0.0.1, port: %d, platform: windows, transport: winrm, credential: win, role: hmi, zone: cell-3}
`, srv.keyFile, srv.known, hostile.Port, plainHost.Port, ws.Addr().Port), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "otsweep.db")

	// Sweep 1 by `scan`; then the hosts add hostile software and the daemon
	// sweeps, records the change as drift and mails it.
	if code, _, errOut := cli(t, "scan", "-i", inv, "--db", db, "--format", "json", "--timeout", "60s"); code == ExitUsage || code == ExitScanErrors {
		t.Fatalf("scan: exit %d: %s", code, errOut)
	}
	withPackages.Store(true)
	win.hostile.Store(true)
	mail := smtpd.Start(t, smtpd.Config{Username: "alerts", Password: "Inj-Smtp-Pw-1"})
	t.Setenv("OTS_INJ_SMTP", "Inj-Smtp-Pw-1")
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, mail.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "daemon.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "inventory: %s\ndb: %s\nlisten: 127.0.0.1:%d\nsweeps:\n  - {name: often, schedule: \"@every 2s\", timeout: 60s}\n"+
		"smtp: {host: 127.0.0.1, port: %d, username: alerts, password_env: OTS_INJ_SMTP, from: otsweep@plant.example, ca_file: %s}\nalerts:\n  to: [ot@plant.example]\n",
		inv, db, freePort(t), mail.Port, ca), 0o600); err != nil {
		t.Fatal(err)
	}
	corpus := &leakCorpus{items: map[string][]byte{}}
	stopDaemon, _ := corpus.background(t, dir, "daemon", "--config", cfg)
	waitFor(t, "the drift digest", 2*time.Minute, func() bool {
		for _, m := range mail.Messages() {
			if bytes.Contains(m.Data, []byte("hostile-linux")) {
				return true
			}
		}
		return false
	})
	if code := stopDaemon(); code != ExitOK {
		t.Errorf("daemon exit %d", code)
	}

	// Everything otsweep renders from it.
	report := func(format string) string {
		out := filepath.Join(dir, "report."+format)
		if code, _, errOut := cli(t, "report", "--db", db, "-o", out); code != ExitOK {
			t.Fatalf("report %s: exit %d: %s", format, code, errOut)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	html, csvText := report("html"), report("csv")
	_, driftTable, _ := cli(t, "drift", "--db", db, "--since", "0")
	_, scanTable, _ := cli(t, "scan", "-i", inv, "--db", db, "--timeout", "60s")

	t.Run("HTML report escapes host text", func(t *testing.T) {
		for _, raw := range []string{"<script>document", "<img src=x", "onerror=\"document"} {
			if strings.Contains(html, raw) {
				t.Errorf("the report holds %q unescaped", raw)
			}
		}
		if !strings.Contains(html, "&lt;script&gt;document") {
			t.Errorf("the hostile banner did not reach the report: the test proves nothing")
		}
	})
	t.Run("email escapes host text", func(t *testing.T) {
		var text, htmlPart string
		for _, m := range mail.Messages() {
			if bytes.Contains(m.Data, []byte("hostile-linux")) {
				text, htmlPart = decodeMail(t, m.Data)
			}
		}
		if strings.Contains(htmlPart, "<script>document") || strings.Contains(htmlPart, "<img src=x") {
			t.Errorf("the digest's HTML part holds host text unescaped:\n%s", htmlPart)
		}
		if !strings.Contains(htmlPart, "&lt;script&gt;document") {
			t.Errorf("the hostile package names did not reach the digest: the test proves nothing\n%s", htmlPart)
		}
		if strings.ContainsAny(text+htmlPart, "\x1b\x07") {
			t.Errorf("the digest holds terminal control characters")
		}
	})
	t.Run("CSV cells are never formulas", func(t *testing.T) {
		rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		hostileCells := 0
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r\n", rune(cell[0])) {
					t.Errorf("cell %q would be evaluated as a formula", cell)
				}
				if strings.Contains(cell, "cmd|") || strings.Contains(cell, "HYPERLINK") {
					hostileCells++
				}
			}
		}
		t.Logf("%d rows, %d cells with host formulas (neutral)", len(rows), hostileCells)
	})
	t.Run("terminal output carries no control characters", func(t *testing.T) {
		for name, out := range map[string]string{"drift": driftTable, "scan": scanTable} {
			if i := strings.IndexFunc(out, func(r rune) bool { return unsafeRune(r) }); i >= 0 {
				t.Errorf("%s table holds control character %q: %q", name, out[i], out[max(0, i-40):min(len(out), i+40)])
			}
		}
		if !strings.Contains(driftTable, "hostile-windows") {
			t.Errorf("the drift table does not list the hostile host: the test proves nothing\n%s", driftTable)
		}
	})
	t.Run("a browser runs no script from a host", func(t *testing.T) {
		if !chromium.Available() && os.Getenv("CI") == "" {
			t.Skip("Chromium is not installed")
		}
		b := chromium.New(t)
		port := freePort(t)
		stopServe, _ := corpus.background(t, dir, "serve", "--db", db, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
		defer stopServe()
		waitFor(t, "serve", 20*time.Second, func() bool {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err == nil {
				_ = c.Close()
			}
			return err == nil
		})
		for _, url := range []string{"file://" + filepath.Join(dir, "report.html"), fmt.Sprintf("http://127.0.0.1:%d/", port)} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			dom, err := b.DumpDOM(ctx, url)
			cancel()
			if err != nil {
				t.Fatalf("%s: %v", url, err)
			}
			if strings.Contains(dom, `data-xss="`) {
				t.Errorf("%s: a script from a host ran in the browser", url)
			}
			if !strings.Contains(dom, "setAttribute('data-xss'") {
				t.Errorf("%s: the hostile text is not on the page: the test proves nothing", url)
			}
		}
		b.AssertNoExternalRequests(t)
	})
	t.Run("nothing ran on the scanner", func(t *testing.T) {
		entries, err := os.ReadDir(canary)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Errorf("a shell payload from a host ran on the scanner: %s exists", e.Name())
		}
	})
	t.Run("nothing from a host is sent to a host", func(t *testing.T) {
		// Every SSH host got the very same command line and script, and
		// so did every WinRM host, in every sweep, the nonce aside.
		execs := srv.Execs()
		if len(execs) < 6 {
			t.Fatalf("%d SSH commands", len(execs))
		}
		norm := func(e sshExec) string {
			return strings.ReplaceAll(e.Line, e.Nonce, "NONCE") + "\x00" + strings.ReplaceAll(string(e.Stdin), e.Nonce, "NONCE")
		}
		for _, e := range execs[1:] {
			if e.Nonce == "" || norm(e) != norm(execs[0]) {
				t.Errorf("%s received a different command: %q", e.Host, e.Line)
			}
		}
		win.mu.Lock()
		defer win.mu.Unlock()
		if len(win.execs) < 3 {
			t.Fatalf("%d WinRM commands", len(win.execs))
		}
		for _, e := range win.execs[1:] {
			if e != win.execs[0] {
				t.Errorf("the WinRM host received a different command: %q", e.Line)
			}
		}
		for _, s := range p {
			for _, e := range execs {
				if strings.Contains(string(e.Stdin)+e.Line, s) {
					t.Errorf("a payload from a host was sent to %s", e.Host)
				}
			}
		}
	})
}

// decodeMail returns the plain-text and HTML parts of a MIME message,
// transfer encodings undone.
func decodeMail(t *testing.T, data []byte) (text, html string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v", err)
	}
	decode := func(enc string, r io.Reader) string {
		switch strings.ToLower(enc) {
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return decode(msg.Header.Get("Content-Transfer-Encoding"), msg.Body), ""
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return text, html
		}
		if err != nil {
			t.Fatal(err)
		}
		body := decode(part.Header.Get("Content-Transfer-Encoding"), part)
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = body
		case "text/html":
			html = body
		}
	}
}

// Names and addresses reach command lines, file names and logs only after
// the inventory (or the --target parser) has refused every shell
// metacharacter, space and markup character in them.
func TestHostileNamesAndAddressesRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, field, value string }{
		{"valid (control)", "name", "hmi-01"},
		{"name with a command", "name", "a;reboot"},
		{"name with a subshell", "name", "$(reboot)"},
		{"name with markup", "name", "<script>x</script>"},
		{"name that is a formula", "name", "=cmd|calc"},
		{"address with a subshell", "address", "$(reboot)"},
		{"address with backticks", "address", "`id`.plant.example"},
		{"address with a command", "address", "192.0.2.1;ls"},
		{"address with a pipe", "address", "hmi|nc"},
		{"address with a space", "address", "hmi 01"},
		{"address with markup", "address", "<img src=x>"},
		{"address with a newline", "address", "hmi\nroot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := map[string]string{"name": "hmi-01", "address": "192.0.2.21"}
			fields[tc.field] = tc.value
			p := filepath.Join(dir, "inv.yaml")
			body := fmt.Sprintf("assets:\n  - name: %q\n    address: %q\n    platform: linux\n    transport: ssh\n    role: linux-server\n    credential: c\ncredentials:\n  - {name: c, username: u, password_env: X}\n",
				fields["name"], fields["address"])
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := cli(t, "inventory", "validate", p)
			if tc.value == "hmi-01" {
				if code != ExitOK {
					t.Fatalf("the control inventory is refused (exit %d): %s", code, errOut)
				}
				return
			}
			if code != ExitUsage || !strings.Contains(errOut, "inv.yaml:") {
				t.Errorf("exit %d, want %d with file:line\n%s%s", code, ExitUsage, out, errOut)
			}
		})
	}
	for _, target := range []string{"ssh://u@hmi-01:22", "ssh://u@$(reboot):22", "ssh://u@a;ls", "ssh://u@%60id%60",
		"winrm://u@<x>:5985", "snmp://a%20b"} {
		code, _, errOut := cli(t, "scan", "--target", target, "--dry-run", "--known-hosts", "/dev/null", "--role", "linux-server",
			"--snmp-version", "2c", "--community-env", "PATH")
		want := ExitUsage
		if target == "ssh://u@hmi-01:22" { // the control
			want = ExitOK
		}
		if code != want {
			t.Errorf("--target %q: exit %d, want %d: %s", target, code, want, errOut)
		}
	}
}
