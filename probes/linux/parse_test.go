package linux

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/probes"
)

// fixtureNonce reads the nonce from a recorded output's BEGIN line.
func fixtureNonce(t testing.TB, out []byte) string {
	t.Helper()
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "@@OTSCAN" && f[2] == "BEGIN" {
			return f[1]
		}
	}
	t.Fatal("fixture has no BEGIN line")
	return ""
}

func loadFixture(t testing.TB, name string) ([]byte, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	return b, fixtureNonce(t, b)
}

func parseFixture(t testing.TB, name string) *probes.Observation {
	t.Helper()
	b, n := loadFixture(t, name)
	obs, err := Parse(n, b)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return obs
}

// want is an expected fact: a value (compared after JSON normalisation) or
// an error prefix.
type want struct {
	val any
	err string
}

func v(x any) want         { return want{val: x} }
func e(prefix string) want { return want{err: prefix} }

var fixtures = []struct {
	name     string
	elevated bool
	deep     bool
	facts    map[string]want
}{
	{"debian12-root", true, false, map[string]want{
		"os.id": v("debian"), "os.version_id": v("12"), "os.version_codename": v("bookworm"),
		"os.eol_date": v("2026-07-11"), "os.eoes_date": v("2028-06-30"),
		"kernel.release": v("6.18.44-fc-v669"), "kernel.running_newest": v(nil),
		"packages.manager": v("dpkg"), "accounts.uid0": v([]string{"root"}),
		"accounts.empty_password":  v([]string{}),
		"login_defs.pass_max_days": v(99999), "login_defs.encrypt_method": v("SHA512"),
		"pwquality.module": v(nil), "faillock.active": v(false),
		"ssh.source": v("sshd -T"), "ssh.permitrootlogin": v("without-password"),
		"ssh.x11forwarding": v("yes"), "ssh.maxauthtries": v(6), "ssh.loglevel": v("INFO"),
		"ssh.ciphers":     v([]string{"chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"}),
		"firewall.active": v(false), "firewall.input_policy": e("not collected"),
		"auditd.installed": v(false), "auditd.rules": e("not collected"),
		"time.synchronized": e("not collected"), "disk.root_encrypted": v(false),
		"banner.issue_discloses_os": v(true), "net.ipv4_forward": v(0),
		"snmpd.configured": v(true), "snmpd.communities": v([]string{"public", "public"}),
		"mac.selinux": v("disabled"), "coredump.suid_dumpable": v(0),
	}},
	{"debian12-nonroot", false, false, map[string]want{
		"os.id": v("debian"), "accounts.empty_password": e(probes.ErrTextNotElevated),
		"ssh.source": v("file"), "ssh.permitrootlogin": v("prohibit-password"),
		"ssh.x11forwarding": v("yes"), "ssh.passwordauthentication": v("yes"),
		"ssh.ciphers": e("not collected"), "snmpd.communities": e(probes.ErrTextNotElevated),
		"snmpd.configured": v(true), "packages.manager": v("dpkg"),
	}},
	{"debian12-root-deep", true, true, map[string]want{
		"fs.world_writable_files": v([]string{}), "fs.world_writable_dirs": v([]string{}),
		"fs.suid_sgid_files": v([]string{"/usr/bin/chage", "/usr/bin/chfn", "/usr/bin/chsh", "/usr/bin/expiry",
			"/usr/bin/gpasswd", "/usr/bin/mount", "/usr/bin/newgrp", "/usr/bin/passwd", "/usr/bin/ssh-agent",
			"/usr/bin/su", "/usr/bin/sudo", "/usr/bin/umount", "/usr/lib/dbus-1.0/dbus-daemon-launch-helper",
			"/usr/lib/openssh/ssh-keysign", "/usr/lib/polkit-1/polkit-agent-helper-1",
			"/usr/lib/x86_64-linux-gnu/utempter/utempter", "/usr/sbin/unix_chkpwd"}),
	}},
	{"ubuntu2204-root", true, false, map[string]want{
		"os.id": v("ubuntu"), "os.version_id": v("22.04"), "os.id_like": v([]string{"debian"}),
		"os.eol_date":    v("2027-04-01"),
		"kernel.release": v("5.15.0-105-generic"), "kernel.newest_installed": v("5.15.0-107-generic"),
		"kernel.running_newest": v(false), "kernel.reboot_required": v(true),
		"kernel.installed": v([]string{"5.15.0-105-generic", "5.15.0-107-generic"}),
		"packages.count":   v(47), "packages.legacy_installed": v([]string{"telnet"}),
		"autoupdate.enabled": v(true), "login_defs.pass_max_days": v(90), "login_defs.umask": v("027"),
		"pwquality.module": v("pam_pwquality"), "pwquality.minlen": v(14), "pwquality.minclass": v(3),
		"pwquality.dcredit": v(nil), "pam.remember": v(12), "pam.remember_module": v("pam_pwhistory"),
		"faillock.active": v(true), "faillock.deny": v(5), "faillock.unlock_time": v(900),
		"accounts.admin_group_members": v([]string{"opsadmin", "ubuntu"}),
		"accounts.login_shell":         v([]string{"root", "ubuntu", "opsadmin"}),
		"ssh.permitrootlogin":          v("no"), "ssh.passwordauthentication": v("no"), "ssh.clientaliveinterval": v(300),
		"ssh.banner": v("/etc/issue.net"), "ssh.loglevel": v("VERBOSE"),
		"firewall.active": v(true), "firewall.service": v("ufw"), "firewall.input_policy": v("drop"),
		"auditd.active": v(true), "auditd.enabled": v(1), "auditd.rules": v(8),
		"auditd.space_left_action": v("syslog"), "auditd.max_log_file": v(8),
		"syslog.remote_targets": v([]string{"tcp://siem01.plant.local:514"}), "syslog.daemon": v("rsyslog"),
		"time.daemon": v("systemd-timesyncd"), "time.sync_active": v(true), "time.synchronized": v(true),
		"time.servers":   v([]string{"ntp1.plant.local", "ntp2.plant.local"}),
		"aide.installed": v(false), "usb.storage_install": v("/bin/false"), "usb.storage_install_disabled": v(true),
		"usb.storage_loaded": v(false), "net.tcp_listen": v([]int{22, 53, 4840}),
		"net.tcp_listen_external": v([]int{22, 4840}), "net.udp_listen": v([]int{53, 68}),
		"banner.issue_discloses_os": v(true), "banner.issue_net_discloses_os": v(false),
		"shell.tmout": v(900), "shell.tmout_readonly": v(true), "shell.tmout_exported": v(true),
		"disk.root_encrypted": v(true), "disk.crypt_devices": v([]string{"dm_crypt-0"}),
		"disk.unencrypted_mounts": v([]string{}), "disk.crypttab_entries": v(1),
		"mac.apparmor_enabled": v(true), "mac.apparmor_enforce_profiles": v(14), "mac.apparmor_complain_profiles": v(1),
		"coredump.hard_limit_zero": v(true), "coredump.suid_dumpable": v(2), "coredump.systemd_storage": v(nil),
		"snmpd.installed": v(false), "snmpd.configured": v(false),
	}},
	{"ubuntu2204-nonroot", false, false, map[string]want{
		"os.id": v("ubuntu"), "ssh.source": v("file"), "ssh.permitrootlogin": v("no"),
		"ssh.clientaliveinterval": v(300), "ssh.x11forwarding": v("no"),
		"ssh.macs":        v([]string{"hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512", "hmac-sha2-256"}),
		"firewall.active": v(true), "firewall.input_policy": v("drop"),
		"auditd.active": v(true), "auditd.rules": e(probes.ErrTextNotElevated),
		"auditd.space_left_action": e(probes.ErrTextNotElevated),
		"mac.apparmor_enabled":     v(true), "mac.apparmor_enforce_profiles": e(probes.ErrTextNotElevated),
		"accounts.empty_password": e(probes.ErrTextNotElevated), "aide.scheduled": v(false),
	}},
	{"rhel9-root", true, false, map[string]want{
		"os.id": v("rhel"), "os.version_id": v("9.3"), "os.eol_date": v("2032-05-31"), "os.eoes_date": v(nil),
		"kernel.running_newest": v(true), "kernel.reboot_required": v(false),
		"packages.manager": v("rpm"), "packages.count": v(41), "packages.legacy_installed": v([]string{"tftp-server"}),
		"autoupdate.tools": v([]string{"dnf-automatic"}), "autoupdate.enabled": v(false),
		"pwquality.minlen": v(12), "pwquality.dcredit": v(-1), "pwquality.minclass": v(nil),
		"pam.remember": v(nil), "faillock.active": v(true), "faillock.deny": v(5), "faillock.unlock_time": v(0),
		"ssh.permitrootlogin": v("yes"), "ssh.banner": v("none"), "ssh.clientaliveinterval": v(0),
		"firewall.service": v("firewalld"), "firewall.input_policy": v("reject"), "firewall.active": v(true),
		"auditd.rules": v(0), "auditd.rule_lines": v([]string{}),
		"syslog.remote_targets": v([]string{"tcp://10.10.0.20:514"}),
		"time.daemon":           v("chronyd"), "time.synchronized": v(false), "time.servers": v([]string{"10.10.0.1", "10.10.0.2"}),
		"aide.installed": v(true), "aide.database": v(true), "aide.scheduled": v(true),
		"usb.storage_blacklisted": v(true), "usb.storage_install_disabled": v(false), "usb.storage_loaded": v(true),
		"net.udp_listen_external": v([]int{69, 161}), "net.tcp_listen_external": v([]int{22, 5450}),
		"banner.issue_discloses_os": v(true), "shell.tmout": v(1800), "shell.tmout_readonly": v(false),
		"disk.root_encrypted": v(false), "disk.unencrypted_mounts": v([]string{"/", "/var/lib/historian", "[SWAP]"}),
		"mac.selinux": v("enforcing"), "mac.selinux_config": v("enforcing"), "mac.apparmor_enabled": v(false),
		"coredump.systemd_storage": v("none"), "coredump.systemd_process_size_max": v("0"),
		"coredump.hard_limit": v(nil), "net.ipv4_forward": v(1),
		"snmpd.active": v(true), "snmpd.communities": v([]string{"public"}), "snmpd.rw_access": v(false),
		"snmpd.v3_users": v(1),
	}},
	{"rhel9-nonroot", false, false, map[string]want{
		"os.id": v("rhel"), "ssh.source": e(probes.ErrTextNotElevated), "ssh.permitrootlogin": e(probes.ErrTextNotElevated),
		"aide.database": e(probes.ErrTextNotElevated), "aide.scheduled": e(probes.ErrTextNotElevated),
		"firewall.active": v(true), "firewall.input_policy": e(probes.ErrTextNotElevated),
		"snmpd.communities": e(probes.ErrTextNotElevated), "snmpd.active": v(true),
		"pwquality.minlen": v(12), "faillock.active": v(true),
	}},
	{"busybox-root", true, false, map[string]want{
		"os.id": v("buildroot"), "os.eol_date": e("not collected"), "packages.list": e("not collected: command not found"),
		"packages.legacy_installed": v([]string{"bin:telnet", "bin:telnetd"}),
		"accounts.uid0":             v([]string{"root", "service"}), "accounts.empty_password": v([]string{"service"}),
		"accounts.admin_group_members": v([]string{"root", "service"}),
		"login_defs.pass_max_days":     v(nil), "faillock.active": v(false),
		"ssh.permitrootlogin": e("not collected: the SSH server is dropbear"),
		"syslog.daemon":       v("syslogd"), "time.sync_active": v(false),
		"firewall.active": v(false), "net.tcp_listen": v([]int{80, 502}),
		"snmpd.communities": v([]string{"public", "private"}), "snmpd.rw_access": v(true),
		"banner.issue_discloses_os": v(true), "usb.storage_loaded": e("not collected"),
		"disk.root_encrypted": e("not collected: command not found: lsblk"),
	}},
	{"busybox-nonroot", false, false, map[string]want{
		"accounts.uid0": v([]string{"root", "service"}), "accounts.empty_password": e(probes.ErrTextNotElevated),
		"snmpd.communities": e(probes.ErrTextNotElevated), "snmpd.configured": v(true),
	}},
	{"busybox-root-deep", true, true, map[string]want{
		"fs.world_writable_files": v([]string{"/opt/hmi/config.ini"}),
		"fs.suid_sgid_files":      v([]string{"/opt/hmi/hmi-helper"}),
		"fs.world_writable_dirs":  v([]string{}),
	}},
}

