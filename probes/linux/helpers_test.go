package linux

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

const testNonce = "00c0ffee00c0ffee"

// out builds framed bundle output the way bundle.sh prints it: files are
// dumped (comment and blank lines dropped, "path:line"), sections framed.
type out struct {
	uid      string
	files    map[string]string // path -> content; "!" prefix = denied
	sections []sec
	noEnd    bool
}

type sec struct {
	id, body, skip string
	rc             int
}

func (o out) bytes() []byte {
	var b strings.Builder
	m := func(s string) { b.WriteString("@@OTSCAN " + testNonce + " " + s + "\n") }
	uid := o.uid
	if uid == "" {
		uid = "0"
	}
	m("BEGIN schema=otscan.linux/1 uid=" + uid + " sudo=no deep=0 systemd=1")
	dump := func(id string, keep func(string) bool) {
		m("PROBE " + id)
		var paths []string
		for p := range o.files {
			if (id == "SOCKETS") == strings.HasPrefix(p, "/proc/net/") &&
				(id == "RESTRICTED") == (p == "/etc/shadow" || strings.HasPrefix(p, "/etc/snmp/")) {
				paths = append(paths, p)
			}
		}
		sortStrings(paths)
		for _, p := range paths {
			if strings.HasPrefix(o.files[p], "!") {
				m("FILE denied " + p)
			} else {
				m("FILE ok " + p)
			}
		}
		for _, p := range paths {
			if strings.HasPrefix(o.files[p], "!") {
				continue
			}
			for _, l := range strings.Split(o.files[p], "\n") {
				if keep(l) {
					b.WriteString(p + ":" + l + "\n")
				}
			}
		}
		b.WriteString("\n")
		m("RC " + id + " 0")
	}
	dump("FILES", func(l string) bool { t := strings.TrimSpace(l); return t != "" && !strings.HasPrefix(t, "#") })
	dump("RESTRICTED", func(l string) bool { return strings.TrimSpace(l) != "" })
	dump("SOCKETS", func(l string) bool { return strings.Contains(l, " 0A ") || strings.Contains(l, " 07 ") })
	for _, s := range o.sections {
		if s.skip != "" {
			m("SKIP " + s.id + " " + s.skip)
			continue
		}
		m("PROBE " + s.id)
		if s.body != "" {
			b.WriteString(strings.TrimSuffix(s.body, "\n") + "\n")
		}
		b.WriteString("\n")
		m("RC " + s.id + " " + itoa(s.rc))
	}
	if !o.noEnd {
		m("END")
		m("COST pids=5 execs=4")
		b.WriteString("0m0.001s 0m0.002s\n0m0.010s 0m0.020s\n")
	}
	return []byte(b.String())
}

func sortStrings(l []string) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j] < l[j-1]; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

func (o out) parse(t *testing.T) probes.Facts {
	t.Helper()
	obs, err := Parse(testNonce, o.bytes())
	if err != nil {
		t.Fatal(err)
	}
	checkContract(t, t.Name(), obs)
	return obs.Facts
}

// check compares selected facts.
func check(t *testing.T, f probes.Facts, wants map[string]want) {
	t.Helper()
	for name, w := range wants {
		got, ok := f[name]
		switch {
		case !ok:
			t.Errorf("%s missing", name)
		case w.err != "":
			if !strings.HasPrefix(got.Err, w.err) {
				t.Errorf("%s: Err %q value %v, want Err prefix %q", name, got.Err, got.Value, w.err)
			}
		case got.Err != "":
			t.Errorf("%s: Err %q, want %v", name, got.Err, w.val)
		case norm(t, got.Value) != norm(t, w.val):
			t.Errorf("%s = %s, want %s (raw %q)", name, norm(t, got.Value), norm(t, w.val), got.Raw)
		}
	}
}

var systemdUnits = sec{id: "UNITS", body: strings.Join(unitList(), " ") + "\n" + strings.Repeat("inactive\n", len(unitList()))}

func unitList() []string {
	i := strings.Index(script, "UNITS='")
	j := strings.Index(script[i+7:], "'")
	return strings.Fields(script[i+7 : i+7+j])
}

