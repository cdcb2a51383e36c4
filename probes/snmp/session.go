package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/otsweep/otsweep/probes"
)

// pacer spaces requests to one device: at least min between two datagrams
// sent, whichever session sends them. It also counts what was sent.
type pacer struct {
	mu   sync.Mutex
	min  time.Duration
	last time.Time
	sent int
}

// wait blocks until the next request may be sent or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.min > 0 && !p.last.IsZero() {
		if d := time.Until(p.last.Add(p.min)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	p.last = time.Now()
	p.sent++
	return nil
}

func (p *pacer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

// meteredConn paces writes through a pacer and keeps the last datagram read,
// so a USM Report PDU that gosnmp only reports as "not authentic" can still
// be classified.
type meteredConn struct {
	net.Conn
	ctx   context.Context
	pacer *pacer

	mu   sync.Mutex
	last []byte
}

func (c *meteredConn) Write(b []byte) (int, error) {
	if err := c.pacer.wait(c.ctx); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *meteredConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.last = append(c.last[:0], b[:n]...)
		c.mu.Unlock()
	}
	return n, err
}

func (c *meteredConn) lastDatagram() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.last...)
}

// session is one gosnmp client (one version and credential) to the device.
// It is not safe for concurrent use; the Prober runs one request at a time.
type session struct {
	cfg     Config
	version string // "1", "2c", "3"
	label   string // "v2c", "v3 authPriv" … for plans and errors (never a secret)
	g       *gosnmp.GoSNMP
	conn    *meteredConn
	// engineKnown is true when a v3 session was seeded with the engine
	// parameters of the discovery probe.
	engineKnown bool
}

// sessionOpts select the credentials of one session.
type sessionOpts struct {
	version   string
	community string // v1/v2c
	level     string // v3 security level to use (may be below the configured one)
	engine    *engineInfo
	retries   int
}

// dial opens a UDP socket to the agent (no packet is sent).
func dial(ctx context.Context, cfg Config, pc *pacer, o sessionOpts) (*session, error) {
	g := &gosnmp.GoSNMP{
		Target:             cfg.Address,
		Port:               uint16(cfg.Port),
		Transport:          "udp",
		Context:            ctx,
		Timeout:            cfg.Timeout,
		Retries:            o.retries,
		ExponentialTimeout: false,
		MaxOids:            gosnmp.MaxOids,
		MaxRepetitions:     cfg.MaxRepetitions,
	}
	s := &session{cfg: cfg, version: o.version, g: g}
	switch o.version {
	case Version1:
		g.Version = gosnmp.Version1
		g.Community = o.community
		s.label = "v1"
	case Version2c:
		g.Version = gosnmp.Version2c
		g.Community = o.community
		s.label = "v2c"
	case Version3:
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.ContextName = cfg.Context
		usm := &gosnmp.UsmSecurityParameters{UserName: cfg.User}
		switch o.level {
		case AuthPriv:
			g.MsgFlags = gosnmp.AuthPriv
		case AuthNoPriv:
			g.MsgFlags = gosnmp.AuthNoPriv
		default:
			g.MsgFlags = gosnmp.NoAuthNoPriv
		}
		if o.level != NoAuthNoPriv {
			usm.AuthenticationProtocol, _ = authProtocol(cfg.AuthProtocol)
			usm.AuthenticationPassphrase = cfg.AuthPassword.Reveal()
		} else {
			usm.AuthenticationProtocol = gosnmp.NoAuth
		}
		if o.level == AuthPriv {
			usm.PrivacyProtocol, _ = privProtocol(cfg.PrivProtocol)
			usm.PrivacyPassphrase = cfg.PrivPassword.Reveal()
		} else {
			usm.PrivacyProtocol = gosnmp.NoPriv
		}
		if o.engine != nil {
			usm.AuthoritativeEngineID = string(o.engine.id)
			usm.AuthoritativeEngineBoots = o.engine.boots
			usm.AuthoritativeEngineTime = o.engine.time
			s.engineKnown = true
		}
		g.SecurityParameters = usm
		s.label = "v3 " + o.level
	default:
		return nil, fmt.Errorf("%w: version %q", ErrConfig, o.version)
	}
	if err := g.Connect(); err != nil {
		return nil, classify(ctx, cfg, "connect", s, err)
	}
	s.conn = &meteredConn{Conn: g.Conn, ctx: ctx, pacer: pc}
	g.Conn = s.conn
	return s, nil
}

