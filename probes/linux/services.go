package linux

import (
	"strconv"
	"strings"

	"github.com/otsweep/otsweep/probes"
)

type svcState int

const (
	svcUnknown svcState = iota
	svcInactive
	svcActive
)

// unitProcess maps a systemd unit to the process that runs it, for hosts
// without systemd. Oneshot units (nftables, ufw, iptables) have none.
// Process names are /proc/PID/comm, truncated by the kernel to 15 bytes.
var unitProcess = map[string][]string{
	"ssh": {"sshd"}, "sshd": {"sshd", "dropbear"}, "auditd": {"auditd"}, "firewalld": {"firewalld"},
	"chrony": {"chronyd"}, "chronyd": {"chronyd"}, "systemd-timesyncd": {"systemd-timesyn"},
	"ntp": {"ntpd"}, "ntpd": {"ntpd"}, "ntpsec": {"ntpd"}, "openntpd": {"ntpd"},
	"rsyslog": {"rsyslogd"}, "syslog-ng": {"syslog-ng"}, "snmpd": {"snmpd"},
	"usbguard": {"usbguard-daemon"}, "xinetd": {"xinetd"}, "inetd": {"inetd"}, "vsftpd": {"vsftpd"},
	"tftpd-hpa": {"in.tftpd"}, "systemd-journal-upload": {"systemd-journal"},
}

// units parses the UNITS section: its first line names the units, the next
// lines are `systemctl is-active` states in the same order.
func (p *parser) unitStates() map[string]string {
	if p.units != nil {
		return p.units
	}
	p.units = map[string]string{}
	s := p.f.section("UNITS")
	if !s.ok() || len(s.lines) < 1 {
		return p.units
	}
	names := strings.Fields(s.lines[0])
	states := s.lines[1:]
	if len(states) != len(names) {
		return p.units // bus error or a systemctl that printed something else
	}
	for i, n := range names {
		p.units[n] = strings.TrimSpace(states[i])
	}
	return p.units
}

// processes parses the PROCS section (unique process names).
func (p *parser) processes() map[string]bool {
	if p.procs != nil {
		return p.procs
	}
	p.procs = map[string]bool{}
	if s := p.f.section("PROCS"); s.ok() {
		for _, l := range s.lines {
			p.procs[l] = true
		}
	}
	return p.procs
}

// procsRestricted reports why the process list cannot be trusted to be
// complete: /proc mounted with hidepid while scanning without root.
func (p *parser) procsRestricted() string {
	if s := p.f.section("PROCS"); !s.ok() {
		_, why := p.need("PROCS")
		return why
	}
	if p.elevated {
		return ""
	}
	for _, l := range p.content("/proc/mounts") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] == "/proc" && strings.Contains(f[3], "hidepid=") &&
			!strings.Contains(f[3], "hidepid=0") && !strings.Contains(f[3], "hidepid=off") {
			return probes.ErrTextNotElevated // /proc hides other users' processes
		}
	}
	return ""
}

// service reports whether a unit is active: from systemctl when the host
// runs systemd, else from the process list. The second result is evidence,
// the third the reason when the state is unknown.
func (p *parser) service(unit string) (svcState, string, string) {
	if s := p.f.section("UNITS"); s.ok() {
		st, ok := p.unitStates()[unit]
		switch {
		case !ok:
			return svcUnknown, "", errUnparsed("systemctl is-active gave no state for %s", unit)
		case st == "active" || st == "reloading" || st == "activating":
			return svcActive, "systemctl is-active " + unit + ": " + st, ""
		default:
			return svcInactive, "systemctl is-active " + unit + ": " + st, ""
		}
	}
	if s := p.f.section("UNITS"); s == nil || s.skip == "" {
		_, why := p.need("UNITS") // cut off or over-size: never guess from processes
		return svcUnknown, "", why
	}
	procs, ok := unitProcess[unit]
	if !ok {
		return svcUnknown, "", notCollected("no systemd, and %s has no process to look for", unit)
	}
	if why := p.procsRestricted(); why != "" {
		return svcUnknown, "", why
	}
	for _, n := range procs {
		if p.processes()[n] {
			return svcActive, "process " + n + " running", ""
		}
	}
	return svcInactive, "no process " + strings.Join(procs, "/") + " (host without systemd)", ""
}

// anyActive returns the first active unit of units, its evidence, and the
// reason when none is known active and at least one state is unknown.
func (p *parser) anyActive(units ...string) (string, []string, string) {
	var ev []string
	unknown := ""
	for _, u := range units {
		st, e, why := p.service(u)
		if e != "" {
			ev = append(ev, e)
		}
		switch st {
		case svcActive:
			return u, ev, ""
		case svcUnknown:
			if unknown == "" {
				unknown = why
			}
		}
	}
	return "", ev, unknown
}

// binary returns the path of a command the BIN section found, or "".
func (p *parser) binary(name string) string {
	s := p.f.section("BIN")
	if !s.ok() {
		return ""
	}
	for _, l := range s.lines {
		if l == name || strings.HasSuffix(l, "/"+name) {
			return l
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// installed reports whether any of the packages or binaries is present.
// Positive evidence from one source is enough; a negative answer needs every
// source, so a cut-off package list or BIN section yields a reason instead.
func (p *parser) installed(pkgs, bins []string, extra ...string) (bool, []string, string) {
	var raw []string
	why := ""
	if pl := p.packages(); pl.reason == "" {
		for _, n := range pkgs {
			if pl.has(n) {
				raw = append(raw, "package "+n+" installed")
			}
		}
	} else if !pl.skipped {
		why = pl.reason
	}
	if _, bwhy := p.need("BIN"); bwhy != "" {
		why = bwhy
	} else {
		for _, b := range bins {
			if path := p.binary(b); path != "" {
				raw = append(raw, path)
			}
		}
	}
	raw = append(raw, extra...)
	if len(raw) > 0 {
		return true, raw, ""
	}
	if why != "" {
		return false, nil, why
	}
	return false, []string{"no package " + strings.Join(pkgs, "/") + " and no " + strings.Join(bins, "/") + " binary"}, ""
}
