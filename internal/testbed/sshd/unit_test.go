package sshd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestComposeConfig(t *testing.T) {
	defaults := []directive{{"HostKey", "/k1"}, {"HostKey", "/k2"}, {"MaxStartups", "100:30:200"}}
	tests := []struct {
		name    string
		spec    string
		forced  []directive
		want    []string // lines that must appear, in this order
		absent  []string
		wantErr bool
	}{
		{
			name: "defaults fill unset keywords",
			spec: "PermitRootLogin no\n",
			want: []string{"HostKey /k1", "HostKey /k2", "MaxStartups 100:30:200", "# end of lab lines", "PermitRootLogin no"},
		},
		{
			name:   "spec keyword wins, any case and = syntax",
			spec:   "maxstartups=10:30:100\nhostkey /etc/ssh/ssh_host_rsa_key\n",
			want:   []string{"# end of lab lines", "maxstartups=10:30:100"},
			absent: []string{"MaxStartups 100:30:200", "HostKey /k1"},
		},
		{
			name: "keywords inside Match do not count",
			spec: "Match User x\n  MaxStartups 1:1:1\n",
			want: []string{"MaxStartups 100:30:200", "# end of lab lines", "Match User x"},
		},
		{
			name:   "forced before the spec's Match blocks",
			spec:   "Match User x\n  X11Forwarding no\n",
			forced: []directive{{"ForceCommand", "sleep 600"}},
			want:   []string{"ForceCommand sleep 600", "# end of lab lines", "Match User x"},
		},
		{
			name:    "forced keyword also in spec",
			spec:    "ForceCommand /bin/true\n",
			forced:  []directive{{"ForceCommand", "sleep 600"}},
			wantErr: true,
		},
		{
			name: "comments are not keywords",
			spec: "# MaxStartups 1:1:1\n",
			want: []string{"MaxStartups 100:30:200"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := composeConfig(tt.spec, defaults, tt.forced)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("composeConfig succeeded:\n%s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w+"\n")
				if i < 0 {
					t.Fatalf("%q missing or out of order in:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, a := range tt.absent {
				if strings.Contains(got, a+"\n") {
					t.Errorf("%q present in:\n%s", a, got)
				}
			}
		})
	}
}

func TestCommentOut(t *testing.T) {
	in := "Port 22\nListenAddress 0.0.0.0\nPermitRootLogin no\n"
	got := commentOut(in, "port", "listenaddress")
	if globalKeywords(got)["port"] || globalKeywords(got)["listenaddress"] || !globalKeywords(got)["permitrootlogin"] {
		t.Errorf("commentOut:\n%s", got)
	}
}

func TestGlobalValue(t *testing.T) {
	tests := []struct{ text, key, want string }{
		{"Port 2222\n", "port", "2222"},
		{"  port=2200\n", "port", "2200"},
		{"# Port 22\nPermitRootLogin no\n", "port", ""},
		{"Match User x\n Port 1\n", "port", ""},
		{"Port 2222\nPort 3333\n", "port", "2222"},
	}
	for _, tt := range tests {
		if got := globalValue(tt.text, tt.key); got != tt.want {
			t.Errorf("globalValue(%q, %q) = %q, want %q", tt.text, tt.key, got, tt.want)
		}
	}
}

func TestSetShadowHash(t *testing.T) {
	shadow := "root:*:19000:0:99999:7:::\notscan:*:20000:0:99999:7:::\nother:!:20000::::::\n"
	got, err := setShadowHash([]byte(shadow), "otscan", "$6$salt$hash")
	if err != nil {
		t.Fatal(err)
	}
	want := "root:*:19000:0:99999:7:::\notscan:$6$salt$hash:20000:0:99999:7:::\nother:!:20000::::::\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := setShadowHash([]byte(shadow), "nobody-here", "x"); err == nil {
		t.Error("missing user accepted")
	}
}

func TestOverlay(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	mustWrite := func(p, content string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(filepath.Join(etc, "security/faillock.conf"), "# default\n", 0o644)
	mustWrite(filepath.Join(etc, "security/limits.conf"), "# limits\n", 0o644)
	mustWrite(filepath.Join(etc, "ssh/ssh_host_ed25519_key"), "machine key", 0o600)
	mustWrite(filepath.Join(etc, "ssh/moduli"), "moduli", 0o644)
	mustWrite(filepath.Join(etc, "shadow"), "otscan:*:1::::::\n", 0o640)
	// Absolute links point out of the overlay, into the real files.
	if err := os.Symlink(filepath.Join(etc, "security/limits.conf"), filepath.Join(etc, "limits-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(etc, "security"), filepath.Join(etc, "sec-link")); err != nil {
		t.Fatal(err)
	}

	o := overlay{root: filepath.Join(root, "netns/h1"), etc: etc}
	if err := o.prepare("ssh", func(rel string) bool { return strings.HasPrefix(rel, "ssh_host_") }); err != nil {
		t.Fatal(err)
	}
	if err := o.writeFile(filepath.Join(etc, "security/faillock.conf"), []byte("deny = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := o.writeFile(filepath.Join(etc, "login.defs"), []byte("PASS_MAX_DAYS 60\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := o.editFile(filepath.Join(etc, "shadow"), 0o640, func(b []byte) ([]byte, error) {
		return setShadowHash(b, "otscan", "h")
	}); err != nil {
		t.Fatal(err)
	}
	if err := o.writeFile(filepath.Join(etc, "limits-link"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path, want string
		mode             os.FileMode
	}{
		{"changed file in a subdirectory", "security/faillock.conf", "deny = 3\n", 0o644},
		{"sibling copied unchanged", "security/limits.conf", "# limits\n", 0o644},
		{"new top-level file", "login.defs", "PASS_MAX_DAYS 60\n", 0o644},
		{"edited file keeps its mode", "shadow", "otscan:h:1::::::\n", 0o640},
		{"ssh directory copied", "ssh/moduli", "moduli", 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(o.root, tt.path)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("content %q, want %q", b, tt.want)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.mode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.mode)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(o.root, "ssh/ssh_host_ed25519_key")); err == nil {
		t.Error("the machine's host key was copied into the overlay")
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "security/faillock.conf")); string(b) != "# default\n" {
		t.Errorf("real file changed: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "security/limits.conf")); string(b) != "# limits\n" {
		t.Errorf("write through a symlink changed the real file: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(o.root, "limits-link")); string(b) != "x" {
		t.Errorf("overlay link target content %q", b)
	}
	for _, bad := range []string{"/tmp/x", filepath.Join(etc, "netns/h2/x"), etc, filepath.Join(etc, "sec-link/faillock.conf")} {
		if err := o.writeFile(bad, nil, 0o644); err == nil {
			t.Errorf("writeFile(%s) accepted", bad)
		}
	}
}

func TestValidateSpecs(t *testing.T) {
	tests := []struct {
		name  string
		specs []HostSpec
		ok    bool
	}{
		{"one host", []HostSpec{{Name: "h1"}}, true},
		{"none", nil, false},
		{"duplicate", []HostSpec{{Name: "a"}, {Name: "a"}}, false},
		{"bad name", []HostSpec{{Name: "A_b"}}, false},
		{"relative file", []HostSpec{{Name: "a", Files: map[string]string{"etc/x": ""}}}, false},
		{"outside etc", []HostSpec{{Name: "a", Files: map[string]string{"/root/x": ""}}}, false},
		{"unclean path", []HostSpec{{Name: "a", Files: map[string]string{"/etc/../root/x": ""}}}, false},
		{"sshd_config via Files", []HostSpec{{Name: "a", Files: map[string]string{"/etc/ssh/sshd_config": ""}}}, false},
		{"netns", []HostSpec{{Name: "a", Files: map[string]string{"/etc/netns/x/y": ""}}}, false},
		{"multi-line ForceCommand", []HostSpec{{Name: "a", ForceCommand: "a\nb"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validateSpecs(tt.specs); (err == nil) != tt.ok {
				t.Errorf("validateSpecs = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
