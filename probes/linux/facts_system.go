package linux

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/otsweep/otsweep/probes"
)

// ---- L23 USB storage -------------------------------------------------------

func parseUSB(p *parser, e *emitter) {
	files, why := p.globFiles("/etc/modprobe.d/*.conf", "/lib/modprobe.d/*.conf", "/usr/lib/modprobe.d/*.conf")
	if why != "" {
		e.fail("usb.storage_install", why)
		e.fail("usb.storage_install_disabled", why)
		e.fail("usb.storage_blacklisted", why)
	} else {
		install, installRaw := "", ""
		blacklisted := false
		var blRaw []string
		for _, f := range files {
			for _, l := range p.content(f) {
				fs := strings.Fields(l)
				if len(fs) < 2 || strings.ReplaceAll(fs[1], "-", "_") != "usb_storage" {
					continue
				}
				switch fs[0] {
				case "install":
					if installRaw == "" && len(fs) > 2 {
						install, installRaw = strings.Join(fs[2:], " "), f+": "+l
					}
				case "blacklist":
					blacklisted = true
					blRaw = append(blRaw, f+": "+l)
				}
			}
		}
		if installRaw == "" {
			e.set("usb.storage_install", nil, "no install usb-storage line in modprobe.d")
			e.set("usb.storage_install_disabled", false, "no install usb-storage line in modprobe.d")
		} else {
			first := path.Base(strings.Fields(install)[0])
			e.set("usb.storage_install", install, installRaw)
			e.set("usb.storage_install_disabled", first == "true" || first == "false", installRaw)
		}
		if len(blRaw) == 0 {
			blRaw = []string{"no blacklist usb-storage line in modprobe.d"}
		}
		e.set("usb.storage_blacklisted", blacklisted, blRaw...)
	}

	ls, lwhy := p.need("LS")
	_, mods, mwhy := p.fileLines("/proc/modules")
	switch {
	case ls == nil:
		e.fail("usb.storage_loaded", lwhy)
	case mwhy != "":
		e.fail("usb.storage_loaded", mwhy)
	case !slices.Contains(ls.lines, "/sys/module") && len(mods) == 0:
		e.fail("usb.storage_loaded", notCollected("neither /proc/modules nor /sys/module is readable"))
	default:
		var raw []string
		if slices.Contains(ls.lines, "/sys/module/usb_storage") {
			raw = append(raw, "/sys/module/usb_storage exists")
		}
		for _, l := range mods {
			if strings.HasPrefix(l, "usb_storage ") {
				raw = append(raw, "/proc/modules: "+l)
			}
		}
		loaded := len(raw) > 0
		if !loaded {
			raw = []string{"usb_storage neither in /proc/modules nor /sys/module"}
		}
		e.set("usb.storage_loaded", loaded, raw...)
	}

	switch st, ev, why := p.service("usbguard"); st {
	case svcActive:
		e.set("usb.usbguard_active", true, ev)
	case svcInactive:
		e.set("usb.usbguard_active", false, ev)
	default:
		e.fail("usb.usbguard_active", why)
	}
}

// ---- L24/L25 find ----------------------------------------------------------

func parseFind(p *parser, e *emitter) {
	if !p.deep {
		return
	}
	s, why := p.need("L24")
	if s == nil {
		e.failRest(why)
		return
	}
	switch {
	case s.rc == 124 || s.rc == 137:
		e.failRest(notCollected("find timed out (exit %d); the lists would be incomplete", s.rc))
		return
	case s.rc != 0 && len(s.lines) == 0:
		e.failRest(notCollected("find failed (exit %d)", s.rc))
		return
	}
	var wwFiles, wwDirs, suid []string
	for _, l := range s.lines {
		mode, name, ok := lsLine(l)
		if !ok {
			continue
		}
		switch mode[0] {
		case '-':
			if mode[8] == 'w' {
				wwFiles = append(wwFiles, name)
			}
			if mode[3] == 's' || mode[3] == 'S' || mode[6] == 's' || mode[6] == 'S' {
				suid = append(suid, name)
			}
		case 'd':
			if mode[8] == 'w' && mode[9] != 't' && mode[9] != 'T' {
				wwDirs = append(wwDirs, name)
			}
		}
	}
	raw := fmt.Sprintf("find -xdev over local filesystems (exit %d)", s.rc)
	e.set("fs.world_writable_files", nonNil(capList(sortedUnique(wwFiles))), raw)
	e.set("fs.world_writable_dirs", nonNil(capList(sortedUnique(wwDirs))), raw)
	e.set("fs.suid_sgid_files", nonNil(capList(sortedUnique(suid))), raw)
}

