package scheduler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoadConfig feeds arbitrary daemon config files to LoadConfig: it must
// return a config or an error naming the file, never panic or hang, and what
// it accepts must hold the invariants the daemon relies on.
func FuzzLoadConfig(f *testing.F) {
	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte("inventory: i.yaml\ndb: o.db\nsweeps:\n  - name: s\n    schedule: \"@every 1s\"\n"))
	f.Add([]byte("inventory: i.yaml\ndb: o.db\nsweeps:\n  - name: s\n    schedule: \"CRON_TZ=Europe/Berlin 30 1 * * *\"\n    blackouts:\n      - {name: b, days: [mon-fri], from: \"23:00\", to: \"01:00\"}\n"))
	f.Add([]byte("inventory: i.yaml\ndb: o.db\nblackouts:\n  - {name: m, cron: \"0 22 1 * *\", duration: 6h}\nsweeps: []\nsmtp: {host: 127.0.0.1, security: none, from: a@b.example, password_env: PW, username: u}\nalerts: {to: [x@y.example], zones: {z: [q@r.example]}}\n"))
	f.Add([]byte("inventory: i.yaml\ndb: o.db\nsweeps:\n  - name: s\n    schedule: \"TZ=Nowhere/Else 0 0 * * *\"\n    rate: -1\n    timeout: -5s\n"))
	dir := f.TempDir()
	env := func(k string) string {
		if k == "PW" || k == "OTSWEEP_SMTP_PASSWORD" {
			return "fuzz-password"
		}
		return ""
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "otsweep-daemon.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(p, env)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("config %v with error %v", cfg, err)
		}
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) && !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q names neither a line nor the file", err)
			}
			if strings.Contains(err.Error(), "fuzz-password") {
				t.Fatalf("the SMTP password appears in the error %q", err)
			}
			return
		}
		if cfg.Inventory == "" || cfg.DB == "" || cfg.Grace <= 0 {
			t.Fatalf("accepted config without inventory, db or grace: %+v", cfg)
		}
		seen := map[string]bool{}
		for _, s := range cfg.Sweeps {
			if !sweepNameRe.MatchString(s.Name) || seen[s.Name] {
				t.Fatalf("accepted sweep name %q", s.Name)
			}
			seen[s.Name] = true
			if s.Concurrency < 0 || s.ZoneLimit < 0 || s.Timeout < 0 || s.Rate < 0 {
				t.Fatalf("accepted sweep %+v", s)
			}
			// A schedule that was accepted yields a next time without
			// panicking.
			at := time.Date(2025, 3, 30, 1, 59, 0, 0, time.UTC)
			_ = s.Schedule.Next(at)
			_, _ = s.Blackouts.Active(at)
		}
	})
}
