package inventories

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			inv, err := Load(f, testValidator())
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(inv.Assets) == 0 {
				t.Fatal("no assets")
			}
			for _, a := range inv.Assets {
				if a.Pos.File != f || a.Pos.Line <= 0 {
					t.Errorf("asset %s: position %v", a.Name, a.Pos)
				}
			}
		})
	}
}

func TestPlantExample(t *testing.T) {
	inv, err := Load("examples/plant.yaml", testValidator())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := []int{len(inv.Zones), len(inv.Credentials), len(inv.Assets), len(inv.Countermeasures)}; got[0] != 3 || got[1] != 6 || got[2] != 12 || got[3] != 2 {
		t.Fatalf("zones, credentials, assets, countermeasures = %v", got)
	}

	cell, ok := inv.Zone("cell-3")
	if !ok || cell.Target() != [7]int{3, 3, 3, 2, 3, 2, 3} {
		t.Errorf("cell-3 target = %v, %v", cell.Target(), ok)
	}
	if ops, _ := inv.Zone("ops-l3"); ops.Target() != [7]int{2, 2, 2, 2, 2, 2, 2} {
		t.Errorf("ops-l3 target = %v", ops.Target())
	}

	// Merge keys fill the defaults; explicit keys win.
	dc, _ := inv.Asset("dc-01")
	if dc.Platform != probes.Windows || dc.Transport != WinRMS || dc.Port != 5986 || dc.Credential != "win-domain-scan" || dc.Role != "domain-controller" {
		t.Errorf("dc-01 = %+v", dc)
	}
	patch, _ := inv.Asset("patch-01")
	if patch.Transport != SSH || patch.Port != 2222 || patch.Role != "linux-server" {
		t.Errorf("patch-01 = %+v", patch)
	}
	jump, _ := inv.Asset("jump-01")
	if jump.Address != "2001:db8:10::5" || jump.Port != 22 {
		t.Errorf("jump-01 = %+v", jump)
	}
	plc, _ := inv.Asset("plc-cell3-01")
	if !plc.Fragile || plc.Timeout != 2*time.Minute || plc.Port != 161 {
		t.Errorf("plc-cell3-01 = %+v", plc)
	}

	laptop, _ := inv.Credential("win-laptop-scan")
	if laptop.WinRM == nil || laptop.WinRM.Fingerprint != "3fa19c075e2bd488610e7ac3954d12f60ba8e357c9246db18f03e65a71c29d44" {
		t.Errorf("win-laptop-scan = %+v", laptop.WinRM)
	}
	v3, _ := inv.Credential("snmp-v3")
	if v3.SNMP == nil || v3.SNMP.Version != SNMPv3 || v3.SNMP.SecurityLevel != AuthPriv || v3.SNMP.PrivPassword.File != "/etc/otsweep/snmp-priv.pw" {
		t.Errorf("snmp-v3 = %+v", v3.SNMP)
	}
	if c, _ := inv.Credential("linux-scan"); c.Kind() != "ssh" || c.SSH.Passphrase.Env != "OTSWEEP_KEY_PASSPHRASE" || !c.SSH.Sudo {
		t.Errorf("linux-scan = %+v", c.SSH)
	}

	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cm, _ := inv.Countermeasure("CM-2026-014")
	if cm.Expired(now) || cm.Kind != Compensating || !cm.Covers(inv.Assets[5]) || inv.Assets[5].Name != "hmi-01" {
		t.Errorf("CM-2026-014 = %+v", cm)
	}
	old, _ := inv.Countermeasure("CM-2024-007")
	if !old.Expired(now) || old.Kind != Attestation {
		t.Errorf("CM-2024-007 = %+v", old)
	}
	if got := inv.CountermeasuresFor(dc); len(got) != 1 || got[0].ID != "CM-2024-007" {
		t.Errorf("countermeasures for dc-01 = %+v", got)
	}
}

func TestLocalExample(t *testing.T) {
	inv, err := Load("examples/local.yaml", testValidator())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Asset{Name: "localhost", Address: "localhost", Platform: probes.Linux, Transport: Local, Role: "linux-server",
		Tags: []string{"self"}, Pos: Pos{File: "examples/local.yaml", Line: 6}}
	if len(inv.Assets) != 1 || inv.Assets[0].Name != want.Name || inv.Assets[0].Address != want.Address ||
		inv.Assets[0].Transport != want.Transport || inv.Assets[0].Port != 0 || inv.Assets[0].Pos != want.Pos {
		t.Errorf("assets = %+v, want %+v", inv.Assets, want)
	}
}