// lsLine splits one `ls -ldn` line into its mode and path; the path is
// everything after the eight leading columns (mode, links, uid, gid, size,
// month, day, time/year).
func lsLine(l string) (mode, name string, ok bool) {
	rest := l
	var fields []string
	for len(fields) < 8 {
		rest = strings.TrimLeft(rest, " ")
		i := strings.IndexByte(rest, ' ')
		if i <= 0 {
			return "", "", false
		}
		fields = append(fields, rest[:i])
		rest = rest[i:]
	}
	name = strings.TrimPrefix(rest, " ")
	if len(fields[0]) < 10 || !strings.HasPrefix(name, "/") {
		return "", "", false
	}
	return fields[0], name, true
}

// ---- L26 listening sockets -------------------------------------------------

func parseSockets(p *parser, e *emitter) {
	s, why := p.need("SOCKETS")
	if s == nil {
		e.failRest(why)
		return
	}
	if len(s.order) == 0 {
		e.failRest(notCollected("no /proc/net/tcp or /proc/net/udp"))
		return
	}
	var tcp, udp, tcpExt, udpExt []int
	var addrs, tcpRaw, udpRaw []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"} {
		isTCP := strings.Contains(file, "tcp")
		want := "07"
		if isTCP {
			want = "0A"
		}
		for _, l := range s.content[file] {
			f := strings.Fields(l)
			if len(f) < 4 || f[3] != want {
				continue
			}
			addr, ok := procNetAddr(f[1])
			if !ok {
				continue
			}
			port := int(addr.Port())
			ext := !addr.Addr().Unmap().IsLoopback()
			if isTCP {
				tcp = append(tcp, port)
				addrs = append(addrs, addr.String())
				if ext {
					tcpExt = append(tcpExt, port)
				}
			} else {
				udp = append(udp, port)
				if ext {
					udpExt = append(udpExt, port)
				}
			}
			if isTCP {
				tcpRaw = append(tcpRaw, path.Base(file)+" "+addr.String())
			} else {
				udpRaw = append(udpRaw, path.Base(file)+" "+addr.String())
			}
		}
	}
	tcpRaw, udpRaw = sortedUnique(tcpRaw), sortedUnique(udpRaw)
	if len(tcpRaw) == 0 {
		tcpRaw = []string{"no listening TCP socket"}
	}
	if len(udpRaw) == 0 {
		udpRaw = []string{"no bound UDP socket"}
	}
	e.set("net.tcp_listen", nonNil(sortedUnique(tcp)), tcpRaw...)
	e.set("net.udp_listen", nonNil(sortedUnique(udp)), udpRaw...)
	e.set("net.tcp_listen_external", nonNil(sortedUnique(tcpExt)), tcpRaw...)
	e.set("net.udp_listen_external", nonNil(sortedUnique(udpExt)), udpRaw...)
	e.set("net.tcp_listen_addrs", nonNil(sortedUnique(addrs)), tcpRaw...)
}

// procNetAddr decodes "0100007F:0016" or a 32-hex-digit IPv6 address: the
// address is stored as host-order (little-endian) 32-bit words, the port big
// endian.
func procNetAddr(s string) (netip.AddrPort, bool) {
	a, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	b, err := hex.DecodeString(a)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	ip, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(ip, uint16(port)), true
}

// ---- L28 banners -----------------------------------------------------------

var (
	reIssueEscape = regexp.MustCompile(`\\[mrsSv]`)
	distroNames   = []string{"debian", "ubuntu", "red hat", "rhel", "centos", "rocky", "almalinux", "fedora",
		"suse", "sles", "alpine", "openwrt", "buildroot", "poky", "yocto", "raspbian", "linux mint", "oracle linux"}
)

const maxBanner = 4 << 10

// namesRE matches any of names as whole words, preferring earlier names.
func namesRE(names []string) *regexp.Regexp {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return regexp.MustCompile(`\b(?:` + strings.Join(quoted, "|") + `)\b`)
}

