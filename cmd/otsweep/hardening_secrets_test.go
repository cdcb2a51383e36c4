package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/internal/testbed/smtpd"
	"github.com/otsweep/otsweep/internal/testbed/snmpd"
	"github.com/otsweep/otsweep/lab/winhosts"
	"github.com/otsweep/otsweep/lab/wsman"
	"github.com/otsweep/otsweep/probes/snmp/snmpsim"
	"github.com/otsweep/otsweep/store"
)

// Secrets (issue 8, point 3): one distinctive value for every kind of
// credential otsweep handles, every command that could leak one, the error
// paths, and then a search of everything otsweep wrote or said for each
// value.

// leakSecrets are the values that must appear nowhere. The wrong ones are
// what the error-path sweep sends; a refused secret is still a secret.
var leakSecrets = map[string]string{
	"SSH password":           "Ssh-Pw-7f3a9c41e2",
	"SSH key passphrase":     "Key-Phrase-2b8e5d07",
	"WinRM password":         "Win-Pw-5d1c0e77aa",
	"SNMP community":         "Comm-9a4f2b6e13",
	"SNMPv3 auth passphrase": "V3-Auth-1e6b3d9f",
	"SNMPv3 priv passphrase": "V3-Priv-4c7a8e2d",
	"SMTP password":          "Smtp-Pw-3f9b1a5c",
	"serve token":            "Serve-Token-8d2e6f4a",
	"wrong SSH password":     "Wrong-Ssh-Pw-0b1d44",
	"wrong key passphrase":   "Wrong-Phrase-6a0c9e",
	"wrong WinRM password":   "Wrong-Win-Pw-71c3aa",
	"wrong SNMP community":   "Wrong-Comm-2d8f01",
	"wrong SNMPv3 auth":      "Wrong-V3-Auth-93be",
}

// leakCorpus collects everything otsweep produced during the test.
type leakCorpus struct {
	items map[string][]byte // what -> content
}

func (c *leakCorpus) add(what string, b []byte) {
	c.items[what] = append(c.items[what], b...)
}

func (c *leakCorpus) addFile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return
		}
		t.Fatal(err)
	}
	c.add(path, b)
}

// check fails for every secret found in any item, in clear or base64.
func (c *leakCorpus) check(t *testing.T, secrets map[string]string) {
	t.Helper()
	for what, b := range c.items {
		for kind, s := range secrets {
			for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
				if bytes.Contains(b, []byte(form)) {
					t.Errorf("the %s appears in %s", kind, what)
				}
			}
		}
	}
}

// cliRun runs otsweep in-process and records its output in corpus.
func (c *leakCorpus) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	code, out, errOut := cli(t, args...)
	c.add("stdout of "+strings.Join(args[:min(2, len(args))], " "), []byte(out))
	c.add("stderr of "+strings.Join(args[:min(2, len(args))], " "), []byte(errOut))
	return code, out, errOut
}

// background runs otsweep in-process until stop is called; its output goes
// to files under dir, which are added to the corpus when it ends.
func (c *leakCorpus) background(t *testing.T, dir string, args ...string) (stop func() int, stderrPath string) {
	t.Helper()
	out, err := os.CreateTemp(dir, "stdout-*")
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.CreateTemp(dir, "stderr-*")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- run(ctx, args, out, errf) }()
	return func() int {
		cancel()
		var c0 int
		select {
		case c0 = <-code:
		case <-time.After(time.Minute):
			t.Fatalf("otsweep %s did not stop", args[0])
		}
		_ = out.Close()
		_ = errf.Close()
		c.addFile(t, out.Name())
		c.addFile(t, errf.Name())
		return c0
	}, errf.Name()
}

func TestSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts SSH, WinRM, SNMP and SMTP peers")
	}
	s := leakSecrets
	dir := t.TempDir()
	corpus := &leakCorpus{items: map[string][]byte{}}
	secretFile := func(name, v string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Peers: two SSH hosts (password, and a passphrase-protected key),
	// a WinRM host, an SNMPv2c agent and a real net-snmp agent with a v3
	// authPriv user, an SMTP server with AUTH.
	rec := loadLinuxRecording(t, "debian12-root.out")
	ssh := newFakeSSH(t, sshOptions{Password: s["SSH password"], Passphrase: s["SSH key passphrase"]})
	sshPwHost := ssh.host(t, "ssh-pw", replay(rec))
	sshKeyHost := ssh.host(t, "ssh-key", replay(rec))
	win, err := wsman.Start(wsman.Options{Users: map[string]wsman.User{"otscan": {Password: s["WinRM password"]}},
		Handler: winhosts.Replayer("ws2016")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = win.Close() })
	snmpRec, err := snmpsim.Embedded("cisco-ios-c2960")
	if err != nil {
		t.Fatal(err)
	}
	snmpRec.Communities = []string{s["SNMP community"]}
	v2, err := snmpsim.Start("127.0.0.1:0", snmpRec, snmpsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v2.Close() })
	v3 := snmpd.Start(t, snmpd.Spec{Users: []snmpd.User{{Name: "otsweep", AuthProto: "SHA", AuthPass: s["SNMPv3 auth passphrase"],
		PrivProto: "AES", PrivPass: s["SNMPv3 priv passphrase"]}}})
	mail := smtpd.Start(t, smtpd.Config{Username: "alerts", Password: s["SMTP password"]})
	closed := freePort(t)

	// The inventory takes secrets from the environment and from owner-only
	// files, as an operator would.
	inventory := func(name, sshPWFile, commFile string) string {
		p := filepath.Join(dir, name)
		body := fmt.Sprintf(`zones:
  - name: lab
    sl_target: 1
credentials:
  - name: ssh-password
    username: otscan
    password_file: %s
    known_hosts: %s
  - name: ssh-key
    username: otscan
    private_key_file: %s
    passphrase_env: OTS_SEC_PASSPHRASE
    known_hosts: %s
  - name: win
    username: otscan
    password_env: OTS_SEC_WINPW
    auth: ntlm
  - name: snmp-v2c
    snmp_version: 2c
    community_file: %s
  - name: snmp-v3
    username: otsweep
    snmp_version: 3
    security_level: authPriv
    auth_protocol: SHA
    auth_password_env: OTS_SEC_V3AUTH
    priv_protocol: AES
    priv_password_file: %s
assets:
  - {name: ssh-pw, address: 127.0.0.1, port: %d, platform: linux, transport: ssh, credential: ssh-password, role: linux-server, zone: lab}
  - {name: ssh-key, address: 127.0.0.1, port: %d, platform: linux, transport: ssh, credential: ssh-key, role: linux-server, zone: lab}
  - {name: win, address: 127.0.0.1, port: %d, platform: windows, transport: winrm, credential: win, role: historian, zone: lab}
  - {name: snmp-v2c, address: 127.0.0.1, port: %d, platform: snmp, transport: snmp, credential: snmp-v2c, role: network-switch, zone: lab, timeout: 6s}
  - {name: snmp-v3, address: 127.0.0.1, port: %d, platform: snmp, transport: snmp, credential: snmp-v3, role: network-switch, zone: lab, timeout: 20s}
  - {name: gone, address: 127.0.0.1, port: %d, platform: linux, transport: ssh, credential: ssh-password, role: linux-server, zone: lab, timeout: 5s}
`, sshPWFile, ssh.known, ssh.keyFile, ssh.known, commFile, secretFile("v3priv", s["SNMPv3 priv passphrase"], 0o600),
			sshPwHost.Port, sshKeyHost.Port, win.Addr().Port, v2.Addr().Port, v3.Port, closed)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := inventory("good.yaml", secretFile("ssh.pw", s["SSH password"], 0o600), secretFile("community", s["SNMP community"], 0o400))
	wrong := inventory("wrong.yaml", secretFile("ssh-wrong.pw", s["wrong SSH password"], 0o600), secretFile("community-wrong", s["wrong SNMP community"], 0o600))
	db := filepath.Join(dir, "otsweep.db")
	env := func(passphrase, winpw, v3auth string) {
		t.Setenv("OTS_SEC_PASSPHRASE", passphrase)
		t.Setenv("OTS_SEC_WINPW", winpw)
		t.Setenv("OTS_SEC_V3AUTH", v3auth)
	}

	// 1. The right secrets: every host scanned, JSON and table output,
	// debug logs, and the dry run.
	env(s["SSH key passphrase"], s["WinRM password"], s["SNMPv3 auth passphrase"])
	code, out, errOut := corpus.cli(t, "scan", "-i", good, "--db", db, "--format", "json", "--log-level", "debug", "--timeout", "60s")
	if code == ExitUsage {
		t.Fatalf("scan: exit %d\n%s", code, errOut)
	}
	for _, a := range parseReport(t, out).Assets {
		if a.Status != "ok" && a.Name != "gone" {
			t.Errorf("right secrets: %s: status %s (%s)", a.Name, a.Status, a.Error)
		}
	}
	corpus.cli(t, "scan", "-i", good, "--db", db, "--log-level", "debug", "--asset", "ssh-pw,win,snmp-v2c", "--timeout", "60s")
	if code, _, errOut := corpus.cli(t, "scan", "-i", good, "--dry-run", "--log-level", "debug"); code != ExitOK {
		t.Errorf("dry run: exit %d: %s", code, errOut)
	}
	corpus.cli(t, "inventory", "list", "--inventory", good, "--json")
	corpus.cli(t, "inventory", "validate", good)

	// 2. Error paths: every credential refused, one host unreachable.
	env(s["wrong key passphrase"], s["wrong WinRM password"], s["wrong SNMPv3 auth"])
	code, out, errOut = corpus.cli(t, "scan", "-i", wrong, "--db", db, "--format", "json", "--log-level", "debug", "--timeout", "30s")
	if code != ExitScanErrors {
		t.Fatalf("wrong secrets: exit %d\n%s", code, errOut)
	}
	want := map[string]string{"ssh-pw": "auth-failed", "ssh-key": "auth-failed", "win": "auth-failed", "snmp-v2c": "timeout",
		"snmp-v3": "auth-failed", "gone": "unreachable"}
	for _, a := range parseReport(t, out).Assets {
		if a.Status != want[a.Name] {
			t.Errorf("wrong secrets: %s: status %s, want %s (%s)", a.Name, a.Status, want[a.Name], a.Error)
		}
	}
	code, _, errOut = corpus.cli(t, "scan", "-i", wrong, "--db", db, "--log-level", "debug", "--asset", "ssh-pw,gone", "--timeout", "30s")
	if code != ExitScanErrors {
		t.Fatalf("wrong secrets, table output: exit %d\n%s", code, errOut)
	}

	env(s["SSH key passphrase"], s["WinRM password"], s["SNMPv3 auth passphrase"])

	// 3. Reports, drift.
	// Sweep 1 scanned every host; the latest one holds the refusals.
	for _, sweep := range []string{"1", "latest"} {
		for _, format := range []string{"html", "json", "csv"} {
			p := filepath.Join(dir, "report-"+sweep+"."+format)
			if code, _, errOut := corpus.cli(t, "report", "--db", db, "--sweep", sweep, "--inventory", good, "-o", p, "--log-level", "debug"); code != ExitOK {
				t.Errorf("report %s of sweep %s: exit %d: %s", format, sweep, code, errOut)
			}
			corpus.addFile(t, p)
		}
	}
	corpus.cli(t, "drift", "--db", db, "--since", "0")
	corpus.cli(t, "drift", "--db", db, "--since", "0", "--json")

	// 4. Alerts: a test message, then the daemon at debug level sweeping the
	// same hosts with the right secrets, which finds them reachable again
	// and mails a digest.
	ca := filepath.Join(dir, "mail-ca.pem")
	if err := os.WriteFile(ca, mail.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "otsweep-daemon.yaml")
	listen := freePort(t)
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `inventory: %s
db: %s
listen: 127.0.0.1:%d
grace_period: 30s
log_level: debug
sweeps:
  - name: every-2s
    schedule: "@every 2s"
    timeout: 60s
    concurrency: 6
smtp:
  host: 127.0.0.1
  port: %d
  username: alerts
  password_file: %s
  from: otsweep@plant.example
  ca_file: %s
alerts:
  to: [ot-security@plant.example]
`, good, db, listen, mail.Port, secretFile("smtp.pw", s["SMTP password"], 0o600), ca), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := corpus.cli(t, "alert", "test", "--config", cfg, "--log-level", "debug"); code != ExitOK {
		t.Fatalf("alert test: exit %d: %s", code, errOut)
	}
	stopDaemon, _ := corpus.background(t, dir, "daemon", "--config", cfg, "--log-level", "debug")
	waitFor(t, "an alert digest from the daemon", 2*time.Minute, func() bool { return len(mail.Messages()) >= 2 })
	if code := stopDaemon(); code != ExitOK {
		t.Errorf("daemon exit %d", code)
	}
	for i, m := range mail.Messages() {
		corpus.add(fmt.Sprintf("email %d", i+1), m.Data)
	}
	corpus.cli(t, "alert", "deliveries", "--db", db, "--json")

	// 5. The dashboard, with a bearer token: right, wrong and no token.
	t.Setenv("OTS_SEC_TOKEN", s["serve token"])
	port := freePort(t)
	stopServe, _ := corpus.background(t, dir, "serve", "--db", db, "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--token-env", "OTS_SEC_TOKEN", "--log-level", "debug")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(path, token string) int {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		corpus.add("serve "+path+" response", body)
		for k, v := range resp.Header {
			corpus.add("serve "+path+" header", []byte(k+": "+strings.Join(v, ",")+"\n"))
		}
		return resp.StatusCode
	}
	waitFor(t, "serve to listen", 20*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	for _, p := range []string{"/", "/sweeps", "/api/report", "/api/sweeps", "/report.csv"} {
		if code := get(p, s["serve token"]); code != http.StatusOK {
			t.Errorf("GET %s with the token: %d", p, code)
		}
		if code := get(p, "Wrong-"+s["serve token"]); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d", p, code)
		}
		if code := get(p, ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d", p, code)
		}
	}
	if code := stopServe(); code != ExitOK {
		t.Errorf("serve exit %d", code)
	}

	// 6. Everything written to disk: the database with its WAL and shared
	// memory, and every other file the commands left in the folder.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		corpus.addFile(t, db+suffix)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	secretFiles := map[string]bool{"ssh.pw": true, "ssh-wrong.pw": true, "community": true, "community-wrong": true,
		"v3priv": true, "smtp.pw": true}
	for _, e := range entries {
		if !e.IsDir() && !secretFiles[e.Name()] {
			corpus.addFile(t, filepath.Join(dir, e.Name()))
		}
	}
	// The key file itself is a secret: its body must not be copied anywhere.
	key, err := os.ReadFile(ssh.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"private key": string(bytes.Split(key, []byte("\n"))[2])}
	for k, v := range s {
		secrets[k] = v
	}
	corpus.check(t, secrets)
	// The search looked at real content: the digest names the assets, the
	// database and the reports hold the scans.
	for what, want := range map[string]string{"email 2": "ssh-pw", db: "ssh-key", filepath.Join(dir, "report-1.csv"): "snmp-v3",
		filepath.Join(dir, "report-1.html"): "snmp-v2c", filepath.Join(dir, "report-latest.html"): "auth-failed"} {
		if !bytes.Contains(corpus.items[what], []byte(want)) {
			t.Errorf("%s does not mention %s: the search looked at nothing", what, want)
		}
	}
	if len(corpus.items) < 30 {
		t.Errorf("only %d outputs searched", len(corpus.items))
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if dels, err := st.Deliveries(context.Background(), 0, 0); err != nil || len(dels) < 2 {
		t.Errorf("deliveries: %d, %v", len(dels), err)
	}
	t.Logf("searched %d outputs (%d secrets each, in clear and base64)", len(corpus.items), len(secrets))
}

