package snmp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// Decoders for values read from agents. Agents send wrong types, truncated
// strings and odd encodings; every decoder here returns ok=false or an error
// instead of panicking, whatever it is handed.

// errDecode is wrapped by every decoding error.
var errDecode = errors.New("undecodable value")

// isException reports whether p carries no value: noSuchObject,
// noSuchInstance, endOfMibView (or a Null answer).
func isException(p gosnmp.SnmpPDU) bool {
	switch p.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return true
	}
	return false
}

// pduInt returns an INTEGER, Counter32, Gauge32, TimeTicks, Unsigned32 or
// Counter64 value as int64. It refuses OCTET STRINGs and other types, and
// Counter64 values above math.MaxInt64.
func pduInt(p gosnmp.SnmpPDU) (int64, bool) {
	switch p.Type {
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32, gosnmp.Counter64:
	default:
		return 0, false
	}
	switch v := p.Value.(type) {
	case int:
		return int64(v), true
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint:
		if uint64(v) > math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		if v > math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

// pduBytes returns the raw octets of an OCTET STRING (or Opaque/BITS).
func pduBytes(p gosnmp.SnmpPDU) ([]byte, bool) {
	switch p.Type {
	case gosnmp.OctetString, gosnmp.Opaque, gosnmp.BitString:
	default:
		return nil, false
	}
	switch v := p.Value.(type) {
	case []byte:
		return v, true
	case string:
		return []byte(v), true
	}
	return nil, false
}

// pduString returns an OCTET STRING as a DisplayString when it is printable
// text, else as colon-separated hex (binary reports whether it was hex).
func pduString(p gosnmp.SnmpPDU) (s string, binary, ok bool) {
	b, ok := pduBytes(p)
	if !ok {
		return "", false, false
	}
	s, binary = displayString(b)
	return s, binary, true
}

// pduText is pduString that also accepts the types a DisplayString is
// sometimes wrongly sent as (an OID or IpAddress, rendered as text). It is
// used for free-text objects where any rendering is better than none.
func pduText(p gosnmp.SnmpPDU) (string, bool) {
	if s, _, ok := pduString(p); ok {
		return s, true
	}
	switch p.Type {
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		if s, ok := p.Value.(string); ok {
			return s, true
		}
	}
	return "", false
}

// pduOID returns an OBJECT IDENTIFIER value in dotted form with a leading dot.
func pduOID(p gosnmp.SnmpPDU) (string, bool) {
	if p.Type != gosnmp.ObjectIdentifier {
		return "", false
	}
	s, ok := p.Value.(string)
	if !ok {
		return "", false
	}
	if _, err := parseOID(s); err != nil {
		return "", false
	}
	if !strings.HasPrefix(s, ".") {
		s = "." + s
	}
	return s, true
}

// displayString decodes b as an RFC 2579 DisplayString: printable UTF-8
// (tabs, CR and LF allowed; trailing NULs stripped, as some agents pad with
// them). Anything else is rendered as lowercase colon-separated hex and
// binary is true.
func displayString(b []byte) (s string, binary bool) {
	t := b
	for len(t) > 0 && t[len(t)-1] == 0 {
		t = t[:len(t)-1]
	}
	if utf8.Valid(t) {
		printable := true
		for _, r := range string(t) {
			if r == '\t' || r == '\r' || r == '\n' {
				continue
			}
			if !unicode.IsPrint(r) {
				printable = false
				break
			}
		}
		if printable {
			return string(t), false
		}
	}
	return hexString(b), true
}

// hexString renders b as lowercase colon-separated hex ("00:1b:1b").
func hexString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.Grow(len(b) * 3)
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(hex.EncodeToString([]byte{c}))
	}
	return sb.String()
}

// ticksToSeconds converts TimeTicks (hundredths of a second) to seconds.
func ticksToSeconds(ticks int64) int64 { return ticks / 100 }

