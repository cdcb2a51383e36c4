package linux

import (
	"path"
	"strconv"
	"strings"
)

type sshKind int

const (
	sshWord  sshKind = iota // lower-case word (yes/no, prohibit-password …)
	sshUpper                // upper-case word (LogLevel)
	sshText                 // kept as written (Banner path)
	sshInt                  // integer
	sshTime                 // sshd time format (30, 5m, 1h30m), seconds
	sshList                 // comma-separated list
)

// sshKeys are the sshd keywords turned into facts, with the upstream
// OpenSSH (≥ 7.4) default a file without the keyword gets. Lists have no
// default: their compiled-in value differs between versions and builds.
var sshKeys = []struct {
	key  string
	kind sshKind
	def  string
}{
	{"permitrootlogin", sshWord, "prohibit-password"},
	{"passwordauthentication", sshWord, "yes"},
	{"permitemptypasswords", sshWord, "no"},
	{"maxauthtries", sshInt, "6"},
	{"hostbasedauthentication", sshWord, "no"},
	{"ignorerhosts", sshWord, "yes"},
	{"pubkeyauthentication", sshWord, "yes"},
	{"ciphers", sshList, ""},
	{"macs", sshList, ""},
	{"kexalgorithms", sshList, ""},
	{"clientaliveinterval", sshTime, "0"},
	{"clientalivecountmax", sshInt, "3"},
	{"banner", sshText, "none"},
	{"x11forwarding", sshWord, "no"},
	{"allowtcpforwarding", sshWord, "yes"},
	{"permittunnel", sshWord, "no"},
	{"loglevel", sshUpper, "INFO"},
}

// sshVal is one keyword's value with its evidence. unread names an Include
// the bundle did not dump that came before the value and might have set the
// keyword first; such a value is not trusted.
type sshVal struct{ val, raw, unread string }

// opensshBefore7 reports whether the package list shows an OpenSSH server
// older than 7.0, whose compiled-in PermitRootLogin default was yes.
func (p *parser) opensshBefore7() bool {
	pl := p.packages()
	for _, k := range pl.entries {
		if k.name == "openssh-server" || k.name == "openssh" {
			ver := k.version
			if _, after, ok := strings.Cut(ver, ":"); ok {
				ver = after // dpkg epoch
			}
			return compareVersions(ver, "7.0") < 0
		}
	}
	return false
}

// parseSSH covers L12 (source) and L13–L16 (the keywords).
func parseSSH(p *parser, e *emitter) {
	vals, src, srcRaw, why := p.sshdEffective()
	if why != "" {
		e.failRest(why, srcRaw...)
		return
	}
	e.set("ssh.source", src, srcRaw...)
	for _, k := range sshKeys {
		name := "ssh." + k.key
		v, ok := vals[k.key]
		if !ok && vals[""].unread != "" {
			v, ok = sshVal{unread: vals[""].unread}, true
		}
		if v.unread != "" {
			e.fail(name, notCollected("sshd_config includes %s, which the bundle did not read and which may set %s", v.unread, k.key))
			continue
		}
		if !ok {
			if k.def == "" {
				e.fail(name, notCollected("%s not set in sshd_config and its compiled-in default varies by OpenSSH version; scan as root for sshd -T", k.key))
				continue
			}
			def := k.def
			if k.key == "permitrootlogin" && p.opensshBefore7() {
				def = "yes" // the default until OpenSSH 7.0
			}
			v = sshVal{val: def, raw: "default (not set in sshd_config): " + k.key + " " + def}
		}
		switch k.kind {
		case sshWord:
			e.set(name, strings.ToLower(v.val), v.raw)
		case sshUpper:
			e.set(name, strings.ToUpper(v.val), v.raw)
		case sshText:
			e.set(name, v.val, v.raw)
		case sshInt:
			if n, ok := atoi(v.val); ok {
				e.set(name, n, v.raw)
			} else {
				e.fail(name, errUnparsed("%s %q is not a number", k.key, v.val), v.raw)
			}
		case sshTime:
			if n, ok := sshdSeconds(v.val); ok {
				e.set(name, n, v.raw)
			} else {
				e.fail(name, errUnparsed("%s %q is not a time", k.key, v.val), v.raw)
			}
		case sshList:
			var l []string
			for _, it := range strings.Split(v.val, ",") {
				if it = strings.TrimSpace(it); it != "" {
					l = append(l, it)
				}
			}
			e.set(name, nonNil(l), v.raw)
		}
	}
}

