package snmpsim_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/snmp"
	"github.com/otsweep/otsweep/probes/snmp/snmpsim"
)

// netsnmpEngineID is the snmpEngineID recorded from a real net-snmp 5.9.3.
const netsnmpEngineID = "80001f8880433b8207cad60a6b00000000"

func startAgent(t *testing.T, opts snmpsim.Options) *snmpsim.Agent {
	t.Helper()
	rec, err := snmpsim.Embedded("netsnmp-debian12")
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

// exchange sends one datagram and returns the answer, or nil after wait.
func exchange(t *testing.T, a *snmpsim.Agent, msg []byte, wait time.Duration) []byte {
	t.Helper()
	c, err := net.DialUDP("udp", nil, a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func v3Packet(t *testing.T, flags gosnmp.SnmpV3MsgFlags, user string) []byte {
	t.Helper()
	pkt := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: flags, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: user}, PDUType: gosnmp.GetRequest,
		MsgID: 4711, RequestID: 815, MsgMaxSize: 65507}
	b, err := pkt.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnswerDiscovery(t *testing.T) {
	cases := []struct {
		name   string
		opts   snmpsim.Options
		msg    func(t *testing.T) []byte
		answer bool
	}{
		{"discovery answered", snmpsim.Options{AnswerDiscovery: true}, func(t *testing.T) []byte { return v3Packet(t, gosnmp.NoAuthNoPriv|gosnmp.Reportable, "") }, true},
		{"option off", snmpsim.Options{}, func(t *testing.T) []byte { return v3Packet(t, gosnmp.NoAuthNoPriv|gosnmp.Reportable, "") }, false},
		{"silent agent", snmpsim.Options{AnswerDiscovery: true, Silent: true}, func(t *testing.T) []byte { return v3Packet(t, gosnmp.NoAuthNoPriv|gosnmp.Reportable, "") }, false},
		{"not reportable", snmpsim.Options{AnswerDiscovery: true}, func(t *testing.T) []byte { return v3Packet(t, gosnmp.NoAuthNoPriv, "") }, false},
		{"a user request", snmpsim.Options{AnswerDiscovery: true}, func(t *testing.T) []byte { return v3Packet(t, gosnmp.NoAuthNoPriv|gosnmp.Reportable, "admin") }, false},
		{"garbage", snmpsim.Options{AnswerDiscovery: true}, func(*testing.T) []byte { return []byte{0x30, 0x03, 0x02, 0x01} }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := startAgent(t, tc.opts)
			wait := 2 * time.Second
			if !tc.answer {
				wait = 200 * time.Millisecond
			}
			got := exchange(t, a, tc.msg(t), wait)
			if (got != nil) != tc.answer {
				t.Fatalf("answered = %v, want %v", got != nil, tc.answer)
			}
			if got == nil {
				return
			}
			dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
				MsgFlags: gosnmp.NoAuthNoPriv, SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "-"}}
			pkt, err := dec.SnmpDecodePacket(got)
			if err != nil {
				t.Fatal(err)
			}
			usp := pkt.SecurityParameters.(*gosnmp.UsmSecurityParameters)
			if pkt.PDUType != gosnmp.Report || pkt.MsgID != 4711 || pkt.RequestID != 815 ||
				gosnmpHex(usp.AuthoritativeEngineID) != netsnmpEngineID || usp.AuthoritativeEngineBoots != 1 {
				t.Errorf("report %v msg %d req %d engine %s boots %d", pkt.PDUType, pkt.MsgID, pkt.RequestID,
					gosnmpHex(usp.AuthoritativeEngineID), usp.AuthoritativeEngineBoots)
			}
			if len(pkt.Variables) != 1 || pkt.Variables[0].Name != ".1.3.6.1.6.3.15.1.1.4.0" {
				t.Errorf("varbinds %+v, want usmStatsUnknownEngineIDs", pkt.Variables)
			}
		})
	}
}

func gosnmpHex(s string) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(out)
}

// TestProberSeesEngine: the real prober reads the engine from the answer
// and does not wait out its discovery timeout.
func TestProberSeesEngine(t *testing.T) {
	a := startAgent(t, snmpsim.Options{AnswerDiscovery: true})
	p, err := snmp.New(snmp.Config{Address: "127.0.0.1", Port: a.Port(), Version: snmp.Version2c,
		Community: probes.NewSecret("lab-ro"), Timeout: 2 * time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	obs, err := p.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("probe took %v: discovery was not answered", took)
	}
	if f := obs.Facts["snmp.v3.engine_id"]; f.Err != "" || f.Value != netsnmpEngineID {
		t.Errorf("snmp.v3.engine_id = %+v, want %s", f, netsnmpEngineID)
	}
	if got := a.Stats().ByPDU["Discovery"]; got != 1 {
		t.Errorf("discoveries answered: %d, want 1", got)
	}
}
