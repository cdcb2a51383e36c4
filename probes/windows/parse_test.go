package windows

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/lab/winhosts"
	"github.com/otsweep/otsweep/probes"
)

const testNonce = "0f1e2d3c4b5a6978"

func recording(t *testing.T, host string) []byte {
	t.Helper()
	b, err := winhosts.Output(host, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, b []byte) *probes.Observation {
	t.Helper()
	obs, err := Parse(testNonce, b)
	if err != nil {
		t.Fatal(err)
	}
	return obs
}

// editLine rewrites the recorded line of probe id with fn (nil drops it).
func editLine(t *testing.T, b []byte, id string, fn func(string) string) []byte {
	t.Helper()
	lines := strings.Split(string(b), "\r\n")
	found := false
	var out []string
	for _, l := range lines {
		if strings.Contains(l, `"id":"`+id+`"`) {
			found = true
			if fn == nil {
				continue
			}
			l = fn(l)
		}
		out = append(out, l)
	}
	if !found {
		t.Fatalf("no line for %s", id)
	}
	return []byte(strings.Join(out, "\r\n"))
}

func wantErr(t *testing.T, obs *probes.Observation, fact, reason string) {
	t.Helper()
	f, ok := obs.Facts[fact]
	if !ok {
		t.Fatalf("%s missing", fact)
	}
	if f.Err != reason || f.Value != nil {
		t.Fatalf("%s: got value %v err %q, want err %q", fact, f.Value, f.Err, reason)
	}
}

func wantValue(t *testing.T, obs *probes.Observation, fact string, want any) {
	t.Helper()
	f, ok := obs.Facts[fact]
	if !ok {
		t.Fatalf("%s missing", fact)
	}
	if f.Err != "" {
		t.Fatalf("%s: error %q", fact, f.Err)
	}
	if !reflect.DeepEqual(f.Value, want) {
		t.Fatalf("%s: got %#v, want %#v", fact, f.Value, want)
	}
}

func TestParseTruncatedOutput(t *testing.T) {
	full := recording(t, "win10-22h2")
	i := bytes.Index(full, []byte(`"id":"W31"`))
	i = bytes.LastIndexByte(full[:i], '\n') + 1
	obs := mustParse(t, full[:i+40]) // cut in the middle of the W31 line
	if obs.Complete {
		t.Fatal("no END marker: Complete must be false")
	}
	wantValue(t, obs, "rdp.enabled", true)
	wantValue(t, obs, "services.flagged_active", []string{"SSDPSRV", "Spooler"})
	// The cut line does not name its probe ("id" sorts after "data"), but the
	// bundle's fixed order does.
	wantErr(t, obs, "features.smb1", probes.ErrTextUnparsed)
	wantErr(t, obs, "listening.tcp_ports", probes.ErrTextNotCollected)
	wantErr(t, obs, "password.min_length", probes.ErrTextNotCollected)
	wantErr(t, obs, "lockout.threshold", probes.ErrTextNotCollected)
	wantErr(t, obs, "audit.logon", probes.ErrTextNotCollected)
	wantErr(t, obs, "backup.count", probes.ErrTextNotCollected)
	if obs.Cost.Processes != 0 {
		t.Fatal("no _end line: no cost")
	}
}

func TestParseFailedProbes(t *testing.T) {
	base := recording(t, "win10-22h2")
	tests := []struct {
		name   string
		id     string
		edit   func(string) string
		facts  []string
		reason string
	}{
		{"not elevated", "W29", func(string) string { return `{"err":"E_NOT_ELEVATED","id":"W29","ms":0,"ok":false}` },
			[]string{"bitlocker.present", "bitlocker.os_volume_protected"}, probes.ErrTextNotElevated},
		{"error text", "W17", func(string) string { return `{"err":"Invalid namespace ","id":"W17","ms":12,"ok":false}` },
			[]string{"av.defender.present", "av.defender.signature_age_days"}, "Invalid namespace "},
		{"malformed json", "W13", func(l string) string {
			return strings.Replace(l, `"fDenyTSConnections":0`, `"fDenyTSConnections":0,,`, 1)
		},
			[]string{"rdp.enabled", "rdp.nla_required", "rdp.port"}, probes.ErrTextUnparsed},
		{"line cut short (no id left)", "W13", func(l string) string { return l[:len(l)/2] },
			[]string{"rdp.enabled", "rdp.nla_required", "rdp.port"}, probes.ErrTextUnparsed},
		{"unknown field (script and parser drifted)", "W14", func(l string) string { return strings.Replace(l, `"client_present"`, `"client_there"`, 1) },
			[]string{"smb.v1.server_enabled", "smb.v1.client_enabled"}, probes.ErrTextUnparsed},
		{"wrong type in registry value", "W37", func(l string) string { return strings.Replace(l, `"NoLMHash":1`, `"NoLMHash":"yes"`, 1) },
			[]string{"auth.no_lm_hash", "auth.lm_compatibility_level"}, probes.ErrTextUnparsed},
		{"secedit raw text unreadable", "W06", func(l string) string { return strings.Replace(l, `[System Access]`, `[System Access`, 1) },
			[]string{"password.min_length", "password.history_size", "lockout.threshold"}, probes.ErrTextUnparsed},
		{"line missing", "W40", nil, []string{"shares.all", "anon.restrict_anonymous"}, probes.ErrTextNotCollected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := mustParse(t, editLine(t, base, tt.id, tt.edit))
			if !obs.Complete {
				t.Fatal("END marker present")
			}
			for _, f := range tt.facts {
				wantErr(t, obs, f, tt.reason)
			}
			// Other probes are unaffected.
			wantValue(t, obs, "os.build", 19045)
			wantValue(t, obs, "time.synced", true)
		})
	}
}

