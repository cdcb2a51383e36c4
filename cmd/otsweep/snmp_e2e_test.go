package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/internal/testbed/snmpd"
)

// Real net-snmp agents: one answering a v2c community, one with only a v3
// authPriv user. Each scan must classify version, community and services.
func TestScanSNMPAgents(t *testing.T) {
	v2 := snmpd.Start(t, snmpd.Spec{ROCommunities: []string{"plant-ro-7731"}, Location: "Cell 3 cabinet A", Contact: "ot-ops@plant.example"})
	v3 := snmpd.Start(t, snmpd.Spec{Users: []snmpd.User{{Name: "otsweep", AuthProto: "SHA", AuthPass: "auth-pass-3141", PrivProto: "AES", PrivPass: "priv-pass-2718"}},
		Location: "Cell 3 cabinet B", Contact: "ot-ops@plant.example"})
	db := filepath.Join(t.TempDir(), "otsweep.db")

	t.Setenv("OTS_COMMUNITY", "plant-ro-7731")
	code, out, errOut := cli(t, "scan", "--target", "snmp://"+v2.Addr(), "--snmp-version", "2c", "--community-env", "OTS_COMMUNITY",
		"--role", "network-switch", "--db", db, "--format", "json")
	if code != ExitVariance {
		t.Fatalf("v2c: exit %d: %s\n%s", code, errOut, out)
	}
	r := parseReport(t, out)
	name := r.Assets[0].Name
	for id, want := range map[string]string{
		"snmp.auth.v3_only": "fail", "snmp.auth.community_not_default": "pass", "snmp.auth.v3_strength": "not-applicable",
		"snmp.inventory.identity": "pass", "snmp.inventory.contact_location": "pass",
		"snmp.auth.default_community_rejected": "not-applicable", // guessing is opt-in
		"snmp.auth.no_write_community":         "error",          // never tested with a SET: unknown, not a pass
	} {
		if got := r.check(name, id); got != want {
			t.Errorf("v2c: %s = %s, want %s", id, got, want)
		}
	}
	if got := r.state(name, "SR 1.2"); got != "not-met" {
		t.Errorf("v2c: SR 1.2 = %s", got)
	}
	if strings.Contains(out, "plant-ro-7731") {
		t.Error("the community appears in the output")
	}

	t.Setenv("OTS_AUTH", "auth-pass-3141")
	t.Setenv("OTS_PRIV", "priv-pass-2718")
	code, out, errOut = cli(t, "scan", "--target", "snmp://"+v3.Addr(), "--snmp-version", "3", "--snmp-user", "otsweep",
		"--auth-password-env", "OTS_AUTH", "--priv-password-env", "OTS_PRIV", "--role", "network-switch", "--db", db, "--format", "json")
	if code != ExitVariance {
		t.Fatalf("v3: exit %d: %s\n%s", code, errOut, out)
	}
	r = parseReport(t, out)
	name = r.Assets[0].Name
	for id, want := range map[string]string{
		"snmp.auth.v3_only": "pass", "snmp.auth.v3_strength": "pass", "snmp.auth.community_not_default": "not-applicable",
		"snmp.auth.no_write_community": "not-applicable",
	} {
		if got := r.check(name, id); got != want {
			t.Errorf("v3: %s = %s, want %s", id, got, want)
		}
	}
	if got := r.state(name, "SR 1.2"); got != "met" {
		t.Errorf("v3: SR 1.2 = %s", got)
	}
	for _, s := range []string{"auth-pass-3141", "priv-pass-2718", "plant-ro-7731"} {
		if strings.Contains(out+errOut, s) {
			t.Errorf("secret %q appears in the output", s)
		}
		assertNotInFiles(t, s, db, db+"-wal")
	}

	// A wrong v3 password is an authentication failure, recorded as such.
	t.Setenv("OTS_AUTH", "wrong-pass-0000")
	code, out, _ = cli(t, "scan", "--target", "snmp://"+v3.Addr(), "--snmp-version", "3", "--snmp-user", "otsweep",
		"--auth-password-env", "OTS_AUTH", "--priv-password-env", "OTS_PRIV", "--db", db, "--format", "json", "--timeout", "20s")
	r = parseReport(t, out)
	if code != ExitScanErrors || r.Assets[0].Status != "auth-failed" {
		t.Fatalf("wrong v3 password: exit %d status %s: %s", code, r.Assets[0].Status, r.Assets[0].Error)
	}
	if strings.Contains(out, "wrong-pass-0000") {
		t.Error("the wrong password appears in the output")
	}
}
