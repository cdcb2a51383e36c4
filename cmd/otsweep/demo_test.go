package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/store"
)

// The README's first command: the demo lab comes up, is swept twice with a
// change between, and leaves a database with drift and an HTML report.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo sweeps a simulated plant twice (about 40 s)")
	}
	dir := t.TempDir()
	code, out, errOut := cli(t, "demo", "--dir", dir)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, errOut, out)
	}
	for _, w := range []string{"Sweep 1: baseline", "Sweep 2: after the change", "hmi-01: Microsoft Defender real-time protection switched off",
		"HTML report:", "otsweep serve --db"} {
		if !strings.Contains(out, w) {
			t.Errorf("demo output lacks %q", w)
		}
	}
	db := filepath.Join(dir, "otsweep.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sweeps, err := st.Sweeps(context.Background(), 10)
	if err != nil || len(sweeps) != 2 {
		t.Fatalf("%d sweeps, %v", len(sweeps), err)
	}
	scans, err := st.ScansOfSweep(context.Background(), sweeps[0].ID)
	if err != nil || len(scans) < 10 {
		t.Fatalf("%d assets in the lab, %v", len(scans), err)
	}
	platforms := map[string]int{}
	for _, sc := range scans {
		platforms[sc.Asset.Platform]++
	}
	if platforms["windows"] < 4 || platforms["linux"] < 2 || platforms["snmp"] < 3 {
		t.Errorf("platforms %v", platforms)
	}
	events, err := st.DriftEvents(context.Background(), store.DriftFilter{SweepID: sweeps[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	var defender, unreachable bool
	for _, e := range events {
		defender = defender || (e.Asset == "hmi-01" && e.Subject == "windows.av.defender" && e.Regression)
		unreachable = unreachable || (e.Asset == "sw-cell3-01" && e.Kind == store.DriftUnreachable)
	}
	if !defender || !unreachable {
		t.Errorf("drift events lack the demo's change: defender %v, unreachable %v: %+v", defender, unreachable, events)
	}
	html, err := os.ReadFile(filepath.Join(dir, "otsweep-report.html"))
	if err != nil || !strings.Contains(string(html), "IEC 62443-3-3") || !strings.Contains(string(html), "hmi-01") {
		t.Fatalf("report: %v", err)
	}
	for _, v := range []string{os.Getenv("OTSWEEP_DEMO_WINRM_PASSWORD"), os.Getenv("OTSWEEP_DEMO_SNMP_COMMUNITY")} {
		if v == "" {
			t.Fatal("demo secret not set")
		}
		assertNotInFiles(t, v, db, db+"-wal", filepath.Join(dir, "otsweep-report.html"))
		if strings.Contains(out+errOut, v) {
			t.Error("a demo secret appears in the output")
		}
	}
}
