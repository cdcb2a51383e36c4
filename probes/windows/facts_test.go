package windows

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/lab/winhosts"
	"github.com/otsweep/otsweep/probes"
)

var update = flag.Bool("update", false, "rewrite docs/facts-windows.md")

func TestFactDocs(t *testing.T) {
	names := map[string]bool{}
	probesWithHandler := map[string]bool{"_meta": true}
	for _, h := range handlers() {
		for _, p := range h.probes {
			probesWithHandler[p] = true
		}
	}
	typ := regexp.MustCompile(`^(bool|int|string|date|time|\[\]string|\[\]int|\[\]object|object)(\|null)?$`)
	for _, d := range Facts {
		if names[d.Name] {
			t.Errorf("duplicate fact %s", d.Name)
		}
		names[d.Name] = true
		if !typ.MatchString(d.Type) {
			t.Errorf("%s: type %q", d.Name, d.Type)
		}
		if !probesWithHandler[d.Probe] {
			t.Errorf("%s: probe %q has no handler", d.Name, d.Probe)
		}
		if d.Description == "" || !strings.HasSuffix(d.Description, ".") {
			t.Errorf("%s: description must be a sentence", d.Name)
		}
	}
}

// TestRecordedHosts parses every recording: nothing unparsed, every fact
// documented and of its documented type, and the key facts of each host.
func TestRecordedHosts(t *testing.T) {
	docs := map[string]FactDoc{}
	for _, d := range Facts {
		docs[d.Name] = d
	}
	emitted := map[string]bool{}
	now := time.Date(2024, 6, 11, 12, 0, 0, 0, time.UTC)
	for _, h := range winhosts.Hosts() {
		t.Run(h.Name, func(t *testing.T) {
			out, err := winhosts.Output(h.Name, testNonce)
			if err != nil {
				t.Fatal(err)
			}
			obs, err := ParseAt(testNonce, out, now)
			if err != nil {
				t.Fatal(err)
			}
			if !obs.Complete || obs.Elevated != h.Elevated {
				t.Fatalf("complete %v elevated %v", obs.Complete, obs.Elevated)
			}
			for name, f := range obs.Facts {
				emitted[name] = true
				d, ok := docs[name]
				if !ok {
					t.Errorf("fact %s is not documented in Facts", name)
					continue
				}
				if f.Source != d.Probe {
					t.Errorf("%s: source %s, documented under %s", name, f.Source, d.Probe)
				}
				switch {
				case f.Err == probes.ErrTextNotElevated:
					if !d.Admin && !strings.HasPrefix(name, "features.") {
						t.Errorf("%s: not elevated, but not documented as admin-only", name)
					}
					if h.Elevated {
						t.Errorf("%s: not elevated on an elevated scan", name)
					}
				case f.Err != "":
					t.Errorf("%s: %s %v", name, f.Err, f.Raw)
				default:
					if err := checkType(d.Type, f.Value); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
			}
		})
	}
	for _, d := range Facts {
		if !emitted[d.Name] {
			t.Errorf("documented fact %s is emitted by no recording", d.Name)
		}
	}
}

// checkType verifies a fact value against its documented type.
func checkType(typ string, v any) error {
	base, nullable := strings.CutSuffix(typ, "|null")
	if v == nil {
		if nullable {
			return nil
		}
		return fmt.Errorf("nil, but type %s is not nullable", typ)
	}
	ok := false
	switch base {
	case "bool":
		_, ok = v.(bool)
	case "int":
		_, ok = v.(int)
	case "string":
		_, ok = v.(string)
	case "date":
		s, isStr := v.(string)
		_, err := time.Parse(time.DateOnly, s)
		ok = isStr && err == nil
	case "time":
		s, isStr := v.(string)
		_, err := time.Parse(time.RFC3339, s)
		ok = isStr && err == nil
	case "[]string":
		_, ok = v.([]string)
	case "[]int":
		_, ok = v.([]int)
	case "object":
		_, ok = v.(map[string]any)
	case "[]object":
		var l []any
		if l, ok = v.([]any); ok {
			for _, e := range l {
				if _, isMap := e.(map[string]any); !isMap {
					ok = false
				}
			}
		}
	}
	if !ok {
		return fmt.Errorf("value %#v is not %s", v, typ)
	}
	return nil
}

func TestKeyFacts(t *testing.T) {
	tests := []struct {
		host string
		want map[string]any
	}{
		{"win7-ps2", map[string]any{
			"meta.ps_version": "2.0", "os.build": 7601, "os.release": "Windows 7 SP1", "os.supported": false,
			"password.min_length": 0, "password.max_age_days": -1, "lockout.threshold": 0, "acct.builtin_admin.disabled": false,
			"acct.local_users.no_password_required": []string{"hmi"}, "uac.enabled": false, "rdp.nla_required": false,
			"smb.v1.server_enabled": true, "smb.v1.client_enabled": true, "wdigest.enabled": true, "av.products.active": []string{},
			"av.defender.present": false, "fw.public.enabled": false, "time.synced": false, "features.telnet_client": true,
			"patch.last_installed": "2020-01-15", "patch.hotfix_dates_unparsed": 1, "audit.logon": 1, "audit.removable_storage": nil,
			"winrm.service.allow_basic": true, "winrm.service.allow_unencrypted": true, "shares.nondefault": []string{"HMI", "Users"},
		}},
		{"ws2008r2-ps2", map[string]any{
			"os.role": "server", "os.release": "Windows Server 2008 R2 SP1", "os.eoes_date": "2023-01-10", "os.supported": false,
			"av.securitycenter.present": false, "av.services.running": []string{"SepMasterService", "SmcService"},
			"backup.count": 2, "backup.last": "2024-04-06T21:00:00Z", "password.min_length": 8, "auth.lm_compatibility_level": 3,
		}},
		{"win10-22h2", map[string]any{
			"os.build": 19045, "os.ubr": 4412, "os.edition_id": "Enterprise", "os.eol_date": "2025-10-14", "os.supported": true,
			"av.defender.realtime_enabled": true, "av.defender.signature_age_days": 1, "av.defender.product_version": "4.18.24040.4",
			"bitlocker.os_volume_protected": true, "password.min_length": 8, "password.history_size": 0,
			"lockout.duration_minutes": nil, "auth.lm_compatibility_level": 3, "smb.v1.server_enabled": false,
			"time.last_sync": "2024-06-11T07:58:17Z", "listening.tcp_ports_external": []int{135, 139, 445, 3389, 5040, 5900, 5985, 44818, 47001, 49664, 49665, 49666, 49667, 49668, 49672},
		}},
		{"ws2016", map[string]any{
			"os.release": "Windows Server 2016", "os.product_type": 3, "smb.v1.server_enabled": true, "features.smb1": true,
			"backup.count": 3, "lockout.threshold": 10, "av.securitycenter.present": false,
		}},
		{"ws2019-dc", map[string]any{
			"os.product_type": 2, "os.role": "domain-controller", "os.release": "Windows Server 2019", "os.display_version": "1809",
			"dc.is_domain_controller": true, "dc.kerberos.max_ticket_age_hours": 10, "dc.kerberos.max_clock_skew_minutes": 5,
			"dc.fgpp.count": 2, "dc.fgpp.weakest_min_length": 6, "password.min_length": 12, "shares.nondefault": []string{},
			"smb.signing.server_required": true, "rdp.max_idle_time_ms": 3600000,
		}},
		{"ws2022", map[string]any{
			"password.min_length": 14, "password.history_size": 24, "password.max_age_days": 60, "lockout.threshold": 5,
			"lockout.duration_minutes": 15, "acct.builtin_admin.renamed": true, "acct.builtin_admin.disabled": true,
			"winrm.https_listener": true, "winrm.service.allow_basic": false, "lsa.protected": true, "credential_guard.running": true,
			"usb.storage_disabled": true, "autorun.disabled": true, "audit.credential_validation": 3, "audit.sce_no_apply_legacy": 1,
			"eventlog.security.max_size_kb": 196608, "banner.set": true, "name.llmnr_enabled": false, "name.netbios_disabled": true,
			"auth.lm_compatibility_level": 5, "backup.wbadmin_present": false, "services.flagged_active": []string{},
		}},
		{"win11-23h2", map[string]any{
			"os.product_name": "Windows 11 Pro", "os.release": "Windows 11 23H2 (W)", "os.eol_date": "2025-11-11",
			"lockout.threshold": 10, "lockout.admin_lockout": true, "hvci.running": true, "lsa.run_as_ppl": 2,
			"av.products.active": []string{"Windows Defender"},
		}},
		{"win10-de", map[string]any{
			"os.ui_language": "de-DE", "os.arch": "64-bit", "acct.local_admins.group": "Administratoren", "acct.guest.name": "Gast",
			"audit.logon": 3, "audit.source": "backup", "time.last_sync": "2024-06-11T08:41:05Z", "time.stratum": 2,
			"listening.tcp_ports_external":   []int{102, 135, 139, 445, 5040, 5938, 5985, 47001, 49664, 49665, 49666, 49667, 49668, 49670},
			"banner.text":                    "Zugriff nur f\u00fcr autorisierte Benutzer. Alle Aktivit\u00e4ten werden protokolliert.",
			"av.defender.signature_age_days": 9, "av.products.active": []string{}, "password.complexity": false,
		}},
		{"win10-clm", map[string]any{
			"meta.language_mode": "ConstrainedLanguage", "os.edition_id": "EnterpriseS", "os.release": "Windows 10 21H2 LTSC",
			"applocker.exe.mode": "enforced", "applocker.script.rules": 4, "applocker.dll.mode": "not-configured",
			"applocker.service_running": true, "ps.script_block_logging": true, "ps.module_names": []string{"*"},
			"rdp.enabled": false, "smb.signing.client_required": true, "features.powershell_v2": false,
		}},
		{"win10-nonadmin", map[string]any{
			"meta.elevated": false, "features.source": "files", "features.telnet_client": false,
			"eventlog.security.max_size_kb": nil, "dc.is_domain_controller": false, "acct.local_users.enabled": []string{"hmiadmin", "operator"},
		}},
	}
	now := time.Date(2024, 6, 11, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			obs, err := ParseAt(testNonce, recording(t, tt.host), now)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				wantValue(t, obs, name, want)
			}
		})
	}
	obs := mustParse(t, recording(t, "win10-nonadmin"))
	for _, n := range []string{"password.min_length", "password.max_age_days", "lockout.threshold", "audit.logon", "bitlocker.os_volume_protected", "backup.count", "features.smb1"} {
		wantErr(t, obs, n, probes.ErrTextNotElevated)
	}
}

// TestFactsMarkdown keeps docs/facts-windows.md generated from Facts
// (go test ./probes/windows -run TestFactsMarkdown -update rewrites it).
func TestFactsMarkdown(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "facts-windows.md")
	got := FactsMarkdown()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(have) != got {
		t.Fatal("docs/facts-windows.md is stale; run go test ./probes/windows -run TestFactsMarkdown -update")
	}
}

// TestFactNamesNest checks that no fact name is a dotted prefix of another:
// checks nest "a.b.c" into maps, so "a.b" cannot be both a value and a map.
func TestFactNamesNest(t *testing.T) {
	names := map[string]bool{}
	for _, d := range Facts {
		names[d.Name] = true
	}
	for n := range names {
		for i := range n {
			if n[i] == '.' && names[n[:i]] {
				t.Errorf("%s is a value and the parent of %s", n[:i], n)
			}
		}
	}
}