// norm turns a value into its JSON form so []string{} and []any{} compare.
func norm(t testing.TB, x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			obs := parseFixture(t, fx.name)
			if !obs.Complete {
				t.Error("Complete = false")
			}
			if obs.Elevated != fx.elevated {
				t.Errorf("Elevated = %v, want %v", obs.Elevated, fx.elevated)
			}
			if obs.Schema != Schema || obs.Platform != probes.Linux {
				t.Errorf("schema/platform = %q/%q", obs.Schema, obs.Platform)
			}
			if obs.Cost.Processes <= 0 {
				t.Errorf("Cost.Processes = %d, want > 0", obs.Cost.Processes)
			}
			for name, w := range fx.facts {
				f, ok := obs.Facts[name]
				switch {
				case !ok:
					t.Errorf("%s: missing", name)
				case w.err != "":
					if !strings.HasPrefix(f.Err, w.err) {
						t.Errorf("%s: Err = %q (value %v), want prefix %q", name, f.Err, f.Value, w.err)
					}
				case f.Err != "":
					t.Errorf("%s: Err = %q, want value %v", name, f.Err, w.val)
				case norm(t, f.Value) != norm(t, w.val):
					t.Errorf("%s = %s, want %s (raw %q)", name, norm(t, f.Value), norm(t, w.val), f.Raw)
				}
			}
			_, hasDeep := obs.Facts["fs.suid_sgid_files"]
			if hasDeep != fx.deep {
				t.Errorf("deep facts present = %v, want %v", hasDeep, fx.deep)
			}
		})
	}
}

