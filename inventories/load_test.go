package inventories

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// want is one expected issue: the file (relative to testdata/bad), the line,
// and a fragment of the message.
type want struct {
	file string
	line int
	frag string
}

func TestLoadBad(t *testing.T) {
	tests := []struct {
		name string
		path string // under testdata/bad
		want []want
	}{
		{"unknown field", "unknown-field.yaml", []want{
			{"unknown-field.yaml", 5, `zone "cell-3": unknown field "colour"`},
			{"unknown-field.yaml", 11, `asset "hist-01": address is required`},
			{"unknown-field.yaml", 12, `asset "hist-01": unknown field "adress"`},
		}},
		{"duplicates across files", "dup-across", []want{
			{"dup-across/b.yaml", 7, `duplicate asset "hmi-01" (first defined at testdata/bad/dup-across/a.yaml:7)`},
			{"dup-across/b.yaml", 13, `duplicate credential "win-scan" (first defined at testdata/bad/dup-across/a.yaml:3)`},
		}},
		{"unknown references", "unknown-refs.yaml", []want{
			{"unknown-refs.yaml", 14, `asset "srv-01": role: unknown role "scada-server"`},
			{"unknown-refs.yaml", 21, `asset "srv-02": zone: unknown zone "cell-9"`},
			{"unknown-refs.yaml", 25, `asset "srv-03": credential: unknown credential "linux-sacn"`},
		}},
		{"bad addresses", "bad-address.yaml", []want{
			{"bad-address.yaml", 8, `bad address "192.0.2.1;rm -rf /": an address contains no shell metacharacters`},
			{"bad-address.yaml", 13, `give the host only, not a URL`},
			{"bad-address.yaml", 18, `give the port in the port field`},
			{"bad-address.yaml", 23, `an address contains no spaces`},
			{"bad-address.yaml", 28, `bad address "192.0.2.300": want an IPv4 or IPv6 address or an RFC 1123 host name`},
			{"bad-address.yaml", 33, `bad address "-leading.example"`},
			{"bad-address.yaml", 38, `bad address "$(reboot)": an address contains no shell metacharacters`},
		}},
		{"inline secrets", "inline-password.yaml", []want{
			{"inline-password.yaml", 5, `credential "win-scan": password: inline secrets are not allowed; use password_env or password_file`},
			{"inline-password.yaml", 8, `community: inline secrets are not allowed; use community_env or community_file`},
			{"inline-password.yaml", 11, `private_key: inline secrets are not allowed; use private_key_file`},
			{"inline-password.yaml", 16, `credential "win-scan" (testdata/bad/inline-password.yaml:3) needs username and password_env or password_file`},
		}},
		{"bad sl_target", "bad-sl-target.yaml", []want{
			{"bad-sl-target.yaml", 4, `zone "z1": sl_target: level 5 out of range 0..4`},
			{"bad-sl-target.yaml", 6, `unknown foundational requirement "FR 8"`},
			{"bad-sl-target.yaml", 6, `sl_target: FR 2: level 7 out of range 0..4`},
			{"bad-sl-target.yaml", 8, `zone "z3": sl_target: expected a level 0..4 or a mapping`},
			{"bad-sl-target.yaml", 9, `zone "z4": sl_target is required`},
		}},
		{"local with a remote address", "local-remote.yaml", []want{
			{"local-remote.yaml", 4, `asset "not-local": address: transport local scans this machine`},
			{"local-remote.yaml", 10, `asset "loopback": port: does not apply to transport local`},
		}},
		{"countermeasures", "countermeasures.yaml", []want{
			{"countermeasures.yaml", 14, `countermeasure "CM-1": scope: name exactly one of asset, role or zone (found asset and zone)`},
			{"countermeasures.yaml", 22, `countermeasure "CM-2": scope: name exactly one of asset, role or zone (found none)`},
			{"countermeasures.yaml", 26, `countermeasure "CM-2": expires: "2027-02-30" is not a date in the form YYYY-MM-DD`},
			{"countermeasures.yaml", 29, `countermeasure "CM-3": requirement: unknown requirement "SR 9.1"`},
			{"countermeasures.yaml", 31, `kind: "waiver" is not one of compensating, attestation`},
			{"countermeasures.yaml", 34, `expires: "30.06.2027" is not a date`},
			{"countermeasures.yaml", 36, `countermeasure "CM-4": justification is required`},
			{"countermeasures.yaml", 38, `countermeasure "CM-4": scope: unknown asset "nowhere"`},
		}},
		{"platform and transport", "platform-transport.yaml", []want{
			{"platform-transport.yaml", 10, `asset "srv-01": transport: winrm does not fit platform linux (use ssh or local)`},
			{"platform-transport.yaml", 18, `asset "hmi-01": fragile: applies to SNMP assets only`},
			{"platform-transport.yaml", 24, `asset "ews-01": guess_default_communities: applies to SNMP assets only`},
			{"platform-transport.yaml", 26, `asset "hist-01": address: transport local scans this machine`},
			{"platform-transport.yaml", 28, `asset "hist-01": transport: local does not fit platform windows`},
			{"platform-transport.yaml", 32, `asset "plc-01": platform: "modbus" is not one of linux, windows, snmp`},
		}},
		{"credential fit", "credential-fit.yaml", []want{
			{"credential-fit.yaml", 9, `credential "mixed": community_env: SNMP fields (community_env) do not mix with SSH fields (private_key_file)`},
			{"credential-fit.yaml", 13, `credential "v2-with-v3-fields": auth_protocol: applies to SNMPv3 only`},
			{"credential-fit.yaml", 14, `credential "v3-no-priv": priv_protocol is required for security_level authPriv`},
			{"credential-fit.yaml", 14, `priv_password_env or priv_password_file is required for security_level authPriv`},
			{"credential-fit.yaml", 31, `asset "srv-01": credential: credential "plc-community" (testdata/bad/credential-fit.yaml:3) is an SNMP credential and does not fit transport ssh`},
			{"credential-fit.yaml", 37, `asset "hmi-01": credential: credential "win-basic" (testdata/bad/credential-fit.yaml:19) uses auth basic, which is allowed over HTTPS only`},
			{"credential-fit.yaml", 42, `asset "sw-01": credential: credential "win-basic" (testdata/bad/credential-fit.yaml:19) is a WinRM credential and does not fit transport snmp`},
			{"credential-fit.yaml", 47, `asset "srv-02": credential: credential "no-method" (testdata/bad/credential-fit.yaml:23) has no SSH authentication`},
		}},
		{"YAML syntax", "syntax.yaml", []want{
			{"syntax.yaml", 5, `YAML: ',' or ']' must be specified`},
		}},
		{"duplicate key", "duplicate-key.yaml", []want{
			{"duplicate-key.yaml", 6, `YAML: mapping key "role" already defined`},
		}},
		{"wrong types", "wrong-types.yaml", []want{
			{"wrong-types.yaml", 7, `asset "self": tags: expected a list of strings, got a string`},
			{"wrong-types.yaml", 8, `asset "self": fragile: expected true or false, got a string`},
			{"wrong-types.yaml", 9, `asset "self": timeout: expected a duration such as 90s or 5m, got an integer`},
			{"wrong-types.yaml", 12, `asset "ssh-01": port: 70000 is out of range 1..65535`},
			{"wrong-types.yaml", 14, `asset "ssh-01": credential: expected a string, got a list`},
			{"wrong-types.yaml", 16, `asset "ssh-02": credential is required for transport ssh`},
			{"wrong-types.yaml", 18, `asset "ssh-02": port: expected an integer, got a string`},
			{"wrong-types.yaml", 21, `asset "ssh-02": timeout: 48h is out of range`},
			{"wrong-types.yaml", 22, `asset #4: expected a mapping, got a string`},
		}},
		{"top-level keys and anchors", "top-level.yaml", []want{
			{"top-level.yaml", 6, `unknown top-level key "asets"`},
			{"top-level.yaml", 11, `alias refers to an undefined anchor`},
			{"top-level.yaml", 11, `asset "other": platform is required`},
			{"top-level.yaml", 11, `asset "other": address is required`},
			{"top-level.yaml", 11, `asset "other": role is required`},
		}},
		{"secret pasted into env and file fields", "env-name.yaml", []want{
			{"env-name.yaml", 5, `credential "win-scan": password_env: must be the name of an environment variable`},
			{"env-name.yaml", 6, `credential "win-scan": password_file: must be an absolute path`},
			{"env-name.yaml", 6, `password_file: set only one of password_env and password_file`},
			{"env-name.yaml", 11, `needs username and password_env or password_file`},
		}},
		{"no assets", "empty.yaml", []want{
			{"empty.yaml", 0, `the inventory defines no assets`},
		}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen[tc.path] = true
			path := filepath.Join("testdata", "bad", tc.path)
			inv, err := Load(path, testValidator())
			if inv != nil {
				t.Errorf("Load returned an inventory with its error")
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load: %v (%T), want *LoadError", err, err)
			}
			if len(le.Issues) != len(tc.want) {
				t.Errorf("got %d issues, want %d:\n%v", len(le.Issues), len(tc.want), err)
			}
			for i, w := range tc.want {
				if i >= len(le.Issues) {
					break
				}
				got := le.Issues[i]
				if got.Pos.File != filepath.Join("testdata", "bad", w.file) || got.Pos.Line != w.line || !strings.Contains(got.Message, w.frag) {
					t.Errorf("issue %d = %s\nwant %s:%d: …%s…", i, got, w.file, w.line, w.frag)
				}
			}
			// The error text lists every issue as file:line: message.
			for _, is := range le.Issues {
				if !strings.Contains(err.Error(), is.String()) {
					t.Errorf("Error() lacks %q", is)
				}
			}
		})
	}
	// Every fixture has a case.
	entries, _ := os.ReadDir(filepath.Join("testdata", "bad"))
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("testdata/bad/%s has no test case", e.Name())
		}
	}
}

