package linux

import (
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/otsweep/otsweep/probes"
)

// ---- L17 firewall ----------------------------------------------------------

var firewallUnits = []string{"firewalld", "ufw", "nftables", "iptables", "netfilter-persistent"}

func parseFirewall(p *parser, e *emitter) {
	svc, svcRaw, svcWhy := p.anyActive(firewallUnits...)
	files, fwhy := p.need("FILES")

	ufwEnabled := false
	var ufwRaw []string
	if files != nil {
		for _, l := range files.content["/etc/ufw/ufw.conf"] {
			if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "ENABLED" {
				ufwEnabled = strings.EqualFold(unquote(v), "yes")
				ufwRaw = append(ufwRaw, "/etc/ufw/ufw.conf: "+l)
			}
		}
	}

	policy, polRaw, polWhy := p.inputPolicy()
	// the ufw configuration stands in only when the ruleset cannot be read
	// (no root, no nft/iptables), not when the output was cut before it
	if l17 := p.f.section("L17"); policy == "" && ufwEnabled && files != nil && l17 != nil && l17.skip != "" {
		for _, l := range files.content["/etc/default/ufw"] {
			if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "DEFAULT_INPUT_POLICY" {
				policy = strings.ToLower(unquote(v))
				polRaw = append(ufwRaw, "/etc/default/ufw: "+l)
				polWhy = ""
			}
		}
	}
	if policy != "" {
		e.set("firewall.input_policy", policy, polRaw...)
	} else {
		e.fail("firewall.input_policy", polWhy, polRaw...)
	}

	if svc != "" {
		e.set("firewall.service", svc, svcRaw...)
	} else if svcWhy == "" || p.f.section("UNITS").ok() {
		e.set("firewall.service", nil, svcRaw...)
	}

	raw := append(append(append([]string{}, svcRaw...), ufwRaw...), polRaw...)
	switch {
	case svc != "" || ufwEnabled:
		e.set("firewall.active", true, raw...)
	case policy != "" && policy != "accept":
		e.set("firewall.active", true, raw...)
	case p.f.section("UNITS").ok() || policy == "accept":
		e.set("firewall.active", false, raw...)
	case p.noFirewallTools(): // firewalld and ufw need nft or iptables too
		raw = append(raw, "no nft or iptables command on the host")
		e.set("firewall.active", false, raw...)
		e.set("firewall.service", nil, raw...)
	default:
		reason := svcWhy
		if fwhy != "" {
			reason = fwhy
		} else if polWhy != "" {
			reason = polWhy
		}
		e.fail("firewall.active", reason, raw...)
		if !e.has("firewall.service") {
			e.fail("firewall.service", reason, raw...)
		}
	}
}

// noFirewallTools reports whether the bundle found neither nft nor
// iptables: nothing on the host can load a ruleset.
func (p *parser) noFirewallTools() bool {
	return p.f.section("BIN").ok() && p.binary("nft") == "" && p.binary("iptables") == ""
}

// inputPolicy evaluates the loaded ruleset (root only): nft list ruleset,
// else (legacy hosts, or an empty nft ruleset) iptables -S.
func (p *parser) inputPolicy() (string, []string, string) {
	nft := p.f.section("L17")
	ipt := p.f.section("L17.iptables")
	if nft.ok() && nft.rc == 0 && len(nft.lines) > 0 {
		return nftInputPolicy(nft.lines)
	}
	if ipt.ok() && ipt.rc == 0 {
		return iptablesInputPolicy(ipt.lines)
	}
	if nft.ok() && nft.rc == 0 {
		return "accept", []string{"nft list ruleset: empty ruleset"}, ""
	}
	for _, s := range []*section{nft, ipt} {
		if s.ok() {
			return "", s.lines, notCollected("%s failed (exit %d)", s.id, s.rc)
		}
	}
	_, why := p.need("L17")
	return "", nil, why
}