func TestParseIgnoresNoise(t *testing.T) {
	base := recording(t, "win10-22h2")
	other := "@@OTSCAN ffffffffffffffff BEGIN schema=otscan.win/1\r\n" +
		`{"data":{"local":{"fDenyTSConnections":1}},"id":"W13","ms":1,"ok":true}` + "\r\n@@OTSCAN ffffffffffffffff END\r\n"
	noisy := "WARNING: profile noise\r\n" + other + string(base)
	noisy = strings.Replace(noisy, `{"data":{"local"`, "#< CLIXML\r\nsome warning text inside\r\n"+`{"data":{"local"`, 1)
	noisy += "trailing noise after END\r\n" + `{"err":"E_NOT_ELEVATED","id":"W06","ms":0,"ok":false}` + "\r\n"
	obs := mustParse(t, []byte(noisy))
	clean := mustParse(t, base)
	if len(obs.Facts) != len(clean.Facts) {
		t.Fatalf("noise changed the facts: %d vs %d", len(obs.Facts), len(clean.Facts))
	}
	wantValue(t, obs, "rdp.enabled", true)
	wantValue(t, obs, "password.min_length", 8)
}

func TestParseDuplicateLineFirstWins(t *testing.T) {
	base := recording(t, "win10-22h2")
	dup := editLine(t, base, "W28", func(l string) string {
		return l + "\r\n" + `{"data":{"LegalNoticeCaption":"x","LegalNoticeText":"y"},"id":"W28","ms":1,"ok":true}`
	})
	obs := mustParse(t, dup)
	wantValue(t, obs, "banner.set", false)
}

func TestParseProtocolErrors(t *testing.T) {
	base := recording(t, "win10-22h2")
	tests := []struct {
		name  string
		nonce string
		out   []byte
	}{
		{"empty output", testNonce, nil},
		{"other nonce only", "1111222233334444", base},
		{"wrong schema", testNonce, bytes.Replace(base, []byte("schema=otscan.win/1"), []byte("schema=otscan.win/2"), 1)},
		{"invalid nonce", "NOT-HEX", base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.nonce, tt.out)
			if !errors.Is(err, probes.ErrProtocol) {
				t.Fatalf("want ErrProtocol, got %v", err)
			}
		})
	}
}