func (s *session) close() { _ = s.g.Close() }

// getResult is the outcome of one GET of a list of scalars.
type getResult struct {
	values  map[string]gosnmp.SnmpPDU // by OID with leading dot; exceptions included
	missing map[string]bool           // objects the agent does not implement (v1 noSuchName)
	failed  map[string]error          // objects whose GET failed (timeout mid-scan, genErr …)
}

func newGetResult() *getResult {
	return &getResult{values: map[string]gosnmp.SnmpPDU{}, missing: map[string]bool{}, failed: map[string]error{}}
}

// get fetches oids in one PDU where the agent allows. It splits the request
// on tooBig, and on noSuchName (SNMPv1, or v1-style v2c agents) drops the
// object named by error-index and resends the rest, at most len(oids) times.
// A transport error (no answer, auth failure, ctx end) is returned as is;
// protocol errors of the agent end up in failed.
func (s *session) get(oids []string, res *getResult) error {
	pending := append([]string(nil), oids...)
	for attempts := 0; len(pending) > 0; attempts++ {
		if attempts > len(oids) {
			for _, o := range pending {
				res.failed[o] = fmt.Errorf("%w: agent keeps rejecting the GET", probes.ErrProtocol)
			}
			return nil
		}
		resp, err := s.g.Get(pending)
		if err != nil {
			return err
		}
		switch resp.Error {
		case gosnmp.NoError:
			if len(resp.Variables) != len(pending) {
				for _, o := range pending {
					res.failed[o] = fmt.Errorf("%w: %d varbinds in the response to a GET of %d", probes.ErrProtocol, len(resp.Variables), len(pending))
				}
				return nil
			}
			for i, v := range resp.Variables {
				// Key by the requested name: a response naming another
				// object is a broken agent; keep what was asked for.
				if normOID(v.Name) != pending[i] {
					res.failed[pending[i]] = fmt.Errorf("%w: response names %s for %s", probes.ErrProtocol, v.Name, pending[i])
					continue
				}
				res.values[pending[i]] = v
			}
			return nil
		case gosnmp.TooBig:
			if len(pending) == 1 {
				res.failed[pending[0]] = fmt.Errorf("%w: tooBig for a single object", probes.ErrProtocol)
				return nil
			}
			half := len(pending) / 2
			if err := s.get(pending[:half], res); err != nil {
				return err
			}
			return s.get(pending[half:], res)
		case gosnmp.NoSuchName:
			i := int(resp.ErrorIndex) - 1
			if i < 0 || i >= len(pending) {
				// No usable error-index: fall back to one object per GET.
				if len(pending) == 1 {
					res.missing[pending[0]] = true
					return nil
				}
				for _, o := range pending {
					if err := s.get([]string{o}, res); err != nil {
						return err
					}
				}
				return nil
			}
			res.missing[pending[i]] = true
			pending = append(pending[:i:i], pending[i+1:]...)
		default:
			i := int(resp.ErrorIndex) - 1
			if len(pending) > 1 && i >= 0 && i < len(pending) {
				res.failed[pending[i]] = fmt.Errorf("%w: agent answered %s", probes.ErrProtocol, resp.Error)
				pending = append(pending[:i:i], pending[i+1:]...)
				continue
			}
			for _, o := range pending {
				res.failed[o] = fmt.Errorf("%w: agent answered %s", probes.ErrProtocol, resp.Error)
			}
			return nil
		}
	}
	return nil
}