// distroNamesRE is namesRE(distroNames), compiled once on first use.
var distroNamesRE = sync.OnceValue(func() *regexp.Regexp { return namesRE(distroNames) })

func parseBanner(p *parser, e *emitter) {
	osr, _, _ := p.osRelease()
	reNames := distroNamesRE()
	if id := strings.ToLower(osr["ID"]); len(id) >= 3 && !slices.Contains(distroNames, id) {
		// An alternative already in the list would never match where the
		// earlier one does not, so only another ID needs its own pattern.
		reNames = namesRE(append(slices.Clone(distroNames), id))
	}
	for _, f := range []struct{ file, text, disc string }{
		{"/etc/issue", "banner.issue", "banner.issue_discloses_os"},
		{"/etc/issue.net", "banner.issue_net", "banner.issue_net_discloses_os"},
	} {
		st, lines, why := p.fileLines(f.file)
		if why != "" {
			e.fail(f.text, why)
			e.fail(f.disc, why)
			continue
		}
		if st == fileMissing {
			e.set(f.text, nil, f.file+": absent")
			e.set(f.disc, false, f.file+": absent")
			continue
		}
		text := truncUTF8(strings.Join(lines, "\n"), maxBanner)
		raw := withPath(f.file, lines...)
		if len(raw) == 0 {
			raw = []string{f.file + ": empty"}
		}
		e.set(f.text, text, raw...)
		var hits []string
		if m := reIssueEscape.FindAllString(text, -1); m != nil {
			hits = append(hits, "escapes "+strings.Join(sortedUnique(m), " "))
		}
		for _, n := range reNames.FindAllString(strings.ToLower(text), -1) {
			hits = append(hits, "names "+n)
		}
		e.set(f.disc, len(hits) > 0, append(hits, raw...)...)
	}
}

// ---- L29 TMOUT -------------------------------------------------------------

var (
	reTmoutSet = regexp.MustCompile(`\bTMOUT=["']?([0-9]+)`)
	reTmoutRO  = regexp.MustCompile(`\breadonly\b.*\bTMOUT\b|\b(?:typeset|declare)\s+-[A-Za-z]*r[A-Za-z]*\s+.*\bTMOUT\b`)
	reTmoutExp = regexp.MustCompile(`\bexport\b.*\bTMOUT\b|\b(?:typeset|declare)\s+-[A-Za-z]*x[A-Za-z]*\s+.*\bTMOUT\b`)
)

func parseTmout(p *parser, e *emitter) {
	files, why := p.globFiles("/etc/profile", "/etc/profile.d/*.sh", "/etc/bash.bashrc", "/etc/bashrc")
	if why != "" {
		e.failRest(why)
		return
	}
	tmout, ro, exp := -1, false, false
	var raw []string
	for _, f := range files {
		for _, l := range p.content(f) {
			if !strings.Contains(l, "TMOUT") {
				continue
			}
			raw = append(raw, f+": "+l)
			if m := reTmoutSet.FindStringSubmatch(l); m != nil {
				if n, ok := atoi(m[1]); ok {
					tmout = n
				}
			}
			ro = ro || reTmoutRO.MatchString(l)
			exp = exp || reTmoutExp.MatchString(l)
		}
	}
	if len(raw) == 0 {
		raw = []string{"TMOUT not set in " + strings.Join(files, ", ")}
	}
	if tmout < 0 {
		e.set("shell.tmout", nil, raw...)
	} else {
		e.set("shell.tmout", tmout, raw...)
	}
	e.set("shell.tmout_readonly", ro, raw...)
	e.set("shell.tmout_exported", exp, raw...)
}

// ---- L30 disk encryption ---------------------------------------------------

type blockDev struct {
	typ, fstype, mount string
	parents            []string
}

var bootMounts = map[string]bool{"/boot": true, "/boot/efi": true, "/efi": true}

