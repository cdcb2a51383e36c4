package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/internal/testbed/smtpd"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/store"
)

const baseConfig = `inventory: inventory.yaml
db: otsweep.db
listen: 127.0.0.1:0
`

// TestDaemonScheduleTimeZones: cron times are read in the sweep's zone,
// across a daylight-saving change, and each sweep scans its targets.
func TestDaemonScheduleTimeZones(t *testing.T) {
	start := time.Date(2025, 3, 29, 12, 0, 0, 0, time.UTC) // Saturday
	h := newHarness(t, start, baseConfig+`timezone: Europe/Berlin
sweeps:
  - name: nightly
    schedule: "30 1 * * *"
    concurrency: 2
  - name: hmi-weekdays
    schedule: "CRON_TZ=America/New_York 0 6 * * 1-5"
    targets: {tags: [hmi]}
`).run()

	steps := []struct {
		at    time.Time
		sweep string
		hosts int
	}{
		{time.Date(2025, 3, 30, 0, 30, 0, 0, time.UTC), "nightly", 3},      // 01:30 CET
		{time.Date(2025, 3, 30, 23, 30, 0, 0, time.UTC), "nightly", 3},     // 01:30 CEST: summer time began
		{time.Date(2025, 3, 31, 10, 0, 0, 0, time.UTC), "hmi-weekdays", 2}, // Monday 06:00 EDT
		{time.Date(2025, 3, 31, 23, 30, 0, 0, time.UTC), "nightly", 3},     // 01:30 CEST
		{time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC), "hmi-weekdays", 2},  // Tuesday 06:00 EDT
	}
	for i, s := range steps {
		h.fireAt(s.at)
		sw := h.waitSweep(i + 1)
		if sw.Name != s.sweep || sw.Status != store.SweepComplete || !sw.Started.Equal(s.at) || sw.Trigger != "schedule" ||
			sw.Counts[probes.StatusOK] != s.hosts {
			t.Errorf("step %d: sweep %s %s started %s trigger %s counts %v; want %s at %s with %d hosts",
				i, sw.Name, sw.Status, sw.Started, sw.Trigger, sw.Counts, s.sweep, s.at, s.hosts)
		}
	}

	code, body := h.get("/metrics")
	for _, want := range []string{
		`otsweep_sweeps_total{status="complete",sweep="nightly"} 3`,
		`otsweep_sweeps_total{status="complete",sweep="hmi-weekdays"} 2`,
		`otsweep_scans_total{status="ok"} 13`,
		`otsweep_scan_duration_seconds_count{transport="local"} 13`,
		`otsweep_drift_events_total{kind="new-asset",regression="false"} 3`,
		`otsweep_missed_runs_total{reason="overlap",sweep="nightly"} 0`,
		`otsweep_sweep_next_run_timestamp_seconds{sweep="nightly"} ` + strconv.FormatFloat(float64(time.Date(2025, 4, 1, 23, 30, 0, 0, time.UTC).Unix()), 'g', -1, 64),
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %q", code, want)
		}
	}
	code, body = h.get("/healthz")
	var hz struct {
		Status string `json:"status"`
		Sweeps int    `json:"sweeps"`
	}
	if err := json.Unmarshal([]byte(body), &hz); code != 200 || err != nil || hz.Status != "ok" || hz.Sweeps != 2 {
		t.Errorf("/healthz = %d %s", code, body)
	}
}

func TestDaemonNoOverlap(t *testing.T) {
	h := newHarness(t, time.Date(2025, 6, 2, 8, 5, 0, 0, time.UTC), baseConfig+`sweeps:
  - name: frequent
    schedule: "*/10 * * * *"
`).run()
	h.hosts.hold("hist-01")
	h.fireAt(time.Date(2025, 6, 2, 8, 10, 0, 0, time.UTC))
	h.hosts.waitStarted(t, 3)

	// 08:20: the 08:10 run still waits for hist-01.
	h.fireAt(time.Date(2025, 6, 2, 8, 20, 0, 0, time.UTC))
	eventually(t, "the overlap to be recorded", func() bool { return len(h.missed()) == 1 })
	m := h.missed()[0]
	if m.Reason != store.MissedOverlap || m.Sweep != "frequent" || !m.Scheduled.Equal(time.Date(2025, 6, 2, 8, 20, 0, 0, time.UTC)) ||
		!strings.Contains(m.Detail, "08:10") {
		t.Errorf("missed run %+v", m)
	}
	if n := len(h.sweeps()); n != 1 {
		t.Errorf("%d sweeps while the first runs, want 1", n)
	}

	h.hosts.release("hist-01")
	if sw := h.waitSweep(1); sw.Status != store.SweepComplete || sw.Counts[probes.StatusOK] != 3 {
		t.Errorf("first sweep %s %v", sw.Status, sw.Counts)
	}
	h.fireAt(time.Date(2025, 6, 2, 8, 30, 0, 0, time.UTC))
	if sw := h.waitSweep(2); sw.Status != store.SweepComplete {
		t.Errorf("next sweep %s", sw.Status)
	}
	if _, body := h.get("/metrics"); !strings.Contains(body, `otsweep_missed_runs_total{reason="overlap",sweep="frequent"} 1`) {
		t.Errorf("metrics lack the overlap:\n%s", grepLines(body, "otsweep_missed"))
	}
}

