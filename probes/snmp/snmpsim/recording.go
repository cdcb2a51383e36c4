// Package snmpsim is a small in-process SNMP v1/v2c agent that answers GET,
// GETNEXT and GETBULK from a recorded walk. It serves the prober's tests and
// the demo lab, and can misbehave on purpose (wrong types, missing tables,
// v1 noSuchName errors on v2c, a looping walk, a huge table, silence) to
// show how the scanner copes with real agents' faults. It holds no writable
// state: write requests are never answered, only counted by PDU type.
package snmpsim

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Varbind is one recorded object: OID (dotted, leading dot optional), type
// in net-snmp's -On output spelling, and value as text. OCTET STRINGs are
// either "STRING" (printable text) or "Hex-STRING" (octets as hex, spaces or
// colons allowed), as snmpwalk prints them.
type Varbind struct {
	OID   string `json:"oid"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Recording is a device's walk, stored as JSON in testdata.
type Recording struct {
	Description string    `json:"description"`
	Provenance  string    `json:"provenance"`  // how it was obtained: capture, or which public samples it is shaped after
	Versions    []string  `json:"versions"`    // "1" and/or "2c" the agent answers
	Communities []string  `json:"communities"` // accepted communities; others get no answer
	Varbinds    []Varbind `json:"varbinds"`
}

// ErrRecording is wrapped by every recording error.
var ErrRecording = errors.New("invalid snmp recording")

// LoadRecording reads and validates a JSON recording.
func LoadRecording(path string) (*Recording, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := ParseRecording(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// ParseRecording decodes a JSON recording strictly (unknown fields are
// errors) and checks every varbind.
func ParseRecording(b []byte) (*Recording, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Recording
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecording, err)
	}
	if len(r.Versions) == 0 {
		return nil, fmt.Errorf("%w: no versions", ErrRecording)
	}
	for _, v := range r.Versions {
		if v != "1" && v != "2c" {
			return nil, fmt.Errorf("%w: version %q (the simulator speaks 1 and 2c)", ErrRecording, v)
		}
	}
	if len(r.Communities) == 0 {
		return nil, fmt.Errorf("%w: no communities", ErrRecording)
	}
	seen := map[string]bool{}
	for i, v := range r.Varbinds {
		p, err := v.PDU()
		if err != nil {
			return nil, fmt.Errorf("%w: varbind %d: %w", ErrRecording, i, err)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("%w: varbind %d: duplicate OID %s", ErrRecording, i, p.Name)
		}
		seen[p.Name] = true
	}
	return &r, nil
}

// PDU converts the varbind to a gosnmp value.
func (v Varbind) PDU() (gosnmp.SnmpPDU, error) {
	oid, err := parseOID(v.OID)
	if err != nil {
		return gosnmp.SnmpPDU{}, err
	}
	name := oidString(oid)
	bad := func(err error) (gosnmp.SnmpPDU, error) {
		return gosnmp.SnmpPDU{}, fmt.Errorf("%s %s %q: %w", name, v.Type, v.Value, err)
	}
	switch v.Type {
	case "STRING":
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.OctetString, Value: []byte(v.Value)}, nil
	case "Hex-STRING":
		h := strings.NewReplacer(" ", "", ":", "", "\n", "").Replace(v.Value)
		b, err := hex.DecodeString(h)
		if err != nil {
			return bad(err)
		}
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.OctetString, Value: b}, nil
	case "INTEGER":
		n, err := strconv.ParseInt(v.Value, 10, 32)
		if err != nil {
			return bad(err)
		}
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Integer, Value: int(n)}, nil
	case "Timeticks", "Counter32", "Gauge32":
		n, err := strconv.ParseUint(v.Value, 10, 32)
		if err != nil {
			return bad(err)
		}
		t := map[string]gosnmp.Asn1BER{"Timeticks": gosnmp.TimeTicks, "Counter32": gosnmp.Counter32, "Gauge32": gosnmp.Gauge32}[v.Type]
		return gosnmp.SnmpPDU{Name: name, Type: t, Value: uint32(n)}, nil
	case "Counter64":
		n, err := strconv.ParseUint(v.Value, 10, 64)
		if err != nil {
			return bad(err)
		}
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.Counter64, Value: n}, nil
	case "OID":
		o, err := parseOID(v.Value)
		if err != nil {
			return bad(err)
		}
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.ObjectIdentifier, Value: oidString(o)}, nil
	case "IpAddress":
		parts := strings.Split(v.Value, ".")
		if len(parts) != 4 {
			return bad(errors.New("not a dotted IPv4 address"))
		}
		for _, p := range parts {
			if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 255 {
				return bad(errors.New("not a dotted IPv4 address"))
			}
		}
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.IPAddress, Value: v.Value}, nil
	}
	return bad(errors.New("unknown type"))
}

// FromPDU records a gosnmp varbind (as read from a real agent). It returns
// false for exceptions and types the recording format does not hold.
func FromPDU(p gosnmp.SnmpPDU) (Varbind, bool) {
	name := p.Name
	if !strings.HasPrefix(name, ".") {
		name = "." + name
	}
	switch p.Type {
	case gosnmp.OctetString:
		b, ok := p.Value.([]byte)
		if !ok {
			return Varbind{}, false
		}
		if printable(b) {
			return Varbind{OID: name, Type: "STRING", Value: string(b)}, true
		}
		return Varbind{OID: name, Type: "Hex-STRING", Value: hexSpaced(b)}, true
	case gosnmp.Integer:
		if n, ok := p.Value.(int); ok {
			return Varbind{OID: name, Type: "INTEGER", Value: strconv.Itoa(n)}, true
		}
	case gosnmp.TimeTicks, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.Counter64:
		n := gosnmp.ToBigInt(p.Value)
		t := map[gosnmp.Asn1BER]string{gosnmp.TimeTicks: "Timeticks", gosnmp.Counter32: "Counter32", gosnmp.Gauge32: "Gauge32", gosnmp.Counter64: "Counter64"}[p.Type]
		return Varbind{OID: name, Type: t, Value: n.String()}, true
	case gosnmp.ObjectIdentifier:
		if s, ok := p.Value.(string); ok {
			if !strings.HasPrefix(s, ".") {
				s = "." + s
			}
			return Varbind{OID: name, Type: "OID", Value: s}, true
		}
	case gosnmp.IPAddress:
		if s, ok := p.Value.(string); ok {
			return Varbind{OID: name, Type: "IpAddress", Value: s}, true
		}
	}
	return Varbind{}, false
}

func printable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c >= 0x7f {
			return false
		}
	}
	return true
}

func hexSpaced(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, " ")
}

func parseOID(s string) ([]uint32, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return nil, errors.New("empty OID")
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 128 {
		return nil, fmt.Errorf("OID %q: %d sub-identifiers", s, len(parts))
	}
	out := make([]uint32, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: %w", s, err)
		}
		out[i] = uint32(n)
	}
	return out, nil
}

func oidString(o []uint32) string {
	var b strings.Builder
	for _, v := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	return b.String()
}

func compareOIDs(a, b []uint32) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

func hasPrefix(oid, root []uint32) bool {
	if len(oid) < len(root) {
		return false
	}
	for i := range root {
		if oid[i] != root[i] {
			return false
		}
	}
	return true
}
