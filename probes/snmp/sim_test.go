package snmp

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/snmp/snmpsim"
)

// Tests against recorded walks served by the in-process simulator.

func startSim(t *testing.T, fixture string, opts snmpsim.Options) *snmpsim.Agent {
	t.Helper()
	rec, err := snmpsim.Embedded(fixture)
	if err != nil {
		t.Fatal(err)
	}
	a, err := snmpsim.Start("127.0.0.1:0", rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func simConfig(a *snmpsim.Agent, version, community string) Config {
	return Config{
		Address: "127.0.0.1", Port: a.Port(), Version: version, Community: probes.NewSecret(community),
		Timeout: 150 * time.Millisecond, Retries: -1,
	}
}

func runProbe(t *testing.T, cfg Config, timeout time.Duration) (*probes.Observation, error) {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Probe(ctx)
}

// unset marks a fact expected collected with a nil value.
type unset struct{}

// failed marks a fact expected to carry an error containing the text.
type failed string

func checkFacts(t *testing.T, obs *probes.Observation, want map[string]any) {
	t.Helper()
	for name, w := range want {
		f, ok := obs.Facts[name]
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		switch w := w.(type) {
		case unset:
			if f.Err != "" || f.Value != nil {
				t.Errorf("%s = %#v (err %q), want unset", name, f.Value, f.Err)
			}
		case failed:
			if !strings.Contains(f.Err, string(w)) {
				t.Errorf("%s: err %q (value %#v), want an error containing %q", name, f.Err, f.Value, w)
			}
		default:
			if f.Err != "" {
				t.Errorf("%s: err %q, want %#v", name, f.Err, w)
			} else if !reflect.DeepEqual(f.Value, w) {
				t.Errorf("%s = %#v, want %#v", name, f.Value, w)
			}
		}
	}
}

func TestRecordedDevices(t *testing.T) {
	tests := []struct {
		name      string
		fixture   string
		version   string
		community string
		guess     bool
		want      map[string]any
	}{
		{
			name: "Cisco IOS 2960 up 600 days", fixture: "cisco-ios-c2960.json", version: "2c", community: "plant-ro",
			want: map[string]any{
				"snmp.version": "2c", "snmp.versions": []string{"2c", "1"}, "snmp.community_based": true,
				"snmp.community_is_default": false, "snmp.v3.offered": false,
				"snmp.v3.engine_id": "8000000903001e4a123480", "snmp.v3.engine_enterprise": 9, "snmp.v3.engine_format": "mac",
				"snmp.v3.engine_boots": 12, "snmp.v3.security_level": unset{},
				"sys.vendor": "Cisco", "sys.enterprise": 9, "sys.model": "C2960", "sys.firmware": "15.0(2)SE11",
				"sys.object_id": ".1.3.6.1.4.1.9.1.716", "sys.name": "sw-cell3-01", "sys.services": 2,
				"sys.uptime_wrapped": true, "sys.uptime_seconds": 600 * 86400, "host.uptime_seconds": unset{},
				"sys.contact_location_set": true, "sys.or_descr": unset{},
				"entity.chassis_model": "WS-C2960-24TT-L", "entity.chassis_serial": "FOC1234X0AB",
				"entity.chassis_software": "15.0(2)SE11", "entity.chassis_firmware": "12.2(53r)SEY3",
				"iface.count":        28,
				"iface.unused_ports": []string{"Fa0/11", "Fa0/12", "Fa0/13", "Fa0/14", "Fa0/15", "Fa0/16", "Fa0/17", "Fa0/18", "Fa0/19", "Fa0/20", "Gi0/2"},
				"ip.forwarding":      false, "ip.v6_forwarding": unset{}, "sys.services_layer3": false,
				"net.tcp_listen": []int{22, 23, 80}, "net.udp_listen": []int{123, 161},
				"host.sw_installed": unset{}, "host.processes": unset{}, "snmp.v3.usm_users": unset{},
				"snmp.auth_traps_enabled": false, "snmp.bad_community_names": 14, "snmp.bad_community_uses": 0,
				"snmp.write_access": "unknown (not tested: read-only policy)",
			},
		},
		{
			name: "Siemens SCALANCE XC208 factory defaults", fixture: "siemens-scalance-xc208.json", version: "2c", community: "public", guess: true,
			want: map[string]any{
				"snmp.community_is_default": true, "snmp.default_community_accepted": []string{"public", "private"},
				"snmp.write_access": "probable",
				"sys.vendor":        "Siemens", "sys.model": "SCALANCE XC208 (6GK5 208-0BA00-2AC2)", "sys.firmware": "V04.01.00",
				"snmp.v3.engine_enterprise": 4329,
				"sys.contact":               "", "sys.location": "", "sys.contact_location_set": false,
				"iface.unused_ports": []string{"P0.4", "P0.5", "P0.6", "P0.7", "P0.8"},
				"net.tcp_listen":     []int{22, 23, 80, 443}, "net.udp_listen": []int{161, 319, 320},
				"entity.chassis_serial": "VPK1234567", "entity.chassis_model": "6GK5 208-0BA00-2AC2",
				"sys.uptime_wrapped": false, "sys.uptime_seconds": 882113,
			},
		},
		{
			name: "Siemens S7-1500 SNMPv1 sparse MIB-II", fixture: "siemens-s7-1500.json", version: "1", community: "public",
			want: map[string]any{
				"snmp.version": "1", "snmp.versions": []string{"1"}, "snmp.community_based": true, "snmp.community_is_default": true,
				"sys.vendor": "Siemens", "sys.model": "CPU 1511-1 PN (6ES7 511-1AK02-0AB0)", "sys.firmware": "V2.9.4",
				"sys.services": 78, "sys.services_layer3": true, "ip.forwarding": false, "ip.v6_forwarding": unset{},
				"sys.uptime_wrapped": unset{}, "sys.uptime_seconds": 4127331, "host.uptime_seconds": unset{},
				"snmp.v3.engine_id": unset{}, "snmp.v3.engine_boots": unset{},
				"iface.unused_ports": []string{"Siemens, SIMATIC S7, Ethernet Port, X1 P2 R"},
				"net.tcp_listen":     unset{}, "net.udp_listen": unset{}, "entity.physical": unset{}, "entity.chassis_serial": unset{},
				"host.processes": unset{}, "snmp.auth_traps_enabled": true, "snmp.bad_community_names": 3,
				"snmp.v3.unknown_user_names": unset{},
			},
		},
		{
			name: "Hirschmann RSP20 with VACM write view", fixture: "hirschmann-rsp20.json", version: "2c", community: "plant-ro",
			want: map[string]any{
				"snmp.write_access": "yes", "sys.vendor": "Hirschmann", "sys.model": "RSP20 Rail Switch Power",
				"sys.firmware": "HiOS-2A-08.5.02", "entity.chassis_serial": "942034999000012345",
				"iface.unused_ports": []string{"1/3", "1/4", "1/6", "1/7", "1/8", "1/9", "1/10"},
				"net.tcp_listen":     []int{22, 80, 443}, "net.udp_listen": []int{161, 162}, "ip.v6_forwarding": false,
				"sys.contact_location_set": true, "snmp.v3.engine_enterprise": 248,
			},
		},
		{
			name: "Moxa EDS-408A model-only sysDescr", fixture: "moxa-eds-408a.json", version: "2c", community: "public",
			want: map[string]any{
				"sys.vendor": "Moxa", "sys.model": "EDS-408A", "sys.firmware": failed(probes.ErrTextUnparsed),
				"sys.services": unset{}, "sys.services_layer3": unset{},
				"net.tcp_listen": []int{23, 80, 4000}, "net.udp_listen": []int{161, 4800},
				"iface.unused_ports":        []string{"100TX,RJ45.", "100TX,RJ45.", "100TX,RJ45.", "100TX,RJ45."},
				"snmp.community_is_default": true, "sys.contact_location_set": false,
			},
		},
		{
			name: "net-snmp on Debian 12 (recorded)", fixture: "netsnmp-debian12.json", version: "2c", community: "lab-ro",
			want: map[string]any{
				"sys.vendor": "net-snmp", "sys.model": "Linux", "sys.firmware": "6.18.44-fc-v669", "sys.enterprise": 8072,
				"sys.contact": "ot-ops@example.invalid", "sys.location": "Lab rack 1", "sys.contact_location_set": true,
				"net.tcp_listen": []int{2024}, "snmp.write_access": "unknown (not tested: read-only policy)",
				"snmp.v3.engine_enterprise": 8072, "snmp.v3.engine_format": "enterprise",
				"iface.count": 4, "iface.unused_ports": []string{}, "ip.forwarding": false, "ip.v6_forwarding": false,
				"entity.physical": unset{},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := startSim(t, tc.fixture, snmpsim.Options{})
			cfg := simConfig(a, tc.version, tc.community)
			cfg.GuessDefaultCommunities = tc.guess
			obs, err := runProbe(t, cfg, 10*time.Second)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if !obs.Complete || obs.Platform != probes.SNMP || obs.Schema != Schema {
				t.Errorf("observation header: complete %v platform %s schema %s", obs.Complete, obs.Platform, obs.Schema)
			}
			checkFacts(t, obs, tc.want)
			checkDocumented(t, obs)
			st := a.Stats()
			for pdu := range st.ByPDU {
				if pdu != "GetRequest" && pdu != "GetNextRequest" && pdu != "GetBulkRequest" {
					t.Errorf("agent received a %s", pdu)
				}
			}
			if tc.version == "1" && st.ByPDU["GetBulkRequest"] > 0 {
				t.Errorf("%d GETBULK sent to an SNMPv1 agent", st.ByPDU["GetBulkRequest"])
			}
		})
	}
}

// TestRecordedSNMPv1Split checks the v1 strategy: the system group in one
// GET, every other scalar alone, walks by GETNEXT.
func TestRecordedSNMPv1Split(t *testing.T) {
	a := startSim(t, "siemens-s7-1500.json", snmpsim.Options{})
	obs, err := runProbe(t, simConfig(a, "1", "public"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st := a.Stats()
	// 1 system GET + 11 single GETs + 1 v2c cross-version GET (unanswered).
	if got, want := st.ByPDU["GetRequest"], 1+len(otherScalars())+1; got != want {
		t.Errorf("GET requests = %d, want %d", got, want)
	}
	if st.ByPDU["GetNextRequest"] == 0 {
		t.Errorf("no GETNEXT walks")
	}
	checkFacts(t, obs, map[string]any{"sys.descr": "Siemens, SIMATIC S7, CPU 1511-1 PN, 6ES7 511-1AK02-0AB0 , HW: 2, FW: V2.9.4, S C-J4UD12345678"})
}

func TestMisbehavingAgents(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		opts    snmpsim.Options
		cfg     func(*Config)
		timeout time.Duration
		wantErr error
		want    map[string]any
		check   func(t *testing.T, obs *probes.Observation, a *snmpsim.Agent, took time.Duration)
	}{
		{
			name: "wrong types", fixture: "cisco-ios-c2960.json", opts: snmpsim.Options{WrongTypes: true},
			want: map[string]any{
				"sys.descr":          failed(probes.ErrTextUnparsed),
				"sys.object_id":      failed(probes.ErrTextUnparsed),
				"sys.uptime_ticks":   failed(probes.ErrTextUnparsed),
				"ip.forwarding":      failed(probes.ErrTextUnparsed),
				"sys.vendor":         failed(probes.ErrTextUnparsed),
				"iface.unused_ports": []string{},
				"net.tcp_listen":     failed(probes.ErrTextUnparsed), // tcpConnState is not an INTEGER
			},
		},
		{
			name: "missing tables", fixture: "netsnmp-debian12.json",
			opts: snmpsim.Options{Drop: []string{".1.3.6.1.2.1.25", ".1.3.6.1.2.1.6.20", ".1.3.6.1.2.1.6.13", ".1.3.6.1.2.1.31"}},
			want: map[string]any{
				"host.processes": unset{}, "host.sw_installed": unset{}, "host.uptime_seconds": unset{},
				"net.tcp_listen": unset{}, "net.tcp_listen_detail": unset{},
				"iface.unused_ports": []string{}, "iface.count": 4, // ifTable without ifXTable: names from ifDescr
			},
		},
		{
			name: "v1-style noSuchName and broken GETBULK on v2c", fixture: "cisco-ios-c2960.json", opts: snmpsim.Options{V1ErrorsOnV2c: true},
			want: map[string]any{
				"sys.descr":        "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11, RELEASE SOFTWARE (fc3)\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2017 by Cisco Systems, Inc.\r\nCompiled Sat 19-Aug-17 09:34 by prod_rel_team",
				"ip.v6_forwarding": unset{}, "host.uptime_seconds": unset{}, "ip.forwarding": false,
				"net.tcp_listen": []int{22, 23, 80}, "iface.count": 28,
			},
		},
		{
			name: "SNMPv1 agent silent on missing objects", fixture: "siemens-s7-1500.json", opts: snmpsim.Options{SilentOnMissing: true},
			cfg: func(c *Config) { c.Version = "1" },
			want: map[string]any{
				"ip.v6_forwarding": failed("no response"), "host.uptime_seconds": failed("no response"),
				"ip.forwarding": false, "sys.firmware": "V2.9.4", "iface.unused_ports": []string{"Siemens, SIMATIC S7, Ethernet Port, X1 P2 R"},
			},
		},
		{
			name: "looping walk", fixture: "netsnmp-debian12.json", opts: snmpsim.Options{LoopAt: oidHrSWRunName},
			want: map[string]any{
				"host.processes": failed("non-increasing OID"),
				"net.tcp_listen": []int{2024},
			},
		},
		{
			name: "huge table", fixture: "netsnmp-debian12.json",
			opts: snmpsim.Options{Drop: []string{oidHrSWRunName}, HugeTable: oidHrSWRunName, HugeRows: 100_000},
			want: map[string]any{"host.processes": failed("more than 5000 rows"), "sys.vendor": "net-snmp"},
			check: func(t *testing.T, obs *probes.Observation, a *snmpsim.Agent, took time.Duration) {
				if n := a.Stats().ByPDU["GetBulkRequest"]; n > 5000/DefaultMaxRepetitions+200 {
					t.Errorf("%d GETBULK requests: the row cap did not bound the walk", n)
				}
				if took > 8*time.Second {
					t.Errorf("probe took %s", took)
				}
			},
		},
		{
			name: "huge table against the scan deadline", fixture: "netsnmp-debian12.json",
			opts:    snmpsim.Options{Drop: []string{oidHrSWRunName}, HugeTable: oidHrSWRunName, HugeRows: 100_000},
			cfg:     func(c *Config) { c.MaxRows = 1_000_000; c.MaxRepetitions = 1; c.MinInterval = time.Millisecond },
			timeout: 1500 * time.Millisecond, wantErr: probes.ErrTimeout,
			want: map[string]any{"host.processes": failed("timeout"), "snmp.v3.usm_users": failed("not collected")},
			check: func(t *testing.T, obs *probes.Observation, _ *snmpsim.Agent, took time.Duration) {
				if obs.Complete {
					t.Errorf("observation marked complete")
				}
				if took > 3*time.Second {
					t.Errorf("probe took %s with a 1.5 s deadline", took)
				}
			},
		},
		{
			name: "silent agent", fixture: "cisco-ios-c2960.json", opts: snmpsim.Options{Silent: true},
			wantErr: probes.ErrUnreachable,
			check: func(t *testing.T, obs *probes.Observation, _ *snmpsim.Agent, took time.Duration) {
				if obs != nil {
					t.Errorf("observation returned for an unreachable agent")
				}
				if took > 2*time.Second {
					t.Errorf("took %s", took)
				}
			},
		},
		{
			name: "wrong community", fixture: "cisco-ios-c2960.json", cfg: func(c *Config) { c.Community = probes.NewSecret("s3cret-guess") },
			wantErr: probes.ErrUnreachable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := startSim(t, tc.fixture, tc.opts)
			rec, _ := snmpsim.Embedded(tc.fixture)
			cfg := simConfig(a, "2c", rec.Communities[0])
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			start := time.Now()
			obs, err := runProbe(t, cfg, timeout)
			took := time.Since(start)
			if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), cfg.Community.Reveal()) {
				t.Errorf("error leaks the community: %v", err)
			}
			if tc.wantErr == probes.ErrUnreachable && !strings.Contains(err.Error(), "no response (wrong community or host down)") {
				t.Errorf("err = %q", err)
			}
			if obs != nil {
				checkFacts(t, obs, tc.want)
				checkDocumented(t, obs)
			}
			if tc.check != nil {
				tc.check(t, obs, a, took)
			}
		})
	}
}

