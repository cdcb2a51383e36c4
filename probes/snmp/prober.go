// Package snmp reads network devices and PLCs over SNMP v1, v2c and v3 with
// gosnmp and turns what they answer into the facts of probe table C
// (S01–S16).
//
// The prober is read-only by construction: it sends GET, GETNEXT and GETBULK
// requests and the unauthenticated SNMPv3 discovery probe, never a SET (a
// test greps this package for one). Requests to a device go one at a time,
// at least Config.MinInterval apart; walks read only the column subtrees the
// probes need, at most Config.MaxRows rows each, and stop on a looping agent.
package snmp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/otsweep/otsweep/probes"
)

// Schema names the layout of the observations this package produces.
const Schema = "otsweep.snmp/1"

// Prober collects one device's SNMP observation. It is safe for concurrent
// use: concurrent Probe calls are serialised, so a device never has more
// than one outstanding request from one Prober.
type Prober struct {
	cfg Config
	mu  sync.Mutex
}

var _ probes.Prober = (*Prober)(nil)

// New validates cfg, applies defaults and returns a Prober. Errors wrap
// ErrConfig and never contain a credential.
func New(cfg Config) (*Prober, error) {
	n, err := normalize(cfg)
	if err != nil {
		return nil, redact(err, cfg.secrets())
	}
	return &Prober{cfg: n}, nil
}

// Config returns the effective configuration (defaults applied).
func (p *Prober) Config() Config { return p.cfg }

// credential describes the configured credential without revealing it.
func (p *Prober) credential() string {
	if p.cfg.Version == Version3 {
		s := fmt.Sprintf("user %q %s", p.cfg.User, p.cfg.SecurityLevel)
		if p.cfg.SecurityLevel != NoAuthNoPriv {
			s += " auth " + p.cfg.AuthProtocol
		}
		if p.cfg.SecurityLevel == AuthPriv {
			s += " priv " + p.cfg.PrivProtocol
		}
		if p.cfg.Context != "" {
			s += fmt.Sprintf(" context %q", p.cfg.Context)
		}
		return s
	}
	return "community [redacted]"
}

func (p *Prober) planned(req, body string) probes.Planned {
	return probes.Planned{Transport: "snmp", Address: p.cfg.target(), Request: req, Body: body}
}

// Plan returns every request Probe would send, in order, without contacting
// the device. Conditional requests (fallback walks, the v1 split of the
// scalar GET, default-community guesses) say when they are sent.
func (p *Prober) Plan() []probes.Planned {
	c := p.cfg
	var out []probes.Planned
	out = append(out, p.planned("SNMPv3 GET (no varbinds) user \"\" noAuthNoPriv reportable",
		"S01 engine discovery: unauthenticated, no credential sent"))
	v := "v" + c.Version
	if c.Version == Version3 {
		v = "v3 " + c.SecurityLevel
	}
	cred := p.credential()
	if c.Version == Version1 {
		out = append(out, p.planned(v+" GET "+strings.Join(systemScalars(), " "),
			"S06 S07 S08 system group, "+cred+"; on noSuchName resent without the object named by error-index"))
		for _, o := range otherScalars() {
			out = append(out, p.planned(v+" GET "+o, "scalar, "+cred))
		}
	} else {
		if c.Version == Version3 {
			out = append(out, p.planned(v+" GET "+strings.Join(append(systemScalars(), otherScalars()...), " "),
				"S02 S05–S08 S12 S15 scalars, "+cred+"; engine parameters from S01 (not sent when S01 got no answer)"))
		} else {
			out = append(out, p.planned(v+" GET "+strings.Join(append(systemScalars(), otherScalars()...), " "),
				"S02 S06–S08 S12 S15 scalars, "+cred+"; split on tooBig or noSuchName"))
		}
	}
	switch c.Version {
	case Version2c:
		out = append(out, p.planned("v1 GET "+oidSysDescr, "S02 does SNMPv1 answer with the same community, "+cred))
	case Version1:
		out = append(out, p.planned("v2c GET "+oidSysDescr, "S02 does SNMPv2c answer with the same community, "+cred))
	case Version3:
		for _, l := range weakerLevels(c.SecurityLevel) {
			out = append(out, p.planned("v3 "+l+" GET "+oidSysDescr, fmt.Sprintf("S05 is user %q also accepted at %s", c.User, l)))
		}
	}
	op := "GETBULK"
	detail := fmt.Sprintf("max-repetitions %d, at most %d rows", c.MaxRepetitions, c.MaxRows)
	if c.Version == Version1 {
		op = "GETNEXT"
		detail = fmt.Sprintf("at most %d rows", c.MaxRows)
	}
	for _, w := range walks() {
		out = append(out, p.planned(fmt.Sprintf("%s %s walk %s", v, op, w.root), w.probe+" "+detail))
		if w.fallback != "" {
			out = append(out, p.planned(fmt.Sprintf("%s %s walk %s", v, op, w.fallback), w.probe+" only when "+w.root+" is empty; "+detail))
		}
	}
	if c.GuessDefaultCommunities {
		for _, comm := range defaultCommunities() {
			first, second := Version2c, Version1
			if c.Version == Version1 {
				first, second = Version1, Version2c
			}
			out = append(out,
				p.planned("v"+first+" GET "+oidSysDescr, fmt.Sprintf("S03 default community %q (opt-in guess; may raise an authenticationFailure trap)", comm)),
				p.planned("v"+second+" GET "+oidSysDescr, fmt.Sprintf("S03 default community %q, only when v%s got no answer", comm, first)))
		}
	}
	return out
}

