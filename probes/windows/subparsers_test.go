package windows

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseINF(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		section string
		key     string
		want    any
	}{
		{"min length", "secedit-win10-en.inf", "System Access", "MinimumPasswordLength", 0},
		{"max age", "secedit-win10-en.inf", "System Access", "MaximumPasswordAge", 42},
		{"lockout duration absent when threshold is 0", "secedit-win10-en.inf", "System Access", "LockoutDuration", nil},
		{"case-insensitive lookup", "secedit-win10-en.inf", "system access", "minimumpasswordage", 0},
		{"hardened length", "secedit-dc-hardened.inf", "System Access", "MinimumPasswordLength", 14},
		{"kerberos", "secedit-dc-hardened.inf", "Kerberos Policy", "MaxTicketAge", 10},
		{"reset", "secedit-dc-hardened.inf", "System Access", "ResetLockoutCount", 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inf, err := parseINF(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := inf.int(tt.section, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	inf, err := parseINF(fixture(t, "secedit-dc-hardened.inf"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := inf.get("System Access", "NewAdministratorName"); v != "ot-localadm" {
		t.Errorf("quoted value: got %q", v)
	}
	if v, _ := inf.get("Version", "signature"); v != "$CHICAGO$" {
		t.Errorf("[Version] signature: got %q", v)
	}
	if b, err := inf.flag("System Access", "AllowAdministratorLockout"); err != nil || b != true {
		t.Errorf("flag: %v %v", b, err)
	}
	win10, _ := parseINF(fixture(t, "secedit-win10-en.inf"))
	want := map[string]any{
		"SeNetworkLogonRight":           []string{"S-1-1-0", "S-1-5-32-544", "S-1-5-32-545", "S-1-5-32-551"},
		"SeInteractiveLogonRight":       []string{"Guest", "S-1-5-32-544", "S-1-5-32-545", "S-1-5-32-551"},
		"SeDenyNetworkLogonRight":       []string{"Guest"},
		"SeRemoteInteractiveLogonRight": []string{"S-1-5-32-544", "S-1-5-32-555"},
	}
	if got := win10.rights(); !reflect.DeepEqual(got, want) {
		t.Errorf("rights: got %v", got)
	}
	if v, ok := win10.get("Registry Values", `MACHINE\System\CurrentControlSet\Control\Lsa\NoLMHash`); !ok || v != "4,1" {
		t.Errorf("registry value: %q %v", v, ok)
	}
}

func TestParseINFErrors(t *testing.T) {
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"key before section", "MinimumPasswordLength = 8\n[System Access]\n"},
		{"line without equals", "[System Access]\nMinimumPasswordLength 8\n"},
		{"unterminated header", "[System Access\nA = 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseINF(tt.text); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	inf, err := parseINF("[System Access]\nMinimumPasswordLength = eight\nPasswordComplexity = 2\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inf.int("System Access", "MinimumPasswordLength"); err == nil {
		t.Error("non-integer must fail")
	}
	if _, err := inf.flag("System Access", "PasswordComplexity"); err == nil {
		t.Error("flag 2 must fail")
	}
}

func TestParseAudit(t *testing.T) {
	const logon, lockout, process, cred = "{0CCE9215-69AE-11D9-BED3-505054503030}", "{0CCE9217-69AE-11D9-BED3-505054503030}",
		"{0CCE922B-69AE-11D9-BED3-505054503030}", "{0CCE923F-69AE-11D9-BED3-505054503030}"
	tests := []struct {
		name  string
		file  string
		parse func(string) (*auditPolicy, error)
		want  map[string]int
	}{
		{"backup en", "auditpol-backup-en.csv", parseAuditBackup, map[string]int{"{0CCE9210-69AE-11D9-BED3-505054503030}": 1, logon: 3, lockout: 2, process: 0, cred: 3}},
		{"backup de (localized header and names)", "auditpol-backup-de.csv", parseAuditBackup, map[string]int{logon: 3, lockout: 1, process: 0}},
		{"/r en", "auditpol-r-en.csv", parseAuditReport, map[string]int{cred: 3, logon: 3, lockout: 2, process: 0}},
		{"/r de", "auditpol-r-de.csv", parseAuditReport, map[string]int{cred: 3, logon: 1, lockout: 2, process: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ap, err := tt.parse(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ap.Settings, tt.want) {
				t.Fatalf("got %v, want %v", ap.Settings, tt.want)
			}
		})
	}
	ap, _ := parseAuditBackup(fixture(t, "auditpol-backup-en.csv"))
	if v, ok := ap.Options["CrashOnAuditFail"]; !ok || v != 0 {
		t.Errorf("options: %v", ap.Options)
	}
	if _, err := parseAuditReport(fixture(t, "auditpol-r-fr.csv")); !errors.Is(err, errUnknownAuditText) {
		t.Errorf("French /r output must be unparsed, got %v", err)
	}
	for name, text := range map[string]string{
		"no rows":          "Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting,Setting Value\n",
		"value out of 0-3": "H,System,Audit Logon,{0cce9215-69ae-11d9-bed3-505054503030},Success,,7\n",
		"value not number": "H,System,Audit Logon,{0cce9215-69ae-11d9-bed3-505054503030},Success,,x\n",
	} {
		if _, err := parseAuditBackup(text); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestAuditFactName(t *testing.T) {
	tests := map[string]string{
		"Other Logon/Logoff Events":       "audit.other_logon_logoff_events",
		"MPSSVC Rule-Level Policy Change": "audit.mpssvc_rule_level_policy_change",
		"User / Device Claims":            "audit.user_device_claims",
		"SAM":                             "audit.sam",
	}
	for in, want := range tests {
		if got := auditFactName(in); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
	seen := map[string]bool{}
	for _, s := range auditSubcategories() {
		if canonicalGUID(s.GUID) != s.GUID || seen[s.GUID] {
			t.Errorf("bad or duplicate GUID %s", s.GUID)
		}
		seen[s.GUID] = true
	}
}

func TestParseNetstat(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantTCP []socket
		wantUDP []socket
	}{
		{"en", "netstat-en.txt",
			[]socket{{"tcp", "0.0.0.0", 135, 1012}, {"tcp", "0.0.0.0", 502, 2244}, {"tcp", "127.0.0.1", 7153, 3120},
				{"tcp", "10.20.3.21", 139, 4}, {"tcp", "::", 135, 1012}, {"tcp", "::1", 49720, 3120}},
			[]socket{{"udp", "0.0.0.0", 123, 1428}, {"udp", "fe80::5d2e:9a41:b7c3:1e02%12", 1900, 8110}}},
		{"de (states localized)", "netstat-de.txt",
			[]socket{{"tcp", "0.0.0.0", 102, 3288}, {"tcp", "0.0.0.0", 445, 4}, {"tcp", "::", 445, 4}},
			[]socket{{"udp", "0.0.0.0", 123, 1396}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tcp, udp, err := parseNetstat(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tcp, tt.wantTCP) || !reflect.DeepEqual(udp, tt.wantUDP) {
				t.Fatalf("tcp %v\nudp %v", tcp, udp)
			}
		})
	}
	for name, text := range map[string]string{
		"empty":          "",
		"header only":    "\nActive Connections\n\n  Proto  Local Address          Foreign Address        State           PID\n",
		"bad pid":        "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       x\n",
		"no port":        "  TCP    0.0.0.0            0.0.0.0:0              LISTENING       4\n",
		"bare ipv6":      "  TCP    ::1:80            [::]:0              LISTENING       4\n",
		"truncated line": "  TCP    0.0.0.0:135\n",
	} {
		if _, _, err := parseNetstat(text); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestParseW32tm(t *testing.T) {
	at := func(s string) *time.Time {
		v, _ := time.Parse(time.DateTime, s)
		return &v
	}
	tests := []struct {
		name    string
		file    string
		lang    string
		stratum int
		leap    int
		source  string
		last    *time.Time
		never   bool
	}{
		{"en", "w32tm-en.txt", "en", 4, 0, "DC01.plant.local", at("2024-06-11 09:58:17"), false},
		{"de", "w32tm-de.txt", "de", 2, 0, "10.10.0.10,0x8", at("2024-06-11 10:41:05"), false},
		{"en unsynced", "w32tm-en-unsynced.txt", "en", 0, 3, "Local CMOS Clock", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseW32tmStatus(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if st.Lang != tt.lang || *st.Stratum != tt.stratum || *st.Leap != tt.leap || st.Source != tt.source || st.NeverSynced != tt.never {
				t.Fatalf("got %+v", st)
			}
			if (st.LastSync == nil) != (tt.last == nil) || (st.LastSync != nil && !st.LastSync.Equal(*tt.last)) {
				t.Fatalf("last sync %v, want %v", st.LastSync, tt.last)
			}
			if st.PollInterval == nil || *st.PollInterval != 1024 {
				t.Fatalf("poll interval %v", st.PollInterval)
			}
		})
	}
	if _, err := parseW32tmStatus(fixture(t, "w32tm-fr.txt")); !errors.Is(err, errUnknownLanguage) {
		t.Errorf("French output must be unparsed, got %v", err)
	}
	st, err := parseW32tmStatus("Leap Indicator: 0(no warning)\nStratum: 3\nLast Successful Sync Time: 2024-13-45 99:99\n")
	if err != nil || st.LastSync != nil || st.LastSyncRaw == "" {
		t.Errorf("unreadable date must leave LastSync nil with the raw text kept: %+v %v", st, err)
	}
}

func TestParseWbadmin(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"wbadmin-versions.txt", []string{"2024-06-08T21:00:00Z", "2024-06-09T21:00:00Z"}},
		{"wbadmin-de.txt", []string{"2024-06-09T21:00:00Z"}},
		{"wbadmin-none.txt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got []string
			for _, v := range parseWbadminVersions(fixture(t, tt.file)) {
				got = append(got, v.Format(time.RFC3339))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v want %v", got, tt.want)
			}
		})
	}
}

func TestParseDMTF(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"20240611061203.500000+120", "2024-06-11T04:12:03.5Z", true},
		{"20240611061203.000000-300", "2024-06-11T11:12:03Z", true},
		{"20240229000000.000000+000", "2024-02-29T00:00:00Z", true},
		{"20230229000000.000000+000", "", false},
		{"2024061106120.500000+120", "", false},
		{"20240611061203.500000:000", "", false},
		{"********061203.500000+120", "", false},
		{"20241311061203.500000+120", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDMTF(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if tt.ok && got.Format(time.RFC3339Nano) != tt.want {
				t.Fatalf("got %s want %s", got.Format(time.RFC3339Nano), tt.want)
			}
		})
	}
}

func TestDecodeProductState(t *testing.T) {
	tests := []struct {
		state    int
		enabled  bool
		upToDate bool
		label    string
	}{
		{397568, true, true, "on"},       // 0x061100 Defender on, current
		{397584, true, false, "on"},      // 0x061110 on, signatures out of date
		{393472, false, true, "off"},     // 0x060100 off (third-party AV took over)
		{266240, true, true, "on"},       // 0x041000
		{262144, false, true, "off"},     // 0x040000
		{401664, false, true, "snoozed"}, // 0x062100
	}
	for _, tt := range tests {
		s := decodeProductState(tt.state)
		if s.Enabled != tt.enabled || s.UpToDate != tt.upToDate || s.ScannerLabel != tt.label {
			t.Errorf("%d (0x%06X): got %+v", tt.state, tt.state, s)
		}
	}
}

func TestParseHotfixDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"3/14/2023", "2023-03-14"},
		{"10/15/2015", "2015-10-15"},
		{"20230314", "2023-03-14"},
		{"01cb8c5b9e6f2c00", "2010-11-25"},
		{"", ""},
		{"14.03.2023", ""},
	}
	for _, tt := range tests {
		got, err := parseHotfixDate(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%q: want an error, got %v", tt.in, got)
			}
			continue
		}
		if err != nil || got.Format(time.DateOnly) != tt.want {
			t.Errorf("%q: got %v %v, want %s", tt.in, got, err, tt.want)
		}
	}
}
