package snmp

import (
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

func TestDisplayString(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		want   string
		binary bool
	}{
		{"text", []byte("Hall 3"), "Hall 3", false},
		{"multi-line sysDescr", []byte("Cisco IOS\r\nTechnical Support"), "Cisco IOS\r\nTechnical Support", false},
		{"NUL padded", []byte("PLC_1\x00\x00"), "PLC_1", false},
		{"UTF-8", []byte("Halle 3 – Süd"), "Halle 3 – Süd", false},
		{"MAC address", []byte{0x00, 0x1b, 0x1b, 0x4a, 0x5b, 0x6c}, "00:1b:1b:4a:5b:6c", true},
		{"invalid UTF-8", []byte{0xff, 0x41}, "ff:41", true},
		{"empty", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, bin := displayString(tc.in)
			if got != tc.want || bin != tc.binary {
				t.Errorf("displayString(%q) = %q, %v; want %q, %v", tc.in, got, bin, tc.want, tc.binary)
			}
		})
	}
}

func TestDateAndTime(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    string
		wantErr bool
	}{
		{"8 octets (net-snmp hrSWInstalledDate)", []byte{0x07, 0xe9, 0x05, 0x14, 0, 0, 0, 0}, "2025-05-20T00:00:00Z", false},
		{"11 octets with zone", []byte{0x07, 0xe9, 0x06, 0x18, 0x0e, 0x25, 0x2e, 0, '+', 2, 0}, "2025-06-24T14:37:46+02:00", false},
		{"negative zone", []byte{0x07, 0xd0, 1, 1, 0, 0, 0, 0, '-', 5, 30}, "2000-01-01T00:00:00-05:30", false},
		{"all zero (unknown)", make([]byte, 8), "", true},
		{"month 13", []byte{0x07, 0xe9, 13, 1, 0, 0, 0, 0}, "", true},
		{"31 February", []byte{0x07, 0xe9, 2, 31, 0, 0, 0, 0}, "", true},
		{"bad zone sign", []byte{0x07, 0xe9, 1, 1, 0, 0, 0, 0, 'x', 0, 0}, "", true},
		{"wrong length", []byte{0x07, 0xe9, 1}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dateAndTime(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got.Format(time.RFC3339) != tc.want {
				t.Errorf("got %s, want %s", got.Format(time.RFC3339), tc.want)
			}
		})
	}
}

func TestInetAddressIndex(t *testing.T) {
	tests := []struct {
		name    string
		idx     []uint32
		addr    string
		rest    []uint32
		wantErr bool
	}{
		{"ipv4 listener", []uint32{1, 4, 0, 0, 0, 0, 502}, "0.0.0.0", []uint32{502}, false},
		{"ipv6 listener", []uint32{2, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 22}, "::1", []uint32{22}, false},
		{"ipv4z", []uint32{3, 8, 169, 254, 1, 1, 0, 0, 0, 3, 80}, "169.254.1.1%3", []uint32{80}, false},
		{"unknown empty", []uint32{0, 0, 161}, "", []uint32{161}, false},
		{"length mismatch", []uint32{1, 16, 1, 2}, "", nil, true},
		{"octet > 255", []uint32{1, 4, 300, 0, 0, 0, 80}, "", nil, true},
		{"type/length disagree", []uint32{1, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 22}, "", nil, true},
		{"truncated", []uint32{1}, "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, rest, err := inetAddressIndex(tc.idx)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if addr != tc.addr || indexString(rest) != indexString(tc.rest) {
				t.Errorf("got %q rest %v, want %q rest %v", addr, rest, tc.addr, tc.rest)
			}
		})
	}
}

func TestPDUDecodersRejectWrongTypes(t *testing.T) {
	tests := []struct {
		name   string
		pdu    gosnmp.SnmpPDU
		intOK  bool
		strOK  bool
		oidOK  bool
		intVal int64
	}{
		{"INTEGER", gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: 7}, true, false, false, 7},
		{"TimeTicks uint32", gosnmp.SnmpPDU{Type: gosnmp.TimeTicks, Value: uint32(4294967295)}, true, false, false, 4294967295},
		{"Counter64 too big", gosnmp.SnmpPDU{Type: gosnmp.Counter64, Value: uint64(math.MaxUint64)}, false, false, false, 0},
		{"INTEGER carrying a string", gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: "7"}, false, false, false, 0},
		{"OCTET STRING", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("x")}, false, true, false, 0},
		{"OCTET STRING carrying an int", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: 3}, false, false, false, 0},
		{"OID", gosnmp.SnmpPDU{Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.9"}, false, false, true, 0},
		{"OID garbage", gosnmp.SnmpPDU{Type: gosnmp.ObjectIdentifier, Value: "1.x"}, false, false, false, 0},
		{"nil value", gosnmp.SnmpPDU{Type: gosnmp.Integer}, false, false, false, 0},
		{"noSuchObject", gosnmp.SnmpPDU{Type: gosnmp.NoSuchObject}, false, false, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := pduInt(tc.pdu)
			if ok != tc.intOK || n != tc.intVal {
				t.Errorf("pduInt = %d, %v", n, ok)
			}
			if _, _, ok := pduString(tc.pdu); ok != tc.strOK {
				t.Errorf("pduString ok = %v", ok)
			}
			if _, ok := pduOID(tc.pdu); ok != tc.oidOK {
				t.Errorf("pduOID ok = %v", ok)
			}
			_ = formatVarbind(tc.pdu)
		})
	}
}