// TestFactContract checks every observation against the documentation: no
// undocumented fact, Source = the documented probe, the value's type matches
// the documented type, every non-deep documented fact present, evidence on
// every collected fact, and no parser gap ("no value derived").
func TestFactContract(t *testing.T) {
	for _, fx := range fixtures {
		obs := parseFixture(t, fx.name)
		checkContract(t, fx.name, obs)
		for name, f := range obs.Facts {
			if strings.Contains(f.Err, "no value derived") {
				t.Errorf("%s: %s: parser produced no value", fx.name, name)
			}
			if f.Err == "" && len(f.Raw) == 0 {
				t.Errorf("%s: %s: collected without evidence", fx.name, name)
			}
		}
	}
}

func checkContract(t *testing.T, label string, obs *probes.Observation) {
	t.Helper()
	docs := map[string]FactDoc{}
	for _, d := range Facts {
		docs[d.Name] = d
	}
	deep := obs.Meta["deep"] == "1"
	for name, f := range obs.Facts {
		d, ok := docs[name]
		if !ok {
			t.Errorf("%s: fact %q is not documented in Facts", label, name)
			continue
		}
		if f.Source != d.Probe {
			t.Errorf("%s: %s: Source %q, documented probe %q", label, name, f.Source, d.Probe)
		}
		if f.Err == "" && !typeMatches(f.Value, d.Type) {
			t.Errorf("%s: %s: value %#v does not match documented type %s", label, name, f.Value, d.Type)
		}
		if f.Err != "" && f.Value != nil {
			t.Errorf("%s: %s: failed fact carries a value", label, name)
		}
		if len(f.Raw) > maxRawLines+1 {
			t.Errorf("%s: %s: %d raw lines, cap is %d", label, name, len(f.Raw), maxRawLines+1)
		}
	}
	for _, d := range Facts {
		_, ok := obs.Facts[d.Name]
		if want := !d.Deep || deep; ok != want {
			t.Errorf("%s: documented fact %s present=%v, want %v", label, d.Name, ok, want)
		}
	}
}