func withUnits(active ...string) sec {
	var states []string
	for _, u := range unitList() {
		st := "inactive"
		for _, a := range active {
			if a == u {
				st = "active"
			}
		}
		states = append(states, st)
	}
	return sec{id: "UNITS", body: strings.Join(unitList(), " ") + "\n" + strings.Join(states, "\n")}
}

func TestSSHDFileEvaluation(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  map[string]want
	}{
		{
			name: "first value wins, Include in place, Match skipped",
			files: map[string]string{
				"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n" +
					"PasswordAuthentication yes\nClientAliveInterval 5m\nMatch User backup\n  PermitRootLogin no\n  X11Forwarding yes\n",
				"/etc/ssh/sshd_config.d/10-site.conf": "passwordauthentication=no\nMaxAuthTries 4\nBanner \"/etc/issue.net\"\n",
				"/etc/ssh/sshd_config.d/20-late.conf": "MaxAuthTries 10\nCiphers aes256-gcm@openssh.com,aes128-ctr\n",
			},
			want: map[string]want{
				"ssh.source": v("file"), "ssh.permitrootlogin": v("yes"), "ssh.passwordauthentication": v("no"),
				"ssh.maxauthtries": v(4), "ssh.clientaliveinterval": v(300), "ssh.banner": v("/etc/issue.net"),
				"ssh.x11forwarding": v("no"), "ssh.ciphers": v([]string{"aes256-gcm@openssh.com", "aes128-ctr"}),
				"ssh.macs": e("not collected"), "ssh.loglevel": v("INFO"), "ssh.clientalivecountmax": v(3),
			},
		},
		{
			name: "relative include and crypto policy back end",
			files: map[string]string{
				"/etc/ssh/sshd_config":                                "Include sshd_config.d/*.conf\n",
				"/etc/ssh/sshd_config.d/50-redhat.conf":               "Include /etc/crypto-policies/back-ends/opensshserver.config\nX11Forwarding yes\n",
				"/etc/crypto-policies/back-ends/opensshserver.config": "Ciphers aes256-gcm@openssh.com\nMACs hmac-sha2-256-etm@openssh.com\nKexAlgorithms curve25519-sha256\n",
			},
			want: map[string]want{
				"ssh.ciphers": v([]string{"aes256-gcm@openssh.com"}), "ssh.macs": v([]string{"hmac-sha2-256-etm@openssh.com"}),
				"ssh.kexalgorithms": v([]string{"curve25519-sha256"}), "ssh.x11forwarding": v("yes"),
			},
		},
		{
			name: "include the bundle did not read makes later values untrusted",
			files: map[string]string{
				"/etc/ssh/sshd_config": "PermitRootLogin no\nInclude /opt/vendor/sshd.conf\nPasswordAuthentication no\n",
			},
			want: map[string]want{
				"ssh.permitrootlogin": v("no"), "ssh.passwordauthentication": e("not collected: sshd_config includes /opt/vendor/sshd.conf"),
				"ssh.maxauthtries": e("not collected"),
			},
		},
		{
			name:  "unreadable sshd_config",
			files: map[string]string{"/etc/ssh/sshd_config": "!"},
			want:  map[string]want{"ssh.source": e(probes.ErrTextNotElevated), "ssh.permitrootlogin": e(probes.ErrTextNotElevated)},
		},
		{
			name:  "bad numbers are unparsed, not guessed",
			files: map[string]string{"/etc/ssh/sshd_config": "MaxAuthTries many\nClientAliveInterval 5x\n"},
			want:  map[string]want{"ssh.maxauthtries": e("unparsed"), "ssh.clientaliveinterval": e("unparsed")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := out{uid: "1000", files: tc.files, sections: []sec{{id: "BIN", body: "/usr/sbin/sshd"}, {id: "L12", skip: "not-elevated"}}}
			check(t, o.parse(t), tc.want)
		})
	}

	t.Run("sshd -T failure falls back to the file", func(t *testing.T) {
		o := out{files: map[string]string{"/etc/ssh/sshd_config": "PermitRootLogin no\n"},
			sections: []sec{{id: "L12", body: "sshd: no hostkeys available -- exiting.", rc: 1}}}
		f := o.parse(t)
		check(t, f, map[string]want{"ssh.source": v("file"), "ssh.permitrootlogin": v("no")})
		if !strings.Contains(strings.Join(f["ssh.source"].Raw, "\n"), "no hostkeys") {
			t.Errorf("the sshd -T error should be evidence: %q", f["ssh.source"].Raw)
		}
	})
	t.Run("OpenSSH 5.3 defaults to root login", func(t *testing.T) {
		o := out{uid: "1000", files: map[string]string{"/etc/ssh/sshd_config": "Protocol 2\n"},
			sections: []sec{{id: "L04", body: "rpm\nopenssh-server\t5.3p1-124.el6_10\tx86_64"}, {id: "L12", skip: "not-elevated"}}}
		check(t, o.parse(t), map[string]want{"ssh.permitrootlogin": v("yes"), "ssh.maxauthtries": v(6)})
	})
	t.Run("output cut before sshd -T", func(t *testing.T) {
		o := out{files: map[string]string{"/etc/ssh/sshd_config": "PermitRootLogin no\n"}, noEnd: true}
		check(t, o.parse(t), map[string]want{"ssh.permitrootlogin": e("not collected: output ended before section L12")})
	})
}