// sshdEffective returns the sshd keywords from `sshd -T` when it ran as
// root and succeeded, else from sshd_config evaluated here.
func (p *parser) sshdEffective() (map[string]sshVal, string, []string, string) {
	var note []string
	s := p.f.section("L12")
	if s.ok() {
		vals := map[string]sshVal{}
		for _, l := range s.lines {
			k, v, _ := strings.Cut(l, " ")
			k = strings.ToLower(k)
			if _, dup := vals[k]; !dup && k != "" {
				vals[k] = sshVal{val: strings.TrimSpace(v), raw: "sshd -T: " + l}
			}
		}
		if s.rc == 0 {
			if _, ok := vals["permitrootlogin"]; ok {
				return vals, "sshd -T", []string{"sshd -T -C user=root,host=localhost,addr=127.0.0.1 (exit 0)"}, ""
			}
		}
		note = append(note, "sshd -T failed (exit "+itoa(s.rc)+")")
		note = append(note, s.lines...)
	} else if s == nil || s.skip == "" {
		// the script was about to run sshd -T when the output ended
		_, why := p.need("L12")
		return nil, "", nil, why
	} else if s.skip != "" {
		note = append(note, "sshd -T not run ("+strings.NewReplacer("missing:", "command not found: ", "not-elevated", "not elevated").Replace(s.skip)+")")
	}
	files, why := p.need("FILES")
	if files == nil {
		return nil, "", note, why
	}
	const main = "/etc/ssh/sshd_config"
	switch st, _ := files.file(main); st {
	case fileDenied:
		return nil, "", note, p.deniedReason(main)
	case fileMissing:
		if p.binary("sshd") == "" && p.binary("dropbear") != "" {
			return nil, "", note, notCollected("the SSH server is dropbear, not OpenSSH")
		}
		return nil, "", note, notCollected("no %s and no sshd -T output", main)
	}
	vals := map[string]sshVal{}
	var unresolved []string
	visits := 0
	if why := p.sshdFile(main, vals, &unresolved, map[string]bool{}, &visits); why != "" {
		return nil, "", note, why
	}
	note = append(note, "sshd_config evaluated by the scanner")
	for _, u := range unresolved {
		note = append(note, "Include "+u+" was not read by the bundle")
	}
	return vals, "file", note, ""
}

// sshdFile evaluates one sshd_config file into vals: the first value of a
// keyword wins, Include is expanded in place, Match blocks are skipped (the
// global configuration is what applies to an unmatched connection).
func (p *parser) sshdFile(file string, vals map[string]sshVal, unresolved *[]string, active map[string]bool, visits *int) string {
	// include cycles, absurd nesting or fan-out from a hostile host
	if *visits++; active[file] || len(active) > 16 || *visits > 64 {
		return ""
	}
	active[file] = true
	defer delete(active, file)
	files := p.f.section("FILES")
	inMatch := false
	for _, l := range files.content[file] {
		key, arg := sshdSplit(l)
		switch {
		case key == "":
		case key == "match":
			inMatch = true
		case inMatch:
		case key == "include":
			for _, pat := range strings.Fields(arg) {
				pat = unquote(pat)
				if !strings.HasPrefix(pat, "/") {
					pat = "/etc/ssh/" + pat
				}
				matched := files.glob(pat)
				if len(matched) == 0 && !sshdDumped(pat) {
					*unresolved = append(*unresolved, pat)
					if _, ok := vals[""]; !ok {
						vals[""] = sshVal{unread: pat} // marks every later value and default
					}
				}
				for _, m := range matched {
					if files.files[m] == fileDenied {
						return p.deniedReason(m)
					}
					if why := p.sshdFile(m, vals, unresolved, active, visits); why != "" {
						return why
					}
				}
			}
		default:
			if _, set := vals[key]; !set {
				vals[key] = sshVal{val: unquote(arg), raw: file + ": " + l, unread: vals[""].unread}
			}
		}
	}
	return ""
}

// sshdDumped reports whether the bundle dumps the files pattern can match,
// so an empty match means "no such file" rather than "not read".
func sshdDumped(pattern string) bool {
	dir := path.Dir(pattern)
	return dir == "/etc/ssh/sshd_config.d" || pattern == "/etc/crypto-policies/back-ends/opensshserver.config"
}

// sshdSplit splits "Keyword value" or "Keyword=value".
func sshdSplit(l string) (string, string) {
	l = strings.TrimSpace(l)
	i := strings.IndexAny(l, " \t=")
	if i < 0 {
		return strings.ToLower(l), ""
	}
	key := strings.ToLower(l[:i])
	rest := strings.TrimLeft(l[i:], " \t")
	rest = strings.TrimPrefix(rest, "=")
	return key, strings.TrimSpace(rest)
}

// sshdSeconds parses sshd_config(5) TIME FORMATS: 90, 5m, 1h30m, 2w.
func sshdSeconds(s string) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, false
	}
	total, num := 0, ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			if len(num) >= 9 {
				return 0, false
			}
			num += string(c)
			continue
		}
		mult := map[byte]int{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}[c]
		n, err := strconv.Atoi(num)
		if mult == 0 || err != nil {
			return 0, false
		}
		total += n * mult
		num = ""
	}
	if num != "" {
		n, err := strconv.Atoi(num)
		if err != nil {
			return 0, false
		}
		total += n
	}
	return total, total >= 0
}
