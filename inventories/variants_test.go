package inventories

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

// loadString loads body as a one-file inventory.
func loadString(t *testing.T, body string) (*Inventory, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "inv.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p, testValidator())
}

const variantCreds = `
credentials:
  - name: lx
    username: otscan
    agent: true
  - name: win
    username: otscan
    password_env: OT_WIN
`

func TestLoadVariants(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, inv *Inventory)
	}{
		{
			name: "IPv6 with zone, host name with trailing dot, default transports and ports",
			body: variantCreds + `
assets:
  - {name: a, address: "fe80::1%eth0", platform: linux, credential: lx, role: linux-server}
  - {name: b, address: hist.plant.example., platform: windows, credential: win, role: historian}
`,
			check: func(t *testing.T, inv *Inventory) {
				a, b := inv.Assets[0], inv.Assets[1]
				if a.Address != "fe80::1%eth0" || a.Transport != SSH || a.Port != 22 {
					t.Errorf("a = %+v", a)
				}
				if b.Transport != WinRMS || b.Port != 5986 || b.Platform != probes.Windows {
					t.Errorf("b = %+v", b)
				}
			},
		},
		{
			name: "merge keys: explicit keys win, then the first merged mapping",
			body: variantCreds + `
x-a: &a {platform: linux, credential: lx, role: hmi, tags: [from-a]}
x-b: &b {role: linux-server, zone: z, timeout: 30s}
zones:
  - {name: z, sl_target: 1}
assets:
  - <<: [*a, *b]
    name: m
    address: 192.0.2.1
    tags: [own]
`,
			check: func(t *testing.T, inv *Inventory) {
				m := inv.Assets[0]
				if m.Role != "hmi" || m.Zone != "z" || m.Timeout != 30*time.Second || len(m.Tags) != 1 || m.Tags[0] != "own" {
					t.Errorf("m = %+v", m)
				}
			},
		},
		{
			name: "tags, nulls, block scalars and block scope",
			body: variantCreds + `
assets:
  - name: !!str 1234
    address: 192.0.2.1
    platform: linux
    credential: lx
    role: linux-server
    zone: ~
countermeasures:
  - id: CM-1
    requirement: SR 1.1 RE 1
    scope:
      asset: "1234"
    kind: attestation
    justification: |
      Line one.
      Line two.
    owner: o
    expires: "2027-01-31"
    evidence: e
`,
			check: func(t *testing.T, inv *Inventory) {
				if inv.Assets[0].Name != "1234" || inv.Assets[0].Zone != "" {
					t.Errorf("asset = %+v", inv.Assets[0])
				}
				cm := inv.Countermeasures[0]
				if cm.Scope.Asset != "1234" || cm.Justification != "Line one.\nLine two.\n" || !cm.Expires.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("countermeasure = %+v", cm)
				}
			},
		},
		{
			name: "SNMP versions and security levels",
			body: `
credentials:
  - {name: v1, snmp_version: 1, community_file: /etc/otsweep/c.pw}
  - {name: v3-none, username: u, snmp_version: "3", security_level: noauthnopriv}
  - {name: v3-auth, username: u, snmp_version: 3, security_level: authNoPriv, auth_protocol: sha512, auth_password_env: A}
assets:
  - {name: s1, address: 192.0.2.1, platform: snmp, credential: v1, role: plc, fragile: true, guess_default_communities: true}
  - {name: s2, address: 192.0.2.2, platform: snmp, credential: v3-none, role: plc}
  - {name: s3, address: 192.0.2.3, platform: snmp, credential: v3-auth, role: plc, port: 1161}
`,
			check: func(t *testing.T, inv *Inventory) {
				v1, _ := inv.Credential("v1")
				none, _ := inv.Credential("v3-none")
				auth, _ := inv.Credential("v3-auth")
				if v1.SNMP.Version != SNMPv1 || none.SNMP.SecurityLevel != NoAuthNoPriv || auth.SNMP.AuthProtocol != "SHA512" {
					t.Errorf("credentials = %+v %+v %+v", v1.SNMP, none.SNMP, auth.SNMP)
				}
				if s1, _ := inv.Asset("s1"); !s1.Fragile || !s1.GuessDefaultCommunities || s1.Port != 161 {
					t.Errorf("s1 = %+v", s1)
				}
			},
		},
		{
			name: "local with a sudo-only credential and a loopback address",
			body: `
credentials:
  - {name: sudo, sudo: true}
assets:
  - {name: me, address: "::1", platform: linux, transport: local, credential: sudo, role: linux-server}
`,
			check: func(t *testing.T, inv *Inventory) {
				if inv.Assets[0].Address != "::1" || inv.Assets[0].Port != 0 {
					t.Errorf("asset = %+v", inv.Assets[0])
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := loadString(t, tc.body)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tc.check(t, inv)
		})
	}
}

func TestLoadVariantErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []want // file is ignored
	}{
		{"authNoPriv with priv fields", `
credentials:
  - name: v3
    username: u
    snmp_version: 3
    security_level: authNoPriv
    auth_protocol: SHA
    auth_password_env: A
    priv_protocol: AES
assets: [{name: s, address: 192.0.2.1, platform: snmp, credential: v3, role: plc}]
`, []want{{"", 9, `credential "v3": priv_protocol: does not apply to security_level authNoPriv`}}},
		{"https credential over plain winrm", `
credentials: [{name: w, username: u, password_env: P, https: true}]
assets: [{name: h, address: 192.0.2.1, platform: windows, transport: winrm, credential: w, role: hmi}]
`, []want{{"", 3, `is restricted to HTTPS (https: true): use transport winrms`}}},
		{"passphrase without key", `
credentials: [{name: k, username: u, agent: true, passphrase_env: P}]
assets: [{name: h, address: 192.0.2.1, platform: linux, credential: k, role: linux-server}]
`, []want{{"", 2, `credential "k": passphrase_env: a passphrase needs private_key_file`}}},
		{"same target twice", `
credentials: [{name: k, username: u, agent: true}]
assets:
  - {name: a, address: 192.0.2.1, platform: linux, credential: k, role: linux-server}
  - {name: b, address: 192.0.2.1, port: 22, platform: linux, credential: k, role: linux-server}
  - {name: c, address: 192.0.2.1, port: 2222, platform: linux, credential: k, role: linux-server}
`, []want{{"", 5, `asset "b": address: asset "a" (`}}},
		{"bad names, tags and fingerprint", `
credentials: [{name: w, username: u, password_env: P, fingerprint: "ab:cd"}]
assets:
  - {name: "hmi 01", address: 192.0.2.1, platform: windows, credential: w, role: hmi, tags: [ok, ok, "bad tag"]}
`, []want{
			{"", 2, `credential "w": fingerprint: want the SHA-256 of the server certificate`},
			{"", 4, `asset "hmi 01": name: "hmi 01" is not a valid name`},
			{"", 4, `tags: tag "ok" is listed twice`},
			{"", 4, `tags: "bad tag" is not a valid tag`},
		}},
		{"unsupported tag and non-string key", `
assets:
  - name: !custom x
    1: one
    platform: linux
    transport: local
    role: linux-server
`, []want{
			{"", 3, `unsupported tag`},
			{"", 4, `asset #1: keys must be plain strings, not an integer`},
		}},
		{"merge bombs are bounded", `
x-a: &a {role: hmi}
x-b: &b {<<: [*a, *a, *a, *a, *a, *a, *a, *a]}
x-c: &c {<<: [*b, *b, *b, *b, *b, *b, *b, *b]}
x-d: &d {<<: [*c, *c, *c, *c, *c, *c, *c, *c]}
assets:
  - <<: [*d, *d, *d, *d, *d, *d, *d, *d]
    name: bomb
    platform: linux
    transport: local
`, []want{{"", 7, `asset #1: merge keys (<<) nested too deeply or expanding too many mappings`}}},
		{"sequence instead of mapping at the top", `
- name: x
`, []want{{"", 2, `an inventory is a mapping`}}},
		{"wrong list types", `
zones: {name: z}
assets: []
`, []want{{"", 2, `inventory: zones: expected a list of zones, got a mapping`}}},
		{"env var for an SNMP password", `
credentials: [{name: s, snmp_version: 2c, community_env: C, password_env: P}]
assets: [{name: a, address: 192.0.2.1, platform: snmp, credential: s, role: plc}]
`, []want{{"", 2, `credential "s": password_env: not an SNMP field`}}},
		{"v3 needs a user and refuses a community", `
credentials: [{name: s, snmp_version: 3, security_level: noAuthNoPriv, community_env: C}]
assets: [{name: a, address: 192.0.2.1, platform: snmp, credential: s, role: plc}]
`, []want{
			{"", 2, `credential "s": username (the SNMPv3 security name) is required`},
			{"", 2, `credential "s": community_env: applies to SNMP v1/v2c only`},
		}},
		{"bad SNMP version", `
credentials: [{name: s, snmp_version: 2, community_env: C}]
assets: [{name: a, address: 192.0.2.1, platform: snmp, credential: s, role: plc}]
`, []want{{"", 2, `credential "s": snmp_version: want 1, 2c or 3`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, tc.body)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load: %v, want *LoadError", err)
			}
			for _, w := range tc.want {
				found := false
				for _, is := range le.Issues {
					if is.Pos.Line == w.line && strings.Contains(is.Message, w.frag) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing issue at line %d: …%s…\ngot:\n%v", w.line, w.frag, err)
				}
			}
			if len(le.Issues) != len(tc.want) {
				t.Errorf("got %d issues, want %d:\n%v", len(le.Issues), len(tc.want), err)
			}
		})
	}
}