func TestPAM(t *testing.T) {
	debianish := map[string]string{
		"/etc/pam.d/sshd":             "@include common-auth\n@include common-password\n",
		"/etc/pam.d/login":            "@include common-auth\n",
		"/etc/pam.d/passwd":           "@include common-password\n",
		"/etc/pam.d/common-auth":      "auth requisite pam_faillock.so preauth deny=4\nauth [success=1 default=ignore] pam_unix.so nullok\nauth [default=die] pam_faillock.so authfail deny=3 unlock_time=never\n",
		"/etc/pam.d/common-password":  "password requisite /lib/x86_64-linux-gnu/security/pam_cracklib.so retry=3 minlen=10 dcredit=-1\npassword [success=1 default=ignore] pam_unix.so obscure use_authtok remember=7 sha512\n",
		"/etc/security/faillock.conf": "deny = 9\nunlock_time = 60\n",
	}
	check(t, out{files: debianish}.parse(t), map[string]want{
		"faillock.active": v(true), "faillock.deny": v(3), "faillock.unlock_time": v(0), "faillock.tally2": v(false),
		"pwquality.module": v("pam_cracklib"), "pwquality.minlen": v(10), "pwquality.dcredit": v(-1), "pwquality.minclass": v(nil),
		"pam.remember": v(7), "pam.remember_module": v("pam_unix"),
	})

	rhelish := map[string]string{
		"/etc/pam.d/sshd":                          "auth substack password-auth\npassword include password-auth\n",
		"/etc/pam.d/login":                         "auth substack system-auth\n",
		"/etc/pam.d/passwd":                        "password substack system-auth\n",
		"/etc/pam.d/password-auth":                 "auth required pam_env.so\n-auth optional pam_tally2.so deny=4\nauth sufficient pam_unix.so\n",
		"/etc/pam.d/system-auth":                   "auth required pam_faillock.so preauth\npassword requisite pam_pwquality.so minlen=15\npassword required pam_pwhistory.so use_authtok\n",
		"/etc/security/pwquality.conf":             "minlen = 8\nminclass = 2\n",
		"/etc/security/pwquality.conf.d/99-z.conf": "minclass = 4\n",
		"/etc/security/pwhistory.conf":             "remember = 24\n",
	}
	check(t, out{files: rhelish}.parse(t), map[string]want{
		// sshd's stack has no pam_faillock: the account can be brute forced over SSH
		"faillock.active": v(false), "faillock.tally2": v(true), "faillock.deny": v(nil), "faillock.unlock_time": v(nil),
		"pwquality.module": v("pam_pwquality"), "pwquality.minlen": v(15), "pwquality.minclass": v(4),
		"pam.remember": v(24), "pam.remember_module": v("pam_pwhistory"),
	})

	loop := map[string]string{
		"/etc/pam.d/sshd": "auth include a\n", "/etc/pam.d/a": "auth include b\n", "/etc/pam.d/b": "auth include a\n",
	}
	check(t, out{files: loop}.parse(t), map[string]want{"faillock.active": v(false)})

	denied := map[string]string{"/etc/pam.d/sshd": "!"}
	check(t, out{uid: "1000", files: denied}.parse(t), map[string]want{
		"faillock.active": e(probes.ErrTextNotElevated), "pwquality.minlen": e(probes.ErrTextNotElevated),
	})
}