func TestDaemonBlackoutSkipsRun(t *testing.T) {
	// Monday 04:30 in Berlin (CEST).
	h := newHarness(t, time.Date(2025, 6, 2, 2, 30, 0, 0, time.UTC), baseConfig+`timezone: Europe/Berlin
blackouts:
  - name: shift-change
    days: [mon-fri]
    from: "05:30"
    to: "06:30"
sweeps:
  - name: hourly
    schedule: "0 * * * *"
`).run()
	h.fireAt(time.Date(2025, 6, 2, 3, 0, 0, 0, time.UTC)) // 05:00: runs
	h.waitSweep(1)
	h.fireAt(time.Date(2025, 6, 2, 4, 0, 0, 0, time.UTC)) // 06:00: in the window
	eventually(t, "the blackout to be recorded", func() bool { return len(h.missed()) == 1 })
	h.fireAt(time.Date(2025, 6, 2, 5, 0, 0, 0, time.UTC)) // 07:00: runs
	h.waitSweep(2)
	if n := len(h.sweeps()); n != 2 {
		t.Errorf("%d sweeps, want 2", n)
	}
	m := h.missed()[0]
	if m.Reason != store.MissedBlackout || !m.Scheduled.Equal(time.Date(2025, 6, 2, 4, 0, 0, 0, time.UTC)) || !strings.Contains(m.Detail, "shift-change") {
		t.Errorf("missed run %+v", m)
	}
}

// TestDaemonBlackoutBeginsMidSweep: hosts in flight finish, no new host is
// contacted, and the sweep is recorded as partial.
func TestDaemonBlackoutBeginsMidSweep(t *testing.T) {
	h := newHarness(t, time.Date(2025, 6, 2, 2, 0, 0, 0, time.UTC), baseConfig+`sweeps:
  - name: nightly
    schedule: "0 3 * * *"
    concurrency: 1
    blackouts:
      - name: backup
        cron: "15 3 * * *"
        duration: 1h
`).run()
	h.hosts.hold("hmi-01")
	h.fireAt(time.Date(2025, 6, 2, 3, 0, 0, 0, time.UTC))
	if got := h.hosts.waitStarted(t, 1); got[0] != "hmi-01" {
		t.Fatalf("first host %v", got)
	}
	h.clock.AdvanceTo(time.Date(2025, 6, 2, 3, 20, 0, 0, time.UTC))
	h.hosts.release("hmi-01")
	sw := h.waitSweep(1)
	if sw.Status != store.SweepPartial || sw.Counts[probes.StatusOK] != 1 {
		t.Errorf("sweep %s counts %v; want partial with hmi-01 only", sw.Status, sw.Counts)
	}
	select {
	case host := <-h.hosts.started:
		t.Errorf("%s was contacted during the blackout", host)
	default:
	}
	if !strings.Contains(h.logs.String(), "blackout window began during the sweep") {
		t.Error("the blackout was not logged")
	}
}

