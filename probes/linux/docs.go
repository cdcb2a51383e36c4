package linux

import (
	"fmt"
	"strings"
)

// FactDoc documents one fact the parser can emit. Every name Parse emits is
// listed in Facts; a test enforces it, and docs/facts-linux.md is generated
// from it (go generate ./probes/linux).
type FactDoc struct {
	Name  string // dotted fact name, the contract with the check definitions
	Type  string // Go value type; "|nil" marks facts that may be unset on the host
	Probe string // probe ID of the catalog (L01…L34); also the fact's Source
	Root  bool   // complete only with root; without it the fact carries Err "not elevated"
	// Deep facts exist only when Options.Deep was set; otherwise they are absent.
	Deep        bool
	Description string
}

// Fact types used in FactDoc.Type.
const (
	tInt        = "int"
	tIntNil     = "int|nil"
	tString     = "string"
	tStringNil  = "string|nil"
	tBool       = "bool"
	tBoolNil    = "bool|nil"
	tStrings    = "[]string"
	tInts       = "[]int"
	tStringsNil = "[]string|nil"
)

// Facts documents every fact Parse can emit, in probe order. Treat it as
// read-only.
var Facts = []FactDoc{
	{Name: "os.id", Type: tStringNil, Probe: "L01", Description: "os-release ID (debian, ubuntu, rhel, …); derived from redhat-release/debian_version/alpine-release when os-release is absent"},
	{Name: "os.version_id", Type: tStringNil, Probe: "L01", Description: "os-release VERSION_ID (\"12\", \"22.04\", \"9.3\")"},
	{Name: "os.pretty_name", Type: tStringNil, Probe: "L01", Description: "os-release PRETTY_NAME"},
	{Name: "os.name", Type: tStringNil, Probe: "L01", Description: "os-release NAME"},
	{Name: "os.id_like", Type: tStrings, Probe: "L01", Description: "os-release ID_LIKE words (empty when unset)"},
	{Name: "os.version_codename", Type: tStringNil, Probe: "L01", Description: "os-release VERSION_CODENAME"},

	{Name: "os.eol_date", Type: tString, Probe: "L02", Description: "end of vendor security support (YYYY-MM-DD) for os.id + os.version_id from the embedded endoflife.date table; Err not collected when the release is not in the table"},
	{Name: "os.eoes_date", Type: tStringNil, Probe: "L02", Description: "end of paid extended support (Debian LTS, Ubuntu Pro, RHEL ELS), nil when there is none"},

	{Name: "kernel.release", Type: tString, Probe: "L03", Description: "running kernel release (uname -r)"},
	{Name: "kernel.arch", Type: tString, Probe: "L03", Description: "machine architecture (uname -m)"},
	{Name: "kernel.installed", Type: tStrings, Probe: "L03", Description: "installed kernel releases: from linux-image-*/kernel(-core) packages, else /lib/modules"},
	{Name: "kernel.newest_installed", Type: tStringNil, Probe: "L03", Description: "highest release of kernel.installed (nil when none is known)"},
	{Name: "kernel.running_newest", Type: tBoolNil, Probe: "L03", Description: "the running kernel is the newest installed (nil when no installed kernel is known)"},
	{Name: "kernel.reboot_required", Type: tBool, Probe: "L03", Description: "/var/run/reboot-required exists or a newer kernel than the running one is installed"},
	{Name: "kernel.reboot_required_pkgs", Type: tStrings, Probe: "L03", Description: "packages listed in /var/run/reboot-required.pkgs"},

	{Name: "packages.manager", Type: tString, Probe: "L04", Description: "dpkg, rpm, opkg or apk"},
	{Name: "packages.list", Type: tStrings, Probe: "L04", Description: "installed packages as \"name=version\", sorted (dpkg: only state installed; rpm gpg-pubkey entries dropped)"},
	{Name: "packages.count", Type: tInt, Probe: "L04", Description: "number of entries in packages.list"},

	{Name: "autoupdate.tools", Type: tStrings, Probe: "L06", Description: "automatic update tools present (unattended-upgrade, dnf-automatic, yum-cron)"},
	{Name: "autoupdate.enabled", Type: tBool, Probe: "L06", Description: "APT::Periodic::Unattended-Upgrade enabled with the tool present, or a dnf-automatic/yum-cron unit active"},

	{Name: "login_defs.pass_max_days", Type: tIntNil, Probe: "L07", Description: "PASS_MAX_DAYS in /etc/login.defs (last definition wins)"},
	{Name: "login_defs.pass_min_days", Type: tIntNil, Probe: "L07", Description: "PASS_MIN_DAYS"},
	{Name: "login_defs.pass_warn_age", Type: tIntNil, Probe: "L07", Description: "PASS_WARN_AGE"},
	{Name: "login_defs.pass_min_len", Type: tIntNil, Probe: "L07", Description: "PASS_MIN_LEN (ignored by PAM systems; see pwquality.minlen)"},
	{Name: "login_defs.encrypt_method", Type: tStringNil, Probe: "L07", Description: "ENCRYPT_METHOD, upper case (SHA512, YESCRYPT, …)"},
	{Name: "login_defs.umask", Type: tStringNil, Probe: "L07", Description: "UMASK as written (octal string)"},

	{Name: "pwquality.module", Type: tStringNil, Probe: "L08", Description: "pam_pwquality or pam_cracklib when in the password stack of passwd (common-password/system-auth), else nil"},
	{Name: "pwquality.minlen", Type: tIntNil, Probe: "L08", Description: "effective minlen: pwquality.conf, then pwquality.conf.d/*.conf, then module arguments; nil when unset or no module is in the stack"},
	{Name: "pwquality.minclass", Type: tIntNil, Probe: "L08", Description: "effective minclass (same precedence)"},
	{Name: "pwquality.dcredit", Type: tIntNil, Probe: "L08", Description: "effective dcredit (negative = required digits)"},
	{Name: "pwquality.ucredit", Type: tIntNil, Probe: "L08", Description: "effective ucredit"},
	{Name: "pwquality.lcredit", Type: tIntNil, Probe: "L08", Description: "effective lcredit"},
	{Name: "pwquality.ocredit", Type: tIntNil, Probe: "L08", Description: "effective ocredit"},
	{Name: "pwquality.maxrepeat", Type: tIntNil, Probe: "L08", Description: "effective maxrepeat"},

	{Name: "pam.remember", Type: tIntNil, Probe: "L09", Description: "password history depth: pam_pwhistory remember= (argument, else pwhistory.conf), else pam_unix remember=; nil when unset (pam_pwhistory's built-in default is 10)"},
	{Name: "pam.remember_module", Type: tStringNil, Probe: "L09", Description: "pam_pwhistory or pam_unix, whichever supplies pam.remember; nil when none is in the password stack"},

	{Name: "faillock.active", Type: tBool, Probe: "L10", Description: "pam_faillock is in the auth stack of every existing sshd/login PAM service (common-auth/system-auth when neither exists)"},
	{Name: "faillock.deny", Type: tIntNil, Probe: "L10", Description: "deny: pam_faillock argument, else /etc/security/faillock.conf; nil when unset (module default 3)"},
	{Name: "faillock.unlock_time", Type: tIntNil, Probe: "L10", Description: "unlock_time in seconds (0 = administrator unlock); argument, else faillock.conf; nil when unset (module default 600)"},
	{Name: "faillock.tally2", Type: tBool, Probe: "L10", Description: "pam_tally2 or pam_tally (removed in Linux-PAM 1.5.0) is in an auth stack"},

	{Name: "accounts.uid0", Type: tStrings, Probe: "L11", Description: "accounts with UID 0 in /etc/passwd"},
	{Name: "accounts.empty_password", Type: tStrings, Probe: "L11", Root: true, Description: "accounts whose /etc/shadow (or /etc/passwd) password field is empty"},
	{Name: "accounts.login_shell", Type: tStrings, Probe: "L11", Description: "accounts whose shell is not nologin/false/sync/shutdown/halt"},
	{Name: "accounts.count", Type: tInt, Probe: "L11", Description: "entries in /etc/passwd"},
	{Name: "accounts.admin_group_members", Type: tStrings, Probe: "L11", Description: "members of the sudo, wheel and admin groups in /etc/group"},

	{Name: "ssh.source", Type: tString, Probe: "L12", Description: "\"sshd -T\" (effective, root) or \"file\" (sshd_config parsed in Go: first value wins, Include, Match blocks skipped, OpenSSH ≥ 7.4 defaults)"},
	{Name: "ssh.permitrootlogin", Type: tString, Probe: "L13", Description: "PermitRootLogin as sshd -T prints it (no, yes, without-password, prohibit-password, forced-commands-only)"},
	{Name: "ssh.passwordauthentication", Type: tString, Probe: "L14", Description: "PasswordAuthentication yes|no"},
	{Name: "ssh.permitemptypasswords", Type: tString, Probe: "L14", Description: "PermitEmptyPasswords yes|no"},
	{Name: "ssh.maxauthtries", Type: tInt, Probe: "L14", Description: "MaxAuthTries"},
	{Name: "ssh.hostbasedauthentication", Type: tString, Probe: "L14", Description: "HostbasedAuthentication yes|no"},
	{Name: "ssh.ignorerhosts", Type: tString, Probe: "L14", Description: "IgnoreRhosts yes|no|shosts-only"},
	{Name: "ssh.pubkeyauthentication", Type: tString, Probe: "L14", Description: "PubkeyAuthentication yes|no"},
	{Name: "ssh.ciphers", Type: tStrings, Probe: "L15", Description: "Ciphers; from a file only when set there (compiled-in defaults vary by version: Err not collected)"},
	{Name: "ssh.macs", Type: tStrings, Probe: "L15", Description: "MACs (same rule)"},
	{Name: "ssh.kexalgorithms", Type: tStrings, Probe: "L15", Description: "KexAlgorithms (same rule)"},
	{Name: "ssh.clientaliveinterval", Type: tInt, Probe: "L16", Description: "ClientAliveInterval in seconds"},
	{Name: "ssh.clientalivecountmax", Type: tInt, Probe: "L16", Description: "ClientAliveCountMax"},
	{Name: "ssh.banner", Type: tString, Probe: "L16", Description: "Banner path, or \"none\""},
	{Name: "ssh.x11forwarding", Type: tString, Probe: "L16", Description: "X11Forwarding yes|no"},
	{Name: "ssh.allowtcpforwarding", Type: tString, Probe: "L16", Description: "AllowTcpForwarding yes|no|all|local|remote"},
	{Name: "ssh.permittunnel", Type: tString, Probe: "L16", Description: "PermitTunnel yes|no|point-to-point|ethernet"},
	{Name: "ssh.loglevel", Type: tString, Probe: "L16", Description: "LogLevel, upper case (INFO, VERBOSE, …)"},

	{Name: "firewall.active", Type: tBool, Probe: "L17", Description: "a firewall unit (firewalld, ufw, nftables, iptables, netfilter-persistent) is active, ufw.conf ENABLED=yes, or the loaded ruleset denies inbound by default"},
	{Name: "firewall.service", Type: tStringNil, Probe: "L17", Description: "the first active firewall unit, nil when none"},
	{Name: "firewall.input_policy", Type: tString, Probe: "L17", Root: true, Description: "effective inbound default: drop, reject or accept (nft/iptables ruleset as root; /etc/default/ufw DEFAULT_INPUT_POLICY when ufw is enabled)"},

	{Name: "auditd.installed", Type: tBool, Probe: "L18", Description: "auditd/auditctl binary or /etc/audit/auditd.conf present"},
	{Name: "auditd.active", Type: tBool, Probe: "L18", Description: "auditd unit active, or an auditd process running on hosts without systemd"},
	{Name: "auditd.enabled", Type: tInt, Probe: "L18", Root: true, Description: "auditctl -s enabled flag (0 off, 1 on, 2 immutable)"},
	{Name: "auditd.rules", Type: tInt, Probe: "L18", Root: true, Description: "number of loaded audit rules (auditctl -l)"},
	{Name: "auditd.rule_lines", Type: tStrings, Probe: "L18", Root: true, Description: "the loaded audit rules as auditctl -l prints them"},

	{Name: "auditd.space_left", Type: tStringNil, Probe: "L19", Root: true, Description: "auditd.conf space_left (MB or N%)"},
	{Name: "auditd.space_left_action", Type: tStringNil, Probe: "L19", Root: true, Description: "auditd.conf space_left_action, lower case"},
	{Name: "auditd.admin_space_left", Type: tStringNil, Probe: "L19", Root: true, Description: "auditd.conf admin_space_left"},
	{Name: "auditd.admin_space_left_action", Type: tStringNil, Probe: "L19", Root: true, Description: "auditd.conf admin_space_left_action, lower case"},
	{Name: "auditd.disk_full_action", Type: tStringNil, Probe: "L19", Root: true, Description: "auditd.conf disk_full_action, lower case"},
	{Name: "auditd.disk_error_action", Type: tStringNil, Probe: "L19", Root: true, Description: "auditd.conf disk_error_action, lower case"},
	{Name: "auditd.max_log_file", Type: tIntNil, Probe: "L19", Root: true, Description: "auditd.conf max_log_file (MB)"},
	{Name: "auditd.max_log_file_action", Type: tStringNil, Probe: "L19", Root: true, Description: "auditd.conf max_log_file_action, lower case"},

	{Name: "syslog.remote_targets", Type: tStrings, Probe: "L20", Description: "remote log targets as proto://host[:port] (rsyslog @/@@/omfwd/omrelp, syslog-ng network/syslog/tcp/udp, syslog.conf @host, journal-upload URL when its unit is active)"},
	{Name: "syslog.daemon", Type: tStringNil, Probe: "L20", Description: "active syslog daemon: rsyslog, syslog-ng or syslogd; nil when none"},

	{Name: "time.daemon", Type: tStringNil, Probe: "L21", Description: "active time-sync daemon: chronyd, systemd-timesyncd, ntpd or openntpd; nil when none"},
	{Name: "time.sync_active", Type: tBool, Probe: "L21", Description: "a time-sync daemon is active"},
	{Name: "time.servers", Type: tStrings, Probe: "L21", Description: "server/pool entries of chrony, ntp, openntpd and timesyncd NTP= (config order)"},
	{Name: "time.synchronized", Type: tBool, Probe: "L21", Description: "timedatectl \"System clock synchronized: yes\", chronyc Leap status Normal, or an ntpq peer marked *"},

	{Name: "aide.installed", Type: tBool, Probe: "L22", Description: "aide package or binary present"},
	{Name: "aide.database", Type: tBool, Probe: "L22", Root: true, Description: "an aide.db* file exists in /var/lib/aide"},
	{Name: "aide.scheduled", Type: tBool, Probe: "L22", Description: "aide in /etc/crontab, /etc/cron.d, cron.daily/weekly, root's crontab, or an aide timer active"},

	{Name: "usb.storage_install", Type: tStringNil, Probe: "L23", Description: "command of `install usb-storage …` in modprobe.d, nil when none"},
	{Name: "usb.storage_install_disabled", Type: tBool, Probe: "L23", Description: "usb.storage_install is /bin/true or /bin/false"},
	{Name: "usb.storage_blacklisted", Type: tBool, Probe: "L23", Description: "`blacklist usb-storage` in modprobe.d (does not stop explicit loads)"},
	{Name: "usb.storage_loaded", Type: tBool, Probe: "L23", Description: "usb_storage in /proc/modules or /sys/module (loaded or built in)"},
	{Name: "usb.usbguard_active", Type: tBool, Probe: "L23", Description: "usbguard unit active or usbguard-daemon running"},

	{Name: "fs.world_writable_files", Type: tStrings, Probe: "L24", Root: true, Deep: true, Description: "regular files with o+w on local filesystems (find -xdev)"},
	{Name: "fs.world_writable_dirs", Type: tStrings, Probe: "L24", Root: true, Deep: true, Description: "world-writable directories without the sticky bit"},
	{Name: "fs.suid_sgid_files", Type: tStrings, Probe: "L25", Root: true, Deep: true, Description: "regular files with the SUID or SGID bit"},

	{Name: "net.tcp_listen", Type: tInts, Probe: "L26", Description: "listening TCP ports (all addresses), sorted, from /proc/net/tcp{,6}"},
	{Name: "net.udp_listen", Type: tInts, Probe: "L26", Description: "bound unconnected UDP ports, sorted, from /proc/net/udp{,6}"},
	{Name: "net.tcp_listen_external", Type: tInts, Probe: "L26", Description: "listening TCP ports not bound to loopback only"},
	{Name: "net.udp_listen_external", Type: tInts, Probe: "L26", Description: "bound UDP ports not bound to loopback only"},
	{Name: "net.tcp_listen_addrs", Type: tStrings, Probe: "L26", Description: "listening TCP sockets as addr:port ([v6]:port)"},

	{Name: "packages.legacy_installed", Type: tStrings, Probe: "L27", Description: "installed legacy cleartext packages (telnetd, rsh-server, xinetd/inetd, ypserv, tftp servers, vsftpd, telnet and rsh clients); without a package manager, the matching binaries as bin:<name>"},

	{Name: "banner.issue", Type: tStringNil, Probe: "L28", Description: "/etc/issue text (comment and blank lines dropped, capped at 4 KiB); nil when the file is absent"},
	{Name: "banner.issue_net", Type: tStringNil, Probe: "L28", Description: "/etc/issue.net text, same rules"},
	{Name: "banner.issue_discloses_os", Type: tBool, Probe: "L28", Description: "/etc/issue holds \\s \\S \\r \\v \\m escapes or the distribution name"},
	{Name: "banner.issue_net_discloses_os", Type: tBool, Probe: "L28", Description: "/etc/issue.net, same test"},

	{Name: "shell.tmout", Type: tIntNil, Probe: "L29", Description: "TMOUT assigned in /etc/profile, profile.d/*.sh, bash.bashrc or bashrc (last assignment in that order)"},
	{Name: "shell.tmout_readonly", Type: tBool, Probe: "L29", Description: "TMOUT made read-only (readonly, typeset -r, declare -r)"},
	{Name: "shell.tmout_exported", Type: tBool, Probe: "L29", Description: "TMOUT exported (export, typeset -x, declare -x)"},

	{Name: "disk.root_encrypted", Type: tBool, Probe: "L30", Description: "the device mounted on / has a crypt device among itself and its ancestors (lsblk)"},
	{Name: "disk.crypt_devices", Type: tStrings, Probe: "L30", Description: "lsblk devices of TYPE crypt"},
	{Name: "disk.unencrypted_mounts", Type: tStrings, Probe: "L30", Description: "mounted block filesystems and swap not on a crypt device, except /boot, /boot/efi, /efi and squashfs loop images"},
	{Name: "disk.crypttab_entries", Type: tInt, Probe: "L30", Description: "entries in /etc/crypttab"},

	{Name: "mac.selinux", Type: tString, Probe: "L31", Description: "SELinux runtime mode: enforcing, permissive or disabled (selinuxfs enforce file)"},
	{Name: "mac.selinux_config", Type: tStringNil, Probe: "L31", Description: "SELINUX= in /etc/selinux/config, lower case"},
	{Name: "mac.apparmor_enabled", Type: tBool, Probe: "L31", Description: "/sys/module/apparmor/parameters/enabled is Y"},
	{Name: "mac.apparmor_enforce_profiles", Type: tInt, Probe: "L31", Root: true, Description: "AppArmor profiles in enforce mode"},
	{Name: "mac.apparmor_complain_profiles", Type: tInt, Probe: "L31", Root: true, Description: "AppArmor profiles in complain mode"},

	{Name: "coredump.hard_limit", Type: tStringNil, Probe: "L32", Description: "hard core limit for domain * in limits.conf/limits.d (last wins), nil when unset"},
	{Name: "coredump.hard_limit_zero", Type: tBool, Probe: "L32", Description: "coredump.hard_limit is 0"},
	{Name: "coredump.suid_dumpable", Type: tInt, Probe: "L32", Description: "fs.suid_dumpable"},
	{Name: "coredump.core_pattern", Type: tString, Probe: "L32", Description: "kernel.core_pattern (|…systemd-coredump means systemd-coredump handles dumps)"},
	{Name: "coredump.systemd_storage", Type: tStringNil, Probe: "L32", Description: "Storage= in coredump.conf(.d), nil when unset (systemd default external)"},
	{Name: "coredump.systemd_process_size_max", Type: tStringNil, Probe: "L32", Description: "ProcessSizeMax= in coredump.conf(.d), nil when unset"},

	{Name: "net.ipv4_forward", Type: tInt, Probe: "L33", Description: "net.ipv4.ip_forward"},
	{Name: "net.ipv6_forward", Type: tIntNil, Probe: "L33", Description: "net.ipv6.conf.all.forwarding, nil without IPv6"},

	{Name: "snmpd.installed", Type: tBool, Probe: "L34", Description: "snmpd/net-snmp package or snmpd binary present"},
	{Name: "snmpd.active", Type: tBool, Probe: "L34", Description: "snmpd unit active or snmpd process running"},
	{Name: "snmpd.configured", Type: tBool, Probe: "L34", Description: "/etc/snmp/snmpd.conf exists (readable or not)"},
	{Name: "snmpd.communities", Type: tStrings, Probe: "L34", Root: true, Description: "v1/v2c communities of rocommunity/rwcommunity/com2sec; only the defaults public and private are shown, every other community as [redacted]"},
	{Name: "snmpd.rw_access", Type: tBool, Probe: "L34", Root: true, Description: "rwcommunity, rwuser or a VACM access line with a write view"},
	{Name: "snmpd.v3_users", Type: tInt, Probe: "L34", Root: true, Description: "createUser lines (passphrases never leave the host)"},
}

// Markdown renders the fact reference (docs/facts-linux.md).
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Linux facts\n\n")
	b.WriteString("Generated from `probes/linux/docs.go` by `go generate ./probes/linux`; do not edit.\n\n")
	b.WriteString("Every fact carries `source` (the probe ID) and `raw` (the lines it came from, capped).\n")
	b.WriteString("A fact with `error` could not be collected: `not elevated` (root-only data read without root),\n")
	b.WriteString("`not collected: …` (command missing, output truncated, section skipped) or `unparsed: …`.\n")
	b.WriteString("A `nil` value was read and is unset on the host. Root = complete only when the scan\n")
	b.WriteString("runs as root or through `sudo -n`. Deep = present only in deep scans (`find /`).\n\n")
	b.WriteString("| fact | type | probe | root | deep | description |\n|---|---|---|---|---|---|\n")
	for _, d := range Facts {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", d.Name, strings.ReplaceAll(d.Type, "|", "\\|"),
			d.Probe, yesNo(d.Root), yesNo(d.Deep), strings.ReplaceAll(d.Description, "|", "\\|"))
	}
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return ""
}
