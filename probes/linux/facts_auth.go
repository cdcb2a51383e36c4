package linux

import (
	"path"
	"strings"
)

// ---- PAM -------------------------------------------------------------------

type pamLine struct {
	typ, control, module string
	args                 []string
	file, raw            string
}

// arg returns the value of key=value among the module arguments (last wins).
func (l pamLine) arg(key string) (string, bool) {
	v, found := "", false
	for _, a := range l.args {
		if k, val, ok := strings.Cut(a, "="); ok && k == key {
			v, found = val, true
		}
	}
	return v, found
}

type pamFile struct {
	state fileState
	lines []pamLine // @include appears as a pseudo line of type "@include"
}

// pamFile parses /etc/pam.d/<service> once.
func (p *parser) pamFile(service string) *pamFile {
	if p.pamCache == nil {
		p.pamCache = map[string]*pamFile{}
	}
	if pf, ok := p.pamCache[service]; ok {
		return pf
	}
	file := "/etc/pam.d/" + path.Base(service)
	st, lines, _ := p.fileLines(file)
	pf := &pamFile{state: st}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "@include" && len(f) > 1 {
			pf.lines = append(pf.lines, pamLine{typ: "@include", module: f[1], file: file, raw: l})
			continue
		}
		if len(f) < 3 {
			continue
		}
		pl := pamLine{typ: strings.ToLower(strings.TrimPrefix(f[0], "-")), file: file, raw: l}
		i := 1
		if strings.HasPrefix(f[1], "[") {
			for i < len(f) && !strings.HasSuffix(f[i], "]") {
				i++
			}
			if i >= len(f)-1 {
				continue
			}
			pl.control = strings.Join(f[1:i+1], " ")
		} else {
			pl.control = f[1]
		}
		pl.module = path.Base(f[i+1])
		pl.args = f[i+2:]
		pf.lines = append(pf.lines, pl)
	}
	p.pamCache[service] = pf
	return pf
}

// maxPAMLines bounds one expanded stack: include cycles and fan-out from a
// hostile host must not make the parser explode.
const (
	maxPAMLines  = 1000
	maxPAMVisits = 200
)

// pamStack returns the lines of type typ that service runs, with @include,
// include and substack expanded (a file already being expanded is skipped).
func (p *parser) pamStack(service, typ string) []pamLine {
	var out []pamLine
	visits := 0
	p.pamExpand(service, typ, map[string]bool{}, &out, &visits)
	return out
}

func (p *parser) pamExpand(service, typ string, active map[string]bool, out *[]pamLine, visits *int) {
	if *visits++; active[service] || len(active) > 16 || *visits > maxPAMVisits {
		return
	}
	active[service] = true
	defer delete(active, service)
	for _, l := range p.pamFile(service).lines {
		if len(*out) >= maxPAMLines {
			return
		}
		switch {
		case l.typ == "@include":
			p.pamExpand(l.module, typ, active, out, visits)
		case l.typ != typ:
		case l.control == "include" || l.control == "substack":
			p.pamExpand(l.module, typ, active, out, visits)
		default:
			*out = append(*out, l)
		}
	}
}

// pamServices returns the services among want whose file exists, else the
// fallbacks that exist.
func (p *parser) pamServices(want []string, fallback ...string) []string {
	var out []string
	for _, s := range want {
		if p.pamFile(s).state != fileMissing {
			out = append(out, s)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, s := range fallback {
		if p.pamFile(s).state != fileMissing {
			out = append(out, s)
		}
	}
	return out
}

// pamReady reports why PAM facts cannot be derived (FILES incomplete, or a
// PAM file unreadable), or "".
func (p *parser) pamReady() string {
	_, why := p.globFiles("/etc/pam.d/*")
	return why
}

func pamRaw(lines []pamLine) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, l.file+": "+l.raw)
	}
	return out
}