// dateAndTime decodes an RFC 2579 DateAndTime: 8 octets (local time of the
// agent, zone unknown: UTC is assumed) or 11 octets (with the offset from
// UTC). It rejects out-of-range fields; an all-zero value (agents use it for
// "unknown") is an error too.
func dateAndTime(b []byte) (time.Time, error) {
	if len(b) != 8 && len(b) != 11 {
		return time.Time{}, fmt.Errorf("%w: DateAndTime of %d octets", errDecode, len(b))
	}
	year := int(b[0])<<8 | int(b[1])
	month, day := int(b[2]), int(b[3])
	hour, minute, sec, deci := int(b[4]), int(b[5]), int(b[6]), int(b[7])
	if year == 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 || deci > 9 {
		return time.Time{}, fmt.Errorf("%w: DateAndTime %s out of range", errDecode, hexString(b))
	}
	loc := time.UTC
	if len(b) == 11 {
		dir, oh, om := b[8], int(b[9]), int(b[10])
		if (dir != '+' && dir != '-') || oh > 14 || om > 59 {
			return time.Time{}, fmt.Errorf("%w: DateAndTime zone %s", errDecode, hexString(b[8:]))
		}
		off := oh*3600 + om*60
		if dir == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, min(sec, 59), deci*100_000_000, loc)
	if t.Day() != day { // 31 February and the like
		return time.Time{}, fmt.Errorf("%w: DateAndTime %s is not a calendar date", errDecode, hexString(b))
	}
	return t, nil
}

// parseOID parses a dotted OID ("1.3.6" or ".1.3.6") into sub-identifiers.
func parseOID(s string) ([]uint32, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, fmt.Errorf("%w: empty OID", errDecode)
	}
	parts := strings.Split(s, ".")
	if len(parts) > 128 {
		return nil, fmt.Errorf("%w: OID with %d sub-identifiers", errDecode, len(parts))
	}
	out := make([]uint32, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: OID %.60q", errDecode, s)
		}
		out[i] = uint32(n)
	}
	return out, nil
}

// compareOIDs orders OIDs lexicographically by sub-identifier, as GETNEXT does.
func compareOIDs(a, b []uint32) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// hasOIDPrefix reports whether oid lies strictly inside the subtree root.
func hasOIDPrefix(oid, root []uint32) bool {
	if len(oid) <= len(root) {
		return false
	}
	for i := range root {
		if oid[i] != root[i] {
			return false
		}
	}
	return true
}

// indexOf returns the sub-identifiers of name below root (the row index).
func indexOf(name, root string) ([]uint32, bool) {
	n, err := parseOID(name)
	if err != nil {
		return nil, false
	}
	r, err := parseOID(root)
	if err != nil || !hasOIDPrefix(n, r) {
		return nil, false
	}
	return n[len(r):], true
}

// indexString renders an index as dotted text ("1.4.127.0.0.1.22").
func indexString(idx []uint32) string {
	parts := make([]string, len(idx))
	for i, v := range idx {
		parts[i] = strconv.FormatUint(uint64(v), 10)
	}
	return strings.Join(parts, ".")
}

// octets takes n sub-identifiers as bytes.
func octets(idx []uint32, n int) ([]byte, []uint32, error) {
	if n < 0 || n > len(idx) {
		return nil, nil, fmt.Errorf("%w: index %s too short for %d octets", errDecode, indexString(idx), n)
	}
	b := make([]byte, n)
	for i := range n {
		if idx[i] > 255 {
			return nil, nil, fmt.Errorf("%w: index octet %d > 255", errDecode, idx[i])
		}
		b[i] = byte(idx[i])
	}
	return b, idx[n:], nil
}

// lengthPrefixed decodes a variable-length OCTET STRING index component
// (length sub-identifier followed by that many octets).
func lengthPrefixed(idx []uint32) ([]byte, []uint32, error) {
	if len(idx) == 0 {
		return nil, nil, fmt.Errorf("%w: empty index", errDecode)
	}
	if idx[0] > 255 {
		return nil, nil, fmt.Errorf("%w: index length %d", errDecode, idx[0])
	}
	return octets(idx[1:], int(idx[0]))
}