// errWalkLimit and errWalkLoop end a walk early; the rows read so far are
// returned with them.
var (
	errWalkLimit = errors.New("row limit reached")
	errWalkLoop  = errors.New("agent returned a non-increasing OID (looping agent)")
)

// walk reads the subtree below root with GETBULK (GETNEXT on v1, and on
// v2c/v3 when the agent answers GETBULK with an error-status), at most
// maxRows rows. It stops at the end of the subtree, at endOfMibView, at
// noSuchName in GETNEXT mode, and with errWalkLoop when the agent answers an
// OID that is not greater than the one asked for. The number of requests is
// bounded by maxRows+2 and the time by the session's ctx.
func (s *session) walk(root string, maxRows int) ([]gosnmp.SnmpPDU, error) {
	rootOID, err := parseOID(root)
	if err != nil {
		return nil, err
	}
	var rows []gosnmp.SnmpPDU
	cur, curOID := root, rootOID
	useNext := s.version == Version1
	for range maxRows + 2 {
		var resp *gosnmp.SnmpPacket
		if useNext {
			resp, err = s.g.GetNext([]string{cur})
		} else {
			rep := s.cfg.MaxRepetitions
			if left := maxRows - len(rows) + 1; left < int(rep) {
				rep = uint32(max(left, 1))
			}
			resp, err = s.g.GetBulk([]string{cur}, 0, rep)
		}
		if err != nil {
			return rows, err
		}
		switch {
		case resp.Error == gosnmp.NoError:
		case useNext && resp.Error == gosnmp.NoSuchName:
			return rows, nil // SNMPv1 end of the MIB view
		case !useNext:
			// Some agents mishandle GETBULK: read this column with GETNEXT.
			useNext = true
			continue
		default:
			return rows, fmt.Errorf("%w: agent answered %s to %s", probes.ErrProtocol, resp.Error, cur)
		}
		if len(resp.Variables) == 0 {
			return rows, fmt.Errorf("%w: empty response to %s", probes.ErrProtocol, cur)
		}
		for _, v := range resp.Variables {
			if v.Type == gosnmp.EndOfMibView || v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance {
				return rows, nil
			}
			oid, err := parseOID(v.Name)
			if err != nil {
				return rows, fmt.Errorf("%w: %w", probes.ErrProtocol, err)
			}
			if !hasOIDPrefix(oid, rootOID) {
				return rows, nil
			}
			if compareOIDs(oid, curOID) <= 0 {
				return rows, fmt.Errorf("%w: %s after %s", errWalkLoop, normOID(v.Name), cur)
			}
			if len(rows) >= maxRows {
				return rows, fmt.Errorf("%w: more than %d rows", errWalkLimit, maxRows)
			}
			v.Name = normOID(v.Name)
			rows = append(rows, v)
			cur, curOID = v.Name, oid
		}
	}
	return rows, fmt.Errorf("%w: more than %d rows", errWalkLimit, maxRows)
}

func normOID(s string) string {
	if strings.HasPrefix(s, ".") {
		return s
	}
	return "." + s
}

// usmReport decodes the last datagram read on s when it is an
// unauthenticated SNMPv3 Report PDU and returns its varbind OID.
func (s *session) usmReport() (string, bool) {
	if s.version != Version3 || s.conn == nil {
		return "", false
	}
	return decodeReport(s.conn.lastDatagram())
}

// decodeReport returns the OID of the first varbind of buf when buf is an
// SNMPv3 message carrying a plaintext Report PDU.
func decodeReport(buf []byte) (string, bool) {
	if len(buf) == 0 {
		return "", false
	}
	pkt, err := v3Decoder().SnmpDecodePacket(buf)
	if err != nil || pkt == nil || pkt.PDUType != gosnmp.Report || len(pkt.Variables) == 0 {
		return "", false
	}
	return normOID(pkt.Variables[0].Name), true
}

