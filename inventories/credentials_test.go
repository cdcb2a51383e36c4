package inventories

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/otsweep/otsweep/probes"
)

// writeFile writes body to dir/name with mode perm (chmod after the write so
// the umask does not interfere).
func writeFile(t *testing.T, dir, name, body string, perm fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
	return p
}

// testKeyPEM generates an OpenSSH-format ed25519 private key.
func testKeyPEM(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "test key")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(blk))
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	key := testKeyPEM(t)
	keyFile := writeFile(t, dir, "id_ed25519", key, 0o600)
	pwFile := writeFile(t, dir, "win.pw", "Fil3-Passw0rd\n", 0o400)
	privFile := writeFile(t, dir, "priv.pw", "Pr1v-Passw0rd\r\n", 0o600)
	if err := os.Symlink(pwFile, filepath.Join(dir, "link.pw")); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"OT_PASS": "Env-Passw0rd", "OT_PHRASE": "Phr4se", "OT_AUTH": "Auth-Passw0rd", "OT_COMM": "c0mmunity"})

	tests := []struct {
		name string
		cred Credential
		want Resolved
	}{
		{
			name: "password from env",
			cred: Credential{Name: "c", Username: "otscan", Password: SecretRef{Env: "OT_PASS"}},
			want: Resolved{Username: "otscan", Password: secret("Env-Passw0rd")},
		},
		{
			name: "password from 0400 file, newline trimmed",
			cred: Credential{Name: "c", Username: "otscan", Password: SecretRef{File: pwFile}},
			want: Resolved{Username: "otscan", Password: secret("Fil3-Passw0rd")},
		},
		{
			name: "password through a symlink to an owner-only file",
			cred: Credential{Name: "c", Password: SecretRef{File: filepath.Join(dir, "link.pw")}},
			want: Resolved{Password: secret("Fil3-Passw0rd")},
		},
		{
			name: "ssh key and passphrase",
			cred: Credential{Name: "c", Username: "otscan", SSH: &SSHOptions{PrivateKeyFile: keyFile, Passphrase: SecretRef{Env: "OT_PHRASE"}}},
			want: Resolved{Username: "otscan", PrivateKey: secret(key), Passphrase: secret("Phr4se")},
		},
		{
			name: "snmp v3",
			cred: Credential{Name: "c", Username: "otsweep", SNMP: &SNMPOptions{Version: SNMPv3, AuthPassword: SecretRef{Env: "OT_AUTH"}, PrivPassword: SecretRef{File: privFile}}},
			want: Resolved{Username: "otsweep", AuthPassword: secret("Auth-Passw0rd"), PrivPassword: secret("Pr1v-Passw0rd")},
		},
		{
			name: "snmp v2c",
			cred: Credential{Name: "c", SNMP: &SNMPOptions{Version: SNMPv2c, Community: SecretRef{Env: "OT_COMM"}}},
			want: Resolved{Community: secret("c0mmunity")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cred.Resolve(env)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got != tc.want {
				t.Errorf("Resolve = %s, want %s", reveal(got), reveal(tc.want))
			}
			if err := tc.cred.CheckSources(env); err != nil {
				t.Errorf("CheckSources: %v", err)
			}
			// The resolved secrets never print.
			for _, s := range []string{"Passw0rd", "Phr4se", "c0mmunity", "PRIVATE KEY"} {
				if out := fmt.Sprintf("%v %+v %#v", got, got, got); strings.Contains(out, s) {
					t.Errorf("formatted Resolved shows %q: %s", s, out)
				}
			}
		})
	}
}

