package windows

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/otsweep/otsweep/probes"
)

// parseW06 reads the secedit export: password policy (W06, W07) and lockout
// (W08), plus the user rights and the raw INF kept for W41.
func parseW06(p *parser, data json.RawMessage) error {
	var d struct {
		RC  val `json:"rc"`
		Raw val `json:"raw"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	raw, ok, err := d.Raw.str()
	if err != nil || !ok || strings.TrimSpace(raw) == "" {
		return fmt.Errorf("secedit /export produced no file (exit code %s)", d.RC.show())
	}
	inf, err := parseINF(raw)
	if err != nil {
		return err
	}
	if !inf.has("System Access") {
		return fmt.Errorf("secedit export has no [System Access] section")
	}
	p.inf = inf
	const sa = "System Access"
	type item struct {
		fact, key string
		flag      bool
	}
	for _, it := range []item{
		{"password.min_length", "MinimumPasswordLength", false},
		{"password.complexity", "PasswordComplexity", true},
		{"password.reversible_encryption", "ClearTextPassword", true},
		{"password.history_size", "PasswordHistorySize", false},
		{"password.max_age_days", "MaximumPasswordAge", false},
		{"password.min_age_days", "MinimumPasswordAge", false},
		{"lockout.threshold", "LockoutBadCount", false},
		{"lockout.duration_minutes", "LockoutDuration", false},
		{"lockout.reset_minutes", "ResetLockoutCount", false},
		{"lockout.admin_lockout", "AllowAdministratorLockout", true},
		{"secpol.guest_enabled", "EnableGuestAccount", true},
		{"secpol.admin_enabled", "EnableAdminAccount", true},
		{"secpol.lsa_anonymous_name_lookup", "LSAAnonymousNameLookup", true},
	} {
		var v any
		var err error
		if it.flag {
			v, err = inf.flag(sa, it.key)
		} else {
			v, err = inf.int(sa, it.key)
		}
		if err != nil {
			return err
		}
		p.set(it.fact, v, inf.line(sa, it.key))
	}
	if name, ok := inf.get(sa, "NewAdministratorName"); ok {
		p.set("secpol.admin_name", name, inf.line(sa, "NewAdministratorName"))
	} else {
		p.set("secpol.admin_name", nil, inf.line(sa, "NewAdministratorName"))
	}
	p.set("secpol.user_rights", inf.rights(), "[Privilege Rights]")
	return nil
}

// account is one Win32_UserAccount as the bundle emits it.
type account struct {
	Name     val `json:"name"`
	Domain   val `json:"domain"`
	SID      val `json:"sid"`
	Disabled val `json:"disabled"`
}

func decodeAccounts(p *parser, data json.RawMessage) ([]account, error) {
	var d struct {
		Accounts []account `json:"accounts"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return nil, err
	}
	return d.Accounts, nil
}

func parseW09(p *parser, data json.RawMessage) error {
	return wellKnownAccount(p, data, "acct.guest", "501")
}

func parseW10(p *parser, data json.RawMessage) error {
	if err := wellKnownAccount(p, data, "acct.builtin_admin", "500"); err != nil {
		return err
	}
	name, _ := p.cur["acct.builtin_admin.name"].Value.(string)
	if name == "" {
		p.set("acct.builtin_admin.renamed", nil)
		return nil
	}
	p.set("acct.builtin_admin.renamed", !defaultAdminName(name), "Name = "+name)
	return nil
}

// defaultAdminName reports whether name is the built-in Administrator's
// default name in one of the common UI languages (de/en/nl/sv keep
// "Administrator"; fr, es, pt, it, pl, ru, fi translate it).
func defaultAdminName(name string) bool {
	switch strings.ToLower(name) {
	case "administrator", "administrateur", "administrador", "amministratore", "administratör",
		"administratorius", "järjestelmänvalvoja", "администратор", "rendszergazda":
		return true
	}
	return false
}

func wellKnownAccount(p *parser, data json.RawMessage, prefix, rid string) error {
	accts, err := decodeAccounts(p, data)
	if err != nil {
		return err
	}
	filter := "Win32_UserAccount LocalAccount=True AND SID LIKE 'S-1-5-21-%-" + rid + "'"
	if len(accts) == 0 {
		p.set(prefix+".exists", false, filter+": no account")
		p.set(prefix+".name", nil)
		p.set(prefix+".disabled", nil)
		return nil
	}
	a := accts[0]
	name, _, _ := a.Name.str()
	dis, err := a.Disabled.anyBool()
	if err != nil {
		return err
	}
	ev := fmt.Sprintf("%s: Name = %s, SID = %s, Disabled = %s", filter, a.Name.show(), a.SID.show(), a.Disabled.show())
	p.set(prefix+".exists", true, ev)
	p.set(prefix+".name", name, ev)
	p.set(prefix+".disabled", dis, ev)
	return nil
}

