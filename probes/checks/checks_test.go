package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

var testValidator = Validator{
	Fact: func(p probes.Platform, name string) bool {
		return p == probes.Linux && map[string]bool{
			"login_defs.pass_max_days": true, "ssh.permitrootlogin": true, "ssh.ciphers": true,
			"net.tcp_listen": true, "os.eol": true, "auditd.active": true,
		}[name]
	},
	Param: func(name string) bool {
		return map[string]bool{"max_password_age_days": true, "forbidden_tcp_ports": true, "allow_root_key_login": true}[name]
	},
}

func loadTest(t *testing.T, body string) (*Set, error) {
	t.Helper()
	return loadSources([]source{{name: "c.yaml", data: []byte(body)}}, 0, testValidator)
}

const testChecks = `
- id: linux.test.pass_max_days
  title: Passwords expire
  platform: linux
  expr: (login_defs.pass_max_days ?? 99999) <= param.max_password_age_days && login_defs.pass_max_days > 0
  expected: PASS_MAX_DAYS between 1 and {{param.max_password_age_days}}
- id: linux.test.root_login
  title: No root login
  platform: linux
  expr: ssh.permitrootlogin == "no" || (param.allow_root_key_login && ssh.permitrootlogin in ["prohibit-password", "without-password"])
  expected: PermitRootLogin no
- id: linux.test.ports
  title: No forbidden ports
  platform: linux
  expr: none(net.tcp_listen, {# in param.forbidden_tcp_ports})
  expected: none of {{param.forbidden_tcp_ports}} listening
- id: linux.test.ciphers
  title: No CBC
  platform: linux
  when: auditd.active
  na_reason: auditd not running
  expr: let weak = filter(ssh.ciphers, {# contains "cbc"}); len(weak) == 0
  expected: no CBC ciphers
- id: linux.test.eol
  title: Supported
  platform: linux
  expr: date(os.eol.date) > scan_time
  expected: supported release
- id: linux.test.known
  title: Known
  platform: linux
  known: [auditd.active]
  expr: auditd.active
  expected: auditd active
- id: linux.test.optin
  title: Opt-in
  platform: linux
  if_collected: [ssh.ciphers]
  expr: len(ssh.ciphers) > 0
  expected: some
- id: linux.test.undecided
  title: Undecided
  platform: linux
  expr: 'ssh.permitrootlogin == "maybe" ? unknown("cannot tell from maybe") : ssh.permitrootlogin == "no"'
  expected: no
- id: linux.test.notbool
  title: Not a boolean
  platform: linux
  expr: login_defs.pass_max_days + 1
  expected: a bool
`

var params = map[string]any{"max_password_age_days": 365, "forbidden_tcp_ports": []any{21, 23}, "allow_root_key_login": false}

