package winrm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	bodgit "github.com/bodgit/ntlmssp"

	"github.com/otsweep/otsweep/probes"
)

const (
	soapContentType = "application/soap+xml;charset=UTF-8"
	// maxReply bounds a reply body. Replies are bounded by the
	// MaxEnvelopeSize we announce (153600); sealing adds a few dozen bytes.
	maxReply = 1 << 20
	// requestGrace is how much longer than the OperationTimeout one HTTP
	// exchange may take before the host is considered unresponsive.
	requestGrace = 15 * time.Second
)

// errBasicFallback is returned when a host that should speak NTLM asks for
// Basic: go-ntlmssp would silently send the password in Basic form.
var errBasicFallback = errors.New("host offers no Negotiate/NTLM authentication; refusing to fall back to Basic")

// transport carries SOAP envelopes to one host. It is the replacement for
// the library's Transporter: it takes a context, reports HTTP status and
// SOAP faults as typed errors, never downgrades authentication, paces
// requests, and bounds what it reads. Not safe for concurrent use.
type transport struct {
	host     string // host:port, for errors
	url      string
	user     string
	password probes.Secret
	auth     string // "basic" or "ntlm"
	https    bool

	base      *http.Transport
	rt        http.RoundTripper // basic: base; ntlm over https: go-ntlmssp over base
	seal      *sealer           // ntlm over http: its own connection, not base's pool
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	opTimeout time.Duration
	pace      pacer
}

func newTransport(cfg *Config, tlsConf *tls.Config) *transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	base := &http.Transport{
		Proxy:               nil, // scan traffic goes straight to the host, never through an environment proxy
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 10 * time.Second,
		// One connection per host: NTLM is bound to the TCP connection, and
		// a scan must not open parallel sessions on a controller's HMI.
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	t := &transport{
		host:      net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)),
		user:      cfg.User,
		password:  cfg.Password,
		auth:      cfg.Auth,
		https:     cfg.HTTPS,
		base:      base,
		rt:        base,
		dial:      dialer.DialContext,
		opTimeout: cfg.OperationTimeout,
		pace:      pacer{min: cfg.MinRequestInterval},
	}
	scheme := "http"
	if cfg.HTTPS {
		scheme = "https"
	}
	t.url = scheme + "://" + t.host + "/wsman"
	switch {
	case cfg.Auth == AuthNTLM && cfg.HTTPS:
		t.rt = ntlmssp.Negotiator{RoundTripper: noBasic{base}}
	case cfg.Auth == AuthNTLM:
		t.seal = newSealer(cfg.User, cfg.Password)
	}
	return t
}

// noBasic refuses the Basic fallback of go-ntlmssp's Negotiator.
type noBasic struct{ http.RoundTripper }

func (n noBasic) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasPrefix(req.Header.Get("Authorization"), "Basic ") {
		return nil, errBasicFallback
	}
	return n.RoundTripper.RoundTrip(req)
}

// close drops the idle connection (and with it an NTLM session).
func (t *transport) close() {
	t.base.CloseIdleConnections()
	if t.seal != nil {
		t.seal.drop()
	}
}

// post sends one envelope for operation op and returns the body of a 200
// reply. A SOAP fault comes back as *FaultError; every other error wraps one
// of the probes sentinels. It waits for the pacing interval first and gives
// up when ctx ends or the host holds the request past OperationTimeout plus
// a grace period.
func (t *transport) post(ctx context.Context, op string, envelope []byte) ([]byte, error) {
	if err := t.pace.wait(ctx); err != nil {
		return nil, err
	}
	defer t.pace.done()
	rctx, cancel := context.WithTimeout(ctx, t.opTimeout+requestGrace)
	defer cancel()
	var (
		status int
		ct     string
		body   []byte
		err    error
	)
	if t.seal != nil {
		status, body, err = t.seal.do(rctx, t, envelope)
		ct = soapContentType
	} else {
		status, ct, body, err = t.plain(rctx, envelope)
	}
	if err != nil {
		if errors.Is(err, probes.ErrAuthFailed) || errors.Is(err, probes.ErrProtocol) {
			return nil, err
		}
		return nil, classify(ctx, rctx, err)
	}
	return t.reply(op, status, ct, body)
}

// plain sends envelope with Basic, or NTLM over TLS.
func (t *transport) plain(ctx context.Context, envelope []byte) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(envelope))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", soapContentType)
	// go-ntlmssp's Negotiator takes the credentials from a Basic header and
	// replaces it; noBasic makes sure it never goes out as Basic.
	req.SetBasicAuth(t.user, t.password.Reveal())
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := readBounded(resp.Body)
	if err != nil {
		return 0, "", nil, err
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, nil
}

