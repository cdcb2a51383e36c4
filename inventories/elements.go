package inventories

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/otsweep/otsweep/probes"
)

// This file decodes the four element kinds. Each decoder reads its fields
// through a *fields, which records positions and reports unknown keys, and
// checks what can be checked within the element; cross-references are
// checked by builder.check once every file is read.

// name reads an element's required name (or id) and relabels the element.
func (f *fields) name(key, kind string) string {
	s := f.required(key)
	if s == "" {
		return ""
	}
	f.what = fmt.Sprintf("%s %q", kind, s)
	if !validName(s) {
		f.errorf(key, "%q is not a valid name: 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit", s, maxNameLen)
	}
	return s
}

func (f *fields) pos() Pos { return Pos{File: f.d.file, Line: f.line} }

func (b *builder) zone(f *fields) {
	z := Zone{Pos: f.pos()}
	z.Name = f.name("name", "zone")
	z.Description = f.str("description")
	if n, ok := f.node("sl_target"); ok {
		z.SLTarget = f.slTarget(n)
	} else if f.missing("sl_target") {
		f.errorf("", "sl_target is required: a level 0..4, or a mapping from \"FR 1\"..\"FR 7\" to levels")
	}
	f.finish()
	b.zones = append(b.zones, rec[Zone]{z, f})
}

// slTarget decodes a zone's SL-T: one level for all FRs, or a map by FR.
func (f *fields) slTarget(n ast.Node) [7]int {
	var t [7]int
	if _, isInt := n.(*ast.IntegerNode); isInt {
		l, _ := f.integer("sl_target")
		if l < 0 || l > 4 {
			f.errorf("sl_target", "level %d out of range 0..4", l)
			return t
		}
		for i := range t {
			t[i] = l
		}
		return t
	}
	if _, isMap := mappingValues(n); !isMap {
		f.errorf("sl_target", "expected a level 0..4 or a mapping from \"FR 1\"..\"FR 7\" to levels, got %s", describe(n))
		return t
	}
	sub, _ := f.sub("sl_target")
	for _, e := range sub.entries {
		e.used = true
		i := frIndex(e.key)
		if i < 0 {
			f.d.c.add(f.d.file, e.keyLine, "%s: sl_target: unknown foundational requirement %q (want \"FR 1\" .. \"FR 7\")", f.what, e.key)
			continue
		}
		if e.bad || e.val == nil {
			continue
		}
		l, err := f.d.asInt(e.val)
		if err == nil && (l < 0 || l > 4) {
			err = fmt.Errorf("level %d out of range 0..4", l)
		}
		if err != nil {
			f.d.c.add(f.d.file, e.keyLine, "%s: sl_target: %s: %v", f.what, e.key, err)
			continue
		}
		t[i] = l
	}
	return t
}

// frIndex maps "FR 1".."FR 7" to 0..6, or -1.
func frIndex(s string) int {
	if len(s) == 4 && strings.HasPrefix(s, "FR ") && s[3] >= '1' && s[3] <= '7' {
		return int(s[3] - '1')
	}
	return -1
}

// Credential field groups: which transport each field belongs to.
func sshKeys() []string {
	return []string{"private_key_file", "passphrase_env", "passphrase_file", "agent", "sudo", "known_hosts", "trust_on_first_use"}
}

func winrmKeys() []string { return []string{"auth", "ca_file", "fingerprint", "https"} }

func snmpKeys() []string {
	return append([]string{"snmp_version", "community_env", "community_file"}, snmpV3Keys()...)
}

func snmpV3Keys() []string {
	return []string{"security_level", "auth_protocol", "auth_password_env", "auth_password_file",
		"priv_protocol", "priv_password_env", "priv_password_file", "context"}
}

