package snmpsim

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Options make the simulated agent misbehave like real ones do.
type Options struct {
	// Silent drops every request (host down, or wrong community on a real
	// agent: both look the same).
	Silent bool
	// WrongTypes serves integers (INTEGER, Counter, Gauge, TimeTicks) as
	// OCTET STRINGs of their decimal text, OCTET STRINGs as INTEGER 0 and
	// OIDs as OCTET STRINGs.
	WrongTypes bool
	// Drop removes these subtrees (tables the device does not implement).
	Drop []string
	// V1ErrorsOnV2c makes v2c GET/GETNEXT fail the whole PDU with
	// noSuchName for a missing object, as SNMPv1 agents (and some broken
	// v2c ones) do. GETBULK is then answered with genErr.
	V1ErrorsOnV2c bool
	// SilentOnMissing drops a GET naming an object the agent lacks instead
	// of answering noSuchObject/noSuchName (seen on small embedded agents).
	SilentOnMissing bool
	// LoopAt is a subtree in which GETNEXT/GETBULK always answer its first
	// object again: a walk that never advances.
	LoopAt string
	// HugeTable adds HugeRows synthetic rows (OCTET STRING "row-N") below
	// this column OID, index 1..HugeRows.
	HugeTable string
	HugeRows  int
	// AnswerDiscovery answers an SNMPv3 engine discovery probe (RFC 3414
	// section 4: no user, no engine ID, reportable) with the
	// usmStatsUnknownEngineIDs Report a USM-enabled agent sends, carrying
	// the recording's snmpEngineID, snmpEngineBoots and snmpEngineTime. Real
	// net-snmp agents answer it even with no v3 user configured. Without a
	// recorded snmpEngineID, or without this option, v3 messages are
	// dropped.
	AnswerDiscovery bool
}

// Stats counts what the agent received.
type Stats struct {
	Requests    int            // datagrams received
	ByPDU       map[string]int // by PDU type name (GetRequest, GetNextRequest, GetBulkRequest, …)
	ByCommunity map[string]int // v1/v2c community strings seen
	// MinGap is the shortest time between two v1/v2c requests received.
	MinGap time.Duration
}

type entry struct {
	oid []uint32
	pdu gosnmp.SnmpPDU
}

// Agent is a running simulated agent. Its methods are safe for concurrent use.
type Agent struct {
	conn     net.PacketConn
	rec      *Recording
	opts     Options
	entries  []entry // sorted by OID
	loopRoot []uint32
	done     chan struct{}
	started  time.Time

	mu          sync.Mutex
	stats       Stats
	last        time.Time
	discoveries uint32
}

// maxResponseVarbinds bounds a GETBULK response (a real agent is bounded by
// its message size).
const maxResponseVarbinds = 500

// Start listens on addr ("127.0.0.1:0" for a free port) and serves rec until
// Close.
func Start(addr string, rec *Recording, opts Options) (*Agent, error) {
	if rec == nil {
		return nil, fmt.Errorf("%w: nil recording", ErrRecording)
	}
	a := &Agent{rec: rec, opts: opts, done: make(chan struct{}), started: time.Now(),
		stats: Stats{ByPDU: map[string]int{}, ByCommunity: map[string]int{}}}
	var drops [][]uint32
	for _, d := range opts.Drop {
		o, err := parseOID(d)
		if err != nil {
			return nil, fmt.Errorf("drop %q: %w", d, err)
		}
		drops = append(drops, o)
	}
	for _, v := range rec.Varbinds {
		p, err := v.PDU()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRecording, err)
		}
		o, _ := parseOID(p.Name)
		if slices.ContainsFunc(drops, func(d []uint32) bool { return hasPrefix(o, d) }) {
			continue
		}
		a.entries = append(a.entries, entry{oid: o, pdu: p})
	}
	if opts.HugeTable != "" {
		root, err := parseOID(opts.HugeTable)
		if err != nil {
			return nil, fmt.Errorf("huge table %q: %w", opts.HugeTable, err)
		}
		for i := 1; i <= opts.HugeRows; i++ {
			o := append(slices.Clone(root), uint32(i))
			a.entries = append(a.entries, entry{oid: o, pdu: gosnmp.SnmpPDU{Name: oidString(o), Type: gosnmp.OctetString, Value: []byte("row-" + strconv.Itoa(i))}})
		}
	}
	sort.Slice(a.entries, func(i, j int) bool { return compareOIDs(a.entries[i].oid, a.entries[j].oid) < 0 })
	if opts.LoopAt != "" {
		o, err := parseOID(opts.LoopAt)
		if err != nil {
			return nil, fmt.Errorf("loop %q: %w", opts.LoopAt, err)
		}
		a.loopRoot = o
	}
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	a.conn = c
	go a.serve()
	return a, nil
}

// Addr is the agent's UDP address.
func (a *Agent) Addr() *net.UDPAddr { return a.conn.LocalAddr().(*net.UDPAddr) }