func TestMinIntervalBetweenRequests(t *testing.T) {
	a := startSim(t, "siemens-s7-1500.json", snmpsim.Options{Drop: []string{".1.3.6.1.2.1.2"}})
	cfg := simConfig(a, "1", "public")
	cfg.MinInterval = 30 * time.Millisecond
	cfg.Timeout, cfg.Retries = time.Second, 1 // an answering agent: no need to hurry a loaded machine
	if _, err := runProbe(t, cfg, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	st := a.Stats()
	if st.Requests < 10 {
		t.Fatalf("only %d requests", st.Requests)
	}
	// Delivery jitter may shorten a gap seen by the agent; unpaced requests
	// arrive well under a millisecond apart.
	if st.MinGap < 15*time.Millisecond {
		t.Errorf("shortest gap between requests %s, want >= 30ms", st.MinGap)
	}
}

func TestFragileDefaults(t *testing.T) {
	p, err := New(Config{Address: "10.0.0.1", Version: "1", Community: probes.NewSecret("x"), Fragile: true, MaxRepetitions: 40})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Config()
	if c.MaxRepetitions != FragileMaxRepetitions || c.MinInterval != FragileMinInterval {
		t.Errorf("fragile config: max-repetitions %d, min interval %s", c.MaxRepetitions, c.MinInterval)
	}
}
