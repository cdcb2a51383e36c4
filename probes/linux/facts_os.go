package linux

import (
	_ "embed"
	"encoding/json"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// ---- L01 os-release --------------------------------------------------------

// osRelease returns the parsed os-release keys (memoized), which file they
// came from, and the reason when no release file could be read.
func (p *parser) osRelease() (map[string]string, []string, string) {
	var why string
	for _, f := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		st, lines, reason := p.fileLines(f)
		if reason != "" {
			why = reason
			continue
		}
		if st != fileOK {
			continue
		}
		m := map[string]string{}
		for _, l := range lines {
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				continue
			}
			k = strings.TrimSpace(k)
			m[k] = shellUnquote(v)
			m["raw:"+k] = f + ": " + l
		}
		return m, withPath(f, lines...), ""
	}
	if why != "" {
		return nil, nil, why
	}
	// Old or embedded systems without os-release.
	if _, lines, _ := p.fileLines("/etc/redhat-release"); len(lines) > 0 {
		m := map[string]string{"PRETTY_NAME": lines[0], "NAME": lines[0]}
		low := strings.ToLower(lines[0])
		switch {
		case strings.HasPrefix(low, "red hat"):
			m["ID"] = "rhel"
		case strings.HasPrefix(low, "centos"):
			m["ID"] = "centos"
		case strings.HasPrefix(low, "rocky"):
			m["ID"] = "rocky"
		case strings.HasPrefix(low, "fedora"):
			m["ID"] = "fedora"
		default:
			m["ID"] = strings.Fields(low)[0]
		}
		if v := reRelease.FindStringSubmatch(lines[0]); v != nil {
			m["VERSION_ID"] = v[1]
		}
		return m, withPath("/etc/redhat-release", lines[0]), ""
	}
	if _, lines, _ := p.fileLines("/etc/debian_version"); len(lines) > 0 {
		v := strings.TrimSpace(lines[0])
		major, _, _ := strings.Cut(v, ".")
		return map[string]string{"ID": "debian", "VERSION_ID": major, "NAME": "Debian GNU/Linux",
			"PRETTY_NAME": "Debian GNU/Linux " + v}, withPath("/etc/debian_version", lines[0]), ""
	}
	if _, lines, _ := p.fileLines("/etc/alpine-release"); len(lines) > 0 {
		return map[string]string{"ID": "alpine", "VERSION_ID": strings.TrimSpace(lines[0]), "NAME": "Alpine Linux"},
			withPath("/etc/alpine-release", lines[0]), ""
	}
	if _, lines, _ := p.fileLines("/etc/openwrt_release"); len(lines) > 0 {
		m := map[string]string{}
		for _, l := range lines {
			k, v, _ := strings.Cut(l, "=")
			switch k {
			case "DISTRIB_ID":
				m["ID"], m["NAME"] = strings.ToLower(shellUnquote(v)), shellUnquote(v)
			case "DISTRIB_RELEASE":
				m["VERSION_ID"] = shellUnquote(v)
			case "DISTRIB_DESCRIPTION":
				m["PRETTY_NAME"] = shellUnquote(v)
			}
		}
		if m["ID"] != "" {
			return m, withPath("/etc/openwrt_release", lines...), ""
		}
	}
	return nil, nil, notCollected("no /etc/os-release, /usr/lib/os-release or distribution release file")
}

var reRelease = regexp.MustCompile(`release\s+([0-9]+(?:\.[0-9]+)?)`)

// shellUnquote decodes an os-release style value: "…" with \" \\ \$ \`
// escapes, '…', or a bare word.
func shellUnquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
				i++
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	return v
}

