package scheduler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/notify"
)

const exampleConfig = "../inventories/examples/daemon/otsweep-daemon.yaml"

// TestExampleConfig loads the shipped example with its inventory, as the
// daemon does.
func TestExampleConfig(t *testing.T) {
	env := func(k string) string {
		if k == "OTSWEEP_SMTP_PASSWORD" {
			return "example-password"
		}
		return ""
	}
	cfg, err := LoadConfig(exampleConfig, env)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if len(cfg.Sweeps) != 3 || cfg.Listen != DefaultListen || cfg.Grace != 30*time.Second || cfg.SMTP == nil ||
		cfg.SMTP.Security != notify.StartTLS || cfg.SMTP.Password.Reveal() != "example-password" {
		t.Errorf("config %+v", cfg)
	}
	abs, _ := filepath.Abs(filepath.Join(filepath.Dir(exampleConfig), "..", "plant.yaml"))
	if got, _ := filepath.Abs(cfg.Inventory); got != abs {
		t.Errorf("inventory %s, want %s (relative to the config file)", got, abs)
	}
	line3 := cfg.Sweeps[1]
	if line3.Rate != 0.5 || len(line3.Blackouts) != 3 || line3.Schedule.Location.String() != "Europe/Berlin" {
		t.Errorf("line3-morning: rate %v, %d windows, zone %s", line3.Rate, len(line3.Blackouts), line3.Schedule.Location)
	}
	if dc := cfg.Sweeps[2]; dc.Schedule.Location.String() != "UTC" || dc.Timeout != 2*time.Minute {
		t.Errorf("dc-hourly: zone %s timeout %s", dc.Schedule.Location, dc.Timeout)
	}
	d := &Daemon{opts: DaemonOptions{ConfigPath: exampleConfig, Getenv: env}, clock: SystemClock()}
	if _, err := d.load(); err != nil {
		t.Errorf("the example's inventory and targets do not load: %v", err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "smtp-open.pw")
	if err := os.WriteFile(open, []byte("pw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	head := "inventory: inv.yaml\ndb: o.db\n"
	sweep := "sweeps:\n  - name: s\n    schedule: \"@daily\"\n"
	smtp := "smtp:\n  host: mail.plant.example\n  from: o@plant.example\n"
	tests := []struct {
		name, config string
		want         []string // every one must appear
	}{
		{"unknown top-level field", head + sweep + "sweep_defaults: {}\n", []string{"[6:1] unknown field \"sweep_defaults\""}},
		{"duplicate key", head + "db: other.db\n" + sweep, []string{"already defined"}},
		{"no sweeps", head, []string{"c.yaml:1: sweeps: at least one sweep is required"}},
		{"no inventory or db", sweep, []string{"inventory: the inventory file", "db: the database file"}},
		{"bad schedule and name", head + "sweeps:\n  - name: \"night ly\"\n    schedule: \"0 25 * * *\"\n",
			[]string{"c.yaml:4: sweep name \"night ly\"", "c.yaml:5: sweep night ly: cron spec \"0 25 * * *\""}},
		{"duplicate sweep", head + sweep + "  - name: s\n    schedule: \"@hourly\"\n", []string{"c.yaml:6: sweep name \"s\" is used twice"}},
		{"bad durations", head + "grace_period: soon\n" + sweep + "    timeout: -5m\n",
			[]string{"c.yaml:3: \"soon\" is not a positive duration", "c.yaml:7: \"-5m\" is not a positive duration"}},
		{"negative limits", head + sweep + "    rate: -1\n", []string{"c.yaml:4: sweep s: concurrency, zone_limit and rate must not be negative"}},
		{"bad listen", head + "listen: 9464\n" + sweep, []string{"c.yaml:3: listen \"9464\""}},
		{"bad log level", head + "log_level: loud\n" + sweep, []string{"c.yaml:3: log_level"}},
		{"window with both forms", head + "blackouts:\n  - name: w\n    cron: \"0 1 * * *\"\n    from: \"01:00\"\n" + sweep,
			[]string{"c.yaml:4: blackout w: give either cron and duration"}},
		{"cron window without duration", head + "blackouts:\n  - name: w\n    cron: \"0 1 * * *\"\n" + sweep,
			[]string{"c.yaml:4: blackout w: a cron window needs a duration"}},
		{"bad window times", head + "blackouts:\n  - name: w\n    from: \"1am\"\n    to: \"02:00\"\n  - name: v\n    days: [someday]\n    from: \"01:00\"\n    to: \"02:00\"\n" + sweep,
			[]string{"c.yaml:5: blackout w: from: time of day \"1am\"", "c.yaml:8: blackout v: unknown weekday \"someday\""}},
		{"recipients without smtp", head + sweep + "alerts:\n  to: [a@plant.example]\n", []string{"there is no smtp section"}},
		{"smtp without recipients", head + sweep + smtp, []string{"c.yaml:7: smtp: no recipients"}},
		{"bad recipient", head + sweep + smtp + "alerts:\n  to: [\"not an address\"]\n", []string{"alerts: recipients default"}},
		{"plain smtp to a relay", head + sweep + smtp + "  security: none\nalerts:\n  to: [a@plant.example]\n", []string{"allowed only to a loopback address"}},
		{"unknown security", head + sweep + smtp + "  security: ssl\nalerts:\n  to: [a@plant.example]\n", []string{"smtp security \"ssl\""}},
		{"password file too open", head + sweep + smtp + "  username: u\n  password_file: " + open + "\nalerts:\n  to: [a@plant.example]\n",
			[]string{"c.yaml:7: smtp: password file", "mode 0644 is too open"}},
		{"missing ca file", head + sweep + smtp + "  ca_file: none.pem\nalerts:\n  to: [a@plant.example]\n", []string{"c.yaml:9: smtp ca_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(p, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(p, func(string) string { return "" })
			if err == nil {
				t.Fatal("LoadConfig accepted the config")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("error %v is not a *ConfigError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("inventory: /etc/otsweep/inv.yaml\ndb: o.db\nsweeps:\n  - name: s\n    schedule: \"@daily\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Sweeps[0]
	if cfg.Listen != "127.0.0.1:9464" || cfg.Grace != DefaultGrace || cfg.SMTP != nil || cfg.Inventory != "/etc/otsweep/inv.yaml" ||
		cfg.DB != filepath.Join(dir, "o.db") || s.Timeout != 5*time.Minute || s.Schedule.Location != time.UTC || s.Line != 4 {
		t.Errorf("defaults: %+v %+v", cfg, s)
	}
}
