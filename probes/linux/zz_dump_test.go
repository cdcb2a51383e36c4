package linux

import (
	"encoding/json"
	"os"
	"sort"
	"testing"
)

func TestZZDump(t *testing.T) {
	fn := os.Getenv("DUMP")
	if fn == "" {
		t.Skip()
	}
	b, _ := os.ReadFile(fn)
	obs, err := Parse(os.Getenv("NONCE"), b)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0)
	for k := range obs.Facts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		f := obs.Facts[k]
		v, _ := json.Marshal(f.Value)
		if f.Err != "" {
			t.Logf("%-36s ERR %s  %q", k, f.Err, f.Raw)
		} else {
			s := string(v)
			if len(s) > 200 {
				s = s[:200] + "..."
			}
			t.Logf("%-36s %s   %q", k, s, f.Raw)
		}
	}
	t.Logf("complete=%v elevated=%v cost=%+v probes=%+v", obs.Complete, obs.Elevated, obs.Cost, obs.Probes)
}

func TestZZLine(t *testing.T) {
	c := Command("abc", Options{Sudo: true, Deep: true, Timeout: 90e9})
	t.Log(c.Line)
}

func TestZZRun(t *testing.T) {
	if os.Getenv("RUNLINE") == "" {
		t.Skip()
	}
	c := Command(os.Getenv("NONCE"), Options{Sudo: true, Deep: os.Getenv("DEEP") != "", Timeout: 120e9})
	os.WriteFile("/tmp/line.txt", []byte(c.Line), 0o644)
	os.WriteFile("/tmp/script.sh", c.Stdin, 0o644)
}