func parseDisk(p *parser, e *emitter) {
	_, ctab, cwhy := p.fileLines("/etc/crypttab")
	if cwhy != "" {
		e.fail("disk.crypttab_entries", cwhy)
	} else {
		raw := withPath("/etc/crypttab", ctab...)
		if len(raw) == 0 {
			raw = []string{"/etc/crypttab: absent or empty"}
		}
		e.set("disk.crypttab_entries", len(ctab), raw...)
	}
	s, why := p.need("L30")
	if s == nil {
		e.failRest(why)
		return
	}
	if s.rc != 0 {
		e.failRest(notCollected("lsblk failed (exit %d)", s.rc), s.lines...)
		return
	}
	devs := map[string]*blockDev{}
	var order []string
	for _, l := range s.lines {
		f := strings.Split(l, " ")
		if len(f) < 4 {
			continue
		}
		name := lsblkUnescape(f[0])
		d, ok := devs[name]
		if !ok {
			d = &blockDev{typ: f[1], fstype: lsblkUnescape(f[2]), mount: lsblkUnescape(f[3])}
			devs[name] = d
			order = append(order, name)
		}
		if d.mount == "" {
			d.mount = lsblkUnescape(f[3])
		}
		if len(f) > 4 && f[4] != "" && !slices.Contains(d.parents, f[4]) {
			d.parents = append(d.parents, lsblkUnescape(f[4]))
		}
	}
	encrypted := func(name string) bool {
		seen := map[string]bool{}
		queue := []string{name}
		for len(queue) > 0 && len(seen) < 256 {
			n := queue[0]
			queue = queue[1:]
			if seen[n] {
				continue
			}
			seen[n] = true
			if d := devs[n]; d != nil {
				if d.typ == "crypt" {
					return true
				}
				queue = append(queue, d.parents...)
			}
		}
		return false
	}
	var crypt, plain, raw []string
	root := ""
	for _, n := range order {
		d := devs[n]
		if d.typ == "crypt" {
			crypt = append(crypt, n)
		}
		if d.mount == "" {
			continue
		}
		raw = append(raw, fmt.Sprintf("%s %s %s %s parents=%s", n, d.typ, d.fstype, d.mount, strings.Join(d.parents, ",")))
		if d.mount == "/" {
			root = n
		}
		// boot partitions and read-only loop images (snaps) hold no site data
		if !bootMounts[d.mount] && !(d.typ == "loop" && d.fstype == "squashfs") && !encrypted(n) {
			plain = append(plain, d.mount)
		}
	}
	e.set("disk.crypt_devices", nonNil(crypt), raw...)
	e.set("disk.unencrypted_mounts", nonNil(sortedUnique(plain)), raw...)
	if root == "" {
		e.fail("disk.root_encrypted", notCollected("the root filesystem is not on a block device lsblk lists (container, NFS or MTD root)"), raw...)
		return
	}
	e.set("disk.root_encrypted", encrypted(root), raw...)
}

