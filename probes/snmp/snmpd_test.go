package snmp

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/otsweep/otsweep/internal/testbed/snmpd"
	"github.com/otsweep/otsweep/probes"
)

// Tests against a real net-snmp snmpd on 127.0.0.1.

func realConfig(a *snmpd.Agent) Config {
	return Config{Address: a.Host, Port: a.Port, Timeout: 300 * time.Millisecond, Retries: -1}
}

func probeCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustProbe(t *testing.T, cfg Config) *probes.Observation {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	obs, err := p.Probe(probeCtx(t))
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if !obs.Complete {
		t.Fatalf("observation incomplete")
	}
	return obs
}

func fact(t *testing.T, obs *probes.Observation, name string) any {
	t.Helper()
	f, ok := obs.Facts[name]
	if !ok {
		t.Fatalf("fact %s missing", name)
	}
	if f.Err != "" {
		t.Fatalf("fact %s: error %q (raw %q)", name, f.Err, f.Raw)
	}
	return f.Value
}

func TestRealSNMPv2c(t *testing.T) {
	a := snmpd.Start(t, snmpd.Spec{
		ROCommunities: []string{"otsweep-ro"},
		Location:      "Hall 3, cabinet 12",
		Contact:       "ot-ops@example.invalid",
	})
	// A listener the agent must see in tcpListenerTable.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	cfg := realConfig(a)
	cfg.Version = "2c"
	cfg.Community = probes.NewSecret("otsweep-ro")
	obs := mustProbe(t, cfg)

	want := map[string]any{
		"snmp.version": "2c", "snmp.community_based": true, "snmp.community_is_default": false,
		"sys.location": "Hall 3, cabinet 12", "sys.contact": "ot-ops@example.invalid",
		"sys.contact_location_set": true, "sys.vendor": "net-snmp", "sys.enterprise": 8072,
		"snmp.v3.offered": true, "snmp.v3.engine_enterprise": 8072, "sys.uptime_wrapped": false,
		"snmp.write_access": "unknown (not tested: read-only policy)",
	}
	for name, w := range want {
		if got := fact(t, obs, name); got != w {
			t.Errorf("%s = %v, want %v (raw %q)", name, got, w, obs.Facts[name].Raw)
		}
	}
	// net-snmp's rocommunity serves v1 too.
	if got := fact(t, obs, "snmp.versions"); !slices.Equal(got.([]string), []string{"2c", "1"}) {
		t.Errorf("snmp.versions = %v", got)
	}
	if _, ok := obs.Facts["snmp.default_community_accepted"]; ok {
		t.Errorf("snmp.default_community_accepted present although guessing is disabled")
	}
	if ports := fact(t, obs, "net.tcp_listen").([]int); !slices.Contains(ports, port) {
		t.Errorf("net.tcp_listen = %v, want it to contain the test listener %d", ports, port)
	}
	if udp := fact(t, obs, "net.udp_listen").([]int); !slices.Contains(udp, a.Port) {
		t.Errorf("net.udp_listen = %v, want the agent's own port %d", udp, a.Port)
	}
	if procs := fact(t, obs, "host.processes").([]string); !slices.Contains(procs, "snmpd") {
		t.Errorf("host.processes = %v, want snmpd", procs)
	}
	if got := fact(t, obs, "ip.forwarding"); got == nil {
		t.Errorf("ip.forwarding unset")
	}
	for _, d := range Facts {
		f, ok := obs.Facts[d.Name]
		if !ok && d.Name != "snmp.default_community_accepted" {
			t.Errorf("fact %s not emitted", d.Name)
		}
		if f.Err != "" && d.Name != "sys.model" {
			t.Errorf("fact %s: %s", d.Name, f.Err)
		}
	}
	// net-snmp without ENTITY-MIB: collected, unset.
	if f := obs.Facts["entity.chassis_serial"]; f.Err != "" || f.Value != nil {
		t.Errorf("entity.chassis_serial = %+v, want unset", f)
	}
}