// keyValueConf parses "key = value" / "key value" files (pwquality.conf,
// faillock.conf, auditd.conf); later files and lines win.
func (p *parser) keyValueConf(files ...string) (map[string]string, []string) {
	m := map[string]string{}
	var raw []string
	for _, f := range files {
		for _, l := range p.content(f) {
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				fs := strings.Fields(l)
				if len(fs) == 0 {
					continue
				}
				k, v = fs[0], strings.Join(fs[1:], " ")
			}
			k = strings.ToLower(strings.TrimSpace(k))
			if k == "" || strings.HasPrefix(k, "#") || strings.HasPrefix(k, ";") {
				continue
			}
			m[k] = strings.TrimSpace(v)
			raw = append(raw, f+": "+l)
		}
	}
	return m, raw
}

// ---- L07 login.defs --------------------------------------------------------

func parseLoginDefs(p *parser, e *emitter) {
	st, lines, why := p.fileLines("/etc/login.defs")
	if why != "" {
		e.failRest(why)
		return
	}
	vals := map[string]string{}
	raws := map[string]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 2 {
			vals[f[0]] = f[1]
			raws[f[0]] = "/etc/login.defs: " + l
		}
	}
	absent := "/etc/login.defs: absent"
	if st == fileOK {
		absent = "/etc/login.defs: not set"
	}
	for key, name := range map[string]string{"PASS_MAX_DAYS": "login_defs.pass_max_days",
		"PASS_MIN_DAYS": "login_defs.pass_min_days", "PASS_WARN_AGE": "login_defs.pass_warn_age",
		"PASS_MIN_LEN": "login_defs.pass_min_len"} {
		v, ok := vals[key]
		switch n, isNum := atoi(v); {
		case !ok:
			e.set(name, nil, absent+" "+key)
		case !isNum:
			e.fail(name, errUnparsed("%s is not a number", key), raws[key])
		default:
			e.set(name, n, raws[key])
		}
	}
	if v, ok := vals["ENCRYPT_METHOD"]; ok {
		e.set("login_defs.encrypt_method", strings.ToUpper(v), raws["ENCRYPT_METHOD"])
	} else {
		e.set("login_defs.encrypt_method", nil, absent+" ENCRYPT_METHOD")
	}
	if v, ok := vals["UMASK"]; ok {
		e.set("login_defs.umask", v, raws["UMASK"])
	} else {
		e.set("login_defs.umask", nil, absent+" UMASK")
	}
}

// ---- L08 pwquality ---------------------------------------------------------

var pwqualityKeys = []string{"minlen", "minclass", "dcredit", "ucredit", "lcredit", "ocredit", "maxrepeat"}

func parsePwquality(p *parser, e *emitter) {
	if why := p.pamReady(); why != "" {
		e.failRest(why)
		return
	}
	var stack []pamLine
	for _, svc := range p.pamServices([]string{"passwd"}, "common-password", "system-auth") {
		stack = append(stack, p.pamStack(svc, "password")...)
	}
	var mod *pamLine
	for i := range stack {
		if stack[i].module == "pam_pwquality.so" || stack[i].module == "pam_cracklib.so" {
			mod = &stack[i]
			break
		}
	}
	if mod == nil {
		e.set("pwquality.module", nil, append([]string{"no pam_pwquality/pam_cracklib in the password stack"}, pamRaw(stack)...)...)
		for _, k := range pwqualityKeys {
			e.set("pwquality."+k, nil, "no pam_pwquality/pam_cracklib in the password stack")
		}
		return
	}
	e.set("pwquality.module", strings.TrimSuffix(mod.module, ".so"), mod.file+": "+mod.raw)
	conf := map[string]string{}
	var confRaw []string
	if mod.module == "pam_pwquality.so" {
		files, why := p.globFiles("/etc/security/pwquality.conf", "/etc/security/pwquality.conf.d/*.conf")
		if why != "" {
			for _, k := range pwqualityKeys {
				e.fail("pwquality."+k, why)
			}
			return
		}
		conf, confRaw = p.keyValueConf(files...)
	}
	for _, k := range pwqualityKeys {
		name := "pwquality." + k
		v, fromArg := mod.arg(k)
		raw := mod.file + ": " + mod.raw
		if !fromArg {
			var ok bool
			if v, ok = conf[k]; !ok {
				e.set(name, nil, raw, "not set in module arguments or pwquality.conf")
				continue
			}
			raw = findRawKey(confRaw, k)
		}
		if n, ok := atoi(v); ok {
			e.set(name, n, raw)
		} else {
			e.fail(name, errUnparsed("%s=%q", k, v), raw)
		}
	}
}

