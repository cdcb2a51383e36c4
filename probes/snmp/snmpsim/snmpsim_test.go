package snmpsim

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

func TestShippedRecordingsParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("recordings", "*.json"))
	if err != nil || len(files) < 6 {
		t.Fatalf("recordings: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := LoadRecording(f)
			if err != nil {
				t.Fatal(err)
			}
			if r.Description == "" || r.Provenance == "" || len(r.Varbinds) == 0 {
				t.Errorf("recording lacks description, provenance or varbinds")
			}
		})
	}
}

func TestParseRecordingRejects(t *testing.T) {
	tests := []struct{ name, json string }{
		{"unknown field", `{"versions":["2c"],"communities":["c"],"varbinds":[],"extra":1}`},
		{"no versions", `{"communities":["c"],"varbinds":[]}`},
		{"v3", `{"versions":["3"],"communities":["c"],"varbinds":[]}`},
		{"bad type", `{"versions":["2c"],"communities":["c"],"varbinds":[{"oid":".1.3.6","type":"FLOAT","value":"1"}]}`},
		{"bad integer", `{"versions":["2c"],"communities":["c"],"varbinds":[{"oid":".1.3.6","type":"INTEGER","value":"x"}]}`},
		{"bad hex", `{"versions":["2c"],"communities":["c"],"varbinds":[{"oid":".1.3.6","type":"Hex-STRING","value":"GG"}]}`},
		{"duplicate", `{"versions":["2c"],"communities":["c"],"varbinds":[{"oid":".1.3.6","type":"STRING","value":"a"},{"oid":"1.3.6","type":"STRING","value":"b"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseRecording([]byte(tc.json)); !errors.Is(err, ErrRecording) {
				t.Errorf("err = %v, want ErrRecording", err)
			}
		})
	}
}

func client(t *testing.T, a *Agent, v gosnmp.SnmpVersion, community string) *gosnmp.GoSNMP {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(a.Port()), Version: v, Community: community,
		Context: ctx, Timeout: 200 * time.Millisecond, Retries: 0, MaxRepetitions: 5}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func testRecording() *Recording {
	return &Recording{
		Versions: []string{"1", "2c"}, Communities: []string{"ro"},
		Varbinds: []Varbind{
			{".1.3.6.1.2.1.1.1.0", "STRING", "test device"},
			{".1.3.6.1.2.1.1.3.0", "Timeticks", "100"},
			{".1.3.6.1.2.1.2.2.1.2.1", "STRING", "eth0"},
			{".1.3.6.1.2.1.2.2.1.2.2", "STRING", "eth1"},
			{".1.3.6.1.2.1.2.2.1.2.10", "STRING", "eth9"},
			{".1.3.6.1.2.1.2.2.1.3.1", "INTEGER", "6"},
		},
	}
}

func TestAgentAnswers(t *testing.T) {
	a, err := Start("127.0.0.1:0", testRecording(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	t.Run("v2c GET with a missing object", func(t *testing.T) {
		r, err := client(t, a, gosnmp.Version2c, "ro").Get([]string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.5.0"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Error != gosnmp.NoError || string(r.Variables[0].Value.([]byte)) != "test device" || r.Variables[1].Type != gosnmp.NoSuchObject {
			t.Errorf("response %+v", r)
		}
	})
	t.Run("v1 GET with a missing object fails the PDU", func(t *testing.T) {
		r, err := client(t, a, gosnmp.Version1, "ro").Get([]string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.5.0"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Error != gosnmp.NoSuchName || r.ErrorIndex != 2 {
			t.Errorf("error %s index %d", r.Error, r.ErrorIndex)
		}
	})
	t.Run("GETBULK walks in numeric order", func(t *testing.T) {
		rows, err := client(t, a, gosnmp.Version2c, "ro").BulkWalkAll(".1.3.6.1.2.1.2.2.1.2")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rows {
			names = append(names, r.Name)
		}
		want := []string{".1.3.6.1.2.1.2.2.1.2.1", ".1.3.6.1.2.1.2.2.1.2.2", ".1.3.6.1.2.1.2.2.1.2.10"}
		if len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
			t.Errorf("walk %v, want %v", names, want)
		}
	})
	t.Run("v1 GETNEXT past the end", func(t *testing.T) {
		r, err := client(t, a, gosnmp.Version1, "ro").GetNext([]string{".1.3.6.1.2.1.3"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Error != gosnmp.NoSuchName {
			t.Errorf("error %s", r.Error)
		}
	})
	t.Run("wrong community gets no answer", func(t *testing.T) {
		if _, err := client(t, a, gosnmp.Version2c, "rw").Get([]string{".1.3.6.1.2.1.1.1.0"}); err == nil {
			t.Errorf("answered a wrong community")
		}
	})
	st := a.Stats()
	if st.ByCommunity["rw"] != 1 || st.ByPDU["GetRequest"] < 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestAgentModes(t *testing.T) {
	t.Run("wrong types", func(t *testing.T) {
		a, err := Start("127.0.0.1:0", testRecording(), Options{WrongTypes: true})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		r, err := client(t, a, gosnmp.Version2c, "ro").Get([]string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.3.0"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Variables[0].Type != gosnmp.Integer || r.Variables[1].Type != gosnmp.OctetString {
			t.Errorf("types %s %s", r.Variables[0].Type, r.Variables[1].Type)
		}
	})
	t.Run("loop", func(t *testing.T) {
		a, err := Start("127.0.0.1:0", testRecording(), Options{LoopAt: ".1.3.6.1.2.1.2.2.1.2"})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		r, err := client(t, a, gosnmp.Version2c, "ro").GetNext([]string{".1.3.6.1.2.1.2.2.1.2.2"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Variables[0].Name != ".1.3.6.1.2.1.2.2.1.2.1" {
			t.Errorf("loop answered %s", r.Variables[0].Name)
		}
	})
	t.Run("huge table and drop", func(t *testing.T) {
		a, err := Start("127.0.0.1:0", testRecording(), Options{Drop: []string{".1.3.6.1.2.1.2"}, HugeTable: ".1.3.6.1.2.1.25.4.2.1.2", HugeRows: 1000})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		g := client(t, a, gosnmp.Version2c, "ro")
		rows, err := g.BulkWalkAll(".1.3.6.1.2.1.25.4.2.1.2")
		if err != nil || len(rows) != 1000 {
			t.Errorf("huge walk: %d rows, %v", len(rows), err)
		}
		r, err := g.Get([]string{".1.3.6.1.2.1.2.2.1.2.1"})
		if err != nil || r.Variables[0].Type != gosnmp.NoSuchObject {
			t.Errorf("dropped object still served: %+v %v", r, err)
		}
	})
	t.Run("silent", func(t *testing.T) {
		a, err := Start("127.0.0.1:0", testRecording(), Options{Silent: true})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if _, err := client(t, a, gosnmp.Version2c, "ro").Get([]string{".1.3.6.1.2.1.1.1.0"}); err == nil {
			t.Errorf("silent agent answered")
		}
		if a.Stats().Requests != 1 {
			t.Errorf("requests %d", a.Stats().Requests)
		}
	})
}

func TestFromPDURoundTrip(t *testing.T) {
	in := []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.1.0", Type: gosnmp.OctetString, Value: []byte("text")},
		{Name: ".1.3.6.1.6.3.10.2.1.1.0", Type: gosnmp.OctetString, Value: []byte{0x80, 0x00, 0x1f, 0x88}},
		{Name: ".1.3.6.1.2.1.1.2.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.8072"},
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(42)},
		{Name: ".1.3.6.1.2.1.2.2.1.3.1", Type: gosnmp.Integer, Value: 6},
		{Name: ".1.3.6.1.2.1.31.1.1.1.6.1", Type: gosnmp.Counter64, Value: uint64(1 << 40)},
	}
	for _, p := range in {
		v, ok := FromPDU(p)
		if !ok {
			t.Fatalf("FromPDU(%v) refused", p)
		}
		back, err := v.PDU()
		if err != nil || !samePDU(p, back) {
			t.Errorf("round trip %v -> %+v -> %+v (%v)", p, v, back, err)
		}
	}
	if _, ok := FromPDU(gosnmp.SnmpPDU{Name: ".1.3", Type: gosnmp.NoSuchObject}); ok {
		t.Errorf("exception recorded")
	}
}

func samePDU(a, b gosnmp.SnmpPDU) bool {
	if a.Name != b.Name || a.Type != b.Type {
		return false
	}
	switch a.Type {
	case gosnmp.OctetString:
		x, _ := a.Value.([]byte)
		y, _ := b.Value.([]byte)
		return string(x) == string(y)
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		return a.Value == b.Value
	}
	return gosnmp.ToBigInt(a.Value).Cmp(gosnmp.ToBigInt(b.Value)) == 0
}