var reNftPolicy = regexp.MustCompile(`\bpolicy\s+(\w+)\s*;`)
var reNftFinal = regexp.MustCompile(`^(?:counter(?:\s+packets\s+\d+\s+bytes\s+\d+)?\s+)?(?:log\b[^;]*?\s+)?(drop|reject)\b`)

// nftInputPolicy returns drop/reject when any base chain on the input hook
// drops by policy or ends in an unconditional drop/reject (firewalld ends
// filter_INPUT with "reject with icmpx admin-prohibited"), else accept.
func nftInputPolicy(lines []string) (string, []string, string) {
	depth := 0
	inChain, isInput := false, false
	chainPolicy, last, chainName := "", "", ""
	var raw []string
	result := ""
	finish := func() {
		if !isInput {
			return
		}
		eff := chainPolicy
		if eff != "drop" {
			if m := reNftFinal.FindStringSubmatch(last); m != nil {
				eff = m[1]
			}
		}
		raw = append(raw, "chain "+chainName+": policy "+chainPolicy+", effective "+eff)
		switch {
		case eff == "drop":
			result = "drop"
		case eff == "reject" && result != "drop":
			result = "reject"
		case result == "":
			result = "accept"
		}
	}
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if depth == 1 && strings.HasPrefix(t, "chain ") {
			inChain, isInput, chainPolicy, last = true, false, "accept", ""
			chainName = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(t, "chain ")), "{")
			chainName = strings.TrimSpace(chainName)
		} else if inChain && depth == 2 && t != "}" && t != "" {
			if strings.Contains(t, "type filter") && strings.Contains(t, "hook input") {
				isInput = true
				raw = append(raw, "nft: "+t)
				if m := reNftPolicy.FindStringSubmatch(t); m != nil {
					chainPolicy = strings.ToLower(m[1])
				}
			} else {
				last = t
			}
		}
		depth += strings.Count(l, "{") - strings.Count(l, "}")
		if depth < 0 {
			depth = 0
		}
		if inChain && depth < 2 {
			finish()
			inChain = false
		}
	}
	if result == "" {
		return "accept", append(raw, "nft: no base chain on the input hook"), ""
	}
	return result, raw, ""
}

// iptablesInputPolicy reads `iptables -S`: -P INPUT DROP, or a final
// unconditional -A INPUT -j DROP/REJECT.
func iptablesInputPolicy(lines []string) (string, []string, string) {
	policy, last := "", ""
	var raw []string
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "-P" && f[1] == "INPUT":
			policy = strings.ToLower(f[2])
			raw = append(raw, "iptables -S: "+l)
		case len(f) >= 2 && f[0] == "-A" && f[1] == "INPUT":
			last = l
		}
	}
	if policy == "" {
		return "", lines, errUnparsed("no -P INPUT line in iptables -S")
	}
	if policy != "drop" {
		f := strings.Fields(last)
		if len(f) >= 4 && f[2] == "-j" && (f[3] == "DROP" || f[3] == "REJECT") {
			raw = append(raw, "iptables -S: "+last)
			return strings.ToLower(f[3]), raw, ""
		}
	}
	return policy, raw, ""
}

// ---- L18 auditd ------------------------------------------------------------