// TestLoadNeverEchoesSecrets loads inventories whose mistakes put secret
// values where they do not belong; no message may contain them.
func TestLoadNeverEchoesSecrets(t *testing.T) {
	secrets := []string{"Sup3r-S3cret!", "pr1vate-c0mmunity", "BEGIN OPENSSH", "hunter2", "relative/secret.pw"}
	for _, f := range []string{"inline-password.yaml", "env-name.yaml"} {
		_, err := Load(filepath.Join("testdata", "bad", f), testValidator())
		if err == nil {
			t.Fatalf("%s loaded", f)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error contains %q:\n%v", f, s, err)
			}
		}
	}
}

func TestLoadSyntaxErrorQuotesNoSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inv.yaml")
	// An unterminated quote on a line holding a would-be secret.
	if err := os.WriteFile(path, []byte("credentials:\n  - name: x\n    password: \"Sup3r-S3cret!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, testValidator())
	var le *LoadError
	if !errors.As(err, &le) || len(le.Issues) != 1 || le.Issues[0].Pos.Line != 3 {
		t.Fatalf("Load: %v", err)
	}
	if strings.Contains(err.Error(), "Sup3r") {
		t.Errorf("error quotes the source: %v", err)
	}
}

func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"10-zones.yaml": "zones:\n  - name: cell-3\n    sl_target: 2\n",
		"20-creds.yml":  "credentials:\n  - name: s\n    username: u\n    agent: true\n",
		"30-assets.yaml": "assets:\n  - name: a\n    address: a.plant.example\n    platform: linux\n    credential: s\n    role: linux-server\n    zone: cell-3\n" +
			"---\nassets:\n  - name: b\n    address: 192.0.2.9\n    platform: linux\n    credential: s\n    role: linux-server\n",
		".hidden.yaml": "bogus: [",
		"notes.txt":    "bogus: [",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}
	inv, err := Load(dir, testValidator())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(inv.Assets) != 2 || inv.Assets[1].Name != "b" || inv.Assets[1].Pos != (Pos{File: filepath.Join(dir, "30-assets.yaml"), Line: 10}) {
		t.Errorf("assets = %+v", inv.Assets)
	}
	if inv.Assets[0].Zone != "cell-3" || inv.Assets[0].Port != 22 {
		t.Errorf("asset a = %+v", inv.Assets[0])
	}
}

func TestLoadPathErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml"), testValidator()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	var le *LoadError
	if _, err := Load(dir, testValidator()); !errors.As(err, &le) || !strings.Contains(err.Error(), "no *.yaml or *.yml files") {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := Load("examples/local.yaml", Validator{}); err == nil {
		t.Error("nil validator accepted")
	}
}
