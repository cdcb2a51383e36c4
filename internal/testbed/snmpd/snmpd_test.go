package snmpd

import (
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	got := config(16161, Spec{
		ROCommunities: []string{"ro"},
		RWCommunities: []string{"rw"},
		Users: []User{
			{Name: "strong", AuthProto: "SHA", AuthPass: "a-pass-123", PrivProto: "AES", PrivPass: "p-pass-456"},
			{Name: "weak", AuthProto: "MD5", AuthPass: "a-pass-123"},
			{Name: "none"},
		},
		Location: "Hall 3",
		Contact:  "ops@example.invalid",
	})
	for _, want := range []string{
		"agentAddress udp:127.0.0.1:16161\n",
		"rocommunity ro 127.0.0.1\n",
		"rwcommunity rw 127.0.0.1\n",
		`createUser strong SHA "a-pass-123" AES "p-pass-456"` + "\n",
		"rouser -s usm strong authpriv .1\n",
		`createUser weak MD5 "a-pass-123"` + "\n",
		"rouser -s usm weak auth .1\n",
		"createUser none\nrouser -s usm none noauth .1\n",
		"sysLocation Hall 3\n",
		"sysContact ops@example.invalid\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}

func TestStartAnswers(t *testing.T) {
	a := Start(t, Spec{ROCommunities: []string{"ro"}})
	if !answers(a) {
		t.Fatalf("agent on %s does not answer", a.Addr())
	}
	if a.PID <= 0 || !strings.Contains(a.Log(), "NET-SNMP version") {
		t.Errorf("pid %d, log %q", a.PID, a.Log())
	}
}