func TestFirewallPolicy(t *testing.T) {
	tests := []struct {
		name     string
		sections []sec
		files    map[string]string
		want     map[string]want
	}{
		{"nft policy drop", []sec{withUnits("nftables"), {id: "L17", body: "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established,related accept\n\t\tiif \"lo\" accept\n\t}\n}"}}, nil,
			map[string]want{"firewall.input_policy": v("drop"), "firewall.active": v(true), "firewall.service": v("nftables")}},
		{"nft accept with conditional drop", []sec{systemdUnits, {id: "L17", body: "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 23 drop\n\t}\n}"}}, nil,
			map[string]want{"firewall.input_policy": v("accept"), "firewall.active": v(false)}},
		{"nft final counter drop", []sec{systemdUnits, {id: "L17", body: "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tiifname \"lo\" accept\n\t\tcounter packets 12 bytes 720 drop\n\t}\n}"}}, nil,
			map[string]want{"firewall.input_policy": v("drop"), "firewall.active": v(true)}},
		{"nft no input chain", []sec{systemdUnits, {id: "L17", body: "table inet nat {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tmasquerade\n\t}\n}"}}, nil,
			map[string]want{"firewall.input_policy": v("accept")}},
		{"empty nft, legacy iptables", []sec{systemdUnits, {id: "L17"}, {id: "L17.iptables", body: "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-A INPUT -i lo -j ACCEPT\n-A INPUT -j REJECT --reject-with icmp-host-prohibited"}}, nil,
			map[string]want{"firewall.input_policy": v("reject")}},
		{"nft failed", []sec{systemdUnits, {id: "L17", body: "Error: Could not process rule: Operation not permitted", rc: 1}}, nil,
			map[string]want{"firewall.input_policy": e("not collected: L17 failed")}},
		{"non-root with ufw enabled", []sec{withUnits("ufw"), {id: "L17", skip: "not-elevated"}},
			map[string]string{"/etc/ufw/ufw.conf": "ENABLED=yes\n", "/etc/default/ufw": "DEFAULT_INPUT_POLICY=\"REJECT\"\n"},
			map[string]want{"firewall.input_policy": v("reject"), "firewall.active": v(true), "firewall.service": v("ufw")}},
		{"non-root without ufw", []sec{systemdUnits, {id: "L17", skip: "not-elevated"}}, nil,
			map[string]want{"firewall.input_policy": e(probes.ErrTextNotElevated), "firewall.active": v(false)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, out{files: tc.files, sections: tc.sections}.parse(t), tc.want)
		})
	}
}

func TestAuditAndTime(t *testing.T) {
	check(t, out{sections: []sec{
		{id: "BIN", body: "/sbin/auditctl"},
		{id: "L18", body: "AUDIT_STATUS: enabled=2 flag=1 pid=1234 rate_limit=0 backlog_limit=320 lost=0 backlog=0"},
		{id: "L18.rules", body: "-w /etc/passwd -p wa -k identity\n-a always,exit -F arch=b64 -S settimeofday -k time-change"},
		{id: "L21.chronyc", body: "Reference ID    : 0A0A0001 (10.10.0.1)\nStratum         : 3\nLeap status     : Normal"},
	}}.parse(t), map[string]want{"auditd.enabled": v(2), "auditd.rules": v(2), "auditd.installed": v(true), "time.synchronized": v(true)})

	check(t, out{sections: []sec{
		{id: "L18", body: "You must be root to run this program.", rc: 4},
		{id: "L18.rules", body: "You must be root to run this program.", rc: 4},
		{id: "L21.chronyc", body: "506 Cannot talk to daemon", rc: 1},
	}}.parse(t), map[string]want{"auditd.enabled": e("unparsed"), "auditd.rules": e("not collected: auditctl -l failed"),
		"time.synchronized": e("unparsed")})

	check(t, out{sections: []sec{{id: "L21.ntpq", body: "     remote           refid      st t when poll reach   delay   offset  jitter\n==============================================================================\n*10.10.0.1       .GPS.            1 u   33   64  377    0.412   -0.031   0.022\n+10.10.0.2       10.10.0.1        2 u   12   64  377    0.388    0.114   0.041"}}}.parse(t),
		map[string]want{"time.synchronized": v(true)})

	// old timedatectl wording
	check(t, out{sections: []sec{{id: "L21", body: "      Local time: Mon 2019-03-04 10:00:00 CET\n NTP synchronized: no\n"}}}.parse(t),
		map[string]want{"time.synchronized": v(false)})
}