func TestDaemonReload(t *testing.T) {
	hourly := baseConfig + `sweeps:
  - name: main
    schedule: "0 * * * *"
`
	quarterly := baseConfig + `sweeps:
  - name: main
    schedule: "*/15 * * * *"
`
	h := newHarness(t, time.Date(2025, 6, 2, 10, 5, 0, 0, time.UTC), hourly).run()
	h.clock.waitTimer(t, time.Date(2025, 6, 2, 11, 0, 0, 0, time.UTC))

	h.writeConfig(quarterly)
	if err := h.d.Reload(); err != nil {
		t.Fatalf("Reload(good) = %v", err)
	}
	h.fireAt(time.Date(2025, 6, 2, 10, 15, 0, 0, time.UTC))
	h.waitSweep(1)

	bad := []struct {
		name, config, want string
	}{
		{"unknown field", baseConfig + "sweeps:\n  - name: main\n    shedule: \"*/5 * * * *\"\n", `unknown field "shedule"`},
		{"bad cron", baseConfig + "sweeps:\n  - name: main\n    schedule: \"61 * * * *\"\n", "otsweep-daemon.yaml:6: sweep main: cron spec \"61 * * * *\""},
		{"unknown time zone", baseConfig + "timezone: Mars/Olympus_Mons\nsweeps:\n  - name: main\n    schedule: \"@hourly\"\n", "otsweep-daemon.yaml:4: timezone"},
		{"unknown zone in targets", baseConfig + "sweeps:\n  - name: main\n    schedule: \"@hourly\"\n    targets: {zones: [cell-9]}\n", `otsweep-daemon.yaml:5: sweep main: targets in`},
		{"inventory gone", "inventory: gone.yaml\ndb: otsweep.db\nsweeps:\n  - name: main\n    schedule: \"@hourly\"\n", "inventory"},
		{"smtp password unset", quarterly + "smtp:\n  host: 127.0.0.1\n  username: u\n  password_env: OTSWEEP_UNSET\n  from: o@plant.example\nalerts:\n  to: [a@plant.example]\n", "OTSWEEP_UNSET is not set"},
		{"not yaml", "sweeps: [", "otsweep-daemon.yaml"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			h.writeConfig(b.config)
			err := h.d.Reload()
			if err == nil || !strings.Contains(err.Error(), b.want) || !strings.Contains(err.Error(), "config in force stays") {
				t.Fatalf("Reload = %v; want an error containing %q", err, b.want)
			}
			if got := h.d.Config().Sweeps[0].Schedule.Spec; got != "*/15 * * * *" {
				t.Errorf("schedule in force %q", got)
			}
		})
	}
	// The old config still schedules.
	h.fireAt(time.Date(2025, 6, 2, 10, 30, 0, 0, time.UTC))
	h.waitSweep(2)
	if _, body := h.get("/metrics"); !strings.Contains(body, fmt.Sprintf(`otsweep_config_reloads_total{result="rejected"} %d`, len(bad))) ||
		!strings.Contains(body, `otsweep_config_reloads_total{result="ok"} 1`) {
		t.Errorf("reload metrics:\n%s", grepLines(body, "reloads"))
	}
}

// TestDaemonGracefulShutdown: on stop, hosts in flight may finish within the
// grace period, no new host starts, the rest are cancelled after it, and the
// sweep is recorded as partial.
func TestDaemonGracefulShutdown(t *testing.T) {
	h := newHarness(t, time.Date(2025, 6, 2, 1, 0, 0, 0, time.UTC), baseConfig+`grace_period: 45s
sweeps:
  - name: nightly
    schedule: "0 2 * * *"
    concurrency: 2
`).run()
	h.hosts.hold("hmi-01", "hmi-02", "hist-01")
	h.fireAt(time.Date(2025, 6, 2, 2, 0, 0, 0, time.UTC))
	if got := h.hosts.waitStarted(t, 2); !slices.Equal(got, []string{"hmi-01", "hmi-02"}) {
		t.Fatalf("started %v", got)
	}
	stopped := h.stop()
	grace := h.clock.waitTimer(t, time.Date(2025, 6, 2, 2, 0, 45, 0, time.UTC))
	if !grace.Equal(time.Date(2025, 6, 2, 2, 0, 45, 0, time.UTC)) {
		t.Errorf("grace timer at %s", grace)
	}
	if code, body := h.get("/healthz"); code != 503 || !strings.Contains(body, `"stopping"`) {
		t.Errorf("/healthz while stopping = %d %s", code, body)
	}
	h.hosts.release("hmi-01") // finishes within the grace period
	eventually(t, "hmi-01 to be stored", func() bool {
		sc, err := h.d.Store().PreviousScan(context.Background(), "hmi-01", 0, true)
		return err == nil && sc != nil
	})
	select {
	case <-stopped:
		t.Fatal("Run returned before the grace period ended")
	case <-time.After(50 * time.Millisecond):
	}
	h.clock.AdvanceTo(grace) // hmi-02 is cancelled
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the grace period")
	}
	if h.runErr != nil {
		t.Errorf("Run = %v", h.runErr)
	}
	sw := h.sweeps()
	if len(sw) != 1 || sw[0].Status != store.SweepPartial {
		t.Fatalf("sweeps %+v", sw)
	}
	scans, _ := h.d.Store().ScansOfSweep(context.Background(), sw[0].ID)
	got := map[string]probes.ScanStatus{}
	for _, s := range scans {
		got[s.Asset.Name] = s.Status
	}
	if len(got) != 2 || got["hmi-01"] != probes.StatusOK || got["hmi-02"] != probes.StatusTimeout {
		t.Errorf("scans %v; want hmi-01 ok, hmi-02 cut short, hist-01 never started", got)
	}
	select {
	case host := <-h.hosts.started:
		t.Errorf("%s started during shutdown", host)
	default:
	}
	// The cut-short scan says nothing about the host: no drift for it.
	evs, _ := h.d.Store().DriftEvents(context.Background(), store.DriftFilter{Asset: "hmi-02"})
	if len(evs) != 0 {
		t.Errorf("drift of a cancelled scan: %+v", evs)
	}
	if ids, _ := h.d.Store().ScansWithoutDrift(context.Background(), 0, 0); len(ids) != 0 {
		t.Errorf("scans without drift after shutdown: %v", ids)
	}
}