func TestEngineIDInfo(t *testing.T) {
	tests := []struct {
		name   string
		id     []byte
		ent    int
		format string
		ok     bool
	}{
		{"net-snmp", []byte{0x80, 0x00, 0x1f, 0x88, 0x80, 0xdc, 0x50}, 8072, "enterprise", true},
		{"Cisco MAC", []byte{0x80, 0x00, 0x00, 0x09, 0x03, 0x00, 0x1e, 0x4a, 0x12, 0x34, 0x80}, 9, "mac", true},
		{"SNMPv1-style (first bit clear)", []byte{0x00, 0x00, 0x00, 0x09, 0x01, 0x02}, 0, "", false},
		{"too short", []byte{0x80}, 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ent, format, ok := engineIDInfo(tc.id)
			if ent != tc.ent || format != tc.format || ok != tc.ok {
				t.Errorf("got %d %q %v", ent, format, ok)
			}
		})
	}
}

func TestOIDOrder(t *testing.T) {
	a, _ := parseOID(".1.3.6.1.2.1.2")
	b, _ := parseOID("1.3.6.1.2.1.10")
	if compareOIDs(a, b) >= 0 || compareOIDs(b, a) <= 0 || compareOIDs(a, a) != 0 {
		t.Errorf("numeric sub-identifier order broken")
	}
	if !hasOIDPrefix(b, a[:6]) || hasOIDPrefix(a[:6], a[:6]) {
		t.Errorf("hasOIDPrefix")
	}
	for _, bad := range []string{"", ".", "1..3", "1.3.x", "1.99999999999"} {
		if _, err := parseOID(bad); err == nil {
			t.Errorf("parseOID(%q) accepted", bad)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to every value decoder: none may panic,
// and their outputs must keep their invariants.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("Siemens, SIMATIC S7, CPU 1511-1 PN"))
	f.Add([]byte{0x07, 0xe9, 0x06, 0x18, 0x0e, 0x25, 0x2e, 0x00, 0x2b, 0x00, 0x00})
	f.Add([]byte{0x80, 0x00, 0x1f, 0x88, 0x80, 0xdc, 0x50, 0x9e})
	f.Add([]byte{1, 4, 127, 0, 0, 1, 0x2c, 0x01, 4, 0, 0, 0, 0, 0})
	f.Add([]byte("1.3.6.1.4.1.4329.6.1.2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, bin := displayString(b)
		if !bin && !utf8.ValidString(s) {
			t.Errorf("displayString returned invalid UTF-8 as text")
		}
		if bin && len(s) != max(len(b)*3-1, 0) {
			t.Errorf("hex rendering of %d octets has length %d", len(b), len(s))
		}
		if tm, err := dateAndTime(b); err == nil && tm.Year() == 0 {
			t.Errorf("dateAndTime accepted year 0")
		}
		engineIDInfo(b)
		idx := make([]uint32, len(b))
		for i, c := range b {
			idx[i] = uint32(c)
		}
		if addr, rest, err := inetAddressIndex(idx); err == nil && len(rest) > len(idx) {
			t.Errorf("inetAddressIndex grew the index (%q)", addr)
		}
		_, _, _ = ipv4Index(idx)
		_, _, _ = lengthPrefixed(idx)
		_, _, _ = portIndex(idx)
		if o, err := parseOID(string(b)); err == nil {
			if o2, err := parseOID(indexString(o)); err != nil || compareOIDs(o, o2) != 0 {
				t.Errorf("parseOID(%q) does not round-trip: %v", b, err)
			}
		}
		for _, typ := range []gosnmp.Asn1BER{gosnmp.OctetString, gosnmp.Integer, gosnmp.ObjectIdentifier, gosnmp.TimeTicks, gosnmp.IPAddress} {
			for _, v := range []any{b, string(b), len(b), uint32(len(b)), nil} {
				p := gosnmp.SnmpPDU{Name: ".1.3.6", Type: typ, Value: v}
				pduInt(p)
				pduString(p)
				pduText(p)
				pduOID(p)
				formatVarbind(p)
			}
		}
		model, fw := parseSiemens(string(b))
		if model == "" && fw != "" {
			t.Errorf("Siemens parser returned firmware without model")
		}
		for _, v := range vendors() {
			v.parse(string(b))
		}
	})
}