func parseAuditd(p *parser, e *emitter) {
	var confEv []string
	files, fwhy := p.need("FILES")
	if files != nil {
		if st, _ := files.file("/etc/audit/auditd.conf"); st != fileMissing {
			confEv = append(confEv, "/etc/audit/auditd.conf exists")
		}
	}
	ok, raw, why := p.installed([]string{"auditd", "audit"}, []string{"auditd", "auditctl"}, confEv...)
	switch {
	case ok:
		e.set("auditd.installed", true, raw...)
	case why != "" || fwhy != "":
		e.fail("auditd.installed", why+fwhy)
	default:
		e.set("auditd.installed", false, append(raw, "no /etc/audit/auditd.conf")...)
	}

	switch st, ev, why := p.service("auditd"); st {
	case svcActive:
		e.set("auditd.active", true, ev)
	case svcInactive:
		e.set("auditd.active", false, ev)
	default:
		e.fail("auditd.active", why)
	}

	s, why := p.need("L18")
	if s == nil {
		e.failRest(why)
		return
	}
	enabled := -1
	for _, l := range s.lines {
		l = strings.TrimPrefix(l, "AUDIT_STATUS: ")
		if v, ok := strings.CutPrefix(l, "enabled "); ok {
			if n, ok := atoi(v); ok {
				enabled = n
			}
		} else if v, ok := strings.CutPrefix(l, "enabled="); ok {
			v, _, _ = strings.Cut(v, " ")
			if n, ok := atoi(v); ok {
				enabled = n
			}
		}
	}
	if enabled < 0 {
		e.fail("auditd.enabled", errUnparsed("no enabled flag in auditctl -s (exit %d)", s.rc), s.lines...)
	} else {
		e.set("auditd.enabled", enabled, "auditctl -s: enabled "+itoa(enabled))
	}

	r, why := p.need("L18.rules")
	switch {
	case r == nil:
		e.fail("auditd.rules", why)
		e.fail("auditd.rule_lines", why)
	case r.rc != 0:
		e.fail("auditd.rules", notCollected("auditctl -l failed (exit %d)", r.rc), r.lines...)
		e.fail("auditd.rule_lines", notCollected("auditctl -l failed (exit %d)", r.rc), r.lines...)
	default:
		var rules []string
		for _, l := range r.lines {
			if strings.HasPrefix(l, "-") {
				rules = append(rules, l)
			}
		}
		ev := rules
		if len(rules) == 0 {
			ev = r.lines
		}
		e.set("auditd.rules", len(rules), ev...)
		e.set("auditd.rule_lines", nonNil(capList(rules)), ev...)
	}
}

// ---- L19 auditd.conf -------------------------------------------------------

func parseAuditdConf(p *parser, e *emitter) {
	const file = "/etc/audit/auditd.conf"
	st, _, why := p.fileLines(file)
	if why != "" {
		e.failRest(why)
		return
	}
	conf, raw := p.keyValueConf(file)
	for _, k := range []string{"space_left", "space_left_action", "admin_space_left", "admin_space_left_action",
		"disk_full_action", "disk_error_action", "max_log_file", "max_log_file_action"} {
		name := "auditd." + k
		v, ok := conf[k]
		switch {
		case !ok && st == fileMissing:
			e.set(name, nil, file+": absent")
		case !ok:
			e.set(name, nil, file+": "+k+" not set")
		case k == "max_log_file":
			if n, ok := atoi(v); ok {
				e.set(name, n, findRawKey(raw, k))
			} else {
				e.fail(name, errUnparsed("%s=%q", k, v), findRawKey(raw, k))
			}
		case strings.HasSuffix(k, "_action"):
			e.set(name, strings.ToLower(v), findRawKey(raw, k))
		default:
			e.set(name, v, findRawKey(raw, k))
		}
	}
}

// findRawKey returns the last evidence line whose key is exactly key.
func findRawKey(raw []string, key string) string {
	for i := len(raw) - 1; i >= 0; i-- {
		_, l, _ := strings.Cut(raw[i], ": ")
		k, _, _ := strings.Cut(l, "=")
		if strings.EqualFold(strings.TrimSpace(k), key) {
			return raw[i]
		}
	}
	return findRaw(raw, key)
}

// ---- L20 remote syslog -----------------------------------------------------

var (
	reLegacyFwd = regexp.MustCompile(`(?:^|[\s;])(@@?)(?:\([^)]*\))?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]+))?`)
	reOmrelp    = regexp.MustCompile(`:omrelp:([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):([0-9]+)`)
	reAction    = regexp.MustCompile(`(?is)action\s*\(([^)]*)\)`)
	reParam     = regexp.MustCompile(`(?i)(?:^|[\s(])(type|target|port|protocol)\s*=\s*"([^"]*)"`)
	reSyslogNG  = regexp.MustCompile(`(?is)destination\s+[A-Za-z0-9_-]+\s*\{(.*?)\}\s*;`)
	reNGDriver  = regexp.MustCompile(`(?i)\b(network|syslog|tcp6?|udp6?)\s*\(\s*"?([^"\s)]+)"?([^;]*)`)
	reNGPort    = regexp.MustCompile(`(?i)port\s*\(\s*"?([0-9]+)`)
	reNGTrans   = regexp.MustCompile(`(?i)transport\s*\(\s*"?([a-z]+)`)
)

