package scheduler

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"github.com/otsweep/otsweep/internal/yamlx"
	"github.com/otsweep/otsweep/inventories"
	"github.com/otsweep/otsweep/notify"
)

// DefaultListen is where the daemon serves /healthz and /metrics unless the
// config says otherwise: loopback only.
const DefaultListen = "127.0.0.1:9464"

// DefaultGrace is how long a stopping daemon lets scans in flight finish.
const DefaultGrace = 30 * time.Second

// configFile is the daemon config file as written. Durations are strings so
// that a bad one is reported with its line.
type configFile struct {
	Inventory   string       `yaml:"inventory"`
	DB          string       `yaml:"db"`
	Definitions string       `yaml:"definitions"`
	Listen      string       `yaml:"listen"`
	GracePeriod string       `yaml:"grace_period"`
	Timezone    string       `yaml:"timezone"`
	LogLevel    string       `yaml:"log_level"`
	SSH         sshFile      `yaml:"ssh"`
	Blackouts   []windowFile `yaml:"blackouts"`
	Sweeps      []sweepFile  `yaml:"sweeps"`
	SMTP        *smtpFile    `yaml:"smtp"`
	Alerts      alertsFile   `yaml:"alerts"`
}

type sshFile struct {
	KnownHosts      string `yaml:"known_hosts"`
	TrustOnFirstUse bool   `yaml:"trust_on_first_use"`
}

type sweepFile struct {
	Name        string       `yaml:"name"`
	Schedule    string       `yaml:"schedule"`
	Timezone    string       `yaml:"timezone"`
	Targets     targetsFile  `yaml:"targets"`
	Concurrency int          `yaml:"concurrency"`
	ZoneLimit   int          `yaml:"zone_limit"`
	Timeout     string       `yaml:"timeout"`
	Rate        float64      `yaml:"rate"`
	Sudo        bool         `yaml:"sudo"`
	Deep        bool         `yaml:"deep"`
	Blackouts   []windowFile `yaml:"blackouts"`
}

type targetsFile struct {
	Assets []string `yaml:"assets"`
	Roles  []string `yaml:"roles"`
	Zones  []string `yaml:"zones"`
	Tags   []string `yaml:"tags"`
}

type windowFile struct {
	Name     string   `yaml:"name"`
	Timezone string   `yaml:"timezone"`
	Days     []string `yaml:"days"`
	From     string   `yaml:"from"`
	To       string   `yaml:"to"`
	Cron     string   `yaml:"cron"`
	Duration string   `yaml:"duration"`
}

type smtpFile struct {
	Host         string    `yaml:"host"`
	Port         int       `yaml:"port"`
	Security     string    `yaml:"security"`
	Username     string    `yaml:"username"`
	PasswordEnv  string    `yaml:"password_env"`
	PasswordFile string    `yaml:"password_file"`
	From         string    `yaml:"from"`
	CAFile       string    `yaml:"ca_file"`
	Timeout      string    `yaml:"timeout"`
	Retry        retryFile `yaml:"retry"`
}

type retryFile struct {
	Attempts int    `yaml:"attempts"`
	Initial  string `yaml:"initial"`
	Max      string `yaml:"max"`
}

type alertsFile struct {
	To            []string            `yaml:"to"`
	Zones         map[string][]string `yaml:"zones"`
	SubjectPrefix string              `yaml:"subject_prefix"`
}

// Config is a validated daemon config. Paths are absolute (relative ones in
// the file are read relative to the file's folder); the SMTP password is
// resolved. It holds no inventory or definitions: see Daemon for those.
type Config struct {
	Path        string // the file it was read from
	Inventory   string
	DB          string
	Definitions string // "" = built-in definitions only
	Listen      string
	Grace       time.Duration
	LogLevel    slog.Level
	KnownHosts  string
	TOFU        bool
	Sweeps      []SweepPlan

	SMTP          *notify.SMTP // nil: no alerts
	Retry         notify.Retry
	Recipients    notify.Recipients
	SubjectPrefix string
}

// SweepPlan is one scheduled sweep of the config.
type SweepPlan struct {
	Name        string
	Line        int // in the config file
	Schedule    Schedule
	Assets      []string
	Roles       []string
	Zones       []string
	Tags        []string
	Concurrency int           // 0 = the runner's default (8)
	ZoneLimit   int           // 0 = no cap per zone
	Timeout     time.Duration // per host; 0 = 5 min
	Rate        float64       // hosts started per second; 0 = no limit
	Sudo, Deep  bool
	Blackouts   Windows // the config's global windows, then the sweep's own
}