func TestRealSNMPv2cWriteCommunityInferred(t *testing.T) {
	a := snmpd.Start(t, snmpd.Spec{ROCommunities: []string{"otsweep-ro"}, RWCommunities: []string{"plant-rw-9"}})
	cfg := realConfig(a)
	cfg.Version = "2c"
	cfg.Community = probes.NewSecret("otsweep-ro")
	obs := mustProbe(t, cfg)
	if got := fact(t, obs, "snmp.write_access"); got != "yes" {
		t.Errorf("snmp.write_access = %v (raw %q)", got, obs.Facts["snmp.write_access"].Raw)
	}
}

func TestRealSNMPv3(t *testing.T) {
	a := snmpd.Start(t, snmpd.Spec{
		Users:    []snmpd.User{{Name: "otsweep", AuthProto: "SHA", AuthPass: "auth-pass-123", PrivProto: "AES", PrivPass: "priv-pass-456"}},
		Location: "Hall 3", Contact: "ot-ops@example.invalid",
	})
	v3 := func(auth, priv string) Config {
		cfg := realConfig(a)
		cfg.Version = "3"
		cfg.User = "otsweep"
		cfg.SecurityLevel = "authPriv"
		cfg.AuthProtocol = "SHA"
		cfg.AuthPassword = probes.NewSecret(auth)
		cfg.PrivProtocol = "AES"
		cfg.PrivPassword = probes.NewSecret(priv)
		return cfg
	}

	t.Run("authPriv", func(t *testing.T) {
		obs := mustProbe(t, v3("auth-pass-123", "priv-pass-456"))
		want := map[string]any{
			"snmp.version": "3", "snmp.community_based": false, "snmp.v3.security_level": "authPriv",
			"snmp.v3.auth_protocol": "SHA", "snmp.v3.priv_protocol": "AES", "snmp.v3.offered": true,
			"snmp.community_is_default": nil,
		}
		for name, w := range want {
			if got := fact(t, obs, name); got != w {
				t.Errorf("%s = %v, want %v", name, got, w)
			}
		}
		if got := fact(t, obs, "snmp.v3.weaker_levels_accepted").([]string); len(got) != 0 {
			t.Errorf("weaker levels accepted: %v", got)
		}
		if got := fact(t, obs, "snmp.versions").([]string); !slices.Equal(got, []string{"3"}) {
			t.Errorf("snmp.versions = %v", got)
		}
		users, _ := fact(t, obs, "snmp.v3.usm_users").([]any)
		found := false
		for _, u := range users {
			m := u.(map[string]any)
			if m["user"] == "otsweep" && m["auth_protocol"] == "SHA" && m["priv_protocol"] == "AES" {
				found = true
			}
		}
		if !found {
			t.Errorf("snmp.v3.usm_users = %v, want otsweep SHA/AES", users)
		}
	})

	t.Run("v2c refused", func(t *testing.T) {
		cfg := realConfig(a)
		cfg.Version = "2c"
		cfg.Community = probes.NewSecret("public")
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Probe(probeCtx(t))
		if !errors.Is(err, probes.ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
		if !strings.Contains(err.Error(), "no response (wrong community or host down)") {
			t.Errorf("err = %q", err)
		}
		if strings.Contains(err.Error(), "public") {
			t.Errorf("error leaks the community: %q", err)
		}
	})

	for _, tc := range []struct{ name, user, auth, priv string }{
		{"wrong auth password", "otsweep", "wrong-pass-999", "priv-pass-456"},
		{"wrong priv password", "otsweep", "auth-pass-123", "wrong-priv-999"},
		{"unknown user", "nobody", "auth-pass-123", "priv-pass-456"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := v3(tc.auth, tc.priv)
			cfg.User = tc.user
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Probe(probeCtx(t))
			if !errors.Is(err, probes.ErrAuthFailed) {
				t.Fatalf("err = %v, want ErrAuthFailed", err)
			}
			if probes.StatusOf(err) != probes.StatusAuthFailed {
				t.Errorf("status %s", probes.StatusOf(err))
			}
			for _, s := range []string{tc.auth, tc.priv} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error leaks a password: %q", err)
				}
			}
		})
	}
}