func typeMatches(val any, typ string) bool {
	base, nilable := strings.CutSuffix(typ, "|nil")
	if val == nil {
		return nilable
	}
	switch base {
	case tInt:
		_, ok := val.(int)
		return ok
	case tString:
		_, ok := val.(string)
		return ok
	case tBool:
		_, ok := val.(bool)
		return ok
	case tStrings:
		l, ok := val.([]string)
		return ok && l != nil
	case tInts:
		l, ok := val.([]int)
		return ok && l != nil
	}
	return false
}

// TestFactsDocumentedOnce keeps the documentation itself consistent.
func TestFactsDocumentedOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Facts {
		if seen[d.Name] {
			t.Errorf("%s documented twice", d.Name)
		}
		seen[d.Name] = true
		if d.Probe == "" || d.Type == "" || d.Description == "" {
			t.Errorf("%s: incomplete doc %+v", d.Name, d)
		}
		if base, _ := strings.CutSuffix(d.Type, "|nil"); !typeMatches(zeroOf(base), base) {
			t.Errorf("%s: unknown type %q", d.Name, d.Type)
		}
		if d.Name != strings.ToLower(d.Name) || !strings.Contains(d.Name, ".") {
			t.Errorf("%s: names are dotted lower case", d.Name)
		}
	}
	// every probe parser covers at least one documented fact
	for _, pr := range probeParsers() {
		if len((&parser{deep: true}).emitter(pr.id).names) == 0 {
			t.Errorf("probe parser %s documents no fact", pr.id)
		}
	}
}