// partComponent matches the member reference of a Win32_GroupUser, e.g.
// \\HMI01\root\cimv2:Win32_UserAccount.Domain="HMI01",Name="Administrator".
var partComponent = regexp.MustCompile(`:(Win32_\w+)\.Domain="((?:[^"\\]|\\.)*)",Name="((?:[^"\\]|\\.)*)"$`)

func parseW11(p *parser, data json.RawMessage) error {
	var d struct {
		Group   val   `json:"group"`
		Domain  val   `json:"domain"`
		Members []val `json:"members"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	group, ok, _ := d.Group.str()
	if !ok {
		return fmt.Errorf("no local group with SID S-1-5-32-544")
	}
	var members, raw []string
	for _, m := range d.Members {
		s, ok, err := m.str()
		if err != nil || !ok {
			return fmt.Errorf("member %s is not a string", m.show())
		}
		raw = append(raw, "PartComponent : "+s)
		mm := partComponent.FindStringSubmatch(s)
		if mm == nil {
			return fmt.Errorf("PartComponent %q", s)
		}
		unesc := strings.NewReplacer(`\\`, `\`, `\"`, `"`)
		members = append(members, unesc.Replace(mm[2])+`\`+unesc.Replace(mm[3]))
	}
	p.set("acct.local_admins.members", sortedUnique(members), raw...)
	p.set("acct.local_admins.group", group, "Win32_Group SID S-1-5-32-544 Name = "+d.Group.show()+", Domain = "+d.Domain.show())
	return nil
}

func parseW12(p *parser, data json.RawMessage) error {
	var d struct {
		Users []struct {
			Name               val `json:"name"`
			SID                val `json:"sid"`
			Disabled           val `json:"disabled"`
			Lockout            val `json:"lockout"`
			PasswordRequired   val `json:"password_required"`
			PasswordExpires    val `json:"password_expires"`
			PasswordChangeable val `json:"password_changeable"`
		} `json:"users"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	list := make([]any, 0, len(d.Users))
	enabled, noPw, noExpire := []string{}, []string{}, []string{}
	var raw []string
	for _, u := range d.Users {
		name, _, _ := u.Name.str()
		sid, _, _ := u.SID.str()
		flags := map[string]any{"name": name, "sid": sid}
		for k, v := range map[string]val{"disabled": u.Disabled, "lockout": u.Lockout, "password_required": u.PasswordRequired,
			"password_expires": u.PasswordExpires, "password_changeable": u.PasswordChangeable} {
			b, err := v.anyBool()
			if err != nil {
				return fmt.Errorf("user %q %s: %w", name, k, err)
			}
			flags[k] = b
		}
		list = append(list, flags)
		raw = append(raw, fmt.Sprintf("Name = %s, Disabled = %s, PasswordRequired = %s, PasswordExpires = %s",
			u.Name.show(), u.Disabled.show(), u.PasswordRequired.show(), u.PasswordExpires.show()))
		if flags["disabled"] == true {
			continue
		}
		enabled = append(enabled, name)
		if flags["password_required"] == false {
			noPw = append(noPw, name)
		}
		if flags["password_expires"] == false {
			noExpire = append(noExpire, name)
		}
	}
	p.set("acct.local_users.all", list, raw...)
	p.set("acct.local_users.enabled", sortedUnique(enabled))
	p.set("acct.local_users.no_password_required", sortedUnique(noPw))
	p.set("acct.local_users.password_never_expires", sortedUnique(noExpire))
	return nil
}

// parseW41 reads the domain policy of a domain controller: the Kerberos
// policy of the secedit export (W06) and the default and fine-grained
// password policies from the ActiveDirectory module.
func parseW41(p *parser, data json.RawMessage) error {
	type pol struct {
		Name       val `json:"name"`
		Precedence val `json:"precedence"`
		MinLength  val `json:"min_length"`
		History    val `json:"history"`
		Complexity val `json:"complexity"`
		Reversible val `json:"reversible"`
		MaxAge     val `json:"max_age_days"`
		MinAge     val `json:"min_age_days"`
		Threshold  val `json:"lockout_threshold"`
		Duration   val `json:"lockout_duration_min"`
		Window     val `json:"lockout_window_min"`
		AppliesTo  val `json:"applies_to"`
	}
	var d struct {
		DC           bool   `json:"dc"`
		Default      *pol   `json:"default_policy"`
		DefaultError val    `json:"default_error"`
		FGPP         *[]pol `json:"fgpp"` // null when the query failed, [] when there are none
		FGPPError    val    `json:"fgpp_error"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	p.set("dc.is_domain_controller", d.DC, fmt.Sprintf("Win32_OperatingSystem ProductType = 2: %v", d.DC))
	if !d.DC {
		return nil
	}
	// Kerberos policy, from the W06 export.
	kerb := []struct{ fact, key string }{
		{"dc.kerberos.max_ticket_age_hours", "MaxTicketAge"},
		{"dc.kerberos.max_renew_age_days", "MaxRenewAge"},
		{"dc.kerberos.max_service_age_minutes", "MaxServiceAge"},
		{"dc.kerberos.max_clock_skew_minutes", "MaxClockSkew"},
	}
	switch {
	case p.inf == nil:
		reason := p.lineErr("W06")
		if reason == "" {
			reason = probes.ErrTextUnparsed
		}
		for _, k := range kerb {
			p.fail(k.fact, reason, "W06 secedit export not available")
		}
		p.fail("dc.kerberos.validate_client", reason, "W06 secedit export not available")
	case !p.inf.has("Kerberos Policy"):
		for _, k := range kerb {
			p.fail(k.fact, probes.ErrTextUnparsed, "secedit export has no [Kerberos Policy] section")
		}
		p.fail("dc.kerberos.validate_client", probes.ErrTextUnparsed, "secedit export has no [Kerberos Policy] section")
	default:
		for _, k := range kerb {
			v, err := p.inf.int("Kerberos Policy", k.key)
			if err != nil {
				return err
			}
			p.set(k.fact, v, p.inf.line("Kerberos Policy", k.key))
		}
		v, err := p.inf.flag("Kerberos Policy", "TicketValidateClient")
		if err != nil {
			return err
		}
		p.set("dc.kerberos.validate_client", v, p.inf.line("Kerberos Policy", "TicketValidateClient"))
	}
	toMap := func(x pol) (map[string]any, error) {
		m := map[string]any{}
		for k, v := range map[string]val{"precedence": x.Precedence, "min_length": x.MinLength, "history": x.History,
			"max_age_days": x.MaxAge, "min_age_days": x.MinAge, "lockout_threshold": x.Threshold,
			"lockout_duration_min": x.Duration, "lockout_window_min": x.Window} {
			n, err := v.anyInt()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = n
		}
		for k, v := range map[string]val{"complexity": x.Complexity, "reversible": x.Reversible} {
			b, err := v.anyBool()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = b
		}
		m["name"], _ = x.Name.anyStr()
		at, err := x.AppliesTo.strs()
		if err != nil {
			return nil, err
		}
		m["applies_to"] = at
		return m, nil
	}
	adReason := func(v val) string {
		s, _, _ := v.str()
		if s == "" {
			return "ActiveDirectory module returned nothing"
		}
		return failReason(s)
	}
	if d.Default != nil {
		m, err := toMap(*d.Default)
		if err != nil {
			return err
		}
		delete(m, "name")
		delete(m, "precedence")
		delete(m, "applies_to")
		p.set("dc.default_policy", m, "Get-ADDefaultDomainPasswordPolicy")
	} else {
		p.fail("dc.default_policy", adReason(d.DefaultError), "Get-ADDefaultDomainPasswordPolicy: "+d.DefaultError.show())
	}
	if d.FGPP == nil {
		for _, n := range []string{"dc.fgpp.policies", "dc.fgpp.count", "dc.fgpp.weakest_min_length"} {
			p.fail(n, adReason(d.FGPPError), "Get-ADFineGrainedPasswordPolicy: "+d.FGPPError.show())
		}
		return nil
	}
	list := make([]any, 0, len(*d.FGPP))
	var weakest any
	for _, f := range *d.FGPP {
		m, err := toMap(f)
		if err != nil {
			return err
		}
		list = append(list, m)
		if n, ok := m["min_length"].(int); ok {
			if w, ok := weakest.(int); !ok || n < w {
				weakest = n
			}
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, _ := list[i].(map[string]any)["precedence"].(int)
		b, _ := list[j].(map[string]any)["precedence"].(int)
		return a < b
	})
	p.set("dc.fgpp.policies", list, "Get-ADFineGrainedPasswordPolicy -Filter *")
	p.set("dc.fgpp.count", len(list))
	p.set("dc.fgpp.weakest_min_length", weakest)
	return nil
}