// inetAddressIndex decodes an InetAddressType + InetAddress index pair
// (INET-ADDRESS-MIB) as used by tcpListenerTable and udpEndpointTable:
// type, length, octets. Types: 0 unknown, 1 ipv4, 2 ipv6, 3 ipv4z, 4 ipv6z,
// 16 dns. It returns the address as text and the remaining sub-identifiers.
func inetAddressIndex(idx []uint32) (string, []uint32, error) {
	if len(idx) < 2 {
		return "", nil, fmt.Errorf("%w: InetAddress index %s too short", errDecode, indexString(idx))
	}
	typ := idx[0]
	b, rest, err := lengthPrefixed(idx[1:])
	if err != nil {
		return "", nil, err
	}
	switch {
	case typ == 0 && len(b) == 0:
		return "", rest, nil
	case typ == 1 && len(b) == 4, typ == 2 && len(b) == 16:
		return net.IP(b).String(), rest, nil
	case typ == 3 && len(b) == 8, typ == 4 && len(b) == 20:
		n := len(b) - 4
		zone := uint32(b[n])<<24 | uint32(b[n+1])<<16 | uint32(b[n+2])<<8 | uint32(b[n+3])
		return fmt.Sprintf("%s%%%d", net.IP(b[:n]), zone), rest, nil
	case typ == 16:
		s, bin := displayString(b)
		if bin {
			return "", nil, fmt.Errorf("%w: dns InetAddress is not text", errDecode)
		}
		return s, rest, nil
	}
	return "", nil, fmt.Errorf("%w: InetAddress type %d with %d octets", errDecode, typ, len(b))
}

// ipv4Index decodes the fixed 4-octet IpAddress index of the legacy
// tcpConnTable and udpTable.
func ipv4Index(idx []uint32) (string, []uint32, error) {
	b, rest, err := octets(idx, 4)
	if err != nil {
		return "", nil, err
	}
	return net.IP(b).String(), rest, nil
}

// portIndex takes one sub-identifier as a port number.
func portIndex(idx []uint32) (int, []uint32, error) {
	if len(idx) == 0 {
		return 0, nil, fmt.Errorf("%w: missing port in index", errDecode)
	}
	if idx[0] > 65535 {
		return 0, nil, fmt.Errorf("%w: port %d", errDecode, idx[0])
	}
	return int(idx[0]), idx[1:], nil
}

// engineIDInfo decodes the RFC 3411 SnmpEngineID format: when the first bit
// is set, the first four octets carry the enterprise number and the fifth the
// format (1 IPv4, 2 IPv6, 3 MAC, 4 text, 5 octets, 128+ enterprise specific).
func engineIDInfo(id []byte) (enterprise int, format string, ok bool) {
	if len(id) < 5 || id[0]&0x80 == 0 {
		return 0, "", false
	}
	enterprise = int(uint32(id[0]&0x7f)<<24 | uint32(id[1])<<16 | uint32(id[2])<<8 | uint32(id[3]))
	switch f := id[4]; {
	case f == 1:
		format = "ipv4"
	case f == 2:
		format = "ipv6"
	case f == 3:
		format = "mac"
	case f == 4:
		format = "text"
	case f == 5:
		format = "octets"
	case f >= 128:
		format = "enterprise"
	default:
		format = "reserved"
	}
	return enterprise, format, true
}

// formatVarbind renders a varbind in net-snmp -On notation for evidence.
func formatVarbind(p gosnmp.SnmpPDU) string {
	name := p.Name
	if !strings.HasPrefix(name, ".") {
		name = "." + name
	}
	var v string
	switch p.Type {
	case gosnmp.OctetString:
		if s, bin, ok := pduString(p); ok {
			if bin {
				v = "Hex-STRING: " + s
			} else {
				v = "STRING: " + strconv.Quote(s)
			}
		}
	case gosnmp.Integer:
		if n, ok := pduInt(p); ok {
			v = "INTEGER: " + strconv.FormatInt(n, 10)
		}
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.Counter64, gosnmp.Uinteger32:
		if n, ok := pduInt(p); ok {
			v = p.Type.String() + ": " + strconv.FormatInt(n, 10)
		}
	case gosnmp.TimeTicks:
		if n, ok := pduInt(p); ok {
			v = fmt.Sprintf("Timeticks: (%d)", n)
		}
	case gosnmp.ObjectIdentifier:
		if s, ok := pduOID(p); ok {
			v = "OID: " + s
		}
	case gosnmp.IPAddress:
		if s, ok := p.Value.(string); ok {
			v = "IpAddress: " + s
		}
	case gosnmp.NoSuchObject:
		v = "No Such Object available on this agent at this OID"
	case gosnmp.NoSuchInstance:
		v = "No Such Instance currently exists at this OID"
	case gosnmp.EndOfMibView:
		v = "No more variables left in this MIB View"
	case gosnmp.Null:
		v = "NULL"
	}
	if v == "" {
		v = fmt.Sprintf("%s: (undecodable %T)", p.Type, p.Value)
	}
	return name + " = " + v
}
