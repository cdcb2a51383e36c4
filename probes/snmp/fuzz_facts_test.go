package snmp

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// fuzzBytes hands out fuzz input piece by piece; past its end it yields
// zeros.
type fuzzBytes struct{ b []byte }

func (r *fuzzBytes) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzBytes) n(k int) int { return int(r.byte()) % k }

func (r *fuzzBytes) u32() uint32 {
	var w [4]byte
	for i := range w {
		w[i] = r.byte()
	}
	return binary.BigEndian.Uint32(w[:])
}

func (r *fuzzBytes) bytes() []byte {
	n := min(int(r.byte()), len(r.b))
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

// index returns an OID suffix of one to four sub-identifiers.
func (r *fuzzBytes) index() string {
	s := ""
	for range 1 + r.n(4) {
		v := uint32(r.byte())
		if r.n(8) == 0 {
			v = r.u32()
		}
		s += "." + strconv.FormatUint(uint64(v), 10)
	}
	return s
}

// pdu returns a varbind for oid of any type an agent can send, with a value
// of the Go type gosnmp decodes that type to.
func (r *fuzzBytes) pdu(oid string) gosnmp.SnmpPDU {
	p := gosnmp.SnmpPDU{Name: oid}
	switch r.n(11) {
	case 0:
		p.Type, p.Value = gosnmp.Integer, int(int32(r.u32()))
	case 1:
		p.Type, p.Value = gosnmp.OctetString, append([]byte{}, r.bytes()...)
	case 2:
		p.Type, p.Value = gosnmp.ObjectIdentifier, "."+"1.3.6.1.4.1"+r.index()
	case 3:
		p.Type, p.Value = gosnmp.TimeTicks, r.u32()
	case 4:
		p.Type, p.Value = gosnmp.Counter32, uint(r.u32())
	case 5:
		p.Type, p.Value = gosnmp.Gauge32, uint(r.u32())
	case 6:
		p.Type, p.Value = gosnmp.IPAddress, "10.0.0."+strconv.Itoa(int(r.byte()))
	case 7:
		p.Type, p.Value = gosnmp.Counter64, uint64(r.u32())<<32|uint64(r.u32())
	case 8:
		p.Type = gosnmp.NoSuchObject
	case 9:
		p.Type = gosnmp.NoSuchInstance
	default:
		p.Type = gosnmp.EndOfMibView
	}
	return p
}

// FuzzBuildFacts feeds arbitrary agent answers (any type for any object,
// missing and failed objects, table rows with any index) to the fact
// builder: it must never panic, every fact must be either a value or an
// error, and every fact must serialise for the store.
func FuzzBuildFacts(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x08\x80\x00\x1f\x88\x80\xdc\x50\x9e\x00\x00\x00\x05\x00\x00\x01\x00" + "\x01\x01\x20Siemens, SIMATIC S7, CPU 1511-1 PN"))
	f.Add([]byte{1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzBytes{b: data}
		c := &collection{cfg: Config{Version: []string{"1", "2c", "3"}[r.n(3)]}, scalars: newGetResult(),
			walks: map[string]*walkResult{}, versions: []string{"2c"}, guessEnabled: r.n(2) == 0}
		if r.n(2) == 0 {
			c.engine = &engineInfo{id: append([]byte{}, r.bytes()...), boots: r.u32(), time: r.u32()}
		}
		for _, oid := range append(systemScalars(), otherScalars()...) {
			switch r.n(4) {
			case 1:
				c.scalars.values[oid] = r.pdu(oid)
			case 2:
				c.scalars.missing[oid] = true
			case 3:
				c.scalars.failed[oid] = errNoResponse
			}
		}
		for _, w := range walks() {
			for _, root := range []string{w.root, w.fallback} {
				if root == "" || r.n(3) == 0 {
					continue
				}
				wr := &walkResult{root: root}
				if r.n(8) == 0 {
					wr.err = errNoResponse
				}
				for k := r.n(6); k > 0; k-- {
					wr.rows = append(wr.rows, r.pdu(root+r.index()))
				}
				c.walks[root] = wr
			}
		}
		facts := buildFacts(c)
		for name, fact := range facts {
			if fact.Err != "" && fact.Value != nil {
				t.Fatalf("%s has both a value %#v and an error %q", name, fact.Value, fact.Err)
			}
		}
		if _, err := json.Marshal(facts); err != nil {
			t.Fatalf("facts do not serialise: %v", err)
		}
	})
}
