package winhosts

import (
	"fmt"
	"strings"
)

// Authoring macros of the host sources. Each renders a tool's raw text in the
// exact layout the tool prints, so a source states only what differs between
// hosts. A macro is a map with one key:
//
//	{"@secedit": {system_access: [...], event_audit: [...], kerberos: [...], registry_values: [...], privilege_rights: [...]}}
//	{"@auditpol": {machine: HOST, lang: en|de, os: "10.0", settings: {Name: 0-3}, format: backup|r}}
//	{"@netstat": {lang: en|de, rows: ["TCP 0.0.0.0:135 0.0.0.0:0 LISTENING 1012", "UDP 0.0.0.0:123 *:* 1428"]}}
func expandMacro(m map[string]any) (string, bool, error) {
	if len(m) != 1 {
		return "", false, nil
	}
	for k, v := range m {
		args, _ := v.(map[string]any)
		switch k {
		case "@secedit":
			s, err := renderSecedit(args)
			return s, true, err
		case "@auditpol":
			s, err := renderAuditpol(args)
			return s, true, err
		case "@netstat":
			s, err := renderNetstat(args)
			return s, true, err
		}
	}
	return "", false, nil
}

func strList(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list of strings, got %T", v)
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("item %d is %T, want string", i, e)
		}
		out[i] = s
	}
	return out, nil
}