// Port is the agent's UDP port.
func (a *Agent) Port() int { return a.Addr().Port }

// Close stops the agent and waits for its goroutine.
func (a *Agent) Close() error {
	err := a.conn.Close()
	<-a.done
	return err
}

// Stats returns a copy of the counters.
func (a *Agent) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.ByPDU = maps(a.stats.ByPDU)
	s.ByCommunity = maps(a.stats.ByCommunity)
	return s
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (a *Agent) serve() {
	defer close(a.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := a.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if resp := a.handle(buf[:n]); resp != nil {
			_, _ = a.conn.WriteTo(resp, from)
		}
	}
}

// handle answers one datagram; nil means no answer.
func (a *Agent) handle(msg []byte) []byte {
	a.mu.Lock()
	a.stats.Requests++
	a.mu.Unlock()
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	req, err := dec.SnmpDecodePacket(msg)
	if err != nil || req.Version == gosnmp.Version3 {
		// Not v1/v2c, or garbage: a real agent drops it, unless it is a
		// v3 discovery probe and the agent answers those.
		if a.opts.AnswerDiscovery && !a.opts.Silent {
			return a.discoveryReport(msg)
		}
		return nil
	}
	a.mu.Lock()
	a.stats.ByPDU[req.PDUType.String()]++
	a.stats.ByCommunity[req.Community]++
	now := time.Now()
	if !a.last.IsZero() {
		if gap := now.Sub(a.last); a.stats.MinGap == 0 || gap < a.stats.MinGap {
			a.stats.MinGap = gap
		}
	}
	a.last = now
	a.mu.Unlock()
	version := map[gosnmp.SnmpVersion]string{gosnmp.Version1: "1", gosnmp.Version2c: "2c"}[req.Version]
	if a.opts.Silent || !slices.Contains(a.rec.Versions, version) || !slices.Contains(a.rec.Communities, req.Community) {
		return nil
	}
	v1 := req.Version == gosnmp.Version1 || a.opts.V1ErrorsOnV2c
	resp := &gosnmp.SnmpPacket{Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse, RequestID: req.RequestID}
	fail := func(status gosnmp.SNMPError, index int) {
		resp.Error, resp.ErrorIndex = status, uint8(min(index, 255))
		resp.Variables = nullVarbinds(req.Variables)
	}
	switch req.PDUType {
	case gosnmp.GetRequest:
		for i, v := range req.Variables {
			e, ok := a.exact(v.Name)
			if !ok {
				if a.opts.SilentOnMissing {
					return nil
				}
				if v1 {
					fail(gosnmp.NoSuchName, i+1)
					break
				}
				resp.Variables = append(resp.Variables, gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.NoSuchObject})
				continue
			}
			resp.Variables = append(resp.Variables, a.serveValue(e))
		}
	case gosnmp.GetNextRequest:
		for i, v := range req.Variables {
			e, ok := a.next(v.Name)
			if !ok {
				if v1 {
					fail(gosnmp.NoSuchName, i+1)
					break
				}
				resp.Variables = append(resp.Variables, gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.EndOfMibView})
				continue
			}
			resp.Variables = append(resp.Variables, a.serveValue(e))
		}
	case gosnmp.GetBulkRequest:
		if req.Version == gosnmp.Version1 {
			return nil
		}
		if a.opts.V1ErrorsOnV2c {
			fail(gosnmp.GenErr, 1)
			break
		}
		resp.Variables = a.bulk(req)
	default:
		return nil // write and notification PDUs are never answered
	}
	out, err := resp.MarshalMsg()
	if err != nil {
		return nil
	}
	return out
}

// Engine objects of SNMP-FRAMEWORK-MIB and the USM counter a discovery
// Report carries.
const (
	oidEngineID          = ".1.3.6.1.6.3.10.2.1.1.0"
	oidEngineBoots       = ".1.3.6.1.6.3.10.2.1.2.0"
	oidEngineTime        = ".1.3.6.1.6.3.10.2.1.3.0"
	oidUnknownEngineIDs  = ".1.3.6.1.6.3.15.1.1.4.0"
	maxDiscoveryResponse = 65507
)