func TestServicesWithoutSystemd(t *testing.T) {
	procs := sec{id: "PROCS", body: "init\nsyslogd\nchronyd\nsnmpd\nauditd"}
	check(t, out{uid: "0", sections: []sec{{id: "UNITS", skip: "no-systemd"}, procs}}.parse(t), map[string]want{
		"time.daemon": v("chronyd"), "snmpd.active": v(true), "auditd.active": v(true), "syslog.daemon": v("syslogd"),
		"usb.usbguard_active": v(false),
	})
	// non-root behind hidepid: an absent process proves nothing
	hidden := out{uid: "1000", files: map[string]string{"/proc/mounts": "proc /proc proc rw,nosuid,nodev,noexec,relatime,hidepid=invisible 0 0\n"},
		sections: []sec{{id: "UNITS", skip: "no-systemd"}, {id: "PROCS", body: "sh"}}}
	check(t, hidden.parse(t), map[string]want{"auditd.active": e(probes.ErrTextNotElevated), "snmpd.active": e(probes.ErrTextNotElevated)})
	// a systemctl that printed an error instead of states
	check(t, out{sections: []sec{{id: "UNITS", body: strings.Join(unitList(), " ") + "\nFailed to connect to bus: No such file or directory", rc: 1}}}.parse(t),
		map[string]want{"auditd.active": e("unparsed")})
}

func TestSyslogTargets(t *testing.T) {
	f := out{files: map[string]string{
		"/etc/rsyslog.conf":             "module(load=\"imuxsock\")\n*.* @loghost\nauth.*\t@@[fd00::10]:6514\n$ActionQueueType LinkedList\n:msg, contains, \"x\" @@10.1.1.1:10514\nlocal0.* :omrelp:relay.plant:2514;RSYSLOG_ForwardFormat\n",
		"/etc/rsyslog.d/10.conf":        "*.* action(type=\"omfwd\" Target=\"10.9.9.9\" Port=\"601\" Protocol=\"tcp\")\nmail.* action(type=\"omfile\" file=\"/var/log/mail\")\n",
		"/etc/syslog-ng/syslog-ng.conf": "destination d_siem { network(\"siem.plant\" port(6514) transport(\"tls\")); };\ndestination d_udp {\n  udp(\"10.2.2.2\" port(514));\n};\ndestination d_file { file(\"/var/log/x\"); };\n",
	}}.parse(t)
	check(t, f, map[string]want{"syslog.remote_targets": v([]string{
		"relp://relay.plant:2514", "tcp://10.1.1.1:10514", "tcp://10.9.9.9:601", "tcp://[fd00::10]:6514",
		"tls://siem.plant:6514", "udp://10.2.2.2:514", "udp://loghost"})})
}

func TestShellAndBannerAndCore(t *testing.T) {
	f := out{files: map[string]string{
		"/etc/os-release":               "ID=\"centos\"\nVERSION_ID=\"7\"\nNAME=\"CentOS Linux\"\n",
		"/etc/profile":                  "TMOUT=600\n",
		"/etc/profile.d/zz-tmout.sh":    "typeset -xr TMOUT=300\n",
		"/etc/issue":                    "CentOS Linux 7 (Core)\nKernel \\r on an \\m\n",
		"/etc/issue.net":                "",
		"/etc/security/limits.conf":     "* soft core 0\n*\thard\tcore\tunlimited\n",
		"/etc/security/limits.d/z.conf": "* - core 0\n",
		"/proc/sys/fs/suid_dumpable":    "1\n",
		"/proc/sys/kernel/core_pattern": "core\n",
		"/proc/sys/net/ipv4/ip_forward": "1\n",
	}}.parse(t)
	check(t, f, map[string]want{
		"shell.tmout": v(300), "shell.tmout_readonly": v(true), "shell.tmout_exported": v(true),
		"banner.issue_discloses_os": v(true), "banner.issue_net": v(""), "banner.issue_net_discloses_os": v(false),
		"coredump.hard_limit": v("0"), "coredump.hard_limit_zero": v(true), "coredump.suid_dumpable": v(1),
		"net.ipv4_forward": v(1), "net.ipv6_forward": v(nil), "os.eol_date": e("not collected: no end-of-life entry for centos 7"),
	})
}

