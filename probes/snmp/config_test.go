package snmp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/otsweep/otsweep/probes"
)

func TestNewValidates(t *testing.T) {
	v3 := func(mod func(*Config)) Config {
		c := Config{Address: "10.0.0.5", Version: "3", User: "otsweep", AuthPassword: probes.NewSecret("Auth-Secret-1"), PrivPassword: probes.NewSecret("Priv-Secret-2")}
		mod(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"v2c ok", Config{Address: "10.0.0.5", Version: "2c", Community: probes.NewSecret("Comm-Secret-3")}, ""},
		{"v3 defaults", v3(func(*Config) {}), ""},
		{"no address", Config{Version: "2c", Community: probes.NewSecret("Comm-Secret-3")}, "address is empty"},
		{"bad version", Config{Address: "h", Version: "4", Community: probes.NewSecret("Comm-Secret-3")}, "version"},
		{"v2c without community", Config{Address: "h", Version: "2c"}, "needs a community"},
		{"v2c with v3 password", Config{Address: "h", Version: "2c", Community: probes.NewSecret("Comm-Secret-3"), AuthPassword: probes.NewSecret("Auth-Secret-1")}, "SNMPv3 credentials"},
		{"v3 without user", v3(func(c *Config) { c.User = "" }), "needs a user"},
		{"v3 bad level", v3(func(c *Config) { c.SecurityLevel = "authpriv+" }), "security level"},
		{"v3 bad auth protocol", v3(func(c *Config) { c.AuthProtocol = "SHA3" }), "auth protocol"},
		{"v3 short password", v3(func(c *Config) { c.AuthPassword = probes.NewSecret("Ab3$x") }), "shorter than 8"},
		{"v3 priv without level", v3(func(c *Config) { c.SecurityLevel = "authNoPriv" }), "priv protocol or password"},
		{"port out of range", Config{Address: "h", Port: 70000, Version: "1", Community: probes.NewSecret("Comm-Secret-3")}, "port"},
		{"max-repetitions", Config{Address: "h", Version: "2c", Community: probes.NewSecret("Comm-Secret-3"), MaxRepetitions: 1000}, "max-repetitions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c := p.Config()
				if c.Port != 161 || c.Timeout != DefaultTimeout || c.MaxRepetitions != DefaultMaxRepetitions || c.MaxRows != DefaultMaxRows {
					t.Errorf("defaults not applied: %+v", c)
				}
				if c.Version == "3" && (c.SecurityLevel != AuthPriv || c.AuthProtocol != "SHA" || c.PrivProtocol != "AES") {
					t.Errorf("v3 defaults: %s %s %s", c.SecurityLevel, c.AuthProtocol, c.PrivProtocol)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want ErrConfig with %q", err, tc.wantErr)
			}
			for _, s := range []string{"Auth-Secret-1", "Priv-Secret-2", "Comm-Secret-3", "Ab3$x"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error leaks a credential: %v", err)
				}
			}
		})
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		contains []string
		absent   []string
	}{
		{
			name:     "v1 uses GETNEXT and splits the scalar GET",
			cfg:      Config{Address: "10.0.0.7", Version: "1", Community: probes.NewSecret("Comm-Secret-3")},
			contains: []string{"v1 GET " + strings.Join(systemScalars(), " "), "v1 GET " + oidIPForwarding, "v1 GETNEXT walk " + oidIfOperStatus, "v2c GET " + oidSysDescr},
			absent:   []string{"GETBULK", "Comm-Secret-3", `"public"`},
		},
		{
			name:     "v3 probes weaker levels and never names the passwords",
			cfg:      Config{Address: "10.0.0.7", Version: "3", User: "otsweep", AuthPassword: probes.NewSecret("Auth-Secret-1"), PrivPassword: probes.NewSecret("Priv-Secret-2")},
			contains: []string{"SNMPv3 GET (no varbinds)", "v3 authPriv GET ", "v3 authNoPriv GET " + oidSysDescr, "v3 noAuthNoPriv GET " + oidSysDescr, "v3 authPriv GETBULK walk " + oidTCPListenerProcess, `user "otsweep" authPriv auth SHA priv AES`},
			absent:   []string{"Auth-Secret-1", "Priv-Secret-2", `"public"`},
		},
		{
			name:     "guessing lists the default communities",
			cfg:      Config{Address: "10.0.0.7", Version: "2c", Community: probes.NewSecret("Comm-Secret-3"), GuessDefaultCommunities: true},
			contains: []string{`default community "public"`, `default community "private"`, "community [redacted]"},
			absent:   []string{"Comm-Secret-3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var all strings.Builder
			for _, r := range p.Plan() {
				if r.Transport != "snmp" || r.Address != "10.0.0.7:161" {
					t.Errorf("planned %+v", r)
				}
				fmt.Fprintf(&all, "%s | %s\n", r.Request, r.Body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(all.String(), s) {
					t.Errorf("plan lacks %q:\n%s", s, all.String())
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(all.String(), s) {
					t.Errorf("plan contains %q", s)
				}
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cfg, err := normalize(Config{Address: "10.0.0.9", Version: "2c", Community: probes.NewSecret("Comm-Secret-3")})
	if err != nil {
		t.Fatal(err)
	}
	v2 := &session{version: Version2c, label: "v2c"}
	v3 := &session{version: Version3, label: "v3 authPriv", engineKnown: true}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		s    *session
		err  error
		want error
		text string
	}{
		{"timeout v2c", context.Background(), v2, fmt.Errorf("request timeout (after 1 retries): %w", gosnmp.ErrMaxRetriesExceeded), probes.ErrUnreachable, "no response (wrong community or host down)"},
		{"ctx ended", done, v2, context.Canceled, probes.ErrTimeout, "context canceled"},
		{"wrong digest", context.Background(), v3, gosnmp.ErrWrongDigest, probes.ErrAuthFailed, "usmStatsWrongDigests"},
		{"unknown user", context.Background(), v3, gosnmp.ErrUnknownUsername, probes.ErrAuthFailed, "usmStatsUnknownUserNames"},
		{"decryption", context.Background(), v3, gosnmp.ErrDecryption, probes.ErrAuthFailed, "privacy password"},
		{"v3 silent after discovery", context.Background(), v3, gosnmp.ErrMaxRetriesExceeded, probes.ErrAuthFailed, "privacy password"},
		{"other error with a secret in it", context.Background(), v2, errors.New("agent said Comm-Secret-3"), probes.ErrProtocol, "[redacted]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := classify(tc.ctx, cfg, "GET scalars", tc.s, tc.err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var he *probes.HostError
			if !errors.As(err, &he) || he.Host != "10.0.0.9:161" {
				t.Errorf("no HostError naming the host: %v", err)
			}
			if !strings.Contains(err.Error(), tc.text) || strings.Contains(err.Error(), "Comm-Secret-3") {
				t.Errorf("err = %q", err)
			}
		})
	}
}

func TestPacer(t *testing.T) {
	p := &pacer{min: 20 * time.Millisecond}
	start := time.Now()
	for range 4 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("4 paced requests took %s, want >= 60ms", d)
	}
	if p.count() != 4 {
		t.Errorf("count %d", p.count())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := &pacer{min: time.Hour, last: time.Now()}
	if err := slow.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("wait on an ended ctx: %v", err)
	}
}