func TestParseProbeRuns(t *testing.T) {
	obs := mustParse(t, recording(t, "win10-nonadmin"))
	if obs.Elevated || obs.Meta["host"] != "HMI-L1-02" || obs.Schema != Schema || obs.Platform != probes.Windows {
		t.Fatalf("meta: %+v %v", obs.Meta, obs.Elevated)
	}
	byID := map[string]probes.ProbeRun{}
	for _, r := range obs.Probes {
		byID[r.ID] = r
	}
	if r := byID["W06"]; r.ExitCode != 1 || r.Err != "E_NOT_ELEVATED" {
		t.Fatalf("W06 run: %+v", r)
	}
	if r := byID["W30"]; r.ExitCode != 0 || r.Duration != 388*time.Millisecond || r.Bytes == 0 {
		t.Fatalf("W30 run: %+v", r)
	}
	if obs.Cost.CPU != 1703*time.Millisecond || obs.Cost.Processes != 3 {
		t.Fatalf("cost %+v", obs.Cost)
	}
}

func TestApplySupport(t *testing.T) {
	day := func(s string) time.Time {
		d, _ := time.Parse(time.DateOnly, s)
		return d.Add(13 * time.Hour)
	}
	tests := []struct {
		host      string
		now       time.Time
		supported bool
		days      int
	}{
		{"win7-ps2", day("2024-06-11"), false, -1610},
		{"win10-22h2", day("2024-06-11"), true, 490},
		{"win10-22h2", day("2025-10-13"), true, 1},
		{"win10-22h2", day("2025-10-14"), false, 0},
		{"win10-clm", day("2026-06-01"), true, 225},
		{"ws2019-dc", day("2024-06-11"), true, 1673},
		{"win11-23h2", day("2025-11-12"), false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.host+"@"+tt.now.Format(time.DateOnly), func(t *testing.T) {
			obs, err := ParseAt(testNonce, recording(t, tt.host), tt.now)
			if err != nil {
				t.Fatal(err)
			}
			wantValue(t, obs, "os.supported", tt.supported)
			wantValue(t, obs, "os.days_to_eol", tt.days)
		})
	}
	// Without W01 the date facts fail instead of passing.
	obs := mustParse(t, editLine(t, recording(t, "win10-22h2"), "W01", nil))
	ApplySupport(obs.Facts, day("2024-06-11"))
	wantErr(t, obs, "os.eol_date", probes.ErrTextNotCollected)
	wantErr(t, obs, "os.supported", probes.ErrTextNotCollected)
	wantErr(t, obs, "wdigest.enabled", probes.ErrTextNotCollected)
	facts := probes.Facts{}
	ApplySupport(facts, day("2024-06-11"))
	wantErr(t, &probes.Observation{Facts: facts}, "os.supported", probes.ErrTextNotCollected)
}