// Every file otsweep reads a secret from is refused when group or others
// may access it (directly or through a symbolic link), with an error that
// names the file, and nothing is contacted.
func TestLooseCredentialFilesRefused(t *testing.T) {
	dir := t.TempDir()
	unreachable := freePort(t) // nothing may connect anyway: the credential fails first
	key := newFakeSSH(t, sshOptions{}).keyFile
	keyPEM, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	// inventoryWith writes an inventory whose one asset uses a credential
	// with field pointing at path.
	inventoryWith := func(name, credential, transport, platform, role string) func(path string) []string {
		return func(path string) []string {
			p := filepath.Join(dir, name+".yaml")
			body := fmt.Sprintf("credentials:\n  - name: c\n%sassets:\n  - {name: a, address: 127.0.0.1, port: %d, platform: %s, transport: %s, credential: c, role: %s}\n",
				strings.ReplaceAll(credential, "PATH", path), unreachable, platform, transport, role)
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"-i", p}
		}
	}
	daemonConfig := func(path string) string {
		p := filepath.Join(dir, "daemon.yaml")
		body := fmt.Sprintf("inventory: inv.yaml\ndb: %s\nsweeps:\n  - {name: s, schedule: \"@daily\"}\nsmtp:\n  host: 127.0.0.1\n  port: %d\n  username: u\n  password_file: %s\n  from: a@plant.example\nalerts:\n  to: [b@plant.example]\n",
			filepath.Join(dir, "d.db"), unreachable, path)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sshPassword := inventoryWith("ssh-pw", "    username: u\n    password_file: PATH\n    known_hosts: /dev/null\n", "ssh", "linux", "linux-server")
	sshKey := inventoryWith("ssh-key", "    username: u\n    private_key_file: PATH\n    known_hosts: /dev/null\n", "ssh", "linux", "linux-server")
	sshPhrase := inventoryWith("ssh-phrase", "    username: u\n    private_key_file: "+key+"\n    passphrase_file: PATH\n    known_hosts: /dev/null\n", "ssh", "linux", "linux-server")
	winPassword := inventoryWith("win", "    username: u\n    password_file: PATH\n    auth: ntlm\n", "winrm", "windows", "hmi")
	community := inventoryWith("community", "    snmp_version: 2c\n    community_file: PATH\n", "snmp", "snmp", "network-switch")
	v3auth := inventoryWith("v3auth", "    username: u\n    snmp_version: 3\n    security_level: authNoPriv\n    auth_protocol: SHA\n    auth_password_file: PATH\n", "snmp", "snmp", "network-switch")
	v3priv := inventoryWith("v3priv", "    username: u\n    snmp_version: 3\n    auth_protocol: SHA\n    auth_password_env: OTS_LOOSE_AUTH\n    priv_protocol: AES\n    priv_password_file: PATH\n", "snmp", "snmp", "network-switch")
	t.Setenv("OTS_LOOSE_AUTH", "auth-passphrase-1")
	t.Setenv("OTS_LOOSE_PW", "some-password-1")

	kinds := []struct {
		name    string
		content string
		// run returns the exit code and everything otsweep said.
		run func(path string) (int, string)
	}{
		{"inventory ssh password_file", "Loose-Value-SSH-Password", func(p string) (int, string) { return scanJSON(t, sshPassword(p)) }},
		{"inventory private_key_file", string(keyPEM), func(p string) (int, string) { return scanJSON(t, sshKey(p)) }},
		{"inventory passphrase_file", "Loose-Value-Passphrase", func(p string) (int, string) { return scanJSON(t, sshPhrase(p)) }},
		{"inventory winrm password_file", "Loose-Value-WinRM", func(p string) (int, string) { return scanJSON(t, winPassword(p)) }},
		{"inventory community_file", "Loose-Value-Community", func(p string) (int, string) { return scanJSON(t, community(p)) }},
		{"inventory auth_password_file", "Loose-Value-V3-Auth", func(p string) (int, string) { return scanJSON(t, v3auth(p)) }},
		{"inventory priv_password_file", "Loose-Value-V3-Priv", func(p string) (int, string) { return scanJSON(t, v3priv(p)) }},
		{"inventory validate --check-credentials", "Loose-Value-Inventory", func(p string) (int, string) {
			code, out, errOut := cli(t, "inventory", "validate", "--check-credentials", sshPassword(p)[1])
			return code, out + errOut
		}},
		{"scan --identity", string(keyPEM), func(p string) (int, string) {
			code, out, errOut := cli(t, "scan", "--target", fmt.Sprintf("ssh://u@127.0.0.1:%d", unreachable), "--identity", p,
				"--known-hosts", "/dev/null", "--db", filepath.Join(dir, "s.db"))
			return code, out + errOut
		}},
		{"daemon smtp password_file (alert test)", "Loose-Value-SMTP", func(p string) (int, string) {
			code, out, errOut := cli(t, "alert", "test", "--config", daemonConfig(p))
			return code, out + errOut
		}},
		{"serve --token-file", "Loose-Value-Token", func(p string) (int, string) {
			code, out, errOut := cli(t, "serve", "--db", filepath.Join(dir, "s.db"), "--token-file", p)
			return code, out + errOut
		}},
		{"serve --basic-password-file", "Loose-Value-Basic", func(p string) (int, string) {
			code, out, errOut := cli(t, "serve", "--db", filepath.Join(dir, "s.db"), "--basic-user", "u", "--basic-password-file", p)
			return code, out + errOut
		}},
	}
	modes := []struct {
		name    string
		mode    os.FileMode
		symlink bool
	}{
		{"0644", 0o644, false}, {"0640", 0o640, false}, {"0604 world readable", 0o604, false},
		{"0620 group writable", 0o620, false}, {"symlink to 0644", 0o644, true},
	}
	for _, k := range kinds {
		for _, m := range modes {
			t.Run(k.name+"/"+m.name, func(t *testing.T) {
				sub := t.TempDir()
				target := filepath.Join(sub, "secret")
				if err := os.WriteFile(target, []byte(k.content), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(target, m.mode); err != nil {
					t.Fatal(err)
				}
				path := target
				if m.symlink {
					path = filepath.Join(sub, "link")
					if err := os.Symlink(target, path); err != nil {
						t.Fatal(err)
					}
				}
				code, said := k.run(path)
				if code == ExitOK || code == ExitVariance {
					t.Fatalf("accepted (exit %d): %s", code, said)
				}
				if !strings.Contains(said, path) || !strings.Contains(said, "too open") && !strings.Contains(said, "owner only") {
					t.Errorf("exit %d; the refusal does not name %s as too open:\n%s", code, path, said)
				}
				if strings.Contains(said, strings.TrimSpace(k.content)) {
					t.Errorf("the file's content appears in the error")
				}
			})
		}
	}
}

// scanJSON scans an inventory (args from inventoryWith) and returns the exit
// code and the asset's recorded error with stderr.
func scanJSON(t *testing.T, args []string) (int, string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "o.db")
	code, out, errOut := cli(t, append([]string{"scan", "--db", db, "--format", "json", "--timeout", "5s"}, args...)...)
	if code == ExitUsage {
		return code, out + errOut
	}
	r := parseReport(t, out)
	if len(r.Assets) != 1 || r.Assets[0].Status != "error" {
		t.Errorf("asset %+v, want status error", r.Assets)
	}
	return code, r.Assets[0].Error + "\n" + errOut
}