func weakerLevels(level string) []string {
	switch level {
	case AuthPriv:
		return []string{AuthNoPriv, NoAuthNoPriv}
	case AuthNoPriv:
		return []string{NoAuthNoPriv}
	}
	return nil
}

// scan is the state of one Probe call.
type scan struct {
	p      *Prober
	ctx    context.Context
	pc     *pacer
	col    *collection
	runs   map[string]*probes.ProbeRun
	misses int // consecutive requests without an answer after the first one
	stop   error
}

// maxMisses is how many consecutive unanswered requests end a scan early.
const maxMisses = 2

// Probe reads the device. It sends the requests Plan lists, one at a time;
// ctx bounds the whole scan and is handed to gosnmp, so an ended ctx also
// ends the request in flight.
//
// Errors wrap the probes sentinels: ErrUnreachable when the agent does not
// answer the first request (for v1/v2c a wrong community looks the same:
// "no response (wrong community or host down)"), ErrAuthFailed for SNMPv3
// USM failures, ErrTimeout when ctx ends. When the agent answered, Probe
// returns an Observation; if ctx ended or the agent stopped answering later
// the Observation is partial (Complete false, missing facts carry an error)
// and is returned together with the error.
func (p *Prober) Probe(ctx context.Context) (*probes.Observation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.cfg
	s := &scan{
		p:    p,
		ctx:  ctx,
		pc:   &pacer{min: cfg.MinInterval},
		col:  &collection{cfg: cfg, walks: map[string]*walkResult{}, guessEnabled: cfg.GuessDefaultCommunities},
		runs: map[string]*probes.ProbeRun{},
	}
	start := time.Now()

	// S01: unauthenticated engine discovery.
	t0 := time.Now()
	eng, err := discover(ctx, cfg, s.pc)
	s.record("S01", time.Since(t0), nil)
	switch {
	case err == nil:
		s.col.engine = eng
	case ctxDone(ctx):
		return nil, classify(ctx, cfg, "engine discovery", nil, err)
	case errors.Is(err, errNoResponse):
		if cfg.Version == Version3 {
			return nil, redact(&probes.HostError{Host: cfg.target(), Op: "snmp engine discovery",
				Err: fmt.Errorf("%w: no SNMPv3 engine answered the discovery probe", probes.ErrUnreachable)}, cfg.secrets())
		}
	default:
		if cfg.Version == Version3 {
			return nil, classify(ctx, cfg, "engine discovery", nil, err)
		}
		s.col.discoveryErr = fmt.Errorf("engine discovery: %w", err)
	}

	// The configured session and the scalar GET: the reachability test.
	sess, err := dial(ctx, cfg, s.pc, sessionOpts{
		version: cfg.Version, community: cfg.Community.Reveal(), level: cfg.SecurityLevel,
		engine: s.col.engine, retries: cfg.Retries,
	})
	if err != nil {
		return nil, err
	}
	defer sess.close()
	t0 = time.Now()
	if err := s.getScalars(sess); err != nil {
		return nil, classify(ctx, cfg, "GET scalars", sess, err)
	}
	s.record("S06", time.Since(t0), nil)
	s.col.versions = []string{cfg.Version}

	s.otherVersions()
	s.weakerLevels()
	s.walkAll(sess)
	s.guessCommunities()

	obs := &probes.Observation{
		Platform: probes.SNMP,
		Schema:   Schema,
		Meta: map[string]string{
			"address":  cfg.target(),
			"version":  cfg.Version,
			"requests": strconv.Itoa(s.pc.count()),
			"duration": time.Since(start).Round(time.Millisecond).String(),
		},
		Facts:    buildFacts(s.col),
		Complete: s.stop == nil,
	}
	if cfg.Fragile {
		obs.Meta["fragile"] = "true"
	}
	obs.Probes = s.probeRuns(obs.Facts)
	if s.stop != nil {
		return obs, s.stop
	}
	return obs, nil
}