// present returns the keys of the list that the element sets.
func (f *fields) present(keys []string) []string {
	var out []string
	for _, k := range keys {
		if _, ok := f.byKey[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// path reads an absolute file path field.
func (f *fields) path(key string) string {
	s := f.str(key)
	if s == "" {
		return ""
	}
	// The value is not echoed: a mistake here is often a secret pasted
	// into the wrong field.
	if !filepath.IsAbs(s) {
		f.errorf(key, "must be an absolute path")
		return ""
	}
	if strings.ContainsAny(s, "\x00\n\r") {
		f.errorf(key, "must be a plain path")
		return ""
	}
	return filepath.Clean(s)
}

// secretRef reads the BASE_env / BASE_file pair of one secret.
func (f *fields) secretRef(base string) SecretRef {
	envKey, fileKey := base+"_env", base+"_file"
	r := SecretRef{Env: f.str(envKey), File: f.path(fileKey)}
	if r.Env != "" && !validEnvName(r.Env) {
		// Not echoed, for the same reason as paths.
		f.errorf(envKey, "must be the name of an environment variable (letters, digits and _), not the secret itself")
		r.Env = ""
	}
	if f.has(envKey) && f.has(fileKey) {
		f.errorf(fileKey, "set only one of %s and %s", envKey, fileKey)
	}
	return r
}

// enum reads a field whose value must be one of choices (compared without
// case) and returns the canonical spelling, or def when absent.
func (f *fields) enum(key, def string, choices ...string) string {
	s := f.str(key)
	if s == "" {
		return def
	}
	for _, c := range choices {
		if strings.EqualFold(s, c) {
			return c
		}
	}
	f.errorf(key, "%q is not one of %s", s, strings.Join(choices, ", "))
	return def
}

func (b *builder) credential(f *fields) {
	c := Credential{Pos: f.pos()}
	c.Name = f.name("name", "credential")
	c.Username = f.str("username")
	c.Password = f.secretRef("password")

	ssh := SSHOptions{
		PrivateKeyFile:  f.path("private_key_file"),
		Passphrase:      f.secretRef("passphrase"),
		Agent:           f.boolean("agent"),
		Sudo:            f.boolean("sudo"),
		KnownHosts:      f.path("known_hosts"),
		TrustOnFirstUse: f.boolean("trust_on_first_use"),
	}
	winrm := WinRMOptions{
		Auth:        f.enum("auth", AuthNTLM, AuthNTLM, AuthBasic, AuthKerberos),
		CAFile:      f.path("ca_file"),
		Fingerprint: f.fingerprint("fingerprint"),
		HTTPS:       f.boolean("https"),
	}
	snmp := SNMPOptions{
		Version:       f.snmpVersion("snmp_version"),
		Community:     f.secretRef("community"),
		SecurityLevel: f.enum("security_level", "", AuthPriv, AuthNoPriv, NoAuthNoPriv),
		AuthProtocol:  f.enum("auth_protocol", "", "SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"),
		AuthPassword:  f.secretRef("auth_password"),
		PrivProtocol:  f.enum("priv_protocol", "", "AES", "AES192", "AES256", "DES"),
		PrivPassword:  f.secretRef("priv_password"),
		Context:       f.str("context"),
	}

	groups := []struct {
		label string
		keys  []string
	}{{"SSH", f.present(sshKeys())}, {"WinRM", f.present(winrmKeys())}, {"SNMP", f.present(snmpKeys())}}
	var first string
	for _, g := range groups {
		if len(g.keys) == 0 {
			continue
		}
		if first != "" {
			f.errorf(g.keys[0], "%s fields (%s) do not mix with %s; use one credential per transport", g.label, strings.Join(g.keys, ", "), first)
			continue
		}
		first = fmt.Sprintf("%s fields (%s)", g.label, strings.Join(g.keys, ", "))
		switch g.label {
		case "SSH":
			c.SSH = &ssh
		case "WinRM":
			c.WinRM = &winrm
		case "SNMP":
			c.SNMP = &snmp
		}
	}
	if pp := f.present([]string{"passphrase_env", "passphrase_file"}); len(pp) > 0 && f.missing("private_key_file") {
		f.errorf(pp[0], "a passphrase needs private_key_file")
	}
	if c.SNMP != nil {
		f.checkSNMP(&c)
	}
	f.finish()
	b.credentials = append(b.credentials, rec[Credential]{c, f})
}

// fingerprint reads a SHA-256 certificate fingerprint, accepting colons and
// either case, and returns it as 64 lower-case hex digits.
func (f *fields) fingerprint(key string) string {
	s := f.str(key)
	if s == "" {
		return ""
	}
	s = strings.ToLower(strings.ReplaceAll(s, ":", ""))
	ok := len(s) == 64
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f'
	}
	if !ok {
		f.errorf(key, "want the SHA-256 of the server certificate: 64 hex digits, colons allowed")
		return ""
	}
	return s
}

// snmpVersion reads 1, 2c or 3 (written as a number or a string).
func (f *fields) snmpVersion(key string) string {
	n, ok := f.node(key)
	if !ok {
		return ""
	}
	var s string
	switch n.(type) {
	case *ast.IntegerNode:
		if v, err := f.d.asInt(n); err == nil {
			s = fmt.Sprint(v)
		}
	default:
		s, _ = f.d.asString(n)
	}
	switch strings.ToLower(s) {
	case SNMPv1, SNMPv2c, SNMPv3:
		return strings.ToLower(s)
	}
	f.errorf(key, "want 1, 2c or 3")
	return ""
}

// checkSNMP validates an SNMP credential's combination of fields.
func (f *fields) checkSNMP(c *Credential) {
	s := c.SNMP
	if pw := f.present([]string{"password_env", "password_file"}); len(pw) > 0 {
		f.errorf(pw[0], "not an SNMP field; use community_env/community_file (v1, v2c) or auth_password_*/priv_password_* (v3)")
	}
	switch s.Version {
	case "":
		if f.missing("snmp_version") {
			f.errorf("", "snmp_version is required for an SNMP credential (1, 2c or 3)")
		}
	case SNMPv1, SNMPv2c:
		if len(f.present([]string{"community_env", "community_file", "community"})) == 0 {
			f.errorf("", "community_env or community_file is required for SNMP v%s", s.Version)
		}
		for _, k := range f.present(append([]string{"username"}, snmpV3Keys()...)) {
			f.errorf(k, "applies to SNMPv3 only (snmp_version is %s)", s.Version)
		}
	case SNMPv3:
		if f.missing("username") {
			f.errorf("", "username (the SNMPv3 security name) is required")
		}
		for _, k := range f.present([]string{"community_env", "community_file"}) {
			f.errorf(k, "applies to SNMP v1/v2c only; v3 uses username and auth/priv passwords")
		}
		if s.SecurityLevel == "" && f.missing("security_level") {
			s.SecurityLevel = AuthPriv
		}
		needAuth := s.SecurityLevel == AuthPriv || s.SecurityLevel == AuthNoPriv
		needPriv := s.SecurityLevel == AuthPriv
		f.need(needAuth, s.SecurityLevel, "auth_protocol")
		f.need(needAuth, s.SecurityLevel, "auth_password_env", "auth_password_file")
		f.need(needPriv, s.SecurityLevel, "priv_protocol")
		f.need(needPriv, s.SecurityLevel, "priv_password_env", "priv_password_file")
	}
}

// need reports a missing field (one of alternatives) that level requires, or
// fields level forbids.
func (f *fields) need(required bool, level string, alternatives ...string) {
	got := f.present(alternatives)
	switch {
	case required && len(got) == 0:
		f.errorf("", "%s is required for security_level %s", strings.Join(alternatives, " or "), level)
	case !required && len(got) > 0 && level != "":
		for _, k := range got {
			f.errorf(k, "does not apply to security_level %s", level)
		}
	}
}

func (b *builder) asset(f *fields) {
	a := Asset{Pos: f.pos()}
	a.Name = f.name("name", "asset")

	if p := f.str("platform"); p != "" {
		if a.Platform = probes.Platform(p); !a.Platform.Valid() {
			a.Platform = ""
			f.errorf("platform", "%q is not one of linux, windows, snmp", p)
		}
	} else if f.missing("platform") {
		f.errorf("", "platform is required (linux, windows or snmp)")
	}

	a.Transport = Transport(f.enum("transport", "", string(SSH), string(Local), string(WinRM), string(WinRMS), string(SNMP)))
	if a.Transport == "" && f.missing("transport") && a.Platform != "" {
		a.Transport = TransportsFor(a.Platform)[0]
	}
	if a.Transport != "" && a.Platform != "" && !a.Transport.Fits(a.Platform) {
		f.errorf("transport", "%s does not fit platform %s (use %s)", a.Transport, a.Platform, joinTransports(TransportsFor(a.Platform)))
	}

	a.Address = f.str("address")
	switch {
	case a.Transport == Local:
		if a.Address == "" {
			a.Address = "localhost"
		} else if !isLocalAddress(a.Address) {
			f.errorf("address", "transport local scans this machine: the address must be localhost or a loopback address, not %q", a.Address)
		}
	case a.Address == "":
		if f.missing("address") {
			f.errorf("", "address is required")
		}
	default:
		if why := checkAddress(a.Address); why != "" {
			f.errorf("address", "bad address %q: %s", a.Address, why)
		}
	}

	if p, ok := f.integer("port"); ok {
		switch {
		case a.Transport == Local:
			f.errorf("port", "does not apply to transport local")
		case p < 1 || p > 65535:
			f.errorf("port", "%d is out of range 1..65535", p)
		default:
			a.Port = p
		}
	} else if f.missing("port") {
		a.Port = a.Transport.DefaultPort()
	}

	a.Credential = f.str("credential")
	if a.Credential == "" && a.Transport != Local && a.Transport != "" && f.missing("credential") {
		f.errorf("", "credential is required for transport %s", a.Transport)
	}
	a.Role = f.required("role")
	a.Zone = f.str("zone")
	a.Tags = f.strings("tags")
	seen := map[string]bool{}
	for _, t := range a.Tags {
		switch {
		case !validName(t):
			f.errorf("tags", "%q is not a valid tag: 1 to %d letters, digits, '.', '_' or '-'", t, maxNameLen)
		case seen[t]:
			f.errorf("tags", "tag %q is listed twice", t)
		}
		seen[t] = true
	}

	a.Fragile = f.boolean("fragile")
	a.GuessDefaultCommunities = f.boolean("guess_default_communities")
	if a.Platform != "" && a.Platform != probes.SNMP {
		if a.Fragile {
			f.errorf("fragile", "applies to SNMP assets only (a fragile device is scanned by SNMP alone)")
		}
		if a.GuessDefaultCommunities {
			f.errorf("guess_default_communities", "applies to SNMP assets only")
		}
	}
	a.Timeout = f.duration("timeout")
	f.finish()
	b.assets = append(b.assets, rec[Asset]{a, f})
}

// duration reads a Go duration string ("90s", "5m") between 0 and 24h.
func (f *fields) duration(key string) time.Duration {
	e, ok := f.get(key)
	if !ok {
		return 0
	}
	s, isStr := f.d.asString(e.val)
	if !isStr {
		f.errorf(key, "expected a duration such as 90s or 5m, got %s", describe(e.val))
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		f.errorf(key, "%q is not a duration such as 90s or 5m", s)
		return 0
	case d <= 0 || d > maxTimeout:
		f.errorf(key, "%s is out of range (more than 0, at most 24h)", s)
		return 0
	}
	return d
}

func joinTransports(ts []Transport) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, " or ")
}