func parseSyslog(p *parser, e *emitter) {
	files, why := p.globFiles("/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf", "/etc/syslog.conf",
		"/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d/*.conf")
	if why != "" {
		e.fail("syslog.remote_targets", why)
	} else {
		var targets, raw []string
		add := func(t, ev string) {
			targets = append(targets, t)
			raw = append(raw, ev)
		}
		for _, f := range files {
			lines := p.content(f)
			if strings.Contains(f, "syslog-ng") {
				text := strings.Join(lines, "\n")
				for _, blk := range reSyslogNG.FindAllStringSubmatch(text, -1) {
					for _, d := range reNGDriver.FindAllStringSubmatch(blk[1], -1) {
						proto := strings.ToLower(d[1])
						switch proto {
						case "network", "syslog": // both default to transport("tcp")
							proto = "tcp"
							if m := reNGTrans.FindStringSubmatch(d[3]); m != nil {
								proto = strings.ToLower(m[1])
							}
						case "tcp6":
							proto = "tcp"
						case "udp6":
							proto = "udp"
						}
						t := proto + "://" + d[2]
						if m := reNGPort.FindStringSubmatch(d[3]); m != nil {
							t += ":" + m[1]
						}
						add(t, f+": "+strings.TrimSpace(d[0]))
					}
				}
				continue
			}
			for _, l := range lines {
				t := strings.TrimSpace(l)
				i := strings.IndexAny(t, " \t")
				if sel := t[:max(i, 0)]; i > 0 && !strings.HasPrefix(sel, "$") && !strings.Contains(sel, "(") {
					act := strings.TrimSpace(t[i:])
					if strings.HasPrefix(sel, ":") { // property filter: :msg, contains, "x" ACTION
						if q := strings.LastIndexByte(act, '"'); q >= 0 {
							act = strings.TrimSpace(act[q+1:])
						}
					}
					if m := reLegacyFwd.FindStringSubmatch(act); m != nil && strings.HasPrefix(act, m[1]) {
						proto := "udp"
						if m[1] == "@@" {
							proto = "tcp"
						}
						t := proto + "://" + m[2]
						if m[3] != "" {
							t += ":" + m[3]
						}
						add(t, f+": "+l)
					}
				}
				if m := reOmrelp.FindStringSubmatch(l); m != nil {
					add("relp://"+m[1]+":"+m[2], f+": "+l)
				}
			}
			for _, a := range reAction.FindAllStringSubmatch(strings.Join(lines, "\n"), -1) {
				params := map[string]string{}
				for _, kv := range reParam.FindAllStringSubmatch(a[1], -1) {
					params[strings.ToLower(kv[1])] = kv[2]
				}
				typ := strings.ToLower(params["type"])
				if (typ != "omfwd" && typ != "omrelp") || params["target"] == "" {
					continue
				}
				proto := strings.ToLower(params["protocol"])
				if typ == "omrelp" {
					proto = "relp"
				} else if proto == "" {
					proto = "udp"
				}
				t := proto + "://" + params["target"]
				if params["port"] != "" {
					t += ":" + params["port"]
				}
				add(t, f+": "+strings.Join(strings.Fields(a[0]), " "))
			}
		}
		if st, ev, _ := p.service("systemd-journal-upload"); st == svcActive {
			for _, l := range p.content("/etc/systemd/journal-upload.conf") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), "URL="); ok && v != "" {
					add("journal-upload://"+strings.TrimPrefix(strings.TrimPrefix(v, "https://"), "http://"), ev)
				}
			}
		}
		if len(raw) == 0 {
			raw = []string{"no forwarding rule in " + strings.Join(files, ", ")}
			if len(files) == 0 {
				raw = []string{"no rsyslog, syslog-ng or syslog.conf configuration"}
			}
		}
		e.set("syslog.remote_targets", nonNil(sortedUnique(targets)), raw...)
	}

	name, ev, why := p.anyActive("rsyslog", "syslog-ng")
	switch {
	case name != "":
		e.set("syslog.daemon", name, ev...)
	case p.processes()["syslogd"] && p.procsRestricted() == "":
		e.set("syslog.daemon", "syslogd", "process syslogd running")
	case why != "":
		e.fail("syslog.daemon", why, ev...)
	default:
		e.set("syslog.daemon", nil, ev...)
	}
}