// renderSecedit lays out a `secedit /export /areas SECURITYPOLICY` file as
// Windows writes it (read back with Get-Content and joined with LF).
func renderSecedit(a map[string]any) (string, error) {
	var b strings.Builder
	b.WriteString("[Unicode]\nUnicode=yes\n")
	for _, sec := range []struct{ key, title string }{
		{"system_access", "System Access"}, {"kerberos", "Kerberos Policy"}, {"event_audit", "Event Audit"},
		{"registry_values", "Registry Values"}, {"privilege_rights", "Privilege Rights"},
	} {
		lines, err := strList(a[sec.key])
		if err != nil {
			return "", fmt.Errorf("@secedit %s: %w", sec.key, err)
		}
		if lines == nil {
			continue
		}
		b.WriteString("[" + sec.title + "]\n")
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	b.WriteString("[Version]\nsignature=\"$CHICAGO$\"\nRevision=1")
	return b.String(), nil
}

// auditSub is one advanced audit subcategory as auditpol lists it.
type auditSub struct{ id, en, de, since string }

// auditCategories lists the subcategories in auditpol's category order.
func auditCategories() []auditSub {
	return []auditSub{
		{"9210", "Security State Change", "Sicherheitsstatus\u00e4nderung", "6.0"},
		{"9211", "Security System Extension", "Sicherheitssystemerweiterung", "6.0"},
		{"9212", "System Integrity", "Systemintegrit\u00e4t", "6.0"},
		{"9213", "IPsec Driver", "IPsec-Treiber", "6.0"},
		{"9214", "Other System Events", "Andere Systemereignisse", "6.0"},
		{"9215", "Logon", "Anmelden", "6.0"},
		{"9216", "Logoff", "Abmelden", "6.0"},
		{"9217", "Account Lockout", "Kontosperrung", "6.0"},
		{"9218", "IPsec Main Mode", "IPsec-Hauptmodus", "6.0"},
		{"9219", "IPsec Quick Mode", "IPsec-Schnellmodus", "6.0"},
		{"921A", "IPsec Extended Mode", "IPsec-Erweiterungsmodus", "6.0"},
		{"921B", "Special Logon", "Spezielle Anmeldung", "6.0"},
		{"921C", "Other Logon/Logoff Events", "Andere Anmelde-/Abmeldeereignisse", "6.0"},
		{"9243", "Network Policy Server", "Netzwerkrichtlinienserver", "6.0"},
		{"9247", "User / Device Claims", "Benutzer-/Ger\u00e4teanspr\u00fcche", "6.2"},
		{"9249", "Group Membership", "Gruppenmitgliedschaft", "10.0"},
		{"921D", "File System", "Dateisystem", "6.0"},
		{"921E", "Registry", "Registrierung", "6.0"},
		{"921F", "Kernel Object", "Kernelobjekt", "6.0"},
		{"9220", "SAM", "SAM", "6.0"},
		{"9221", "Certification Services", "Zertifizierungsdienste", "6.0"},
		{"9222", "Application Generated", "Anwendung generiert", "6.0"},
		{"9223", "Handle Manipulation", "Handleelement bearbeiten", "6.0"},
		{"9224", "File Share", "Dateifreigabe", "6.0"},
		{"9225", "Filtering Platform Packet Drop", "Filterplattform: verworfene Pakete", "6.0"},
		{"9226", "Filtering Platform Connection", "Filterplattformverbindung", "6.0"},
		{"9227", "Other Object Access Events", "Andere Objektzugriffsereignisse", "6.0"},
		{"9244", "Detailed File Share", "Detaillierte Dateifreigabe", "6.1"},
		{"9245", "Removable Storage", "Wechselmedien", "6.2"},
		{"9246", "Central Policy Staging", "Staging zentraler Richtlinien", "6.2"},
		{"9228", "Sensitive Privilege Use", "Vertrauliche Verwendung von Rechten", "6.0"},
		{"9229", "Non Sensitive Privilege Use", "Nicht vertrauliche Verwendung von Rechten", "6.0"},
		{"922A", "Other Privilege Use Events", "Andere Rechteverwendungsereignisse", "6.0"},
		{"922B", "Process Creation", "Prozesserstellung", "6.0"},
		{"922C", "Process Termination", "Prozessbeendigung", "6.0"},
		{"922D", "DPAPI Activity", "DPAPI-Aktivit\u00e4t", "6.0"},
		{"922E", "RPC Events", "RPC-Ereignisse", "6.0"},
		{"9248", "Plug and Play Events", "Plug & Play-Ereignisse", "10.0"},
		{"924A", "Token Right Adjusted Events", "Tokenrecht angepasste Ereignisse", "10.0"},
		{"922F", "Audit Policy Change", "\u00dcberwachungsrichtlinien\u00e4nderung", "6.0"},
		{"9230", "Authentication Policy Change", "Authentifizierungsrichtlinien\u00e4nderung", "6.0"},
		{"9231", "Authorization Policy Change", "Autorisierungsrichtlinien\u00e4nderung", "6.0"},
		{"9232", "MPSSVC Rule-Level Policy Change", "Richtlinien\u00e4nderung auf MPSSVC-Regelebene", "6.0"},
		{"9233", "Filtering Platform Policy Change", "Filterplattform-Richtlinien\u00e4nderung", "6.0"},
		{"9234", "Other Policy Change Events", "Andere Richtlinien\u00e4nderungsereignisse", "6.0"},
		{"9235", "User Account Management", "Benutzerkontenverwaltung", "6.0"},
		{"9236", "Computer Account Management", "Computerkontoverwaltung", "6.0"},
		{"9237", "Security Group Management", "Sicherheitsgruppenverwaltung", "6.0"},
		{"9238", "Distribution Group Management", "Verteilergruppenverwaltung", "6.0"},
		{"9239", "Application Group Management", "Anwendungsgruppenverwaltung", "6.0"},
		{"923A", "Other Account Management Events", "Andere Kontoverwaltungsereignisse", "6.0"},
		{"923B", "Directory Service Access", "Verzeichnisdienstzugriff", "6.0"},
		{"923C", "Directory Service Changes", "Verzeichnisdienst\u00e4nderungen", "6.0"},
		{"923D", "Directory Service Replication", "Verzeichnisdienstreplikation", "6.0"},
		{"923E", "Detailed Directory Service Replication", "Detaillierte Verzeichnisdienstreplikation", "6.0"},
		{"923F", "Credential Validation", "Anmeldeinformationen \u00fcberpr\u00fcfen", "6.0"},
		{"9240", "Kerberos Service Ticket Operations", "Kerberos-Diensttickets", "6.0"},
		{"9241", "Other Account Logon Events", "Andere Kontoanmeldungsereignisse", "6.0"},
		{"9242", "Kerberos Authentication Service", "Kerberos-Authentifizierungsdienst", "6.0"},
	}
}

func versionAtLeast(have, want string) bool {
	var h1, h2, w1, w2 int
	fmt.Sscanf(have, "%d.%d", &h1, &h2)
	fmt.Sscanf(want, "%d.%d", &w1, &w2)
	return h1 > w1 || (h1 == w1 && h2 >= w2)
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case uint64:
		return int(x), nil
	case int64:
		return int(x), nil
	case int:
		return x, nil
	}
	return 0, fmt.Errorf("%v is %T, want an integer", v, v)
}