func parseOS(p *parser, e *emitter) {
	m, raw, why := p.osRelease()
	if why != "" {
		e.failRest(why)
		return
	}
	id := strings.ToLower(m["ID"])
	if id == "" {
		id = "linux" // os-release(5) default
	}
	// evidence: the key's own line when os-release was read, else the
	// release file the values were derived from
	ev := func(key string) []string {
		if r, ok := m["raw:"+key]; ok {
			return []string{r}
		}
		if _, ok := m["raw:ID"]; ok {
			return []string{key + " not set"}
		}
		return raw
	}
	e.set("os.id", id, ev("ID")...)
	for key, name := range map[string]string{"VERSION_ID": "os.version_id", "PRETTY_NAME": "os.pretty_name",
		"NAME": "os.name", "VERSION_CODENAME": "os.version_codename"} {
		if v, ok := m[key]; ok && v != "" {
			e.set(name, v, ev(key)...)
		} else {
			e.set(name, nil, ev(key)...)
		}
	}
	e.set("os.id_like", nonNil(strings.Fields(strings.ToLower(m["ID_LIKE"]))), ev("ID_LIKE")...)
}

// ---- L02 end of life -------------------------------------------------------

//go:embed eol.json
var eolJSON []byte

type eolTable struct {
	Source   string `json:"source"`
	Releases []struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		EOL     string `json:"eol"`
		EOES    string `json:"eoes"`
	} `json:"releases"`
}