// ---- L21 time synchronisation ----------------------------------------------

var timeUnits = []struct{ unit, daemon string }{
	{"chrony", "chronyd"}, {"chronyd", "chronyd"}, {"systemd-timesyncd", "systemd-timesyncd"},
	{"ntp", "ntpd"}, {"ntpd", "ntpd"}, {"ntpsec", "ntpd"}, {"openntpd", "openntpd"},
}

func parseTime(p *parser, e *emitter) {
	daemon, why := "", ""
	var ev []string
	for _, u := range timeUnits {
		st, s, w := p.service(u.unit)
		if s != "" && !slices.Contains(ev, s) {
			ev = append(ev, s)
		}
		if st == svcActive {
			daemon = u.daemon
			break
		}
		if st == svcUnknown && why == "" {
			why = w
		}
	}
	switch {
	case daemon != "":
		e.set("time.daemon", daemon, ev...)
		e.set("time.sync_active", true, ev...)
	case why != "":
		e.fail("time.daemon", why, ev...)
		e.fail("time.sync_active", why, ev...)
	default:
		e.set("time.daemon", nil, ev...)
		e.set("time.sync_active", false, ev...)
	}

	files, fwhy := p.globFiles("/etc/chrony.conf", "/etc/chrony/chrony.conf", "/etc/chrony/sources.d/*.sources",
		"/etc/chrony/conf.d/*.conf", "/etc/ntp.conf", "/etc/ntpsec/ntp.conf", "/etc/openntpd/ntpd.conf",
		"/etc/systemd/timesyncd.conf", "/etc/systemd/timesyncd.conf.d/*.conf")
	if fwhy != "" {
		e.fail("time.servers", fwhy)
	} else {
		var servers, raw []string
		for _, f := range files {
			for _, l := range p.content(f) {
				fs := strings.Fields(l)
				if len(fs) == 0 {
					continue
				}
				if v, ok := strings.CutPrefix(fs[0], "NTP="); ok && strings.Contains(f, "timesyncd") {
					servers = append(servers, append(strings.Fields(v), fs[1:]...)...)
					raw = append(raw, f+": "+l)
					continue
				}
				switch fs[0] {
				case "server", "pool", "servers", "peer":
					if len(fs) > 1 {
						servers = append(servers, fs[1])
						raw = append(raw, f+": "+l)
					}
				}
			}
		}
		if len(raw) == 0 {
			raw = []string{"no server/pool lines in " + strings.Join(files, ", ")}
			if len(files) == 0 {
				raw = []string{"no chrony, ntp, openntpd or timesyncd configuration"}
			}
		}
		e.set("time.servers", nonNil(servers), raw...)
	}

	switch s := p.timeSection(); {
	case s == nil:
		_, why := p.need("L21")
		e.fail("time.synchronized", why)
	case s.id == "L21":
		for _, l := range s.lines {
			k, v, ok := strings.Cut(l, ":")
			k = strings.TrimSpace(k)
			if ok && (k == "System clock synchronized" || k == "NTP synchronized") {
				e.set("time.synchronized", strings.TrimSpace(v) == "yes", "timedatectl: "+strings.TrimSpace(l))
				return
			}
		}
		e.fail("time.synchronized", errUnparsed("no \"System clock synchronized\" in timedatectl status (exit %d)", s.rc), s.lines...)
	case s.id == "L21.chronyc":
		for _, l := range s.lines {
			k, v, ok := strings.Cut(l, ":")
			if ok && strings.TrimSpace(k) == "Leap status" {
				e.set("time.synchronized", strings.TrimSpace(v) == "Normal", "chronyc tracking: "+strings.TrimSpace(l))
				return
			}
		}
		e.fail("time.synchronized", errUnparsed("no Leap status in chronyc tracking (exit %d)", s.rc), s.lines...)
	default: // ntpq -pn
		if s.rc != 0 {
			e.fail("time.synchronized", notCollected("ntpq -pn failed (exit %d)", s.rc), s.lines...)
			return
		}
		for _, l := range s.lines {
			if strings.HasPrefix(l, "*") {
				e.set("time.synchronized", true, "ntpq -pn: "+l)
				return
			}
		}
		e.set("time.synchronized", false, append([]string{"ntpq -pn: no peer marked *"}, s.lines...)...)
	}
}