// ConfigError is a config problem at a line of the file.
type ConfigError struct {
	File string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

var sweepNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// LoadConfig reads and validates a daemon config file: strict YAML (an
// unknown or repeated key is an error), cron specs and time zones, blackout
// windows, durations, addresses, and the SMTP password (from password_env
// through getenv, or an owner-only password_file). Every problem is
// reported, each as a *ConfigError naming file and line, joined with
// errors.Join. It reads no inventory and contacts nothing.
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("daemon config: %w", err)
	}
	var f configFile
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict(), yaml.DisallowUnknownField())
	if err := yamlx.Decode(dec, &f); err != nil {
		return nil, &ConfigError{File: path, Msg: strings.TrimSpace(yaml.FormatError(err, false, false))}
	}
	v := &validator{file: path, data: data, dir: filepath.Dir(path)}
	cfg := v.config(&f)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	cfg.Path = path
	if getenv == nil {
		getenv = os.Getenv
	}
	if f.SMTP != nil {
		pw, err := notify.SecretRef{Env: f.SMTP.PasswordEnv, File: v.abs(f.SMTP.PasswordFile)}.Resolve(getenv)
		if err != nil {
			return nil, v.at("$.smtp", "smtp: %v", err)
		}
		cfg.SMTP.Password = pw
		if err := cfg.SMTP.Validate(); err != nil {
			return nil, v.at("$.smtp", "smtp: %v", err)
		}
	}
	return cfg, nil
}

type validator struct {
	file string
	data []byte
	dir  string
	errs []error
}

// at returns an error at the line of YAML path p.
func (v *validator) at(p, format string, args ...any) error {
	return &ConfigError{File: v.file, Line: v.line(p), Msg: fmt.Sprintf(format, args...)}
}

func (v *validator) errorf(p, format string, args ...any) {
	v.errs = append(v.errs, v.at(p, format, args...))
}

func (v *validator) line(p string) int {
	path, err := yaml.PathString(p)
	if err != nil {
		return 0
	}
	file, err := parser.ParseBytes(v.data, 0)
	if err != nil {
		return 0
	}
	n, err := path.FilterFile(file)
	if err != nil || n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

func (v *validator) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(v.dir, p)
}

func (v *validator) duration(p, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		v.errorf(p, "%q is not a positive duration (e.g. 30s, 5m, 2h)", s)
		return def
	}
	return d
}

func (v *validator) config(f *configFile) *Config {
	cfg := &Config{Listen: f.Listen, KnownHosts: v.abs(f.SSH.KnownHosts), TOFU: f.SSH.TrustOnFirstUse,
		Inventory: v.abs(f.Inventory), DB: v.abs(f.DB), Definitions: v.abs(f.Definitions)}
	if f.Inventory == "" {
		v.errorf("$", "inventory: the inventory file or folder is required")
	}
	if f.DB == "" {
		v.errorf("$", "db: the database file is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		v.errorf("$.listen", "listen %q: want host:port, e.g. %s", cfg.Listen, DefaultListen)
	}
	cfg.Grace = v.duration("$.grace_period", f.GracePeriod, DefaultGrace)
	if f.LogLevel != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(f.LogLevel)); err != nil {
			v.errorf("$.log_level", "log_level %q: want debug, info, warn or error", f.LogLevel)
		}
	}
	if f.Timezone != "" {
		if _, err := time.LoadLocation(f.Timezone); err != nil {
			v.errorf("$.timezone", "timezone %q: %v", f.Timezone, err)
		}
	}
	global := v.windows("$.blackouts", f.Blackouts, f.Timezone)
	if len(f.Sweeps) == 0 {
		v.errorf("$", "sweeps: at least one sweep is required")
	}
	seen := map[string]bool{}
	for i, s := range f.Sweeps {
		p := fmt.Sprintf("$.sweeps[%d]", i)
		plan := SweepPlan{Name: s.Name, Line: v.line(p), Assets: s.Targets.Assets, Roles: s.Targets.Roles,
			Zones: s.Targets.Zones, Tags: s.Targets.Tags, Concurrency: s.Concurrency, ZoneLimit: s.ZoneLimit,
			Rate: s.Rate, Sudo: s.Sudo, Deep: s.Deep}
		switch {
		case !sweepNameRe.MatchString(s.Name):
			v.errorf(p, "sweep name %q: 1-64 letters, digits, '.', '_' or '-'", s.Name)
		case seen[s.Name]:
			v.errorf(p+".name", "sweep name %q is used twice", s.Name)
		}
		seen[s.Name] = true
		tz := s.Timezone
		if tz == "" && !strings.Contains(s.Schedule, "TZ=") {
			tz = f.Timezone
		}
		sched, err := ParseSchedule(s.Schedule, tz)
		if err != nil {
			v.errorf(p+".schedule", "sweep %s: %v", s.Name, err)
		}
		plan.Schedule = sched
		if s.Concurrency < 0 || s.ZoneLimit < 0 || s.Rate < 0 {
			v.errorf(p, "sweep %s: concurrency, zone_limit and rate must not be negative", s.Name)
		}
		plan.Timeout = v.duration(p+".timeout", s.Timeout, 5*time.Minute)
		plan.Blackouts = append(slices.Clone(global), v.windows(p+".blackouts", s.Blackouts, f.Timezone)...)
		cfg.Sweeps = append(cfg.Sweeps, plan)
	}
	v.alerts(f, cfg)
	return cfg
}