func zeroOf(base string) any {
	switch base {
	case tInt:
		return 0
	case tString:
		return ""
	case tBool:
		return false
	case tStrings:
		return []string{}
	case tInts:
		return []int{}
	}
	return struct{}{}
}

func TestParseErrors(t *testing.T) {
	good, nonce := loadFixture(t, "busybox-root")
	for _, tc := range []struct {
		name, nonce string
		out         []byte
	}{
		{"empty output", nonce, nil},
		{"login banner only", nonce, []byte("Welcome to Buildroot\nLast login: never\n")},
		{"other nonce", "0123456789abcdef", good},
		{"nonce prefix only", nonce[:8], good},
		{"empty nonce", "", good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs, err := Parse(tc.nonce, tc.out)
			if !errors.Is(err, probes.ErrProtocol) || obs != nil {
				t.Fatalf("Parse = %v, %v; want nil, ErrProtocol", obs, err)
			}
		})
	}
}

// TestParseTruncated cuts real outputs at many points: the parser must keep
// every documented fact present, mark Complete false, and never report a
// value for a probe whose section did not end.
func TestParseTruncated(t *testing.T) {
	for _, name := range []string{"ubuntu2204-root", "rhel9-root", "busybox-root-deep"} {
		full, nonce := loadFixture(t, name)
		ref := parseFixture(t, name)
		begin := bytes.IndexByte(full, '\n') + 1
		end := bytes.Index(full, []byte("@@OTSCAN "+nonce+" END\n")) + len("@@OTSCAN "+nonce+" END")
		var cuts []int // every line start, and points inside lines
		for i := begin; i < len(full); i++ {
			if full[i-1] == '\n' {
				cuts = append(cuts, i)
			}
		}
		for i := begin; i < len(full); i += max(1, len(full)/97) {
			cuts = append(cuts, i)
		}
		for _, cut := range cuts {
			obs, err := Parse(nonce, full[:cut])
			if err != nil {
				t.Fatalf("%s cut %d: %v", name, cut, err)
			}
			if obs.Complete != (cut >= end) {
				t.Fatalf("%s cut %d (END at %d): Complete = %v", name, cut, end, obs.Complete)
			}
			checkContract(t, name+" truncated", obs)
			for fname, f := range obs.Facts {
				if f.Err != "" {
					continue
				}
				// a value from a truncated run must equal the full run's value
				if r := ref.Facts[fname]; norm(t, r.Value) != norm(t, f.Value) || r.Err != "" {
					t.Fatalf("%s cut %d: %s = %s, full run %s (%s)", name, cut, fname,
						norm(t, f.Value), norm(t, r.Value), r.Err)
				}
			}
		}
	}
}

