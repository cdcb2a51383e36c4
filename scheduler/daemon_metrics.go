package scheduler

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/store"
)

// Sweep outcomes counted by otsweep_sweeps_total besides the store's
// complete and partial.
const sweepFailed = "failed" // could not be started or recorded

// metrics are the daemon's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg        *prometheus.Registry
	sweeps     *prometheus.CounterVec
	scans      *prometheus.CounterVec
	scanDur    *prometheus.HistogramVec
	drift      *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	missed     *prometheus.CounterVec
	running    *prometheus.GaugeVec
	lastEnd    *prometheus.GaugeVec
	nextRun    *prometheus.GaugeVec
	reloads    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otsweep_sweeps_total",
			Help: "Scheduled sweeps finished, by sweep and status (complete, partial, failed)."}, []string{"sweep", "status"}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otsweep_scans_total",
			Help: "Hosts scanned by the daemon, by scan status."}, []string{"status"}),
		scanDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "otsweep_scan_duration_seconds",
			Help:    "Time to scan one host, by transport.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}}, []string{"transport"}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otsweep_drift_events_total",
			Help: "Drift events recorded, by kind and whether they are regressions."}, []string{"kind", "regression"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otsweep_alert_deliveries_total",
			Help: "Alert emails, by result (sent, failed)."}, []string{"result"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otsweep_missed_runs_total",
			Help: "Scheduled runs that did not happen, by sweep and reason (overlap, blackout, downtime)."}, []string{"sweep", "reason"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "otsweep_sweep_running",
			Help: "1 while the sweep runs."}, []string{"sweep"}),
		lastEnd: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "otsweep_sweep_last_finished_timestamp_seconds",
			Help: "When the sweep last finished (Unix time)."}, []string{"sweep"}),
		nextRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "otsweep_sweep_next_run_timestamp_seconds",
			Help: "When the sweep is next scheduled (Unix time)."}, []string{"sweep"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otsweep_config_reloads_total",
			Help: "Config reloads (SIGHUP), by result (ok, rejected)."}, []string{"result"}),
	}
	m.reg.MustRegister(m.sweeps, m.scans, m.scanDur, m.drift, m.deliveries, m.missed, m.running, m.lastEnd,
		m.nextRun, m.reloads, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range []probes.ScanStatus{probes.StatusOK, probes.StatusUnreachable, probes.StatusAuthFailed,
		probes.StatusHostKeyMismatch, probes.StatusTimeout, probes.StatusError} {
		m.scans.WithLabelValues(string(s))
	}
	for _, k := range store.DriftKinds {
		m.drift.WithLabelValues(k, "true")
		m.drift.WithLabelValues(k, "false")
	}
	m.deliveries.WithLabelValues(store.DeliverySent)
	m.deliveries.WithLabelValues(store.DeliveryFailed)
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("rejected")
	return m
}

// initSweep makes a sweep's series visible at zero.
func (m *metrics) initSweep(name string) {
	for _, s := range []string{store.SweepComplete, store.SweepPartial, sweepFailed} {
		m.sweeps.WithLabelValues(name, s)
	}
	for _, r := range []string{store.MissedOverlap, store.MissedBlackout, store.MissedDowntime} {
		m.missed.WithLabelValues(name, r)
	}
	m.running.WithLabelValues(name)
}

func (m *metrics) countDrift(evs []store.DriftEvent) {
	for _, e := range evs {
		reg := "false"
		if e.Regression {
			reg = "true"
		}
		m.drift.WithLabelValues(e.Kind, reg).Inc()
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