func TestEvaluate(t *testing.T) {
	s, err := loadTest(t, testChecks)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	base := func() probes.Facts {
		f := probes.Facts{}
		f.Set("login_defs.pass_max_days", "L07", 99999, "PASS_MAX_DAYS\t99999")
		f.Set("ssh.permitrootlogin", "L12", "yes", "permitrootlogin yes")
		f.Set("ssh.ciphers", "L12", []string{"aes256-ctr", "aes128-cbc"}, "ciphers aes256-ctr,aes128-cbc")
		f.Set("net.tcp_listen", "L26", []int{22, 23})
		f.Set("os.eol", "L01", map[string]any{"date": "2028-06-30"})
		f.Set("auditd.active", "L18", true)
		return f
	}
	for _, tc := range []struct {
		name, id string
		mod      func(probes.Facts)
		want     Status
		msg      string
	}{
		{"fail with evidence", "linux.test.pass_max_days", nil, Fail, "expected PASS_MAX_DAYS between 1 and 365; found login_defs.pass_max_days=99999"},
		{"pass", "linux.test.pass_max_days", func(f probes.Facts) { f.Set("login_defs.pass_max_days", "L07", 90) }, Pass, ""},
		{"unset value is not a pass", "linux.test.pass_max_days", func(f probes.Facts) { f.Set("login_defs.pass_max_days", "L07", nil) }, Fail, "login_defs.pass_max_days=unset"},
		{"fact missing", "linux.test.pass_max_days", func(f probes.Facts) { delete(f, "login_defs.pass_max_days") }, Error, "login_defs.pass_max_days: not collected"},
		{"fact not elevated", "linux.test.root_login", func(f probes.Facts) { f.Fail("ssh.permitrootlogin", "L12", probes.ErrTextNotElevated) }, Error, "ssh.permitrootlogin: not elevated"},
		{"root login fail", "linux.test.root_login", nil, Fail, ""},
		{"closure over list", "linux.test.ports", nil, Fail, "net.tcp_listen=[22,23]"},
		{"closure pass", "linux.test.ports", func(f probes.Facts) { f.Set("net.tcp_listen", "L26", []int{22}) }, Pass, ""},
		{"let and filter", "linux.test.ciphers", nil, Fail, ""},
		{"when false is N/A", "linux.test.ciphers", func(f probes.Facts) { f.Set("auditd.active", "L18", false) }, NotApplicable, "auditd not running"},
		{"when false wins over missing rule facts", "linux.test.ciphers", func(f probes.Facts) { f.Set("auditd.active", "L18", false); delete(f, "ssh.ciphers") }, NotApplicable, "auditd not running"},
		{"when fact missing is error", "linux.test.ciphers", func(f probes.Facts) { delete(f, "auditd.active") }, Error, "auditd.active"},
		{"field of a map fact", "linux.test.eol", nil, Pass, ""},
		{"unset known fact is an error", "linux.test.known", func(f probes.Facts) { f.Set("auditd.active", "L18", nil) }, Error, "auditd.active is unknown on this host"},
		{"known fact set", "linux.test.known", nil, Pass, ""},
		{"opt-in fact absent is N/A", "linux.test.optin", func(f probes.Facts) { delete(f, "ssh.ciphers") }, NotApplicable, "not collected (opt-in"},
		{"opt-in fact present", "linux.test.optin", nil, Pass, ""},
		{"opt-in fact errored is an error", "linux.test.optin", func(f probes.Facts) { f.Fail("ssh.ciphers", "L12", "not elevated") }, Error, "not elevated"},
		{"unknown() is an error", "linux.test.undecided", func(f probes.Facts) { f.Set("ssh.permitrootlogin", "L12", "maybe") }, Error, "cannot tell from maybe"},
		{"unknown() not reached", "linux.test.undecided", nil, Fail, ""},
		{"non-boolean result is an error", "linux.test.notbool", func(f probes.Facts) { f.Set("login_defs.pass_max_days", "L07", 5) }, Error, "not a boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			if tc.mod != nil {
				tc.mod(f)
			}
			c, ok := s.Get(tc.id)
			if !ok {
				t.Fatalf("check %s not loaded", tc.id)
			}
			r := c.Evaluate(f, params, now)
			if r.Status != tc.want {
				t.Fatalf("status = %s (%s), want %s", r.Status, r.Message, tc.want)
			}
			if tc.msg != "" && !strings.Contains(r.Message, tc.msg) {
				t.Errorf("message %q lacks %q", r.Message, tc.msg)
			}
		})
	}
	r := s.byID["linux.test.pass_max_days"].Evaluate(base(), params, now)
	if r.Probe != "L07" || len(r.Evidence) != 1 || r.Evidence[0] != "PASS_MAX_DAYS\t99999" {
		t.Errorf("evidence = %q from %q", r.Evidence, r.Probe)
	}
}

func TestReferences(t *testing.T) {
	c, err := loadTest(t, testChecks)
	if err != nil {
		t.Fatal(err)
	}
	got := c.byID["linux.test.ciphers"]
	if strings.Join(got.Facts, ",") != "auditd.active,ssh.ciphers" {
		t.Errorf("facts = %v", got.Facts)
	}
	if got := c.byID["linux.test.ports"].Params; strings.Join(got, ",") != "forbidden_tcp_ports" {
		t.Errorf("params = %v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown fact", "- id: linux.x.y\n  title: t\n  platform: linux\n  expr: ssh.permitrootlogon == \"no\"\n  expected: e\n", `c.yaml:1: check linux.x.y: "ssh.permitrootlogon" is not a documented linux fact`},
		{"unknown param", "- id: linux.x.y\n  title: t\n  platform: linux\n  expr: ssh.permitrootlogin == param.nope\n  expected: e\n", `unknown blueprint parameter "param.nope"`},
		{"param in expected", "- id: linux.x.y\n  title: t\n  platform: linux\n  expr: ssh.permitrootlogin == \"no\"\n  expected: \"{{param.nope}}\"\n", `unknown blueprint parameter "param.nope"`},
		{"syntax", "- id: linux.x.y\n  title: t\n  platform: linux\n  expr: ssh.permitrootlogin ==\n  expected: e\n", "expr:"},
		{"unknown field", "- id: linux.x.y\n  title: t\n  platfrom: linux\n", "c.yaml"},
		{"platform prefix", "- id: windows.x.y\n  title: t\n  platform: linux\n  expr: ssh.permitrootlogin == \"no\"\n  expected: e\n", "must start with its platform"},
		{"second check line", "- id: linux.x.a\n  title: t\n  platform: linux\n  expr: ssh.permitrootlogin == \"no\"\n  expected: e\n- id: linux.x.b\n  title: t\n  platform: linux\n  expr: ssh.nothing\n  expected: e\n", "c.yaml:6:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadTest(t, tc.body)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