// reply turns an HTTP exchange into the envelope of a 200 or a typed error.
func (t *transport) reply(op string, status int, contentType string, body []byte) ([]byte, error) {
	soap := strings.Contains(strings.ToLower(contentType), "application/soap+xml")
	switch {
	case status == http.StatusOK && soap:
		return body, nil
	case status == http.StatusUnauthorized:
		return nil, fmt.Errorf("%w: host rejected the credentials of user %q (HTTP 401)", probes.ErrAuthFailed, t.user)
	case soap:
		if f, ok := parseFault(op, status, body); ok {
			return nil, f
		}
	}
	if contentType == "" {
		contentType = "none"
	}
	return nil, fmt.Errorf("%w: HTTP %d with content type %s", probes.ErrProtocol, status, bound(contentType, 80))
}

// classify maps a transport error onto the probes sentinels. ctx is the
// caller's context, rctx the per-request one derived from it.
func classify(ctx, rctx context.Context, err error) error {
	var (
		pin       *pinError
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		dnsErr    *net.DNSError
		opErr     *net.OpError
		netErr    net.Error
	)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", probes.ErrTimeout, ctx.Err())
	case rctx.Err() != nil:
		return fmt.Errorf("%w: host did not answer within the operation timeout plus %v", probes.ErrTimeout, requestGrace)
	case errors.As(err, &pin), errors.As(err, &verify), errors.As(err, &unknownCA),
		errors.As(err, &hostname), errors.As(err, &invalid):
		return fmt.Errorf("%w: %w", probes.ErrHostKeyMismatch, err)
	case errors.Is(err, errBasicFallback):
		return fmt.Errorf("%w: %w", probes.ErrAuthFailed, err)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.As(err, &dnsErr),
		errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("%w: %w", probes.ErrUnreachable, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%w: %w", probes.ErrTimeout, err)
	default:
		// Connected, but the peer's answer was not WinRM over HTTP.
		return fmt.Errorf("%w: %w", probes.ErrProtocol, err)
	}
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxReply+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxReply {
		return nil, fmt.Errorf("%w: reply larger than %d bytes", probes.ErrProtocol, maxReply)
	}
	return b, nil
}

// pacer enforces a minimum interval between the starts of two requests.
type pacer struct {
	min  time.Duration
	last time.Time
}

// wait blocks until min has passed since the previous request finished, so
// the host sees at least min between the end of one reply and the next
// request, however slow the network or the scanner is.
func (p *pacer) wait(ctx context.Context) error {
	if d := time.Until(p.last.Add(p.min)); d > 0 && !p.last.IsZero() {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", probes.ErrTimeout, ctx.Err())
		}
	}
	return nil
}

// done records the end of a request.
func (p *pacer) done() { p.last = time.Now() }

// MS-WSMV 2.2.9.1 framing of NTLM-sealed messages, byte for byte what
// Windows, pywinrm and masterzen/winrm's Encryption use.
const (
	sealProtocol    = "application/HTTP-SPNEGO-session-encrypted"
	sealContentType = `multipart/encrypted;protocol="` + sealProtocol + `";boundary="Encrypted Boundary"`
	sealBoundary    = "--Encrypted Boundary\r\n"
	sealEnd         = "--Encrypted Boundary--\r\n"
	sealOctets      = "\tContent-Type: application/octet-stream\r\n"
)

// NTLM negotiate flags checked in the host's CHALLENGE.
const (
	ntlmSign uint32 = 0x00000010
	ntlmSeal uint32 = 0x00000020
	ntlmESS  uint32 = 0x00080000
	ntlm128  uint32 = 0x20000000
)

// sealer speaks NTLM with message encryption on plain HTTP: one handshake
// per connection, then every envelope sealed (RC4) and signed, and every
// reply required to be sealed and correctly signed. It never sends an
// envelope in clear and never accepts one in clear.
//
// The session is bound to the connection its handshake ran on, as the host
// binds it: the handshake dials a connection of its own, and the session's
// requests go on that connection and no other. When the connection ends
// (the host closed it, an error, ctx) the session ends with it and the next
// request authenticates again on a new one.
type sealer struct {
	user, domain string
	password     probes.Secret
	conn         *boundConn              // the connection of session; nil when none
	session      *bodgit.SecuritySession // nil until a handshake on conn succeeded
}