// findRaw returns the last evidence line mentioning key.
func findRaw(raw []string, key string) string {
	for i := len(raw) - 1; i >= 0; i-- {
		if strings.Contains(strings.ToLower(raw[i]), key) {
			return raw[i]
		}
	}
	return ""
}

// ---- L09 password history --------------------------------------------------

func parseHistory(p *parser, e *emitter) {
	if why := p.pamReady(); why != "" {
		e.failRest(why)
		return
	}
	var stack []pamLine
	for _, svc := range p.pamServices([]string{"passwd"}, "common-password", "system-auth") {
		stack = append(stack, p.pamStack(svc, "password")...)
	}
	setInt := func(v, raw, module string) {
		if n, ok := atoi(v); ok {
			e.set("pam.remember", n, raw)
		} else {
			e.fail("pam.remember", errUnparsed("remember=%q", v), raw)
		}
		e.set("pam.remember_module", module, raw)
	}
	for _, l := range stack {
		if l.module != "pam_pwhistory.so" {
			continue
		}
		if v, ok := l.arg("remember"); ok {
			setInt(v, l.file+": "+l.raw, "pam_pwhistory")
			return
		}
		_, lines, why := p.fileLines("/etc/security/pwhistory.conf")
		if why != "" {
			e.fail("pam.remember", why)
			e.set("pam.remember_module", "pam_pwhistory", l.file+": "+l.raw)
			return
		}
		conf, raw := p.keyValueConf("/etc/security/pwhistory.conf")
		_ = lines
		if v, ok := conf["remember"]; ok {
			setInt(v, findRaw(raw, "remember"), "pam_pwhistory")
			return
		}
		e.set("pam.remember", nil, l.file+": "+l.raw, "remember not set (module default 10)")
		e.set("pam.remember_module", "pam_pwhistory", l.file+": "+l.raw)
		return
	}
	for _, l := range stack {
		if l.module == "pam_unix.so" {
			if v, ok := l.arg("remember"); ok {
				setInt(v, l.file+": "+l.raw, "pam_unix")
				return
			}
		}
	}
	e.set("pam.remember", nil, append([]string{"no remember= in the password stack"}, pamRaw(stack)...)...)
	e.set("pam.remember_module", nil, "no pam_pwhistory and no pam_unix remember=")
}

// ---- L10 lockout -----------------------------------------------------------

func parseFaillock(p *parser, e *emitter) {
	if why := p.pamReady(); why != "" {
		e.failRest(why)
		return
	}
	services := p.pamServices([]string{"sshd", "login"}, "common-auth", "system-auth", "password-auth")
	active := len(services) > 0
	tally := false
	var fl []pamLine
	var raw []string
	for _, svc := range services {
		stack := p.pamStack(svc, "auth")
		has := false
		for _, l := range stack {
			switch l.module {
			case "pam_faillock.so":
				has = true
				fl = append(fl, l)
				raw = append(raw, svc+" → "+l.file+": "+l.raw)
			case "pam_tally2.so", "pam_tally.so":
				tally = true
				raw = append(raw, svc+" → "+l.file+": "+l.raw)
			}
		}
		if !has {
			active = false
			raw = append(raw, svc+": no pam_faillock in the auth stack")
		}
	}
	if len(services) == 0 {
		raw = append(raw, "no sshd, login, common-auth or system-auth PAM service")
	}
	e.set("faillock.active", active, raw...)
	e.set("faillock.tally2", tally, raw...)

	st, _, why := p.fileLines("/etc/security/faillock.conf")
	conf, confRaw := map[string]string{}, []string(nil)
	if why == "" && st == fileOK {
		conf, confRaw = p.keyValueConf("/etc/security/faillock.conf")
	}
	for _, key := range []string{"deny", "unlock_time"} {
		name := "faillock." + key
		val, src := "", ""
		for _, l := range fl {
			if v, ok := l.arg(key); ok {
				val, src = v, l.file+": "+l.raw
			}
		}
		if src == "" {
			if why != "" {
				e.fail(name, why)
				continue
			}
			if v, ok := conf[key]; ok {
				val, src = v, findRawKey(confRaw, key)
			}
		}
		if src == "" {
			e.set(name, nil, "not set in module arguments or faillock.conf")
			continue
		}
		if key == "unlock_time" && strings.EqualFold(val, "never") {
			val = "0"
		}
		if n, ok := atoi(val); ok {
			e.set(name, n, src)
		} else {
			e.fail(name, errUnparsed("%s=%q", key, val), src)
		}
	}
}