func loadEOL() (*eolTable, error) {
	var t eolTable
	if err := json.Unmarshal(eolJSON, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// eolTableOnce is loadEOL run once, on first use; the table is shared by
// every Parse call and must not be modified.
var eolTableOnce = sync.OnceValues(loadEOL)

func parseEOL(p *parser, e *emitter) {
	m, _, why := p.osRelease()
	if why != "" {
		e.failRest(why)
		return
	}
	t, err := eolTableOnce()
	if err != nil { // the embedded table is validated by a test
		e.failRest(notCollected("end-of-life table: %v", err))
		return
	}
	id, ver := strings.ToLower(m["ID"]), m["VERSION_ID"]
	major, _, _ := strings.Cut(ver, ".")
	for _, r := range t.Releases {
		if r.ID != id || (r.Version != ver && r.Version != major) {
			continue
		}
		raw := []string{"ID=" + id, "VERSION_ID=" + ver, "table: " + t.Source}
		e.set("os.eol_date", r.EOL, raw...)
		if r.EOES != "" {
			e.set("os.eoes_date", r.EOES, raw...)
		} else {
			e.set("os.eoes_date", nil, raw...)
		}
		return
	}
	e.failRest(notCollected("no end-of-life entry for %s %s", id, ver), "table: "+t.Source)
}

// ---- L03 kernel ------------------------------------------------------------

func parseKernel(p *parser, e *emitter) {
	s, why := p.need("L03")
	if s == nil {
		e.failRest(why)
		return
	}
	var fields []string
	for _, l := range s.lines {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "Linux" {
			fields = f
		}
	}
	if fields == nil {
		e.failRest(errUnparsed("uname -srm"), s.lines...)
		return
	}
	release, arch := fields[1], fields[2]
	raw := "uname -srm: " + strings.Join(fields, " ")
	e.set("kernel.release", release, raw)
	e.set("kernel.arch", arch, raw)

	installed, src, kwhy := p.installedKernels()
	if kwhy != "" {
		e.fail("kernel.installed", kwhy)
		e.fail("kernel.newest_installed", kwhy)
		e.fail("kernel.running_newest", kwhy)
		e.fail("kernel.reboot_required", kwhy)
		installed = nil
	} else {
		e.set("kernel.installed", nonNil(installed), src)
	}
	newest := newestKernel(release, installed)
	runningNewest := any(nil)
	if newest != "" {
		runningNewest = compareVersions(release, newest) >= 0
	}
	if kwhy == "" {
		if newest != "" {
			e.set("kernel.newest_installed", newest, src)
		} else {
			e.set("kernel.newest_installed", nil, src)
		}
		shown := newest
		if shown == "" {
			shown = "unknown"
		}
		e.set("kernel.running_newest", runningNewest, raw, "newest installed: "+shown)
	}

	ls, why := p.need("LS")
	_, pkgLines, pkgWhy := p.fileLines("/var/run/reboot-required.pkgs")
	switch {
	case kwhy != "":
	case ls == nil:
		e.fail("kernel.reboot_required", why)
	default:
		flag := slices.Contains(ls.lines, "/var/run/reboot-required")
		required := flag || runningNewest == false
		e.set("kernel.reboot_required", required, "/var/run/reboot-required exists: "+yesNoWord(flag),
			"running "+release+", newest installed "+newest)
	}
	if pkgWhy != "" {
		e.fail("kernel.reboot_required_pkgs", pkgWhy)
	} else {
		raw := withPath("/var/run/reboot-required.pkgs", pkgLines...)
		if len(raw) == 0 {
			raw = []string{"/var/run/reboot-required.pkgs: absent or empty"}
		}
		e.set("kernel.reboot_required_pkgs", nonNil(sortedUnique(slices.Clone(pkgLines))), raw...)
	}
}

func yesNoWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// installedKernels lists kernel releases from the package list, else from
// /lib/modules directories.
func (p *parser) installedKernels() ([]string, string, string) {
	var out []string
	pl := p.packages()
	if pl.reason != "" && !pl.skipped {
		return nil, "", pl.reason
	}
	if pl.reason == "" {
		core := pl.has("kernel-core")
		for _, k := range pl.entries {
			switch {
			case pl.manager == "dpkg" && (strings.HasPrefix(k.name, "linux-image-")):
				rel := strings.TrimPrefix(strings.TrimPrefix(k.name, "linux-image-"), "unsigned-")
				if rel != "" && rel[0] >= '0' && rel[0] <= '9' {
					out = append(out, rel)
				}
			case pl.manager == "rpm" && (k.name == "kernel-core" || !core && k.name == "kernel"):
				out = append(out, k.version+"."+k.arch)
			}
		}
		if len(out) > 0 {
			return sortedUnique(out), "from " + pl.manager + " packages", ""
		}
	}
	ls, why := p.need("LS")
	if ls == nil {
		return nil, "", why
	}
	{
		for _, l := range ls.lines {
			for _, dir := range []string{"/lib/modules/", "/usr/lib/modules/"} {
				if rel, ok := strings.CutPrefix(l, dir); ok && rel != "" && !strings.Contains(rel, "/") {
					out = append(out, rel)
				}
			}
		}
	}
	return sortedUnique(out), "from /lib/modules", ""
}

var reDebFlavor = regexp.MustCompile(`^[0-9]+\.[0-9]+(?:\.[0-9]+)?-[0-9]+(?:\.[0-9]+)?-(.+)$`)

// newestKernel returns the highest installed release of the running
// kernel's flavour (Debian/Ubuntu -amd64, -generic, -rt-amd64 …).
func newestKernel(running string, installed []string) string {
	flavor := ""
	if m := reDebFlavor.FindStringSubmatch(running); m != nil {
		flavor = m[1]
	}
	newest := ""
	for _, k := range installed {
		if flavor != "" {
			if m := reDebFlavor.FindStringSubmatch(k); m == nil || m[1] != flavor {
				continue
			}
		}
		if newest == "" || compareVersions(k, newest) > 0 {
			newest = k
		}
	}
	return newest
}

// compareVersions orders version strings by runs of digits (numerically)
// and non-digits (bytewise): 5.15.0-105 > 5.15.0-97.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		ra, restA := versionRun(a)
		rb, restB := versionRun(b)
		da, db := isDigit(ra[0]), isDigit(rb[0])
		switch {
		case da && db:
			ta, tb := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if len(ta) != len(tb) {
				return cmpInt(len(ta), len(tb))
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
		case da != db:
			if da {
				return 1
			}
			return -1
		default:
			if c := strings.Compare(ra, rb); c != 0 {
				return c
			}
		}
		a, b = restA, restB
	}
	return cmpInt(len(a), len(b))
}

func versionRun(s string) (run, rest string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---- L04 packages ----------------------------------------------------------

type pkg struct{ name, version, arch string }

type pkgList struct {
	manager string
	entries []pkg
	names   map[string]bool
	raw     []string
	reason  string // why the list is not available
	skipped bool   // the host has no package manager (not: the output was cut)
}

func (l *pkgList) has(name string) bool { return l.names[name] }

// packages parses the L04 section once.
func (p *parser) packages() *pkgList {
	if p.pkgs != nil {
		return p.pkgs
	}
	l := &pkgList{names: map[string]bool{}}
	p.pkgs = l
	s, why := p.need("L04")
	if s == nil {
		l.reason = why
		l.skipped = p.f.section("L04") != nil && p.f.section("L04").skip != ""
		return l
	}
	if len(s.lines) == 0 {
		l.reason = errUnparsed("empty package section")
		return l
	}
	l.manager = strings.TrimSpace(s.lines[0])
	l.names = make(map[string]bool, len(s.lines)-1)
	l.entries = make([]pkg, 0, len(s.lines)-1)
	for _, line := range s.lines[1:] {
		var k pkg
		switch l.manager {
		case "dpkg":
			var f [4]string
			if !splitTabs(line, f[:]) {
				continue
			}
			if !dpkgInstalled(f[0]) {
				continue // removed, config-files, half-installed …
			}
			k = pkg{f[1], f[2], f[3]}
		case "rpm":
			var f [3]string
			if !splitTabs(line, f[:]) || f[0] == "gpg-pubkey" {
				continue
			}
			k = pkg{f[0], f[1], f[2]}
		case "opkg":
			name, ver, ok := strings.Cut(line, " - ")
			if !ok {
				continue
			}
			ver, _, _ = strings.Cut(ver, " - ")
			k = pkg{name: strings.TrimSpace(name), version: strings.TrimSpace(ver)}
		case "apk":
			name, ver, ok := splitAPK(strings.TrimSpace(line))
			if !ok {
				continue
			}
			k = pkg{name: name, version: ver}
		default:
			l.reason = errUnparsed("unknown package manager %q", l.manager)
			return l
		}
		if k.name == "" || strings.ContainsAny(k.name, " =") {
			continue
		}
		l.entries = append(l.entries, k)
		l.names[k.name] = true
	}
	if len(l.entries) == 0 {
		l.reason = errUnparsed("no package lines from %s (exit %d)", l.manager, s.rc)
		l.raw = s.lines
	}
	return l
}

// splitTabs splits line at tabs into exactly len(f) fields, as
// strings.Split(line, "\t") would; false when the count differs.
func splitTabs(line string, f []string) bool {
	if strings.Count(line, "\t") != len(f)-1 {
		return false
	}
	for i := range f[:len(f)-1] {
		f[i], line, _ = strings.Cut(line, "\t")
	}
	f[len(f)-1] = line
	return true
}

// dpkgInstalled reports whether a dpkg status ("install ok installed") has
// exactly three words, the last "installed".
func dpkgInstalled(status string) bool {
	n, last := 0, ""
	for w := range strings.FieldsSeq(status) {
		n, last = n+1, w
	}
	return n == 3 && last == "installed"
}

var reAPKRel = regexp.MustCompile(`-r[0-9]+$`)

// splitAPK splits "alpine-baselayout-3.4.3-r1" into name and version.
func splitAPK(s string) (string, string, bool) {
	loc := reAPKRel.FindStringIndex(s)
	if loc == nil {
		return "", "", false
	}
	i := strings.LastIndexByte(s[:loc[0]], '-')
	if i <= 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func parsePackages(p *parser, e *emitter) {
	l := p.packages()
	if l.reason != "" {
		e.failRest(l.reason, l.raw...)
		return
	}
	list := make([]string, 0, len(l.entries))
	for _, k := range l.entries {
		list = append(list, k.name+"="+k.version)
	}
	list = sortedUnique(list)
	raw := []string{"manager: " + l.manager, "entries: " + itoa(len(list))}
	e.set("packages.manager", l.manager, raw...)
	e.set("packages.list", list, raw...)
	e.set("packages.count", len(list), raw...)
}

// ---- L06 automatic updates -------------------------------------------------

func parseAutoUpdate(p *parser, e *emitter) {
	ls, why := p.need("LS")
	if ls == nil {
		e.failRest(why)
		return
	}
	var tools, toolRaw []string
	for _, l := range ls.lines {
		switch l {
		case "/usr/bin/unattended-upgrade", "/usr/bin/dnf-automatic", "/usr/sbin/yum-cron":
			tools = append(tools, path.Base(l))
			toolRaw = append(toolRaw, l)
		}
	}
	if len(toolRaw) == 0 {
		toolRaw = []string{"no unattended-upgrade, dnf-automatic or yum-cron"}
	}
	e.set("autoupdate.tools", nonNil(tools), toolRaw...)

	files, why := p.globFiles("/etc/apt/apt.conf.d/*auto-upgrades", "/etc/apt/apt.conf.d/*periodic")
	if why != "" {
		e.fail("autoupdate.enabled", why)
		return
	}
	var raw []string
	apt := false
	for _, f := range files {
		for _, l := range p.content(f) {
			if strings.Contains(l, "APT::Periodic::Unattended-Upgrade") {
				raw = append(raw, f+": "+l)
				v := reQuoted.FindStringSubmatch(l)
				apt = v != nil && v[1] != "0" && v[1] != ""
			}
		}
	}
	if len(raw) == 0 {
		raw = append(raw, "no APT::Periodic::Unattended-Upgrade setting")
	}
	enabled := apt && slices.Contains(tools, "unattended-upgrade")
	for _, u := range []string{"dnf-automatic.timer", "dnf-automatic-install.timer", "yum-cron"} {
		if st, ev, _ := p.service(u); st == svcActive {
			enabled = true
			raw = append(raw, ev)
		}
	}
	e.set("autoupdate.enabled", enabled, raw...)
}

var reQuoted = regexp.MustCompile(`"([^"]*)"`)

// ---- L27 legacy packages ---------------------------------------------------

// legacyPackages are cleartext or obsolete network services (CAC
// package_*_removed, dev-sec package-01..06) and their clients.
var legacyPackages = map[string]bool{
	"telnetd": true, "telnetd-ssl": true, "inetutils-telnetd": true, "telnet-server": true,
	"rsh-server": true, "rsh-redone-server": true, "xinetd": true, "openbsd-inetd": true,
	"inetutils-inetd": true, "rlinetd": true, "ypserv": true, "tftpd": true, "tftpd-hpa": true,
	"tftp-server": true, "atftpd": true, "vsftpd": true, "telnet": true, "inetutils-telnet": true,
	"rsh-client": true, "rsh": true, "rsh-redone-client": true,
}

// legacyBinaries are checked when the host has no package manager.
var legacyBinaries = []string{"telnetd", "in.telnetd", "rshd", "in.rshd", "inetd", "xinetd",
	"ypserv", "tftpd", "in.tftpd", "vsftpd", "telnet", "rsh"}

func parseLegacy(p *parser, e *emitter) {
	l := p.packages()
	if l.reason == "" {
		var found, raw []string
		for _, k := range l.entries {
			if legacyPackages[k.name] {
				found = append(found, k.name)
				raw = append(raw, k.name+"="+k.version)
			}
		}
		if len(raw) == 0 {
			raw = []string{"none of the legacy packages in the " + l.manager + " list"}
		}
		e.set("packages.legacy_installed", nonNil(sortedUnique(found)), raw...)
		return
	}
	bins, why := p.need("BIN")
	if !l.skipped {
		e.failRest(l.reason)
		return
	}
	if bins == nil {
		e.failRest(l.reason + "; " + why)
		return
	}
	var found, raw []string
	for _, b := range bins.lines {
		if slices.Contains(legacyBinaries, path.Base(b)) {
			found = append(found, "bin:"+path.Base(b))
			raw = append(raw, b)
		}
	}
	raw = append(raw, "no package manager; binaries checked")
	e.set("packages.legacy_installed", nonNil(sortedUnique(found)), raw...)
}