func TestRealSNMPv3WeakerLevelAccepted(t *testing.T) {
	// rouser … auth: the agent serves the user without privacy too.
	a := snmpd.Start(t, snmpd.Spec{
		Users: []snmpd.User{{Name: "weak", AuthProto: "MD5", AuthPass: "auth-pass-123", PrivProto: "DES", PrivPass: "priv-pass-456", Level: "auth"}},
	})
	cfg := realConfig(a)
	cfg.Version, cfg.User, cfg.SecurityLevel = "3", "weak", "authPriv"
	cfg.AuthProtocol, cfg.AuthPassword = "MD5", probes.NewSecret("auth-pass-123")
	cfg.PrivProtocol, cfg.PrivPassword = "DES", probes.NewSecret("priv-pass-456")
	obs := mustProbe(t, cfg)
	if got := fact(t, obs, "snmp.v3.weaker_levels_accepted").([]string); !slices.Equal(got, []string{"authNoPriv"}) {
		t.Errorf("weaker_levels_accepted = %v, want [authNoPriv]", got)
	}
	if got := fact(t, obs, "snmp.v3.auth_protocol"); got != "MD5" {
		t.Errorf("auth_protocol = %v", got)
	}
}

// communityProxy relays UDP between the prober and an agent and counts the
// v1/v2c communities it sees.
type communityProxy struct {
	conn   net.PacketConn
	target *net.UDPAddr
	mu     sync.Mutex
	seen   map[string]int
	total  int
}

func newCommunityProxy(t *testing.T, target string) *communityProxy {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ta, err := net.ResolveUDPAddr("udp4", target)
	if err != nil {
		t.Fatal(err)
	}
	p := &communityProxy{conn: c, target: ta, seen: map[string]int{}}
	done := make(chan struct{})
	go p.serve(done)
	t.Cleanup(func() { c.Close(); <-done })
	return p
}

func (p *communityProxy) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *communityProxy) serve(done chan struct{}) {
	defer close(done)
	var wg sync.WaitGroup
	defer wg.Wait()
	buf := make([]byte, 65535)
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	for {
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		msg := append([]byte(nil), buf[:n]...)
		p.mu.Lock()
		p.total++
		if pkt, err := dec.SnmpDecodePacket(msg); err == nil && pkt.Version != gosnmp.Version3 {
			p.seen[pkt.Community]++
		}
		p.mu.Unlock()
		// One upstream socket per request keeps the relay trivial.
		wg.Add(1)
		go func() {
			defer wg.Done()
			up, err := net.DialUDP("udp4", nil, p.target)
			if err != nil {
				return
			}
			defer up.Close()
			if _, err := up.Write(msg); err != nil {
				return
			}
			_ = up.SetReadDeadline(time.Now().Add(time.Second))
			rb := make([]byte, 65535)
			m, err := up.Read(rb)
			if err != nil {
				return
			}
			_, _ = p.conn.WriteTo(rb[:m], from)
		}()
	}
}

func (p *communityProxy) count(community string) (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[community], p.total
}

func TestRealDefaultCommunityGuessing(t *testing.T) {
	a := snmpd.Start(t, snmpd.Spec{ROCommunities: []string{"otsweep-ro", "public"}})
	for _, guess := range []bool{false, true} {
		t.Run("guess="+strconv.FormatBool(guess), func(t *testing.T) {
			proxy := newCommunityProxy(t, a.Addr())
			cfg := realConfig(a)
			cfg.Port = proxy.port()
			cfg.Version = "2c"
			cfg.Community = probes.NewSecret("otsweep-ro")
			cfg.GuessDefaultCommunities = guess
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			planPublic := false
			for _, r := range p.Plan() {
				if strings.Contains(r.Request+r.Body, `"public"`) {
					planPublic = true
				}
			}
			if planPublic != guess {
				t.Errorf("plan mentions public: %v, want %v", planPublic, guess)
			}
			obs, err := p.Probe(probeCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			sentPublic, total := proxy.count("public")
			if total == 0 {
				t.Fatal("proxy saw no traffic")
			}
			f, present := obs.Facts["snmp.default_community_accepted"]
			if !guess {
				if sentPublic != 0 {
					t.Errorf("%d requests with community public sent although guessing is disabled", sentPublic)
				}
				if present {
					t.Errorf("snmp.default_community_accepted present: %+v", f)
				}
				return
			}
			if sentPublic == 0 {
				t.Errorf("no request with community public sent")
			}
			if f.Err != "" || !slices.Equal(f.Value.([]string), []string{"public"}) {
				t.Errorf("snmp.default_community_accepted = %+v, want [public]", f)
			}
		})
	}
}