// ---- L11 accounts ----------------------------------------------------------

// nologinShells cannot start an interactive session.
var nologinShells = map[string]bool{
	"nologin": true, "false": true, "sync": true, "shutdown": true, "halt": true,
}

func parseAccounts(p *parser, e *emitter) {
	st, lines, why := p.fileLines("/etc/passwd")
	if why == "" && st != fileOK {
		why = notCollected("/etc/passwd absent")
	}
	if why != "" {
		e.failRest(why)
		return
	}
	var uid0, login, empty, rawUID0, rawEmpty []string
	count := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-") {
			continue // NIS compat entries
		}
		f := strings.Split(l, ":")
		if len(f) < 7 {
			continue
		}
		count++
		if f[2] == "0" {
			uid0 = append(uid0, f[0])
			rawUID0 = append(rawUID0, "/etc/passwd: "+l)
		}
		if f[1] == "" {
			empty = append(empty, f[0])
			rawEmpty = append(rawEmpty, "/etc/passwd: "+f[0]+"::…")
		}
		if !nologinShells[path.Base(f[6])] {
			login = append(login, f[0])
		}
	}
	if count == 0 {
		e.failRest(errUnparsed("no passwd entries"), withPath("/etc/passwd", lines...)...)
		return
	}
	e.set("accounts.uid0", nonNil(uid0), rawUID0...)
	e.set("accounts.login_shell", nonNil(login), "shell not nologin/false/sync/shutdown/halt")
	e.set("accounts.count", count, "/etc/passwd entries: "+itoa(count))

	switch rs, why := p.need("RESTRICTED"); {
	case rs == nil:
		e.fail("accounts.empty_password", why)
	default:
		sst, slines := rs.file("/etc/shadow")
		switch sst {
		case fileDenied:
			e.fail("accounts.empty_password", p.deniedReason("/etc/shadow"))
		default:
			for _, l := range slines {
				if name, ok := strings.CutSuffix(l, "::"); ok && name != "" {
					empty = append(empty, name)
					rawEmpty = append(rawEmpty, "/etc/shadow: "+l+"…")
				}
			}
			if len(rawEmpty) == 0 {
				src := "/etc/shadow"
				if sst == fileMissing {
					src = "/etc/passwd (no /etc/shadow)"
				}
				rawEmpty = []string{"no empty password field in " + src}
			}
			e.set("accounts.empty_password", nonNil(sortedUnique(empty)), rawEmpty...)
		}
	}

	_, glines, gwhy := p.fileLines("/etc/group")
	if gwhy != "" {
		e.fail("accounts.admin_group_members", gwhy)
		return
	}
	var members, graw []string
	for _, l := range glines {
		f := strings.Split(l, ":")
		if len(f) >= 4 && (f[0] == "sudo" || f[0] == "wheel" || f[0] == "admin") {
			graw = append(graw, "/etc/group: "+l)
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					members = append(members, m)
				}
			}
		}
	}
	e.set("accounts.admin_group_members", nonNil(sortedUnique(members)), graw...)
}