func TestResolveRefuses(t *testing.T) {
	dir := t.TempDir()
	openFile := writeFile(t, dir, "open.pw", "Open-Passw0rd", 0o644)
	group := writeFile(t, dir, "group.pw", "Group-Passw0rd", 0o640)
	empty := writeFile(t, dir, "empty.pw", "\n", 0o600)
	notKey := writeFile(t, dir, "notkey", "Not-A-Key-Passw0rd", 0o600)
	big := writeFile(t, dir, "big.pw", strings.Repeat("x", maxSecretFile+1), 0o600)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"OT_SET": "Env-Passw0rd"})

	tests := []struct {
		name    string
		cred    Credential
		want    string // exact error text
		is      error  // and a sentinel, if any
		asMode  bool
		asEnv   bool
		checkOK bool // CheckSources passes (it does not read content)
	}{
		{
			name:   "mode 0644",
			cred:   Credential{Name: "win", Password: SecretRef{File: openFile}},
			want:   fmt.Sprintf(`credential "win": password_file: %s: mode 0644 is too open; chmod 600 %s`, openFile, openFile),
			asMode: true,
		},
		{
			name:   "mode 0640",
			cred:   Credential{Name: "win", Password: SecretRef{File: group}},
			want:   fmt.Sprintf(`credential "win": password_file: %s: mode 0640 is too open; chmod 600 %s`, group, group),
			asMode: true,
		},
		{
			name:  "unset variable is named",
			cred:  Credential{Name: "win", Password: SecretRef{Env: "OT_UNSET"}},
			want:  `credential "win": password_env: environment variable OT_UNSET is not set or empty`,
			asEnv: true,
		},
		{
			name:    "empty file",
			cred:    Credential{Name: "win", Password: SecretRef{File: empty}},
			want:    fmt.Sprintf(`credential "win": password_file: %s is empty`, empty),
			is:      ErrEmpty,
			checkOK: true,
		},
		{
			name:    "key file that is not PEM",
			cred:    Credential{Name: "lx", SSH: &SSHOptions{PrivateKeyFile: notKey}},
			want:    fmt.Sprintf(`credential "lx": private_key_file: %s is not a PEM-encoded private key`, notKey),
			is:      ErrNotPEM,
			checkOK: true,
		},
		{
			name:    "oversized file",
			cred:    Credential{Name: "win", Password: SecretRef{File: big}},
			want:    fmt.Sprintf(`credential "win": password_file: %s is larger than 64 KiB`, big),
			is:      ErrTooLarge,
			checkOK: true,
		},
		{
			name: "directory",
			cred: Credential{Name: "win", Password: SecretRef{File: sub}},
			want: fmt.Sprintf(`credential "win": password_file: %s: not a regular file`, sub),
			is:   ErrNotRegular,
		},
		{
			name: "missing file",
			cred: Credential{Name: "win", Password: SecretRef{File: filepath.Join(dir, "nope")}},
			want: fmt.Sprintf(`credential "win": password_file: stat %s: no such file or directory`, filepath.Join(dir, "nope")),
			is:   fs.ErrNotExist,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cred.Resolve(env)
			if err == nil {
				t.Fatalf("Resolve succeeded: %s", reveal(got))
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\nwant    %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error is not %v", tc.is)
			}
			var me *ModeError
			if errors.As(err, &me) != tc.asMode {
				t.Errorf("errors.As(*ModeError) = %v", !tc.asMode)
			}
			var ee *EnvError
			if errors.As(err, &ee) != tc.asEnv {
				t.Errorf("errors.As(*EnvError) = %v", !tc.asEnv)
			}
			if strings.Contains(err.Error(), "Passw0rd") {
				t.Errorf("error shows a secret: %v", err)
			}
			if got != (Resolved{}) {
				t.Errorf("Resolve returned secrets with its error")
			}
			if err := tc.cred.CheckSources(env); (err == nil) != tc.checkOK {
				t.Errorf("CheckSources = %v, want ok=%v", err, tc.checkOK)
			}
		})
	}
}

func TestResolveReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	openFile := writeFile(t, dir, "open.pw", "x", 0o644)
	c := Credential{Name: "snmp", Username: "u", SNMP: &SNMPOptions{Version: SNMPv3,
		AuthPassword: SecretRef{Env: "OT_A"}, PrivPassword: SecretRef{File: openFile}}}
	_, err := c.Resolve(envOf(nil))
	var ee *EnvError
	var me *ModeError
	if !errors.As(err, &ee) || ee.Var != "OT_A" || !errors.As(err, &me) || me.Path != openFile {
		t.Errorf("Resolve = %v", err)
	}
	if err := c.CheckSources(envOf(nil)); err == nil || !strings.Contains(err.Error(), "auth_password_env") || !strings.Contains(err.Error(), "priv_password_file") {
		t.Errorf("CheckSources = %v", err)
	}
}

func TestCheckSourcesPublicFiles(t *testing.T) {
	dir := t.TempDir()
	c := Credential{Name: "lx", Username: "u", SSH: &SSHOptions{Agent: true, KnownHosts: filepath.Join(dir, "known_hosts")}}
	if err := c.CheckSources(envOf(nil)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing known_hosts: %v", err)
	}
	c.SSH.TrustOnFirstUse = true // the file may be created on first use
	if err := c.CheckSources(envOf(nil)); err != nil {
		t.Errorf("TOFU: %v", err)
	}
	w := Credential{Name: "w", WinRM: &WinRMOptions{CAFile: filepath.Join(dir, "ca.pem")}}
	if err := w.CheckSources(envOf(nil)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing ca_file: %v", err)
	}
}

// reveal renders a Resolved with its secrets, for failure messages only.
func reveal(r Resolved) string {
	return fmt.Sprintf("{user=%q pw=%q phrase=%q key=%d bytes comm=%q auth=%q priv=%q}", r.Username, r.Password.Reveal(),
		r.Passphrase.Reveal(), len(r.PrivateKey.Reveal()), r.Community.Reveal(), r.AuthPassword.Reveal(), r.PrivPassword.Reveal())
}

func secret(s string) probes.Secret { return probes.NewSecret(s) }
