package mapping

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltinBlueprints(t *testing.T) {
	bs, err := LoadBlueprints(DefaultCatalog(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"hmi", "historian", "engineering-workstation", "domain-controller", "laptop", "linux-server", "network-switch", "plc"} {
		bp, ok := bs.Get(role)
		if !ok {
			t.Errorf("blueprint %s missing", role)
			continue
		}
		if bp.Target == (Vector{}) {
			t.Errorf("%s: no SL-T", role)
		}
		for _, p := range bs.Params {
			if _, ok := bp.Params[p.Name]; !ok {
				t.Errorf("%s: parameter %s has no value", role, p.Name)
			}
		}
	}
	hmi, _ := bs.Get("hmi")
	if hmi.Target.String() != "{2 2 2 1 2 1 2}" {
		t.Errorf("hmi SL-T = %v", hmi.Target)
	}
	if !strings.Contains(hmi.Notes["SR 2.5"], "essential functions") {
		t.Errorf("hmi note for SR 2.5 = %q", hmi.Notes["SR 2.5"])
	}
}

func TestUserBlueprints(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("hmi-line3.yaml", "name: hmi-line3\nextends: hmi\nsl_target: {\"FR 4\": 2}\nparameters:\n  min_password_length: 16\n")
	write("plc.yaml", "name: plc\ntitle: Site PLC\nplatforms: [snmp]\nsl_target: {\"FR 1\": 1}\n")
	bs, err := LoadBlueprints(DefaultCatalog(), dir)
	if err != nil {
		t.Fatal(err)
	}
	l3, _ := bs.Get("hmi-line3")
	if l3.Target.String() != "{2 2 2 2 2 1 2}" || l3.Params["min_password_length"] != 16 || l3.Notes["SR 2.5"] == "" {
		t.Errorf("extends: target %v params %v notes %v", l3.Target, l3.Params["min_password_length"], l3.Notes)
	}
	if l3.Params["max_patch_age_days"] != 180 {
		t.Errorf("inherited parameter = %v, want 180 from hmi", l3.Params["max_patch_age_days"])
	}
	plc, _ := bs.Get("plc")
	if plc.Title != "Site PLC" || plc.Target.String() != "{1 0 0 0 0 0 0}" || len(plc.NotApplicable) != 0 {
		t.Errorf("override: %+v", plc)
	}
}

func TestBlueprintErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown field", "name: x\nplatforms: [linux]\nsl_target: {\"FR 1\": 1}\ncolour: red\n", "x.yaml"},
		{"unknown parameter", "name: x\nplatforms: [linux]\nsl_target: {\"FR 1\": 1}\nparameters:\n  min_pasword_length: 3\n", "x.yaml:5: unknown parameter \"min_pasword_length\""},
		{"wrong type", "name: x\nplatforms: [linux]\nsl_target: {\"FR 1\": 1}\nparameters:\n  min_password_length: long\n", "x.yaml:5: min_password_length: want a value of type int"},
		{"bad level", "name: x\nplatforms: [linux]\nsl_target: {\"FR 1\": 5}\n", "x.yaml:3: FR 1: level 5 out of range"},
		{"bad FR", "name: x\nplatforms: [linux]\nsl_target: {\"FR 8\": 1}\n", "unknown foundational requirement \"FR 8\""},
		{"unknown requirement", "name: x\nplatforms: [linux]\nsl_target: {\"FR 1\": 1}\nnot_applicable:\n  - requirement: SR 9.9\n    reason: none\n", "x.yaml:5: unknown requirement \"SR 9.9\""},
		{"N/A without reason", "name: x\nplatforms: [linux]\nsl_target: {\"FR 1\": 1}\nnot_applicable:\n  - requirement: SR 1.6\n", "needs a reason"},
		{"unknown base", "name: x\nextends: nope\n", "extends unknown blueprint \"nope\""},
		{"bad platform", "name: x\nplatforms: [vms]\nsl_target: {\"FR 1\": 1}\n", "unknown platform \"vms\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadBlueprints(DefaultCatalog(), dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
