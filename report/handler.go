package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

// HandlerOptions configures Handler.
type HandlerOptions struct {
	// Token, when set, is accepted as "Authorization: Bearer TOKEN".
	Token probes.Secret
	// BasicUser and BasicPassword, when both set, are accepted as HTTP basic
	// authentication. Setting only one of them locks the dashboard: every
	// request is refused rather than served without a password.
	BasicUser     string
	BasicPassword probes.Secret
	// Now is the clock of the reports (nil: time.Now).
	Now func() time.Time
	// HistoryDays is the drift window (0: DefaultHistoryDays).
	HistoryDays int
	// Countermeasures are handed to Build.
	Countermeasures []mapping.Countermeasure
	// Logger receives request errors (nil: discarded). Secrets never reach it.
	Logger *slog.Logger
	// RequestTimeout bounds building one response (0: one minute).
	RequestTimeout time.Duration
}

// Security headers sent with every response.
const (
	ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
	sweepListLimit        = 500
)

// Handler serves the reports of st live and read-only:
//
//	GET /                    dashboard of the latest sweep (the HTML report)
//	GET /sweeps              list of sweeps
//	GET /sweeps/{id}         the HTML report of one sweep
//	GET /api/report?sweep=ID the JSON report (ID or "latest", default latest)
//	GET /api/sweeps          the sweep list as JSON
//	GET /report.csv?sweep=ID the CSV report
//	GET /healthz             "ok" when the database answers
//
// Only GET and HEAD are allowed (405 otherwise). When a token or basic
// credentials are configured every request, /healthz included, must carry
// them; they are compared in constant time, and a failure is 401. Every
// response carries a restrictive Content-Security-Policy, nosniff,
// X-Frame-Options DENY, no-referrer and no-store. The handler is safe for
// concurrent use; each request builds its report from the database under
// the request's context.
func Handler(st *store.Store, defs *scheduler.Definitions, opts HandlerOptions) http.Handler {
	h := &handler{st: st, defs: defs, opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.opts.Now == nil {
		h.opts.Now = time.Now
	}
	if h.opts.RequestTimeout <= 0 {
		h.opts.RequestTimeout = time.Minute
	}
	if !opts.Token.IsZero() {
		sum := sha256.Sum256([]byte(opts.Token.Reveal()))
		h.token = &sum
	}
	if opts.BasicUser != "" || !opts.BasicPassword.IsZero() {
		h.basicSet = true
		if opts.BasicUser != "" && !opts.BasicPassword.IsZero() {
			u, p := sha256.Sum256([]byte(opts.BasicUser)), sha256.Sum256([]byte(opts.BasicPassword.Reveal()))
			h.basicUser, h.basicPass = &u, &p
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.dashboard)
	mux.HandleFunc("GET /sweeps", h.sweeps)
	mux.HandleFunc("GET /sweeps/{id}", h.sweep)
	mux.HandleFunc("GET /api/report", h.apiReport)
	mux.HandleFunc("GET /api/sweeps", h.apiSweeps)
	mux.HandleFunc("GET /report.csv", h.csv)
	mux.HandleFunc("GET /healthz", h.healthz)
	h.mux = mux
	return h
}

type handler struct {
	st   *store.Store
	defs *scheduler.Definitions
	opts HandlerOptions
	log  *slog.Logger
	mux  *http.ServeMux

	token                *[sha256.Size]byte
	basicSet             bool
	basicUser, basicPass *[sha256.Size]byte
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if !h.authorized(r) {
		if h.token != nil {
			hd.Add("WWW-Authenticate", `Bearer realm="otsweep"`)
		}
		if h.basicSet {
			hd.Add("WWW-Authenticate", `Basic realm="otsweep", charset="UTF-8"`)
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: this dashboard is read-only", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.RequestTimeout)
	defer cancel()
	h.mux.ServeHTTP(w, r.WithContext(ctx))
}

// authorized reports whether r carries the configured credentials; with
// none configured every request is.
func (h *handler) authorized(r *http.Request) bool {
	if h.token == nil && !h.basicSet {
		return true
	}
	auth := r.Header.Get("Authorization")
	if h.token != nil {
		if scheme, cred, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
			sum := sha256.Sum256([]byte(strings.TrimSpace(cred)))
			if subtle.ConstantTimeCompare(sum[:], h.token[:]) == 1 {
				return true
			}
		}
	}
	if h.basicUser != nil {
		if user, pass, ok := r.BasicAuth(); ok {
			u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
			// Both comparisons always run.
			uok := subtle.ConstantTimeCompare(u[:], h.basicUser[:])
			pok := subtle.ConstantTimeCompare(p[:], h.basicPass[:])
			if uok&pok == 1 {
				return true
			}
		}
	}
	return false
}

// sweepParam reads ?sweep=ID|latest; 0 is the latest.
func sweepParam(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("sweep")
	if v == "" || v == "latest" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("sweep %q: want a sweep number or latest", v)
	}
	return id, nil
}

func (h *handler) build(ctx context.Context, sweepID int64) (*Report, error) {
	return Build(ctx, h.st, h.defs, Options{SweepID: sweepID, Now: h.opts.Now(),
		HistoryDays: h.opts.HistoryDays, Countermeasures: h.opts.Countermeasures})
}

// fail answers an error: 404 for a missing sweep, 500 (logged, not shown)
// otherwise.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such sweep", http.StatusNotFound)
		return
	}
	h.log.Error("report request failed", "path", r.URL.Path, "err", err)
	http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
}