// timeSection returns whichever time-status section ran.
func (p *parser) timeSection() *section {
	for _, id := range []string{"L21", "L21.chronyc", "L21.ntpq"} {
		if s := p.f.section(id); s.ok() {
			return s
		}
	}
	return nil
}

// ---- L22 AIDE --------------------------------------------------------------

func parseAIDE(p *parser, e *emitter) {
	ls, why := p.need("LS")
	if ls == nil {
		e.failRest(why)
		return
	}
	installed, raw, why := p.installed([]string{"aide"}, []string{"aide"})
	if why != "" {
		e.failRest(why)
		return
	}
	e.set("aide.installed", installed, raw...)

	db, dbRaw, denied := false, []string(nil), false
	for _, l := range ls.lines {
		switch {
		case l == "! /var/lib/aide" || l == "! /var/lib/aide/db":
			denied = true
			dbRaw = append(dbRaw, l+" (not readable)")
		case strings.HasPrefix(l, "/var/lib/aide/") && strings.HasPrefix(path.Base(l), "aide.db"):
			db = true
			dbRaw = append(dbRaw, l)
		}
	}
	switch {
	case db:
		e.set("aide.database", true, dbRaw...)
	case denied:
		e.fail("aide.database", p.deniedReason("/var/lib/aide"), dbRaw...)
	default:
		e.set("aide.database", false, "no aide.db* in /var/lib/aide")
	}

	files, fwhy := p.globFiles("/etc/crontab", "/etc/cron.d/*", "/var/spool/cron/crontabs/root", "/var/spool/cron/root")
	var schedRaw []string
	for _, f := range files {
		for _, l := range p.content(f) {
			if strings.Contains(l, "aide") {
				schedRaw = append(schedRaw, f+": "+l)
			}
		}
	}
	for _, l := range ls.lines {
		if (strings.HasPrefix(l, "/etc/cron.daily/") || strings.HasPrefix(l, "/etc/cron.weekly/")) &&
			strings.Contains(path.Base(l), "aide") {
			schedRaw = append(schedRaw, l)
		}
	}
	for _, u := range []string{"dailyaidecheck.timer", "aidecheck.timer"} {
		if st, ev, _ := p.service(u); st == svcActive {
			schedRaw = append(schedRaw, ev)
		}
	}
	switch {
	case !installed:
		e.set("aide.scheduled", false, "aide not installed")
	case len(schedRaw) > 0:
		e.set("aide.scheduled", true, schedRaw...)
	case fwhy != "":
		e.fail("aide.scheduled", fwhy)
	case !p.elevated:
		// root's crontab (a usual home of the job) is invisible without root
		e.fail("aide.scheduled", probes.ErrTextNotElevated)
	default:
		e.set("aide.scheduled", false, "no aide job in cron or timers")
	}
}