// lsblkUnescape decodes lsblk -r's \xHH escapes.
func lsblkUnescape(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ---- L31 SELinux / AppArmor ------------------------------------------------

func parseMAC(p *parser, e *emitter) {
	files, why := p.need("FILES")
	if files == nil {
		e.failRest(why)
		return
	}
	mode, raw := "disabled", "no selinuxfs enforce file"
	for _, f := range []string{"/sys/fs/selinux/enforce", "/selinux/enforce"} {
		if st, l := files.file(f); st == fileOK && len(l) > 0 {
			raw = f + ": " + l[0]
			switch strings.TrimSpace(l[0]) {
			case "1":
				mode = "enforcing"
			case "0":
				mode = "permissive"
			default:
				mode = ""
			}
			break
		}
	}
	if mode == "" {
		e.fail("mac.selinux", errUnparsed("selinux enforce value"), raw)
	} else {
		e.set("mac.selinux", mode, raw)
	}
	_, cfg, cwhy := p.fileLines("/etc/selinux/config")
	cfgMode, cfgRaw := any(nil), "/etc/selinux/config: no SELINUX="
	for _, l := range cfg {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "SELINUX="); ok {
			cfgMode, cfgRaw = strings.ToLower(unquote(v)), "/etc/selinux/config: "+l
		}
	}
	if cwhy != "" {
		e.fail("mac.selinux_config", cwhy)
	} else {
		e.set("mac.selinux_config", cfgMode, cfgRaw)
	}

	const aaParam = "/sys/module/apparmor/parameters/enabled"
	st, l := files.file(aaParam)
	enabled := st == fileOK && len(l) > 0 && strings.TrimSpace(l[0]) == "Y"
	aaRaw := aaParam + ": absent"
	if st == fileOK && len(l) > 0 {
		aaRaw = aaParam + ": " + l[0]
	}
	e.set("mac.apparmor_enabled", enabled, aaRaw)

	const profiles = "/sys/kernel/security/apparmor/profiles"
	pst, pl := files.file(profiles)
	switch {
	case !enabled:
		e.set("mac.apparmor_enforce_profiles", 0, "AppArmor not enabled")
		e.set("mac.apparmor_complain_profiles", 0, "AppArmor not enabled")
	case pst == fileDenied || (!p.elevated && len(pl) == 0):
		// the file is mode 0444 but AppArmor refuses the read to non-root
		e.fail("mac.apparmor_enforce_profiles", probes.ErrTextNotElevated)
		e.fail("mac.apparmor_complain_profiles", probes.ErrTextNotElevated)
	case pst == fileMissing:
		e.fail("mac.apparmor_enforce_profiles", notCollected("%s absent (securityfs not mounted)", profiles))
		e.fail("mac.apparmor_complain_profiles", notCollected("%s absent (securityfs not mounted)", profiles))
	default:
		enf, cmp := 0, 0
		for _, x := range pl {
			switch {
			case strings.HasSuffix(x, "(enforce)"):
				enf++
			case strings.HasSuffix(x, "(complain)"):
				cmp++
			}
		}
		raw := fmt.Sprintf("%s: %d profiles, %d enforce, %d complain", profiles, len(pl), enf, cmp)
		e.set("mac.apparmor_enforce_profiles", enf, raw)
		e.set("mac.apparmor_complain_profiles", cmp, raw)
	}
}

// ---- L32 core dumps --------------------------------------------------------

func parseCoredump(p *parser, e *emitter) {
	files, why := p.globFiles("/etc/security/limits.conf", "/etc/security/limits.d/*.conf")
	if why != "" {
		e.fail("coredump.hard_limit", why)
		e.fail("coredump.hard_limit_zero", why)
	} else {
		limit, raw := "", ""
		for _, f := range files {
			for _, l := range p.content(f) {
				fs := strings.Fields(l)
				if len(fs) >= 4 && fs[0] == "*" && (fs[1] == "hard" || fs[1] == "-") && fs[2] == "core" {
					limit, raw = fs[3], f+": "+l
				}
			}
		}
		if raw == "" {
			e.set("coredump.hard_limit", nil, "no \"* hard core\" line in limits.conf or limits.d")
			e.set("coredump.hard_limit_zero", false, "no \"* hard core\" line in limits.conf or limits.d")
		} else {
			e.set("coredump.hard_limit", limit, raw)
			e.set("coredump.hard_limit_zero", limit == "0", raw)
		}
	}

	p.procInt(e, "coredump.suid_dumpable", "/proc/sys/fs/suid_dumpable", false)
	st, cp, why := p.fileLines("/proc/sys/kernel/core_pattern")
	switch {
	case why != "":
		e.fail("coredump.core_pattern", why)
	case st != fileOK || len(cp) == 0:
		e.fail("coredump.core_pattern", notCollected("/proc/sys/kernel/core_pattern not read"))
	default:
		e.set("coredump.core_pattern", cp[0], "/proc/sys/kernel/core_pattern: "+cp[0])
	}

	cfiles, why := p.globFiles("/etc/systemd/coredump.conf", "/etc/systemd/coredump.conf.d/*.conf")
	for _, k := range []struct{ key, name string }{{"Storage", "coredump.systemd_storage"},
		{"ProcessSizeMax", "coredump.systemd_process_size_max"}} {
		if why != "" {
			e.fail(k.name, why)
			continue
		}
		val, raw := "", ""
		for _, f := range cfiles {
			for _, l := range p.content(f) {
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), k.key+"="); ok {
					val, raw = strings.TrimSpace(v), f+": "+l
				}
			}
		}
		if raw == "" {
			e.set(k.name, nil, k.key+"= not set in coredump.conf(.d)")
		} else {
			e.set(k.name, val, raw)
		}
	}
}

