package windows

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// errUnknownAuditText is returned for `auditpol /get /r` output whose setting
// words are in a language this parser does not know.
var errUnknownAuditText = errors.New("audit setting text in an unknown language")

// auditPolicy is the effective advanced audit policy: subcategory GUID (upper
// case, in braces) -> setting 0 none, 1 success, 2 failure, 3 both.
type auditPolicy struct {
	Format   string // "backup" or "r"
	Settings map[string]int
	Options  map[string]int // "CrashOnAuditFail" -> 0/1 (backup only)
}

// canonicalGUID returns "{XXXXXXXX-...}" in upper case, or "" for a non-GUID.
// The braces are optional, each on its own.
func canonicalGUID(s string) string {
	core := strings.TrimSpace(s)
	core = strings.TrimPrefix(core, "{")
	core = strings.TrimSuffix(core, "}")
	if !isGUID(core) {
		return ""
	}
	return "{" + strings.ToUpper(core) + "}"
}

// isGUID reports whether s is 8-4-4-4-12 hex digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func readCSV(text string) ([][]string, error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(text, "\ufeff")))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
}

// parseAuditBackup parses the CSV that `auditpol /backup /file:` writes:
// "Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion
// Setting,Exclusion Setting,Setting Value". Only the GUID (column 4) and the
// numeric setting (column 7) are read, so the localized header and names do
// not matter. "Option:<name>" rows are kept in Options.
func parseAuditBackup(text string) (*auditPolicy, error) {
	recs, err := readCSV(text)
	if err != nil {
		return nil, fmt.Errorf("auditpol backup csv: %w", err)
	}
	ap := &auditPolicy{Format: "backup", Settings: map[string]int{}, Options: map[string]int{}}
	for i, rec := range recs {
		if len(rec) < 7 {
			continue
		}
		val := strings.TrimSpace(rec[6])
		if g := canonicalGUID(rec[3]); g != "" {
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > 3 {
				return nil, fmt.Errorf("auditpol backup row %d: setting value %q is not 0-3", i+1, val)
			}
			ap.Settings[g] = n
			continue
		}
		if name, ok := strings.CutPrefix(strings.TrimSpace(rec[2]), "Option:"); ok {
			if n, err := strconv.Atoi(val); err == nil {
				ap.Options[name] = n
			}
		}
	}
	if len(ap.Settings) == 0 {
		return nil, errors.New("auditpol backup csv: no subcategory rows")
	}
	return ap, nil
}

// auditWords maps the localized "Inclusion Setting" text of `auditpol /get
// /category:* /r` to the numeric setting, for the languages this parser knows.
func auditWords(s string) (int, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "no auditing", "keine überwachung":
		return 0, true
	case "success", "erfolg":
		return 1, true
	case "failure", "fehler":
		return 2, true
	case "success and failure", "erfolg und fehler":
		return 3, true
	}
	return 0, false
}

// parseAuditReport parses `auditpol /get /category:* /r` ("Machine Name,Policy
// Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting").
// The setting is localized text; English and German are understood, anything
// else fails with errUnknownAuditText rather than being guessed.
func parseAuditReport(text string) (*auditPolicy, error) {
	recs, err := readCSV(text)
	if err != nil {
		return nil, fmt.Errorf("auditpol /r csv: %w", err)
	}
	ap := &auditPolicy{Format: "r", Settings: map[string]int{}, Options: map[string]int{}}
	for _, rec := range recs {
		if len(rec) < 5 {
			continue
		}
		g := canonicalGUID(rec[3])
		if g == "" {
			continue
		}
		n, ok := auditWords(rec[4])
		if !ok {
			return nil, fmt.Errorf("auditpol /r: %q: %w", rec[4], errUnknownAuditText)
		}
		ap.Settings[g] = n
	}
	if len(ap.Settings) == 0 {
		return nil, errors.New("auditpol /r csv: no subcategory rows")
	}
	return ap, nil
}

// auditSubcategory is one advanced-audit subcategory, by its stable GUID.
type auditSubcategory struct {
	GUID, Name, Since string
}

