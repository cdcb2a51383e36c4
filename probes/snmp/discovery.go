package snmp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gosnmp/gosnmp"
)

// engineInfo is what the unauthenticated SNMPv3 discovery probe reveals.
type engineInfo struct {
	id    []byte
	boots uint32
	time  uint32
	raw   []byte // the Report datagram, for evidence
}

// errNoResponse means a request got no answer within its attempts.
var errNoResponse = errors.New("no response")

// discover sends the RFC 3414 §4 engine discovery probe: an SNMPv3
// GetRequest with no varbinds, an empty user and engine ID, noAuthNoPriv and
// the reportable flag. The agent answers with a Report PDU
// (usmStatsUnknownEngineIDs) whose security parameters carry its engine ID,
// boots and time. No credential is sent. It makes 1+cfg.Retries attempts of
// cfg.Timeout each, bounded by ctx; errNoResponse means no v3 agent answered.
func discover(ctx context.Context, cfg Config, pc *pacer) (*engineInfo, error) {
	pkt, err := discoveryPacket()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", cfg.target())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	mc := &meteredConn{Conn: conn, ctx: ctx, pacer: pc}
	buf := make([]byte, 65535)
	for attempt := 0; attempt <= cfg.Retries; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := mc.Write(pkt); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		deadline := time.Now().Add(cfg.Timeout)
		if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
			deadline = dl
		}
		if err := conn.SetReadDeadline(deadline); err != nil {
			return nil, err
		}
		for {
			n, err := mc.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // next attempt
				}
				return nil, err
			}
			info, ok := parseDiscoveryReport(buf[:n])
			if ok {
				return info, nil
			}
			// Not our answer (stray or malformed datagram): keep waiting.
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, errNoResponse
}

// discoveryPacket encodes the discovery probe with fresh random message and
// request IDs. (gosnmp's encoder refuses an empty user name, so the packet
// is built directly.)
func discoveryPacket() ([]byte, error) {
	var ids [8]byte
	if _, err := rand.Read(ids[:]); err != nil {
		return nil, fmt.Errorf("discovery probe ids: %w", err)
	}
	pkt := &gosnmp.SnmpPacket{
		Version:            gosnmp.Version3,
		MsgFlags:           gosnmp.NoAuthNoPriv | gosnmp.Reportable,
		SecurityModel:      gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{},
		PDUType:            gosnmp.GetRequest,
		MsgID:              binary.BigEndian.Uint32(ids[:4]) & 0x7fffffff,
		RequestID:          binary.BigEndian.Uint32(ids[4:]) & 0x7fffffff,
		MsgMaxSize:         65507,
	}
	b, err := pkt.MarshalMsg()
	if err != nil {
		return nil, fmt.Errorf("encode discovery probe: %w", err)
	}
	return b, nil
}

// v3Decoder returns a gosnmp instance that can decode unauthenticated
// SNMPv3 messages (its placeholder user only satisfies gosnmp's validation).
func v3Decoder() *gosnmp.GoSNMP {
	return &gosnmp.GoSNMP{
		Version:            gosnmp.Version3,
		SecurityModel:      gosnmp.UserSecurityModel,
		MsgFlags:           gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "-"},
	}
}

// parseDiscoveryReport decodes a discovery answer. It accepts a Report PDU
// with a plausible engine ID (5..32 octets, RFC 3411).
func parseDiscoveryReport(b []byte) (*engineInfo, bool) {
	pkt, err := v3Decoder().SnmpDecodePacket(b)
	if err != nil || pkt == nil || pkt.Version != gosnmp.Version3 || pkt.PDUType != gosnmp.Report {
		return nil, false
	}
	usp, ok := pkt.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if !ok || len(usp.AuthoritativeEngineID) < 5 || len(usp.AuthoritativeEngineID) > 32 {
		return nil, false
	}
	return &engineInfo{
		id:    []byte(usp.AuthoritativeEngineID),
		boots: usp.AuthoritativeEngineBoots,
		time:  usp.AuthoritativeEngineTime,
		raw:   append([]byte(nil), b...),
	}, true
}
