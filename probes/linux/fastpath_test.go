package linux

import (
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fast paths that make Parse cheaper must give exactly what the code they
// replaced gave. Each is compared here with that code, kept as a reference.

// globScan is section.glob as it was: path.Match against every listed file.
func globScan(s *section, pattern string) []string {
	var out []string
	for _, p := range s.order {
		if ok, _ := path.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	return out
}

func FuzzGlob(f *testing.F) {
	b, nonce := loadFixture(f, "debian12-root")
	files := split(nonce, b).section("FILES")
	if files == nil || len(files.order) == 0 {
		f.Fatal("fixture has no FILES listing")
	}
	for _, pat := range []string{"/etc/pam.d/*", "/etc/security/pwquality.conf", "/etc/apt/apt.conf.d/*auto-upgrades",
		"/etc/ssh/sshd_config.d/*.conf", "/etc/[a-c]*", `/etc/x\*`, "[", `\`, "*", "", "/etc/ssh/sshd_config"} {
		f.Add(pat, "/etc/x*", "/etc/pam.d/sshd")
	}
	f.Fuzz(func(t *testing.T, pattern, name1, name2 string) {
		s := &section{files: map[string]fileState{}}
		for _, p := range append(slices.Clone(files.order), name1, name2) {
			s.listFile("ok", p)
		}
		if got, want := s.glob(pattern), globScan(s, pattern); !reflect.DeepEqual(got, want) {
			t.Fatalf("glob(%q) = %q, path.Match over the listing gives %q", pattern, got, want)
		}
	})
}

// An ID already among distroNames must not change what the banner check finds,
// which is why parseBanner compiles its own pattern only for other IDs.
func TestBannerNamesListedID(t *testing.T) {
	texts := []string{
		`debian gnu/linux 12 \n \l`,
		"ubuntu 22.04.4 lts \\n \\l\nauthorized uses only. all activity may be monitored and reported.",
		"red hat enterprise linux 9.3 (plow) rhel-9 centos_stream rocky-linux almalinux fedora suse",
		"welcome to openwrt/buildroot on yocto poky raspbian; linux mint, oracle linux, sles, alpine",
		"debianx xubuntu redhat rhel9 _alpine alpine_ 9alpine alpine9 debian-ubuntu",
		"", "no distribution here",
	}
	for _, id := range distroNames {
		t.Run(id, func(t *testing.T) {
			withID := namesRE(append(slices.Clone(distroNames), id))
			for _, text := range texts {
				got, want := distroNamesRE().FindAllString(text, -1), withID.FindAllString(text, -1)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%q: %q without the ID appended, %q with it", text, got, want)
				}
			}
		})
	}
}

func FuzzSplitTabs(f *testing.F) {
	for _, s := range []string{"install ok installed\tbash\t5.2.15-2+b2\tamd64", "bash\t5.1.8-6.el9\tx86_64", "\t\t\t", "", "a\tb", "deinstall ok config-files\tx\ty\tz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, n := range []int{3, 4} {
			fields := make([]string, n)
			ok := splitTabs(line, fields)
			want := strings.Split(line, "\t")
			if ok != (len(want) == n) || ok && !slices.Equal(fields, want) {
				t.Fatalf("splitTabs(%q, %d) = %q, %v; strings.Split gives %q", line, n, fields, ok, want)
			}
		}
		st := strings.Fields(line)
		if got, want := dpkgInstalled(line), len(st) == 3 && st[2] == "installed"; got != want {
			t.Fatalf("dpkgInstalled(%q) = %v, want %v", line, got, want)
		}
	})
}

// cleanLineTwoPass is cleanLine as it was: utf8.Valid, then a scan for control
// bytes.
func cleanLineTwoPass(b []byte) string {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	clean := utf8.Valid(b)
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return string(b)
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func FuzzCleanLine(f *testing.F) {
	for _, s := range []string{"plain\r", "tab\tok", "bell\a", "del\x7f", "ünï\r", "bad \xff\xfe", "\xed\xa0\x80 surrogate", "\r\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := cleanLine(b), cleanLineTwoPass(b); got != want {
			t.Fatalf("cleanLine(%q) = %q, want %q", b, got, want)
		}
	})
}