// auditSubcategories lists the advanced audit subcategories (GUID suffix
// -69AE-11D9-BED3-505054503030) with their English names and the first
// release that has them.
func auditSubcategories() []auditSubcategory {
	rows := []struct{ id, name, since string }{
		{"9210", "Security State Change", "6.0"}, {"9211", "Security System Extension", "6.0"},
		{"9212", "System Integrity", "6.0"}, {"9213", "IPsec Driver", "6.0"},
		{"9214", "Other System Events", "6.0"}, {"9215", "Logon", "6.0"},
		{"9216", "Logoff", "6.0"}, {"9217", "Account Lockout", "6.0"},
		{"9218", "IPsec Main Mode", "6.0"}, {"9219", "IPsec Quick Mode", "6.0"},
		{"921A", "IPsec Extended Mode", "6.0"}, {"921B", "Special Logon", "6.0"},
		{"921C", "Other Logon/Logoff Events", "6.0"}, {"921D", "File System", "6.0"},
		{"921E", "Registry", "6.0"}, {"921F", "Kernel Object", "6.0"},
		{"9220", "SAM", "6.0"}, {"9221", "Certification Services", "6.0"},
		{"9222", "Application Generated", "6.0"}, {"9223", "Handle Manipulation", "6.0"},
		{"9224", "File Share", "6.0"}, {"9225", "Filtering Platform Packet Drop", "6.0"},
		{"9226", "Filtering Platform Connection", "6.0"}, {"9227", "Other Object Access Events", "6.0"},
		{"9228", "Sensitive Privilege Use", "6.0"}, {"9229", "Non Sensitive Privilege Use", "6.0"},
		{"922A", "Other Privilege Use Events", "6.0"}, {"922B", "Process Creation", "6.0"},
		{"922C", "Process Termination", "6.0"}, {"922D", "DPAPI Activity", "6.0"},
		{"922E", "RPC Events", "6.0"}, {"922F", "Audit Policy Change", "6.0"},
		{"9230", "Authentication Policy Change", "6.0"}, {"9231", "Authorization Policy Change", "6.0"},
		{"9232", "MPSSVC Rule-Level Policy Change", "6.0"}, {"9233", "Filtering Platform Policy Change", "6.0"},
		{"9234", "Other Policy Change Events", "6.0"}, {"9235", "User Account Management", "6.0"},
		{"9236", "Computer Account Management", "6.0"}, {"9237", "Security Group Management", "6.0"},
		{"9238", "Distribution Group Management", "6.0"}, {"9239", "Application Group Management", "6.0"},
		{"923A", "Other Account Management Events", "6.0"}, {"923B", "Directory Service Access", "6.0"},
		{"923C", "Directory Service Changes", "6.0"}, {"923D", "Directory Service Replication", "6.0"},
		{"923E", "Detailed Directory Service Replication", "6.0"}, {"923F", "Credential Validation", "6.0"},
		{"9240", "Kerberos Service Ticket Operations", "6.0"}, {"9241", "Other Account Logon Events", "6.0"},
		{"9242", "Kerberos Authentication Service", "6.0"}, {"9243", "Network Policy Server", "6.0"},
		{"9244", "Detailed File Share", "6.1"}, {"9245", "Removable Storage", "6.2"},
		{"9246", "Central Policy Staging", "6.2"}, {"9247", "User / Device Claims", "6.2"},
		{"9248", "Plug and Play Events", "10.0"}, {"9249", "Group Membership", "10.0"},
		{"924A", "Token Right Adjusted Events", "10.0"},
	}
	out := make([]auditSubcategory, len(rows))
	for i, r := range rows {
		out[i] = auditSubcategory{GUID: "{0CCE" + r.id + "-69AE-11D9-BED3-505054503030}", Name: r.name, Since: r.since}
	}
	return out
}

// auditFact is a subcategory with its fact name.
type auditFact struct {
	auditSubcategory
	Fact string
}

// auditFacts lists auditSubcategories with their fact names, and indexes them
// by GUID. It is built once, on first use; the result is shared and must not
// be modified.
var auditFacts = sync.OnceValues(func() ([]auditFact, map[string]bool) {
	subs := auditSubcategories()
	out := make([]auditFact, len(subs))
	known := make(map[string]bool, len(subs))
	for i, sc := range subs {
		out[i] = auditFact{sc, auditFactName(sc.Name)}
		known[sc.GUID] = true
	}
	return out, known
})

// auditFactName is the fact name of a subcategory: "audit." + snake case.
func auditFactName(name string) string {
	var b strings.Builder
	b.WriteString("audit.")
	under := false
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			if under && b.Len() > len("audit.") {
				b.WriteByte('_')
			}
			b.WriteRune(c)
			under = false
			continue
		}
		under = true
	}
	return b.String()
}