// classify maps an error of a request to the scan sentinels. The result
// names the host and the operation and never contains a credential.
func classify(ctx context.Context, cfg Config, op string, s *session, err error) error {
	if err == nil {
		return nil
	}
	var e error
	label := ""
	if s != nil {
		label = s.label + ": "
	}
	reportOID := ""
	if s != nil {
		reportOID, _ = s.usmReport()
	}
	var se syscall.Errno
	switch {
	case ctxDone(ctx):
		cerr := ctx.Err()
		if cerr == nil {
			cerr = context.DeadlineExceeded
		}
		e = fmt.Errorf("%w: %s%w", probes.ErrTimeout, label, cerr)
	case errors.Is(err, gosnmp.ErrUnknownUsername) || reportOID == oidUsmStatsUnknownUsers:
		e = fmt.Errorf("%w: SNMPv3 user unknown to the agent (usmStatsUnknownUserNames)", probes.ErrAuthFailed)
	case errors.Is(err, gosnmp.ErrWrongDigest) || reportOID == oidUsmStatsWrongDigests:
		e = fmt.Errorf("%w: wrong SNMPv3 authentication password or protocol (usmStatsWrongDigests)", probes.ErrAuthFailed)
	case errors.Is(err, gosnmp.ErrDecryption) || reportOID == oidUsmStatsDecryptionErrs:
		e = fmt.Errorf("%w: wrong SNMPv3 privacy password or protocol (usmStatsDecryptionErrors)", probes.ErrAuthFailed)
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel) || reportOID == oidUsmStatsUnsupportedSecL:
		e = fmt.Errorf("%w: security level %s not supported for this user (usmStatsUnsupportedSecLevels)", probes.ErrAuthFailed, levelOf(s))
	case errors.Is(err, gosnmp.ErrNotInTimeWindow) || reportOID == oidUsmStatsNotInTimeWindow:
		e = fmt.Errorf("%w: message not in the agent's time window (usmStatsNotInTimeWindows)", probes.ErrAuthFailed)
	case reportOID != "":
		e = fmt.Errorf("%w: agent sent report %s", probes.ErrProtocol, reportOID)
	case errors.As(err, &se) && se == syscall.ECONNREFUSED:
		e = fmt.Errorf("%w: %sport %d closed (ICMP port unreachable)", probes.ErrUnreachable, label, cfg.Port)
	case isNoAnswer(err):
		switch {
		case s != nil && s.version == Version3 && s.engineKnown:
			// The agent answered the unauthenticated discovery but not the
			// authenticated request: USM drops messages it cannot decrypt.
			e = fmt.Errorf("%w: %sno response after a successful engine discovery (probably a wrong SNMPv3 privacy password)", probes.ErrAuthFailed, label)
		case s != nil && s.version != Version3:
			e = fmt.Errorf("%w: %sno response (wrong community or host down)", probes.ErrUnreachable, label)
		default:
			e = fmt.Errorf("%w: %sno response", probes.ErrUnreachable, label)
		}
	default:
		var ne *net.OpError
		if errors.As(err, &ne) {
			e = fmt.Errorf("%w: %s%w", probes.ErrUnreachable, label, err)
		} else {
			e = fmt.Errorf("%w: %s%w", probes.ErrProtocol, label, err)
		}
	}
	return redact(&probes.HostError{Host: cfg.target(), Op: "snmp " + op, Err: e}, cfg.secrets())
}

// ctxDone reports whether ctx has ended or its deadline has passed. A
// socket read bounded by the deadline can fail a moment before ctx.Err()
// turns non-nil; that failure is the deadline's, not the agent's.
func ctxDone(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

func levelOf(s *session) string {
	if s == nil {
		return ""
	}
	return strings.TrimPrefix(s.label, "v3 ")
}

// isNoAnswer reports whether err means the agent did not answer in time.
func isNoAnswer(err error) bool {
	if errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errNoResponse) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// gosnmp reports an authenticated reply it could not verify, after all
	// retries, with an unexported error; without a Report PDU to explain it
	// the agent is treated as not having answered.
	return false
}

// redactedError hides credential values in an error's text while keeping the
// chain for errors.Is/As.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	return &redactedError{err: err, secrets: secrets}
}