func (b *builder) countermeasure(f *fields) {
	cm := Countermeasure{Pos: f.pos()}
	cm.ID = f.name("id", "countermeasure")
	cm.Requirement = f.required("requirement")
	if sub, ok := f.sub("scope"); ok {
		cm.Scope = Scope{Asset: sub.str("asset"), Role: sub.str("role"), Zone: sub.str("zone")}
		sub.finish()
		if set := sub.present([]string{"asset", "role", "zone"}); len(set) != 1 {
			found := "none"
			if len(set) > 0 {
				found = strings.Join(set, " and ")
			}
			f.errorf("scope", "name exactly one of asset, role or zone (found %s)", found)
		}
	} else if f.missing("scope") {
		f.errorf("", "scope is required: {asset: NAME}, {role: NAME} or {zone: NAME}")
	}
	switch k := f.required("kind"); k {
	case string(Compensating), string(Attestation):
		cm.Kind = CountermeasureKind(k)
	case "":
	default:
		f.errorf("kind", "%q is not one of compensating, attestation", k)
	}
	cm.Justification = f.required("justification")
	cm.Owner = f.required("owner")
	cm.Evidence = f.required("evidence")
	if s := f.required("expires"); s != "" {
		t, err := time.Parse(dateLayout, s)
		if err != nil {
			f.errorf("expires", "%q is not a date in the form YYYY-MM-DD", s)
		}
		cm.Expires = t
	}
	f.finish()
	b.countermeasures = append(b.countermeasures, rec[Countermeasure]{cm, f})
}