func (s *scan) record(id string, d time.Duration, err error) {
	r, ok := s.runs[id]
	if !ok {
		r = &probes.ProbeRun{ID: id}
		s.runs[id] = r
	}
	r.Duration += d
	if err != nil && r.Err == "" {
		r.Err = err.Error()
		r.ExitCode = 1
	}
}

// probeRuns lists S01…S16 with their durations and the first fact error of
// each probe.
func (s *scan) probeRuns(f probes.Facts) []probes.ProbeRun {
	errs := map[string]string{}
	for _, d := range Facts {
		if fact, ok := f[d.Name]; ok && fact.Err != "" && errs[d.Probe] == "" {
			errs[d.Probe] = d.Name + ": " + fact.Err
		}
	}
	var out []probes.ProbeRun
	for i := 1; i <= 16; i++ {
		id := fmt.Sprintf("S%02d", i)
		r := probes.ProbeRun{ID: id}
		if x, ok := s.runs[id]; ok {
			r = *x
		}
		if id == "S03" && !s.col.guessEnabled {
			r.Err = "not run: default-community guessing disabled"
		}
		if e := errs[id]; e != "" && r.Err == "" {
			r.Err, r.ExitCode = e, 1
		}
		out = append(out, r)
	}
	return out
}

// getScalars sends the scalar GET(s). On v1 the system group goes in one
// GET and every other scalar alone, because one missing object fails a v1
// PDU. Only the first request's transport error is returned (it decides
// reachability); later ones are recorded per object.
func (s *scan) getScalars(sess *session) error {
	res := newGetResult()
	s.col.scalars = res
	if s.p.cfg.Version != Version1 {
		return sess.get(append(systemScalars(), otherScalars()...), res)
	}
	if err := sess.get(systemScalars(), res); err != nil {
		return err
	}
	for _, o := range otherScalars() {
		if s.stopped(o, res) {
			continue
		}
		if err := sess.get([]string{o}, res); err != nil {
			// Some embedded agents drop requests for objects they lack
			// instead of answering noSuchName: an unanswered single GET
			// fails that object only. An ended ctx stops the scan.
			if ctxDone(s.ctx) {
				s.miss(sess, "GET "+o, err)
			}
			res.failed[o] = classify(s.ctx, s.p.cfg, "GET "+o, sess, err)
		}
	}
	return nil
}

// stopped reports whether the scan has been stopped, marking oid failed.
func (s *scan) stopped(oid string, res *getResult) bool {
	if s.stop == nil {
		return false
	}
	res.failed[oid] = errors.New(s.col.notCollected)
	return true
}

// miss counts an unanswered request and stops the scan when ctx ended or
// the agent stopped answering.
func (s *scan) miss(sess *session, op string, err error) {
	if s.stop != nil {
		return
	}
	if ctxDone(s.ctx) {
		s.stop = classify(s.ctx, s.p.cfg, op, sess, err)
		s.col.notCollected = probes.ErrTextNotCollected + ": scan deadline reached"
		return
	}
	if isNoAnswer(err) {
		s.misses++
		if s.misses >= maxMisses {
			s.stop = classify(s.ctx, s.p.cfg, op, sess, err)
			s.col.notCollected = probes.ErrTextNotCollected + ": agent stopped answering"
		}
	}
}

// otherVersions tests whether the other community-based version answers
// with the same community (S02).
func (s *scan) otherVersions() {
	cfg := s.p.cfg
	other := ""
	switch cfg.Version {
	case Version2c:
		other = Version1
	case Version1:
		other = Version2c
	default:
		return
	}
	if s.stop != nil {
		s.col.versionsErr = errors.New(s.col.notCollected)
		return
	}
	t0 := time.Now()
	ok, err := s.probeGet(sessionOpts{version: other, community: cfg.Community.Reveal()})
	s.record("S02", time.Since(t0), nil)
	switch {
	case err != nil:
		s.col.versionsErr = err
	case ok:
		s.col.versions = append(s.col.versions, other)
	}
}