func TestPackageManagers(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"opkg", "opkg\nbusybox - 1.36.1-1\nlibc - 1.2.4-4\nopenssh-server - 9.6p1-1\ntelnetd - 1.0 - extra words", []string{"busybox=1.36.1-1", "libc=1.2.4-4", "openssh-server=9.6p1-1", "telnetd=1.0"}},
		{"apk", "apk\nalpine-baselayout-3.4.3-r2\nbusybox-1.36.1-r15\nca-certificates-bundle-20240226-r0\nWARNING: opening /var/cache: No such file", []string{"alpine-baselayout=3.4.3-r2", "busybox=1.36.1-r15", "ca-certificates-bundle=20240226-r0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := out{sections: []sec{{id: "L04", body: tc.body}}}.parse(t)
			check(t, f, map[string]want{"packages.list": v(tc.want), "packages.manager": v(tc.name)})
		})
	}
	f := out{sections: []sec{{id: "L04", body: "dpkg\ndpkg-query: error: cannot access archive", rc: 2}}}.parse(t)
	check(t, f, map[string]want{"packages.count": e("unparsed"), "packages.legacy_installed": e("unparsed")})
}

func TestSmallParsers(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"5.15.0-105-generic", "5.15.0-97-generic"}, {"5.14.0-427.13.1.el9_4.x86_64", "5.14.0-362.24.1.el9_3.x86_64"},
		{"6.1.0-18-amd64", "6.1.0-9-amd64"}, {"4.19.0010", "4.19.9"}, {"10.0", "9.9.9"}, {"1.0a", "1.0"},
	} {
		if compareVersions(tc.a, tc.b) <= 0 || compareVersions(tc.b, tc.a) >= 0 {
			t.Errorf("compareVersions(%q, %q) does not order them", tc.a, tc.b)
		}
	}
	if compareVersions("5.15.0", "5.15.0") != 0 {
		t.Error("equal versions")
	}
	if got := newestKernel("6.1.0-18-amd64", []string{"6.1.0-18-amd64", "6.1.0-21-rt-amd64", "6.1.0-20-amd64"}); got != "6.1.0-20-amd64" {
		t.Errorf("newestKernel picks another flavour: %s", got)
	}

	for in, want := range map[string]string{
		"0100007F:0016":                         "127.0.0.1:22",
		"00000000000000000000000000000000:01F6": "[::]:502",
		"00000000000000000000000001000000:0035": "[::1]:53",
		"0000000000000000FFFF00000100007F:1F90": "[::ffff:127.0.0.1]:8080",
	} {
		ap, ok := procNetAddr(in)
		if !ok || ap.String() != want {
			t.Errorf("procNetAddr(%s) = %v %v, want %s", in, ap, ok, want)
		}
	}
	for _, bad := range []string{"", "zz:0016", "0100007F", "0100007F:XYZ", "01007F:0016"} {
		if _, ok := procNetAddr(bad); ok {
			t.Errorf("procNetAddr(%q) accepted", bad)
		}
	}

	for in, want := range map[string]int{"90": 90, "5m": 300, "1h30m": 5400, "2w": 1209600, "10S": 10} {
		if got, ok := sshdSeconds(in); !ok || got != want {
			t.Errorf("sshdSeconds(%q) = %d %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "m", "5x", "99999999999999999w"} {
		if _, ok := sshdSeconds(bad); ok {
			t.Errorf("sshdSeconds(%q) accepted", bad)
		}
	}

	mode, name, ok := lsLine("-rwsr-xr-x    1 0        0           772880 Nov 28 13:28 /opt/my dir/hmi helper")
	if !ok || mode != "-rwsr-xr-x" || name != "/opt/my dir/hmi helper" {
		t.Errorf("lsLine = %q %q %v", mode, name, ok)
	}
	if _, _, ok := lsLine("find: '/proc/1': Permission denied"); ok {
		t.Error("lsLine accepted an error line")
	}

	if got := shellUnquote(`"a \"b\" \$c"`); got != `a "b" $c` {
		t.Errorf("shellUnquote = %q", got)
	}
	if got := lsblkUnescape(`/mnt/my\x20disk`); got != "/mnt/my disk" {
		t.Errorf("lsblkUnescape = %q", got)
	}
	if n, v, ok := splitAPK("musl-utils-1.2.4-r2"); !ok || n != "musl-utils" || v != "1.2.4-r2" {
		t.Errorf("splitAPK = %q %q %v", n, v, ok)
	}
	if got := parseTimes("1m2.500s 0m0.25s"); got.Milliseconds() != 62750 {
		t.Errorf("parseTimes = %v", got)
	}
}

func TestDiskEncryption(t *testing.T) {
	lsblk := "nvme0n1 disk   \nnvme0n1p1 part vfat /boot/efi nvme0n1\nnvme0n1p2 part crypto_LUKS  nvme0n1\n" +
		"luks-1 crypt LVM2_member  nvme0n1p2\nvg-root lvm ext4 / luks-1\nnvme1n1 disk ext4 /srv/data\\x20set \n" +
		"md0 raid1 crypto_LUKS  sda1\nmd0 raid1 crypto_LUKS  sdb1\ndata crypt xfs /data md0"
	check(t, out{sections: []sec{{id: "L30", body: lsblk}}}.parse(t), map[string]want{
		"disk.root_encrypted": v(true), "disk.crypt_devices": v([]string{"luks-1", "data"}),
		"disk.unencrypted_mounts": v([]string{"/srv/data set"}),
	})
	check(t, out{sections: []sec{{id: "L30", body: "overlay  ", rc: 0}}}.parse(t),
		map[string]want{"disk.root_encrypted": e("not collected: the root filesystem is not on a block device")})
	check(t, out{sections: []sec{{id: "L30", body: "lsblk: failed to access sysfs directory: /sys/dev/block: No such file or directory", rc: 32}}}.parse(t),
		map[string]want{"disk.root_encrypted": e("not collected: lsblk failed")})
}

func TestMACAndUSB(t *testing.T) {
	f := out{uid: "1000", files: map[string]string{
		"/sys/module/apparmor/parameters/enabled": "Y\n",
		"/sys/kernel/security/apparmor/profiles":  "", // 0444 but AppArmor refuses non-root reads
		"/sys/fs/selinux/enforce":                 "0",
		"/etc/selinux/config":                     "SELINUX=Enforcing\n",
		"/etc/modprobe.d/a.conf":                  "install usb_storage /usr/bin/true\n",
		"/proc/modules":                           "usb_storage 81920 0 - Live 0x0\n",
	}, sections: []sec{{id: "LS", body: "/sys/module\n/sys/module/usb_storage"}}}.parse(t)
	check(t, f, map[string]want{
		"mac.apparmor_enabled": v(true), "mac.apparmor_enforce_profiles": e(probes.ErrTextNotElevated),
		"mac.selinux": v("permissive"), "mac.selinux_config": v("enforcing"),
		"usb.storage_install_disabled": v(true), "usb.storage_loaded": v(true), "usb.storage_blacklisted": v(false),
	})
}

func TestEOLTable(t *testing.T) {
	tbl, err := loadEOL()
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Source == "" || len(tbl.Releases) == 0 {
		t.Fatal("empty table")
	}
	seen := map[string]bool{}
	for _, r := range tbl.Releases {
		key := r.ID + " " + r.Version
		if seen[key] {
			t.Errorf("%s twice", key)
		}
		seen[key] = true
		for i, d := range []string{r.EOL, r.EOES} {
			if i == 1 && d == "" {
				continue // no extended support
			}
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				t.Errorf("%s: bad date %q", key, d)
			}
		}
		if r.EOES != "" && r.EOES < r.EOL {
			t.Errorf("%s: extended support ends before support", key)
		}
	}
}

func TestEmitterCoversAliases(t *testing.T) {
	// L12 serves L13–L16; L24 serves L25 (deep only)
	p := &parser{deep: true}
	names := p.emitter("L12").names
	if !reflect.DeepEqual(names[:2], []string{"ssh.source", "ssh.permitrootlogin"}) {
		t.Errorf("L12 names start %v", names[:2])
	}
	if len((&parser{}).emitter("L24").names) != 0 {
		t.Error("deep facts must not be owed by a normal run")
	}
}