func TestDaemonRecordsDowntime(t *testing.T) {
	h := newHarness(t, time.Date(2025, 6, 2, 13, 5, 0, 0, time.UTC), baseConfig+`sweeps:
  - name: hourly
    schedule: "0 * * * *"
`)
	st, err := store.Open(t.Context(), filepath.Join(h.dir, "otsweep.db"))
	if err != nil {
		t.Fatal(err)
	}
	// The last daemon handled the 09:55 mark, then stopped.
	if err := st.SetScheduleMark(t.Context(), "hourly", time.Date(2025, 6, 2, 9, 55, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	h.run()
	eventually(t, "downtime to be recorded", func() bool { return len(h.missed()) == 4 })
	for i, m := range h.missed() {
		want := time.Date(2025, 6, 2, 10+i, 0, 0, 0, time.UTC)
		if m.Reason != store.MissedDowntime || !m.Scheduled.Equal(want) {
			t.Errorf("missed %d: %+v, want downtime at %s", i, m, want)
		}
	}
	// Restarting at once finds nothing more missed.
	h.fireAt(time.Date(2025, 6, 2, 14, 0, 0, 0, time.UTC))
	h.waitSweep(1)
	if n := len(h.missed()); n != 4 {
		t.Errorf("%d missed runs, want 4", n)
	}
}

// TestDaemonDriftAlerts runs sweeps end to end into a real SMTP server:
// one digest per sweep and recipient set, each transition mailed once.
func TestDaemonDriftAlerts(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Config{Username: "otsweep-alerts", Password: "Xq7-alerts-pw"})
	config := baseConfig + fmt.Sprintf(`sweeps:
  - name: nightly
    schedule: "0 2 * * *"
smtp:
  host: 127.0.0.1
  port: %d
  security: starttls
  username: otsweep-alerts
  password_env: OTSWEEP_TEST_SMTP_PASSWORD
  from: otsweep@plant.example
  ca_file: smtp-ca.pem
  retry: {attempts: 2, initial: 10ms}
alerts:
  to: [ot-security@plant.example]
  zones:
    cell-3: [line3@plant.example]
`, srv.Port)
	h := newHarness(t, time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), config)
	h.write("smtp-ca.pem", string(srv.CertPEM))
	h.env["OTSWEEP_TEST_SMTP_PASSWORD"] = "Xq7-alerts-pw"
	h.run()
	day := func(d int) time.Time { return time.Date(2025, 6, d, 2, 0, 0, 0, time.UTC) }

	// 1: three new assets: the default list hears of all, line 3 of its two.
	h.fireAt(day(2))
	h.waitSweep(1)
	// 2: hmi-01 weakens: both lists get the same digest.
	h.hosts.set("hmi-01", hostState{maxDays: 99999, ports: []int{22, 23}, admins: []string{"root"}})
	h.fireAt(day(3))
	h.waitSweep(2)
	// 3: nothing changed: no mail.
	h.fireAt(day(4))
	h.waitSweep(3)
	// 4: hist-01 leaves the inventory.
	h.write("inventory.yaml", strings.Replace(testInventory, "  - name: hist-01\n    platform: linux\n    transport: local\n    role: linux-server\n    zone: ops\n", "", 1))
	if err := h.d.Reload(); err != nil {
		t.Fatal(err)
	}
	h.fireAt(day(5))
	h.waitSweep(4)

	msgs := srv.Messages()
	type mailKey struct{ to, subject string }
	var got []mailKey
	for _, m := range msgs {
		got = append(got, mailKey{strings.Join(m.To, ","), subjectOf(t, m.Data)})
	}
	want := []mailKey{
		{"ot-security@plant.example", "[otsweep] nightly: 0 regression(s), 3 other change(s) on 3 asset(s)"},
		{"line3@plant.example", "[otsweep] nightly: 0 regression(s), 2 other change(s) on 2 asset(s)"},
		{"line3@plant.example,ot-security@plant.example", ""}, // the regression digest, checked below
		{"ot-security@plant.example", "[otsweep] nightly: 0 regression(s), 1 other change(s) on 1 asset(s)"},
	}
	if len(got) != len(want) {
		t.Fatalf("messages %+v; want %d", got, len(want))
	}
	slices.SortStableFunc(got[:2], func(a, b mailKey) int { return -strings.Compare(a.to, b.to) })
	for i := range want {
		if got[i].to != want[i].to || (want[i].subject != "" && got[i].subject != want[i].subject) {
			t.Errorf("message %d to %s %q; want to %s %q", i, got[i].to, got[i].subject, want[i].to, want[i].subject)
		}
	}
	digest := string(msgs[2].Data)
	if !strings.HasPrefix(got[2].subject, "[otsweep] nightly: ") || strings.HasPrefix(got[2].subject, "[otsweep] nightly: 0 regression") {
		t.Errorf("regression digest subject %q", got[2].subject)
	}
	for _, w := range []string{"check newly failing", "linux.pw.max_age", "hmi-01", "added: (1) 23"} {
		if !strings.Contains(digest, w) {
			t.Errorf("regression digest lacks %q", w)
		}
	}
	if strings.Contains(digest, "hist-01") || strings.Contains(digest, "hmi-02") {
		t.Error("the regression digest reports unchanged assets")
	}
	if !strings.Contains(string(msgs[3].Data), "asset removed from the inventory") {
		t.Error("the removal was not mailed")
	}
	dels, err := h.d.Store().Deliveries(context.Background(), 0, 0)
	if err != nil || len(dels) != 4 {
		t.Fatalf("deliveries %d, %v", len(dels), err)
	}
	for _, d := range dels {
		if d.Status != store.DeliverySent || d.Attempts != 1 || len(d.Events) == 0 {
			t.Errorf("delivery %+v", d)
		}
	}
	if _, body := h.get("/metrics"); !strings.Contains(body, `otsweep_alert_deliveries_total{result="sent"} 4`) ||
		strings.Contains(body, `otsweep_drift_events_total{kind="check-failing",regression="true"} 0`) ||
		!strings.Contains(body, `otsweep_drift_events_total{kind="asset-removed",regression="false"} 1`) {
		t.Errorf("metrics:\n%s", grepLines(body, "otsweep_alert", "otsweep_drift"))
	}
	if strings.Contains(h.logs.String(), "Xq7-alerts-pw") {
		t.Error("the SMTP password reached the log")
	}
}