// weakerLevels tests whether the v3 user is also served at lower security
// levels (S05).
func (s *scan) weakerLevels() {
	cfg := s.p.cfg
	if cfg.Version != Version3 {
		return
	}
	levels := weakerLevels(cfg.SecurityLevel)
	if len(levels) == 0 {
		return
	}
	s.col.weakerTested = true
	t0 := time.Now()
	defer func() { s.record("S05", time.Since(t0), nil) }()
	for _, l := range levels {
		if s.stop != nil {
			s.col.weakerErr = errors.New(s.col.notCollected)
			return
		}
		ok, err := s.probeGet(sessionOpts{version: Version3, level: l, engine: s.col.engine})
		if err != nil {
			s.col.weakerErr = err
			return
		}
		if ok {
			s.col.weaker = append(s.col.weaker, l)
			s.col.weakerRaw = append(s.col.weakerRaw, l+": agent answered sysDescr.0")
		} else {
			s.col.weakerRaw = append(s.col.weakerRaw, l+": refused")
		}
	}
}

// probeGet sends one GET of sysDescr.0 without retries and reports whether
// the agent answered it with a value. No answer, an error-status or a USM
// report mean false; only an ended ctx is an error.
func (s *scan) probeGet(o sessionOpts) (bool, error) {
	o.retries = 0
	sess, err := dial(s.ctx, s.p.cfg, s.pc, o)
	if err != nil {
		if ctxDone(s.ctx) {
			s.miss(nil, "GET sysDescr.0", err)
			return false, err
		}
		return false, nil
	}
	defer sess.close()
	resp, err := sess.g.Get([]string{oidSysDescr})
	if err != nil {
		if ctxDone(s.ctx) {
			cerr := classify(s.ctx, s.p.cfg, "GET sysDescr.0", sess, err)
			s.miss(sess, "GET sysDescr.0", err)
			return false, cerr
		}
		return false, nil
	}
	if resp.PDUType != gosnmp.GetResponse || resp.Error != gosnmp.NoError || len(resp.Variables) != 1 {
		return false, nil
	}
	return !isException(resp.Variables[0]), nil
}

// walkAll walks every column subtree of walks(), with fallbacks.
func (s *scan) walkAll(sess *session) {
	for _, w := range walks() {
		if s.stop != nil {
			return
		}
		r := s.walk(sess, w.probe, w.root)
		if w.fallback != "" && len(r.rows) == 0 && (r.err == nil || errors.Is(r.err, probes.ErrProtocol)) && s.stop == nil {
			s.walk(sess, w.probe, w.fallback)
		}
	}
}

func (s *scan) walk(sess *session, probe, root string) *walkResult {
	t0 := time.Now()
	rows, err := sess.walk(root, s.p.cfg.MaxRows)
	r := &walkResult{root: root, rows: rows}
	switch {
	case err == nil:
		s.misses = 0
	case errors.Is(err, errWalkLimit):
		s.misses = 0
		r.rows = nil // a truncated table must not look complete
		r.err = fmt.Errorf("walk of %s stopped: %w (raise MaxRows to read it)", root, err)
	case errors.Is(err, errWalkLoop):
		s.misses = 0
		r.rows = nil
		r.err = fmt.Errorf("walk of %s stopped: %w", root, err)
	case errors.Is(err, probes.ErrProtocol):
		s.misses = 0
		r.err = fmt.Errorf("walk of %s: %w", root, err)
	default:
		s.miss(sess, "walk "+root, err)
		r.rows = nil
		r.err = classify(s.ctx, s.p.cfg, "walk "+root, sess, err)
	}
	s.col.walks[root] = r
	s.record(probe, time.Since(t0), nil)
	return r
}

// guessCommunities runs S03 when enabled: a GET of sysDescr.0 with each
// well-known community, on the configured community-based version first.
func (s *scan) guessCommunities() {
	cfg := s.p.cfg
	if !cfg.GuessDefaultCommunities {
		return
	}
	t0 := time.Now()
	defer func() { s.record("S03", time.Since(t0), nil) }()
	s.col.guessed = []string{}
	for _, comm := range defaultCommunities() {
		if s.stop != nil {
			s.col.guessErr = errors.New(s.col.notCollected)
			return
		}
		first, second := Version2c, Version1
		if cfg.Version == Version1 {
			first, second = Version1, Version2c
		}
		accepted := false
		for _, v := range []string{first, second} {
			ok, err := s.probeGet(sessionOpts{version: v, community: comm})
			if err != nil {
				s.col.guessErr = err
				return
			}
			if ok {
				accepted = true
				s.col.guessRaw = append(s.col.guessRaw, fmt.Sprintf("v%s GET sysDescr.0 with community %q: answered", v, comm))
				break
			}
			s.col.guessRaw = append(s.col.guessRaw, fmt.Sprintf("v%s GET sysDescr.0 with community %q: no answer", v, comm))
		}
		if accepted {
			s.col.guessed = append(s.col.guessed, comm)
		}
	}
}