// procInt emits an integer read from a /proc file; a missing file is nil
// when optional, else not collected.
func (p *parser) procInt(e *emitter, name, file string, optional bool) {
	st, l, why := p.fileLines(file)
	switch {
	case why != "":
		e.fail(name, why)
	case st != fileOK && optional:
		e.set(name, nil, file+": absent")
	case st != fileOK || len(l) == 0:
		e.fail(name, notCollected("%s not read", file))
	default:
		if n, ok := atoi(l[0]); ok {
			e.set(name, n, file+": "+l[0])
		} else {
			e.fail(name, errUnparsed("%s: %q", file, l[0]), file+": "+l[0])
		}
	}
}

// ---- L33 IP forwarding -----------------------------------------------------

func parseForwarding(p *parser, e *emitter) {
	p.procInt(e, "net.ipv4_forward", "/proc/sys/net/ipv4/ip_forward", false)
	p.procInt(e, "net.ipv6_forward", "/proc/sys/net/ipv6/conf/all/forwarding", true)
}

// ---- L34 snmpd -------------------------------------------------------------

// defaultCommunities may be shown in facts: they are the well-known
// defaults, not secrets. Every other community is redacted.
var defaultCommunities = map[string]bool{"public": true, "private": true}

func redactCommunity(c string) string {
	if defaultCommunities[strings.ToLower(c)] {
		return strings.ToLower(c)
	}
	return "[redacted]"
}

func parseSnmpd(p *parser, e *emitter) {
	if ok, raw, why := p.installed([]string{"snmpd", "net-snmp"}, []string{"snmpd"}); why != "" {
		e.fail("snmpd.installed", why)
	} else {
		e.set("snmpd.installed", ok, raw...)
	}

	switch st, ev, why := p.service("snmpd"); st {
	case svcActive:
		e.set("snmpd.active", true, ev)
	case svcInactive:
		e.set("snmpd.active", false, ev)
	default:
		e.fail("snmpd.active", why)
	}

	s, why := p.need("RESTRICTED")
	if s == nil {
		e.failRest(why)
		return
	}
	const conf = "/etc/snmp/snmpd.conf"
	st, _ := s.file(conf)
	e.set("snmpd.configured", st != fileMissing, conf+" exists: "+yesNoWord(st != fileMissing))
	var files []string
	for _, f := range append([]string{conf}, s.glob("/etc/snmp/snmpd.conf.d/*.conf")...) {
		switch s.files[f] {
		case fileDenied:
			e.failRest(p.deniedReason(f))
			return
		case fileOK:
			files = append(files, f)
		}
	}
	var communities, ev []string
	rw := false
	users := 0
	for _, f := range files {
		for _, l := range s.content[f] {
			fs := strings.Fields(l)
			if len(fs) == 0 {
				continue
			}
			red := slices.Clone(fs)
			switch strings.ToLower(fs[0]) {
			case "rocommunity", "rocommunity6", "rwcommunity", "rwcommunity6":
				if len(fs) > 1 {
					communities = append(communities, redactCommunity(fs[1]))
					red[1] = redactCommunity(fs[1])
				}
				rw = rw || strings.HasPrefix(strings.ToLower(fs[0]), "rw")
			case "com2sec", "com2sec6":
				args := fs[1:]
				if len(args) >= 2 && args[0] == "-Cn" {
					args = args[2:]
				}
				if len(args) >= 3 {
					communities = append(communities, redactCommunity(args[2]))
					red[len(fs)-len(args)+2] = redactCommunity(args[2])
				}
			case "authcommunity":
				if len(fs) > 2 {
					communities = append(communities, redactCommunity(fs[2]))
					red[2] = redactCommunity(fs[2])
					rw = rw || strings.Contains(strings.ToLower(fs[1]), "write")
				}
			case "rwuser":
				rw = true
			case "access":
				// access GROUP CONTEXT MODEL LEVEL PREFX READ WRITE NOTIFY
				if len(fs) >= 8 && !strings.EqualFold(fs[7], "none") {
					rw = true
				}
			case "createuser":
				users++
			}
			ev = append(ev, f+": "+strings.Join(red, " "))
		}
	}
	if len(ev) == 0 {
		ev = []string{"no community, user or access lines"}
	}
	e.set("snmpd.communities", nonNil(communities), ev...)
	e.set("snmpd.rw_access", rw, ev...)
	e.set("snmpd.v3_users", users, ev...)
}