// drop ends the session and closes its connection.
func (s *sealer) drop() {
	s.conn.close()
	s.conn, s.session = nil, nil
}

func newSealer(user string, password probes.Secret) *sealer {
	s := &sealer{user: user, password: password}
	if d, u, ok := strings.Cut(user, `\`); ok {
		s.domain, s.user = d, u
	} else if u, d, ok := strings.Cut(user, "@"); ok {
		s.user, s.domain = u, d
	}
	return s
}

// do sends one sealed envelope and returns the status and unsealed reply.
// A session whose connection the host has closed while it was idle, or that
// the host no longer knows (401), is replaced by a new handshake on a new
// connection, once; a 401 right after a handshake the host accepted on the
// same connection is an authentication failure.
func (s *sealer) do(ctx context.Context, t *transport, envelope []byte) (int, []byte, error) {
	for attempt := 0; attempt < 2; attempt++ {
		if s.session != nil && !s.conn.usable() {
			s.drop() // the host closed the idle connection, and the session with it
		}
		fresh := false
		if s.session == nil {
			if err := s.handshake(ctx, t); err != nil {
				return 0, nil, err
			}
			fresh = true
		}
		status, body, retry, err := s.exchange(ctx, t, envelope)
		if err != nil || !retry {
			return status, body, err
		}
		if fresh {
			return 0, nil, fmt.Errorf("%w: host rejected the sealed session of user %q right after accepting its handshake on the same connection (HTTP 401)", probes.ErrAuthFailed, t.user)
		}
		// The host no longer knows the session: authenticate again on a
		// new connection and resend.
	}
	return 0, nil, fmt.Errorf("%w: sealed session could not be re-established", probes.ErrProtocol)
}

// exchange sends one sealed request. retry reports a 401, which means the
// session is not (or no longer) bound to the connection used.
func (s *sealer) exchange(ctx context.Context, t *transport, envelope []byte) (status int, body []byte, retry bool, err error) {
	sealed, sig, err := s.session.Wrap(envelope)
	if err != nil {
		s.drop()
		return 0, nil, false, fmt.Errorf("%w: seal: %w", probes.ErrProtocol, err)
	}
	var b bytes.Buffer
	b.WriteString(sealBoundary)
	b.WriteString("\tContent-Type: " + sealProtocol + "\r\n")
	b.WriteString("\tOriginalContent: type=" + soapContentType + ";Length=" + strconv.Itoa(len(envelope)) + "\r\n")
	b.WriteString(sealBoundary)
	b.WriteString(sealOctets)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(sig)))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString(sealEnd)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, &b)
	if err != nil {
		return 0, nil, false, err
	}
	req.Header.Set("Content-Type", sealContentType)
	resp, err := s.conn.roundTrip(ctx, req)
	if err != nil {
		s.drop() // the host may or may not have seen it: sequence numbers are unknown
		return 0, nil, false, err
	}
	if resp.status == http.StatusUnauthorized {
		s.drop()
		return 0, nil, true, nil
	}
	if !strings.HasPrefix(strings.ToLower(resp.header.Get("Content-Type")), "multipart/encrypted") {
		// A host that requires encryption seals every reply, faults
		// included; a clear reply on a sealed session is not trusted.
		s.drop()
		return 0, nil, false, fmt.Errorf("%w: unsealed HTTP %d reply on an encrypted session", probes.ErrProtocol, resp.status)
	}
	plain, err := s.unseal(resp.body)
	if err != nil {
		s.drop()
		return 0, nil, false, fmt.Errorf("%w: %w", probes.ErrProtocol, err)
	}
	if s.conn.closed {
		s.drop() // the host closed the connection after this reply: the session is gone
	}
	return resp.status, plain, false, nil
}

func (s *sealer) unseal(body []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(body, []byte(sealBoundary))
	if !ok {
		return nil, errors.New("sealed reply: missing boundary")
	}
	header, rest, ok := bytes.Cut(rest, []byte(sealBoundary))
	if !ok {
		return nil, errors.New("sealed reply: missing second boundary")
	}
	_, lengthText, ok := bytes.Cut(header, []byte("Length="))
	if !ok {
		return nil, errors.New("sealed reply: missing length")
	}
	length, err := strconv.Atoi(string(bytes.TrimSpace(lengthText)))
	if err != nil {
		return nil, errors.New("sealed reply: bad length")
	}
	payload, ok := bytes.CutPrefix(rest, []byte(sealOctets))
	if !ok {
		return nil, errors.New("sealed reply: missing octet-stream part")
	}
	payload, ok = bytes.CutSuffix(payload, []byte(sealEnd))
	if !ok {
		return nil, errors.New("sealed reply: missing closing boundary")
	}
	if len(payload) < 20 || binary.LittleEndian.Uint32(payload) != 16 {
		return nil, errors.New("sealed reply: bad signature")
	}
	plain, err := s.session.Unwrap(payload[20:], payload[4:20])
	if err != nil {
		return nil, fmt.Errorf("sealed reply: %w", err)
	}
	if len(plain) != length {
		return nil, errors.New("sealed reply: length does not match")
	}
	return plain, nil
}

// handshake runs NEGOTIATE / CHALLENGE / AUTHENTICATE with empty bodies, as
// pywinrm and masterzen/winrm do before sealing, on a new connection that
// then carries the session. On error no session or connection is left.
func (s *sealer) handshake(ctx context.Context, t *transport) error {
	s.drop()
	nc, err := bodgit.NewClient(
		bodgit.SetUserInfo(s.user, s.password.Reveal()),
		bodgit.SetDomain(s.domain),
		bodgit.SetVersion(bodgit.DefaultVersion()),
	)
	if err != nil {
		return fmt.Errorf("%w: ntlm: %w", probes.ErrProtocol, err)
	}
	negotiate, err := nc.Authenticate(nil, nil)
	if err != nil {
		return fmt.Errorf("%w: ntlm: %w", probes.ErrProtocol, err)
	}
	conn, err := dialBound(ctx, t.dial, t.host)
	if err != nil {
		return err
	}
	s.conn = conn
	if err := s.authenticate(ctx, t, nc, negotiate); err != nil {
		s.drop()
		return err
	}
	s.session = nc.SecuritySession()
	return nil
}

// authenticate runs the two legs of the handshake on s.conn.
func (s *sealer) authenticate(ctx context.Context, t *transport, nc *bodgit.Client, negotiate []byte) error {
	resp, err := s.leg(ctx, t, negotiate)
	if err != nil {
		return err
	}
	challenge, offered := negotiateToken(resp.header.Values("WWW-Authenticate"))
	status := resp.status
	switch {
	case status == http.StatusUnauthorized && !offered:
		return fmt.Errorf("%w: host offers no Negotiate authentication", probes.ErrAuthFailed)
	case status != http.StatusUnauthorized || challenge == nil:
		return fmt.Errorf("%w: expected an NTLM challenge, got HTTP %d", probes.ErrProtocol, status)
	}
	if len(challenge) < 24 {
		return fmt.Errorf("%w: short NTLM challenge", probes.ErrProtocol)
	}
	flags := binary.LittleEndian.Uint32(challenge[20:])
	if need := ntlmSign | ntlmSeal | ntlmESS | ntlm128; flags&need != need {
		return fmt.Errorf("%w: host does not offer 128-bit NTLM sealing (flags %#08x)", probes.ErrProtocol, flags)
	}
	if s.conn.closed {
		return fmt.Errorf("%w: host closed the connection after its NTLM challenge", probes.ErrProtocol)
	}
	authenticate, err := nc.Authenticate(challenge, nil)
	if err != nil {
		return fmt.Errorf("%w: ntlm: %w", probes.ErrProtocol, err)
	}
	resp, err = s.leg(ctx, t, authenticate)
	if err != nil {
		return err
	}
	switch status = resp.status; {
	case status == http.StatusUnauthorized:
		return fmt.Errorf("%w: host rejected the credentials of user %q (HTTP 401)", probes.ErrAuthFailed, t.user)
	case status != http.StatusOK:
		return fmt.Errorf("%w: NTLM authentication answered HTTP %d", probes.ErrProtocol, status)
	case nc.SecuritySession() == nil:
		return fmt.Errorf("%w: no NTLM security session", probes.ErrProtocol)
	case s.conn.closed:
		return fmt.Errorf("%w: host closed the connection its NTLM session is bound to", probes.ErrProtocol)
	}
	return nil
}

// leg sends one handshake message on s.conn.
func (s *sealer) leg(ctx context.Context, t *transport, token []byte) (*reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", soapContentType)
	req.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(token))
	return s.conn.roundTrip(ctx, req)
}

// negotiateToken finds the NTLM token of a "Negotiate <base64>" challenge;
// offered reports whether Negotiate was offered at all.
func negotiateToken(values []string) (token []byte, offered bool) {
	for _, v := range values {
		word, data, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(word, "Negotiate") {
			continue
		}
		offered = true
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data)); err == nil && len(b) > 0 {
			return b, true
		}
	}
	return nil, offered
}