// discoveryReport answers an SNMPv3 discovery probe; nil for anything else
// (authenticated v3 requests are never answered: the agent has no users).
func (a *Agent) discoveryReport(msg []byte) []byte {
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
		MsgFlags: gosnmp.NoAuthNoPriv, SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "-"}}
	req, err := dec.SnmpDecodePacket(msg)
	if err != nil || req.Version != gosnmp.Version3 || req.PDUType != gosnmp.GetRequest ||
		req.MsgFlags&gosnmp.Reportable == 0 || req.MsgFlags&gosnmp.AuthNoPriv != 0 {
		return nil
	}
	usp, ok := req.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if !ok || usp.AuthoritativeEngineID != "" || usp.UserName != "" {
		return nil
	}
	id, ok := a.exact(oidEngineID)
	if !ok {
		return nil
	}
	engineID, ok := id.pdu.Value.([]byte)
	if !ok || len(engineID) < 5 || len(engineID) > 32 {
		return nil
	}
	boots, engineTime := uint32(1), uint32(0)
	if e, ok := a.exact(oidEngineBoots); ok {
		boots = uint32(gosnmp.ToBigInt(e.pdu.Value).Uint64())
	}
	if e, ok := a.exact(oidEngineTime); ok {
		engineTime = uint32(gosnmp.ToBigInt(e.pdu.Value).Uint64())
	}
	engineTime += uint32(time.Since(a.started) / time.Second)
	a.mu.Lock()
	a.stats.ByPDU["Discovery"]++
	a.discoveries++
	count := a.discoveries
	a.mu.Unlock()
	resp := &gosnmp.SnmpPacket{
		Version:       gosnmp.Version3,
		MsgFlags:      gosnmp.NoAuthNoPriv,
		SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{
			AuthoritativeEngineID:    string(engineID),
			AuthoritativeEngineBoots: boots,
			AuthoritativeEngineTime:  engineTime,
		},
		ContextEngineID: string(engineID),
		PDUType:         gosnmp.Report,
		MsgID:           req.MsgID,
		RequestID:       req.RequestID,
		MsgMaxSize:      maxDiscoveryResponse,
		Variables:       []gosnmp.SnmpPDU{{Name: oidUnknownEngineIDs, Type: gosnmp.Counter32, Value: count}},
	}
	out, err := resp.MarshalMsg()
	if err != nil {
		return nil
	}
	return out
}

func nullVarbinds(in []gosnmp.SnmpPDU) []gosnmp.SnmpPDU {
	out := make([]gosnmp.SnmpPDU, len(in))
	for i, v := range in {
		out[i] = gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.Null}
	}
	return out
}

func (a *Agent) bulk(req *gosnmp.SnmpPacket) []gosnmp.SnmpPDU {
	var out []gosnmp.SnmpPDU
	nonRep := min(int(req.NonRepeaters), len(req.Variables))
	for _, v := range req.Variables[:nonRep] {
		if e, ok := a.next(v.Name); ok {
			out = append(out, a.serveValue(e))
		} else {
			out = append(out, gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.EndOfMibView})
		}
	}
	cur := make([]string, 0, len(req.Variables)-nonRep)
	for _, v := range req.Variables[nonRep:] {
		cur = append(cur, v.Name)
	}
	for range int(req.MaxRepetitions) {
		if len(cur) == 0 || len(out) >= maxResponseVarbinds {
			break
		}
		for i, name := range cur {
			if e, ok := a.next(name); ok {
				out = append(out, a.serveValue(e))
				cur[i] = e.pdu.Name
			} else {
				out = append(out, gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView})
			}
		}
	}
	return out
}

func (a *Agent) exact(name string) (entry, bool) {
	o, err := parseOID(name)
	if err != nil {
		return entry{}, false
	}
	i := sort.Search(len(a.entries), func(i int) bool { return compareOIDs(a.entries[i].oid, o) >= 0 })
	if i < len(a.entries) && compareOIDs(a.entries[i].oid, o) == 0 {
		return a.entries[i], true
	}
	return entry{}, false
}

// next returns the first object after name (or, in LoopAt mode inside the
// loop subtree, the subtree's first object).
func (a *Agent) next(name string) (entry, bool) {
	o, err := parseOID(name)
	if err != nil {
		return entry{}, false
	}
	if a.loopRoot != nil && hasPrefix(o, a.loopRoot) && len(o) > len(a.loopRoot) {
		i := sort.Search(len(a.entries), func(i int) bool { return compareOIDs(a.entries[i].oid, a.loopRoot) > 0 })
		if i < len(a.entries) && hasPrefix(a.entries[i].oid, a.loopRoot) {
			return a.entries[i], true
		}
	}
	i := sort.Search(len(a.entries), func(i int) bool { return compareOIDs(a.entries[i].oid, o) > 0 })
	if i < len(a.entries) {
		return a.entries[i], true
	}
	return entry{}, false
}

// serveValue applies WrongTypes.
func (a *Agent) serveValue(e entry) gosnmp.SnmpPDU {
	p := e.pdu
	if !a.opts.WrongTypes {
		return p
	}
	switch p.Type {
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64:
		return gosnmp.SnmpPDU{Name: p.Name, Type: gosnmp.OctetString, Value: []byte(gosnmp.ToBigInt(p.Value).String())}
	case gosnmp.OctetString:
		return gosnmp.SnmpPDU{Name: p.Name, Type: gosnmp.Integer, Value: 0}
	case gosnmp.ObjectIdentifier:
		s, _ := p.Value.(string)
		return gosnmp.SnmpPDU{Name: p.Name, Type: gosnmp.OctetString, Value: []byte(s)}
	}
	return p
}