func TestEOLLookup(t *testing.T) {
	tbl, err := loadEOL()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		build, pt   int
		edition     string
		wantRelease string
		wantEOL     string
	}{
		{"Windows 7 SP1", 7601, 1, "Professional", "Windows 7 SP1", "2020-01-14"},
		{"2008 R2 is the server side of 7601", 7601, 3, "ServerStandard", "Windows Server 2008 R2 SP1", "2020-01-14"},
		{"1607 LTSB client", 14393, 1, "EnterpriseS", "Windows 10 1607 LTSB", "2026-10-13"},
		{"14393 server", 14393, 3, "ServerStandard", "Windows Server 2016", "2027-01-12"},
		{"17763 LTSC client", 17763, 1, "EnterpriseS", "Windows 10 1809 LTSC", "2029-01-09"},
		{"17763 IoT LTSC falls back to LTSC", 17763, 1, "IoTEnterpriseS", "Windows 10 1809 LTSC", "2029-01-09"},
		{"17763 domain controller", 17763, 2, "ServerDatacenter", "Windows Server 2019", "2029-01-09"},
		{"21H2 IoT LTSC", 19044, 1, "IoTEnterpriseS", "Windows 10 IoT Enterprise LTSC 2021", "2032-01-13"},
		{"22H2 Pro", 19045, 1, "Professional", "Windows 10 22H2", "2025-10-14"},
		{"11 23H2 Enterprise", 22631, 1, "Enterprise", "Windows 11 23H2 (E)", "2026-11-10"},
		{"11 23H2 Education is (E)", 22631, 1, "Education", "Windows 11 23H2 (E)", "2026-11-10"},
		{"11 24H2 Home is (W)", 26100, 1, "Core", "Windows 11 24H2 (W)", "2026-10-13"},
		{"11 24H2 LTSC", 26100, 1, "EnterpriseS", "Windows 11 Enterprise LTSC 2024", "2029-10-09"},
		{"26100 server is 2025", 26100, 3, "ServerStandard", "Windows Server 2025", "2034-11-14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tbl.lookup(tt.build, tt.pt, tt.edition)
			if err != nil {
				t.Fatal(err)
			}
			if r.Release != tt.wantRelease || r.EOL != tt.wantEOL {
				t.Fatalf("got %+v", r)
			}
		})
	}
	for _, miss := range []struct {
		build, pt int
		edition   string
	}{{14393, 1, "Professional"}, {19044, 1, "Enterprise"}, {22000, 1, "Professional"}, {20348, 1, "Enterprise"}, {22631, 1, "Unknown"}} {
		if _, err := tbl.lookup(miss.build, miss.pt, miss.edition); !errors.Is(err, errNotInTable) {
			t.Errorf("%+v: want errNotInTable, got %v", miss, err)
		}
	}
}

func TestParseDomainControllerDegraded(t *testing.T) {
	base := recording(t, "ws2019-dc")
	t.Run("secedit not elevated", func(t *testing.T) {
		obs := mustParse(t, editLine(t, base, "W06", func(string) string { return `{"err":"E_NOT_ELEVATED","id":"W06","ms":0,"ok":false}` }))
		wantValue(t, obs, "dc.is_domain_controller", true)
		wantErr(t, obs, "dc.kerberos.max_ticket_age_hours", probes.ErrTextNotElevated)
		wantErr(t, obs, "password.min_length", probes.ErrTextNotElevated)
		wantValue(t, obs, "dc.fgpp.count", 2)
	})
	t.Run("PSOs unreadable", func(t *testing.T) {
		obs := mustParse(t, editLine(t, base, "W41", func(l string) string {
			i, j := strings.Index(l, `"fgpp":[`), strings.Index(l, `],"fgpp_error":null`)
			return l[:i] + `"fgpp":null,"fgpp_error":"Insufficient access rights to perform the operation"` + l[j+len(`],"fgpp_error":null`):]
		}))
		wantErr(t, obs, "dc.fgpp.policies", "Insufficient access rights to perform the operation")
		wantErr(t, obs, "dc.fgpp.weakest_min_length", "Insufficient access rights to perform the operation")
		wantValue(t, obs, "dc.kerberos.max_ticket_age_hours", 10)
		if obs.Facts["dc.default_policy"].Err != "" {
			t.Fatal("the default policy was readable")
		}
	})
	t.Run("no kerberos section", func(t *testing.T) {
		obs := mustParse(t, editLine(t, base, "W06", func(l string) string { return strings.Replace(l, `[Kerberos Policy]`, `[Kerberos Policy Removed]`, 1) }))
		wantErr(t, obs, "dc.kerberos.max_clock_skew_minutes", probes.ErrTextUnparsed)
	})
}