// send writes a rendered body with its content type.
func send(w http.ResponseWriter, contentType string, body *bytes.Buffer) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	_, _ = body.WriteTo(w)
}

const htmlType = "text/html; charset=utf-8"

func (h *handler) nav(sweepID int64) *nav {
	n := &nav{Dashboard: "/", Sweeps: "/sweeps"}
	if sweepID > 0 {
		id := strconv.FormatInt(sweepID, 10)
		n.JSON, n.CSV = "/api/report?sweep="+id, "/report.csv?sweep="+id
	}
	return n
}

func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) {
	h.htmlReport(w, r, 0)
}

func (h *handler) sweep(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "bad sweep number", http.StatusBadRequest)
		return
	}
	h.htmlReport(w, r, id)
}

func (h *handler) htmlReport(w http.ResponseWriter, r *http.Request, id int64) {
	rep, err := h.build(r.Context(), id)
	var buf bytes.Buffer
	switch {
	case id == 0 && errors.Is(err, store.ErrNotFound):
		err = writeEmptyHTML(&buf, h.nav(0), h.opts.Now())
	case err == nil:
		err = rep.writeHTML(&buf, h.nav(rep.Sweep.ID))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	send(w, htmlType, &buf)
}

func (h *handler) listSweeps(ctx context.Context) ([]Sweep, []map[probes.ScanStatus]int, error) {
	list, err := h.st.Sweeps(ctx, sweepListLimit)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Sweep, len(list))
	counts := make([]map[probes.ScanStatus]int, len(list))
	for i, s := range list {
		out[i] = Sweep{ID: s.ID, Name: s.Name, Trigger: s.Trigger, Status: s.Status, Started: s.Started, Finished: s.Finished, Hosts: s.Hosts}
		counts[i] = s.Counts
	}
	return out, counts, nil
}

func (h *handler) sweeps(w http.ResponseWriter, r *http.Request) {
	list, counts, err := h.listSweeps(r.Context())
	var buf bytes.Buffer
	if err == nil {
		err = writeSweepsHTML(&buf, sweepsView{Generated: h.opts.Now(), Sweeps: list, Counts: counts, Nav: h.nav(0)})
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	send(w, htmlType, &buf)
}

// sweepEntry is one element of /api/sweeps.
type sweepEntry struct {
	Sweep
	Scans map[probes.ScanStatus]int `json:"scans"`
}

func (h *handler) apiSweeps(w http.ResponseWriter, r *http.Request) {
	list, counts, err := h.listSweeps(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]sweepEntry, len(list))
	for i := range list {
		out[i] = sweepEntry{list[i], counts[i]}
	}
	var buf bytes.Buffer
	if err := writeJSONValue(&buf, out); err != nil {
		h.fail(w, r, err)
		return
	}
	send(w, "application/json", &buf)
}

func (h *handler) apiReport(w http.ResponseWriter, r *http.Request) {
	id, err := sweepParam(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rep, err := h.build(r.Context(), id)
	var buf bytes.Buffer
	if err == nil {
		err = rep.WriteJSON(&buf)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	send(w, "application/json", &buf)
}

func (h *handler) csv(w http.ResponseWriter, r *http.Request) {
	id, err := sweepParam(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rep, err := h.build(r.Context(), id)
	var buf bytes.Buffer
	if err == nil {
		err = rep.WriteCSV(&buf)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="otsweep-sweep-%d.csv"`, rep.Sweep.ID))
	send(w, "text/csv; charset=utf-8", &buf)
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := h.st.Sweeps(r.Context(), 1); err != nil {
		h.log.Error("health check failed", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}