// renderAuditpol writes `auditpol /backup` CSV (format backup, the default)
// or `auditpol /get /category:* /r` CSV (format r), in English or German.
func renderAuditpol(a map[string]any) (string, error) {
	machine, _ := a["machine"].(string)
	lang, _ := a["lang"].(string)
	osv, _ := a["os"].(string)
	format, _ := a["format"].(string)
	settings, _ := a["settings"].(map[string]any)
	if machine == "" || osv == "" || (lang != "en" && lang != "de") {
		return "", fmt.Errorf("@auditpol needs machine, os and lang en|de")
	}
	words := map[string][4]string{
		"en": {"No Auditing", "Success", "Failure", "Success and Failure"},
		"de": {"Keine \u00dcberwachung", "Erfolg", "Fehler", "Erfolg und Fehler"},
	}[lang]
	known := map[string]bool{}
	for _, s := range auditCategories() {
		known[s.en] = true
	}
	for k := range settings {
		if !known[k] {
			return "", fmt.Errorf("@auditpol: unknown subcategory %q", k)
		}
	}
	var b strings.Builder
	if format == "r" {
		b.WriteString(map[string]string{
			"en": "Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting\n\n",
			"de": "Computername,Richtlinienziel,Unterkategorie,Unterkategorie-GUID,Inklusionseinstellung,Exklusionseinstellung\n\n",
		}[lang])
	} else {
		b.WriteString(map[string]string{
			"en": "Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting,Setting Value\n",
			"de": "Computername,Richtlinienziel,Unterkategorie,Unterkategorie-GUID,Inklusionseinstellung,Exklusionseinstellung,Einstellungswert\n",
		}[lang])
	}
	for _, s := range auditCategories() {
		if !versionAtLeast(osv, s.since) {
			continue
		}
		n := 0
		if v, ok := settings[s.en]; ok {
			var err error
			if n, err = toInt(v); err != nil || n < 0 || n > 3 {
				return "", fmt.Errorf("@auditpol %s: %v", s.en, v)
			}
		}
		name := s.en
		if lang == "de" {
			name = s.de
		}
		guid := "0cce" + strings.ToLower(s.id) + "-69ae-11d9-bed3-505054503030"
		if format == "r" {
			fmt.Fprintf(&b, "%s,System,%s,{%s},%s,\n", machine, name, strings.ToUpper(guid), words[n])
			continue
		}
		if lang == "en" {
			name = "Audit " + name
		}
		fmt.Fprintf(&b, "%s,System,%s,{%s},%s,,%d\n", machine, name, guid, words[n], n)
	}
	if format != "r" {
		off := map[string]string{"en": "Disabled", "de": "Deaktiviert"}[lang]
		for _, o := range []string{"CrashOnAuditFail", "FullPrivilegeAuditing", "AuditBaseObjects", "AuditBaseDirectories"} {
			fmt.Fprintf(&b, "%s,,Option:%s,,%s,,0\n", machine, o, off)
		}
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// renderNetstat lays out `netstat -ano` with its fixed columns.
func renderNetstat(a map[string]any) (string, error) {
	lang, _ := a["lang"].(string)
	rows, err := strList(a["rows"])
	if err != nil {
		return "", fmt.Errorf("@netstat rows: %w", err)
	}
	head := map[string][2]string{
		"en": {"Active Connections", "  Proto  Local Address          Foreign Address        State           PID"},
		"de": {"Aktive Verbindungen", "  Proto  Lokale Adresse         Remoteadresse          Status           PID"},
	}
	h, ok := head[lang]
	if !ok {
		return "", fmt.Errorf("@netstat lang %q", lang)
	}
	pad := func(s string, w int) string {
		if len([]rune(s)) >= w {
			return s + " "
		}
		return s + strings.Repeat(" ", w-len([]rune(s)))
	}
	var b strings.Builder
	b.WriteString("\n" + h[0] + "\n\n" + h[1] + "\n")
	for _, r := range rows {
		f := strings.Fields(r)
		switch {
		case len(f) == 5 && f[0] == "TCP":
			b.WriteString("  " + pad(f[0], 7) + pad(f[1], 23) + pad(f[2], 23) + pad(f[3], 16) + f[4] + "\n")
		case len(f) == 4 && f[0] == "UDP":
			b.WriteString("  " + pad(f[0], 7) + pad(f[1], 23) + pad(f[2], 23) + pad("", 16) + f[3] + "\n")
		default:
			return "", fmt.Errorf("@netstat row %q", r)
		}
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// expandRows replaces every {"@rows": {cols: [...], text: "..."}} with a list
// of objects: one per line of text, fields split on "|" and trimmed, "~" for null. A
// column named "x:int" or "x:bool" is converted; "x" stays a string.
func expandRows(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if spec, ok := x["@rows"].(map[string]any); ok && len(x) == 1 {
			cols, err := strList(spec["cols"])
			if err != nil {
				return nil, fmt.Errorf("@rows cols: %w", err)
			}
			text, _ := spec["text"].(string)
			out := []any{}
			for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
				if strings.TrimSpace(line) == "" {
					continue
				}
				f := strings.Split(line, "|")
				if len(f) != len(cols) {
					return nil, fmt.Errorf("@rows line %q: %d fields, want %d", line, len(f), len(cols))
				}
				m := map[string]any{}
				for i, c := range cols {
					name, typ, _ := strings.Cut(c, ":")
					val := strings.TrimSpace(f[i])
					switch {
					case val == "~":
						m[name] = nil
					case typ == "int":
						var n int64
						if _, err := fmt.Sscan(val, &n); err != nil {
							return nil, fmt.Errorf("@rows %s %q: %w", name, val, err)
						}
						m[name] = n
					case typ == "bool":
						m[name] = val == "true"
					default:
						m[name] = val
					}
				}
				out = append(out, m)
			}
			return out, nil
		}
		out := map[string]any{}
		for k, e := range x {
			r, err := expandRows(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := expandRows(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}