func subjectOf(t *testing.T, data []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestDaemonRateLimit: hosts start no faster than the sweep's rate, on the
// daemon's clock.
func TestDaemonRateLimit(t *testing.T) {
	h := newHarness(t, time.Date(2025, 6, 2, 1, 0, 0, 0, time.UTC), baseConfig+`sweeps:
  - name: gentle
    schedule: "0 2 * * *"
    rate: 0.5
`).run()
	at := time.Date(2025, 6, 2, 2, 0, 0, 0, time.UTC)
	h.fireAt(at)
	h.hosts.waitStarted(t, 1)
	for i := 1; i < 3; i++ {
		select {
		case host := <-h.hosts.started:
			t.Fatalf("%s started before its turn", host)
		case <-time.After(20 * time.Millisecond):
		}
		next := at.Add(time.Duration(i) * 2 * time.Second)
		if got := h.clock.waitTimer(t, next); !got.Equal(next) {
			t.Fatalf("host %d waits until %s, want %s", i+1, got, next)
		}
		h.clock.AdvanceTo(next)
		h.hosts.waitStarted(t, 1)
	}
	if sw := h.waitSweep(1); sw.Status != store.SweepComplete || sw.Counts[probes.StatusOK] != 3 {
		t.Errorf("sweep %s %v", sw.Status, sw.Counts)
	}
}