func (v *validator) windows(p string, ws []windowFile, defTZ string) Windows {
	var out Windows
	for i, w := range ws {
		wp := fmt.Sprintf("%s[%d]", p, i)
		tz := w.Timezone
		if tz == "" {
			tz = defTZ
		}
		loc := time.UTC
		if tz != "" {
			l, err := time.LoadLocation(tz)
			if err != nil {
				v.errorf(wp+".timezone", "blackout %s: timezone %q: %v", w.Name, tz, err)
				continue
			}
			loc = l
		}
		name := w.Name
		if name == "" {
			name = fmt.Sprintf("blackout %d", i+1)
		}
		win := Window{Name: name, Location: loc}
		switch {
		case w.Cron != "" && (w.From != "" || w.To != "" || len(w.Days) > 0):
			v.errorf(wp, "blackout %s: give either cron and duration, or days, from and to", name)
			continue
		case w.Cron != "":
			cronTZ := tz
			if strings.Contains(w.Cron, "TZ=") && w.Timezone == "" {
				cronTZ = "" // the spec's own zone wins over the config's default
			}
			s, err := ParseSchedule(w.Cron, cronTZ)
			if err != nil {
				v.errorf(wp+".cron", "blackout %s: %v", name, err)
				continue
			}
			win.Cron = &s
			if w.Duration == "" {
				v.errorf(wp, "blackout %s: a cron window needs a duration", name)
				continue
			}
			win.Duration = v.duration(wp+".duration", w.Duration, time.Hour)
		default:
			if w.Duration != "" {
				v.errorf(wp+".duration", "blackout %s: duration applies to cron windows; use from and to", name)
			}
			from, err := parseClock(w.From)
			if err != nil {
				v.errorf(wp+".from", "blackout %s: from: %v", name, err)
				continue
			}
			to, err := parseClock(w.To)
			if err != nil {
				v.errorf(wp+".to", "blackout %s: to: %v", name, err)
				continue
			}
			if from == to {
				v.errorf(wp, "blackout %s: from and to are equal", name)
				continue
			}
			days, err := parseWeekdays(w.Days)
			if err != nil {
				v.errorf(wp+".days", "blackout %s: %v", name, err)
				continue
			}
			win.From, win.To, win.Days = from, to, days
		}
		out = append(out, win)
	}
	return out
}

func (v *validator) alerts(f *configFile, cfg *Config) {
	cfg.Recipients = notify.Recipients{Default: f.Alerts.To, Zones: f.Alerts.Zones}
	cfg.SubjectPrefix = f.Alerts.SubjectPrefix
	if err := cfg.Recipients.Validate(); err != nil {
		v.errorf("$.alerts", "alerts: %v", err)
	}
	if f.SMTP == nil {
		if len(cfg.Recipients.All()) > 0 {
			v.errorf("$.alerts", "alerts: recipients are set but there is no smtp section to send with")
		}
		return
	}
	s := f.SMTP
	if len(cfg.Recipients.All()) == 0 {
		v.errorf("$.smtp", "smtp: no recipients: set alerts.to or alerts.zones")
	}
	sec := notify.Security(s.Security)
	if sec == "" {
		sec = notify.StartTLS
	}
	cfg.SMTP = &notify.SMTP{Host: s.Host, Port: s.Port, Security: sec, Username: s.Username, From: s.From,
		Timeout: v.duration("$.smtp.timeout", s.Timeout, 30*time.Second)}
	if s.CAFile != "" {
		pem, err := os.ReadFile(v.abs(s.CAFile))
		if err != nil {
			v.errorf("$.smtp.ca_file", "smtp ca_file: %v", err)
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				v.errorf("$.smtp.ca_file", "smtp ca_file %s: no PEM certificate in it", s.CAFile)
			}
			cfg.SMTP.RootCAs = pool
		}
	}
	if s.Retry.Attempts < 0 {
		v.errorf("$.smtp.retry.attempts", "smtp retry attempts must not be negative")
	}
	cfg.Retry = notify.Retry{Attempts: s.Retry.Attempts,
		Initial: v.duration("$.smtp.retry.initial", s.Retry.Initial, 0),
		Max:     v.duration("$.smtp.retry.max", s.Retry.Max, 0)}
}

// inventoryValidator checks an inventory's roles and requirement ids
// against the definitions, as `otsweep inventory validate` does.
func inventoryValidator(defs *Definitions) inventories.Validator {
	return inventories.Validator{
		Role: func(r string) bool { _, ok := defs.Blueprints.Get(r); return ok },
		Requirement: func(id string) bool {
			_, ok := defs.Catalog.Lookup(id)
			return ok && strings.HasPrefix(id, "SR ")
		},
	}
}
