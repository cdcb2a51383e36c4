package windows

import (
	"regexp"
	"testing"
	"unicode/utf8"

	"github.com/otsweep/otsweep/lab/winhosts"
)

// The fuzz targets run their seed corpus as ordinary tests; run one with
// `go test ./probes/windows -run '^$' -fuzz FuzzParseINF -fuzztime 30s`.

func addFixtures(f *testing.F, names ...string) {
	for _, n := range names {
		f.Add(fixture(f, n))
	}
}

func FuzzParseINF(f *testing.F) {
	addFixtures(f, "secedit-win10-en.inf", "secedit-dc-hardened.inf")
	f.Add("[System Access]\r\nMinimumPasswordLength = \"8\"\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		inf, err := parseINF(s)
		if err != nil {
			return
		}
		_, _ = inf.int("System Access", "MinimumPasswordLength")
		_, _ = inf.flag("System Access", "PasswordComplexity")
		for k, v := range inf.rights() {
			if _, ok := v.([]string); !ok || k == "" {
				t.Fatalf("right %q -> %T", k, v)
			}
		}
	})
}

func FuzzParseAudit(f *testing.F) {
	addFixtures(f, "auditpol-backup-en.csv", "auditpol-backup-de.csv", "auditpol-r-en.csv", "auditpol-r-de.csv", "auditpol-r-fr.csv")
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (*auditPolicy, error){parseAuditBackup, parseAuditReport} {
			ap, err := parse(s)
			if err != nil {
				continue
			}
			if len(ap.Settings) == 0 {
				t.Fatal("success without settings")
			}
			for g, v := range ap.Settings {
				if v < 0 || v > 3 || canonicalGUID(g) != g {
					t.Fatalf("%s = %d", g, v)
				}
			}
		}
	})
}

func FuzzParseNetstat(f *testing.F) {
	addFixtures(f, "netstat-en.txt", "netstat-de.txt")
	f.Fuzz(func(t *testing.T, s string) {
		tcp, udp, err := parseNetstat(s)
		if err != nil {
			return
		}
		for _, x := range append(tcp, udp...) {
			if x.Port < 0 || x.Port > 65535 || x.PID < 0 || x.Addr == "" {
				t.Fatalf("bad socket %+v", x)
			}
		}
	})
}

func FuzzParseW32tm(f *testing.F) {
	addFixtures(f, "w32tm-en.txt", "w32tm-de.txt", "w32tm-en-unsynced.txt", "w32tm-fr.txt")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseW32tmStatus(s)
		if err != nil {
			return
		}
		if st.Lang != "en" && st.Lang != "de" {
			t.Fatalf("lang %q", st.Lang)
		}
		if st.NeverSynced && st.LastSync != nil {
			t.Fatal("never synced with a sync time")
		}
	})
}

func FuzzParseWbadmin(f *testing.F) {
	addFixtures(f, "wbadmin-versions.txt", "wbadmin-de.txt", "wbadmin-none.txt")
	f.Fuzz(func(t *testing.T, s string) {
		vs := parseWbadminVersions(s)
		for i := 1; i < len(vs); i++ {
			if !vs[i-1].Before(vs[i]) {
				t.Fatal("versions not strictly ordered")
			}
		}
	})
}

func FuzzParseDMTF(f *testing.F) {
	for _, s := range []string{"20240611061203.500000+120", "20240611061203.000000-300", "********061203.500000+120"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseDMTF(s)
		if err == nil && tm.Location().String() != "UTC" {
			t.Fatal("not UTC")
		}
	})
}

func FuzzDecodeProductState(f *testing.F) {
	for _, n := range []int{397568, 397584, 393472, 262144, -1, 1 << 40} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int) {
		s := decodeProductState(n)
		if s.Enabled != (s.ScannerLabel == "on") {
			t.Fatalf("%d: %+v", n, s)
		}
	})
}

func FuzzHotfixDate(f *testing.F) {
	for _, s := range []string{"3/14/2023", "20230314", "01cb8c5b9e6f2c00", "", "0000000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseHotfixDate(s)
	})
}

// FuzzParse feeds whole bundle outputs: whatever the bytes, Parse must not
// panic, must never report facts of a missing line as collected, and every
// fact it emits must be documented.
func FuzzParse(f *testing.F) {
	const nonce = "00112233445566778899aabbccddeeff"
	begin := "@@OTSCAN " + nonce + " BEGIN schema=otscan.win/1\r\n"
	f.Add([]byte(begin + `{"data":{"elevated":true,"host":"H","lang":"FullLanguage","ps":"2.0","ps_arch":"AMD64","tz_offset_min":60,"utc":"2024-06-11T08:12:03Z"},"id":"_meta","ms":4,"ok":true}` + "\r\n@@OTSCAN " + nonce + " END\r\n"))
	f.Add([]byte(begin + `{"err":"E_NOT_ELEVATED","id":"W06","ms":0,"ok":false}` + "\r\n"))
	f.Add([]byte(begin + `{"data":{"rc":0,"raw":"[System Access]\u000aMinimumPasswordLength = 8"},"id":"W06","ms":1,"ok":true}` + "\r\n"))
	f.Add([]byte(begin + `{"data":{"raw":"  TCP    0.0.0.0:135   0.0.0.0:0   LISTENING   4","rc":0,"processes":[]},"id":"W32","ms":1,"ok":true}` + "\r\n{\"id\":\"W01\",\"ok\":tr"))
	for _, h := range winhosts.Hosts() {
		out, err := winhosts.Output(h.Name, nonce)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		obs, err := Parse(nonce, b)
		if err != nil {
			return
		}
		docs := map[string]FactDoc{}
		for _, d := range Facts {
			docs[d.Name] = d
		}
		present := map[string]bool{}
		for _, m := range regexp.MustCompile(`"id":"([A-Za-z0-9_]+)"`).FindAllSubmatch(b, -1) {
			present[string(m[1])] = true
		}
		for name, fact := range obs.Facts {
			if _, ok := docs[name]; !ok {
				t.Fatalf("undocumented fact %q", name)
			}
			if fact.Err == "" && !present[lineOfProbe(fact.Source)] {
				t.Fatalf("fact %q collected from a line that is not in the input", name)
			}
			if s, ok := fact.Value.(string); ok && !utf8.ValidString(s) {
				t.Fatalf("fact %q holds invalid UTF-8", name)
			}
		}
	})
}

// lineOfProbe maps a catalog probe to the envelope line that carries it.
func lineOfProbe(probe string) string {
	for _, h := range handlers() {
		for _, p := range h.probes {
			if p == probe {
				return h.line
			}
		}
	}
	return probe
}