func TestParseForgedAndOddBytes(t *testing.T) {
	full, nonce := loadFixture(t, "ubuntu2204-root")
	ref := parseFixture(t, "ubuntu2204-root")
	s := string(full)
	tests := []struct {
		name string
		out  string
		same []string // facts that must keep the reference value
		want map[string]want
	}{
		{
			name: "CRLF line endings",
			out:  strings.ReplaceAll(s, "\n", "\r\n"),
			same: []string{"ssh.permitrootlogin", "login_defs.pass_max_days", "net.tcp_listen", "packages.count"},
		},
		{
			name: "forged END inside a file",
			out:  strings.Replace(s, "/etc/issue:Ubuntu", "/etc/issue:@@OTSCAN "+nonce+" END\n/etc/issue:Ubuntu", 1),
			same: []string{"banner.issue_discloses_os", "ssh.permitrootlogin"},
		},
		{
			name: "marker with another nonce inside tool output",
			out:  strings.Replace(s, "permitrootlogin no\n", "@@OTSCAN ffffffffffffffff RC L12 0\npermitrootlogin no\n", 1),
			same: []string{"ssh.permitrootlogin", "ssh.maxauthtries"},
		},
		{
			name: "binary bytes and invalid UTF-8",
			out:  strings.Replace(s, "/etc/issue.net:Authorized", "/etc/issue.net:\x00\xff\xfe\x1b[31mAuthorized", 1),
			same: []string{"ssh.permitrootlogin", "banner.issue"},
		},
		{
			name: "garbage before BEGIN and after COST",
			out:  "Last login: Tue Jun 11\n\x00\x01garbage\n" + s + "trailing junk\n0mXs\n",
			same: []string{"ssh.permitrootlogin", "firewall.input_policy"},
		},
		{
			name: "second BEGIN is ignored",
			out:  s + "@@OTSCAN " + nonce + " BEGIN schema=otscan.linux/1 uid=1000 sudo=no\n",
			same: []string{"ssh.permitrootlogin"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs, err := Parse(nonce, []byte(tc.out))
			if err != nil {
				t.Fatal(err)
			}
			checkContract(t, tc.name, obs)
			for _, n := range tc.same {
				if tc.name == "binary bytes and invalid UTF-8" && n == "banner.issue" {
					continue
				}
				if norm(t, obs.Facts[n].Value) != norm(t, ref.Facts[n].Value) {
					t.Errorf("%s = %s, want %s", n, norm(t, obs.Facts[n].Value), norm(t, ref.Facts[n].Value))
				}
			}
			for _, f := range obs.Facts {
				if s, ok := f.Value.(string); ok && !isClean(s) {
					t.Errorf("control or invalid bytes kept in %q", s)
				}
			}
		})
	}
	// forged END: the output really ends later, so the run is complete
	obs, _ := Parse(nonce, []byte(strings.Replace(s, "/etc/issue:Ubuntu", "/etc/issue:@@OTSCAN "+nonce+" END\n/etc/issue:Ubuntu", 1)))
	if !obs.Complete || obs.Facts["auditd.rules"].Value != 8 {
		t.Errorf("forged END changed the run: complete=%v auditd.rules=%v", obs.Complete, obs.Facts["auditd.rules"])
	}
}

func isClean(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f {
			return false
		}
	}
	return strings.ToValidUTF8(s, "") == s
}

// TestParseHugeSection feeds a section far over the parser's caps.
func TestParseHugeSection(t *testing.T) {
	full, nonce := loadFixture(t, "busybox-root")
	s := string(full)
	var b strings.Builder
	for i := range maxSectionLines + 10 {
		b.WriteString("line ")
		b.WriteString(itoa(i))
		b.WriteByte('\n')
	}
	b.WriteString(strings.Repeat("x", 3*maxLineLen) + "\n")
	out := strings.Replace(s, "@@OTSCAN "+nonce+" PROBE L03\n", "@@OTSCAN "+nonce+" PROBE L03\n"+b.String(), 1)
	obs, err := Parse(nonce, []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	checkContract(t, "huge", obs)
	if f := obs.Facts["kernel.release"]; !strings.HasPrefix(f.Err, probes.ErrTextNotCollected) {
		t.Errorf("kernel.release from an over-size section: %+v", f)
	}
	if f := obs.Facts["accounts.uid0"]; f.Err != "" {
		t.Errorf("other sections must be unaffected: %+v", f)
	}
	var run probes.ProbeRun
	for _, r := range obs.Probes {
		if r.ID == "L03" {
			run = r
		}
	}
	if run.Err == "" || run.Bytes < maxSectionLines {
		t.Errorf("ProbeRun L03 = %+v, want the cap recorded", run)
	}
}

// TestSecretsStayOnHost: community strings other than the well-known defaults
// and createUser passphrases never reach facts.
func TestSecretsStayOnHost(t *testing.T) {
	full, nonce := loadFixture(t, "busybox-root")
	out := strings.Replace(string(full), "/etc/snmp/snmpd.conf:rwcommunity private 192.168.1.0/24",
		"/etc/snmp/snmpd.conf:rwcommunity pl4ntS3cret 192.168.1.0/24\n/etc/snmp/snmpd.conf:com2sec -Cn ctx local 10.0.0.0/8 Hist0rianRO\n/etc/snmp/snmpd.conf:authcommunity read,write W1nccOA 10.1.0.0/16", 1)
	obs, err := Parse(nonce, []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(obs)
	for _, secret := range []string{"pl4ntS3cret", "Hist0rianRO", "W1nccOA"} {
		if bytes.Contains(j, []byte(secret)) {
			t.Errorf("community %q leaked into the observation", secret)
		}
	}
	got := obs.Facts["snmpd.communities"].Value
	if w := []string{"public", "[redacted]", "[redacted]", "[redacted]"}; !reflect.DeepEqual(got, w) {
		t.Errorf("communities = %v, want %v", got, w)
	}
	if obs.Facts["snmpd.rw_access"].Value != true {
		t.Error("rw_access should be true")
	}
}
