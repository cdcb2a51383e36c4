// Package wsman is a protocol-level WS-Management server that speaks the
// Windows Remote Shell (WinRS) subset WinRM clients use: Create, Command,
// Send, Receive, Signal and Delete on the cmd shell resource, behind Basic or
// NTLM authentication, over HTTPS or over HTTP with NTLM message encryption.
//
// No WinRM server can run on this platform, so this is the peer that WinRM
// transports are tested against and that the demo lab serves. It mimics the
// wire behaviour of a Windows host where it matters to a client: status codes
// and content types, the fault envelopes and codes of wsmerror.h, Receive
// held until the OperationTimeout and then answered with a w:TimedOut fault,
// NTLM bound to the TCP connection, and a 401 without a SOAP body for bad
// credentials. What the "remote" command does is up to Options.Handler.
//
// A Server records every request it authenticated so tests can assert on the
// conversation (Requests, Count, OpenShells).
package wsman

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Action names one WinRS operation.
type Action string

// Operations of the Windows Remote Shell protocol, and AnyAction for fault
// injection that applies to every request.
const (
	ActionCreate  Action = "Create"
	ActionCommand Action = "Command"
	ActionSend    Action = "Send"
	ActionReceive Action = "Receive"
	ActionSignal  Action = "Signal"
	ActionDelete  Action = "Delete"
	AnyAction     Action = "*"
)

// Scheme is an HTTP authentication scheme the server accepts.
type Scheme string

// Authentication schemes.
const (
	SchemeBasic Scheme = "basic"
	SchemeNTLM  Scheme = "ntlm"
)

// User is one local account of the simulated host.
type User struct {
	Password string
	// Schemes the account may use; empty allows Basic and NTLM.
	Schemes []Scheme
}

func (u User) allows(s Scheme) bool {
	if len(u.Schemes) == 0 {
		return true
	}
	for _, x := range u.Schemes {
		if x == s {
			return true
		}
	}
	return false
}

// CommandRequest is what a client asked the simulated host to run.
type CommandRequest struct {
	User      string
	ShellID   string
	CommandID string
	Command   string   // rsp:Command, the command line
	Arguments []string // rsp:Arguments, if any
	Stdin     []byte   // everything sent on stdin, complete (after End="true")
}

// Response is what the simulated command produces.
type Response struct {
	Stdout, Stderr []byte
	ExitCode       int
	// Delay withholds all output and the Done state until this long after
	// the command received its complete stdin.
	Delay time.Duration
	// Hang makes the command never complete: every Receive times out.
	Hang bool
}

// Handler runs a command. It is called once per command, after its stdin is
// complete, on its own goroutine; ctx ends when the client signals or deletes
// the shell or the server closes, and Handler must return promptly then.
type Handler func(ctx context.Context, req CommandRequest) Response

// Options configures a Server. The zero value (plus one user) is an HTTP
// listener on 127.0.0.1 that accepts Basic, and NTLM with or without
// message encryption.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:0".
	Addr string
	// TLS serves HTTPS with a self-signed certificate generated at Start.
	TLS bool
	// Users maps account names (case-insensitive) to credentials.
	Users map[string]User
	// RequireEncryption mimics AllowUnencrypted=false on an HTTP listener:
	// Basic is answered 401, and NTLM-authenticated SOAP that is not sealed
	// is answered 500 with an empty body. HTTPS is unaffected.
	RequireEncryption bool
	// Handler runs commands; nil answers every command like cmd.exe does
	// for an unknown program.
	Handler Handler
	// MaxOperationTimeout caps how long a Receive is held before the
	// w:TimedOut fault; 0 honours the client's OperationTimeout.
	MaxOperationTimeout time.Duration
	// ReceiveChunk is the most output bytes per stream in one Receive
	// reply; default 32 KiB. Longer output takes several Receives.
	ReceiveChunk int
	// MaxBodyBytes caps a request body; default 2 MiB. Larger requests
	// get 413.
	MaxBodyBytes int64
	// Machine is the NetBIOS computer name; default "OT-HMI-01".
	Machine string
	// Domain is the NetBIOS domain; default Machine (a workgroup host).
	Domain string

	// QuotaFaultOnCreate answers the first n Create requests with the
	// w:QuotaLimit "maximum number of concurrent shells" fault.
	QuotaFaultOnCreate int
	// SOAPFaultOnReceive answers every Receive with a fault (the shell
	// not found fault a host gives after its WinRM service restarted).
	SOAPFaultOnReceive bool
	// MalformedXML answers requests with this action with a 200 reply whose
	// envelope is cut off mid-element.
	MalformedXML Action
	// Garbage answers requests with this action, without performing it,
	// with bytes that are not HTTP and closes the connection (a different
	// service on the port, a broken middlebox).
	Garbage Action
	// GarbageCount limits Garbage to the first n matching requests; 0
	// means every one.
	GarbageCount int
	// MaxShellsPerUser enforces the WinRM shell quota: a Create beyond it
	// gets the w:QuotaLimit fault. 0 means no limit; the fault text of
	// QuotaFaultOnCreate then names 30, the Windows default.
	MaxShellsPerUser int

	// ErrorLog receives the HTTP server's own errors (TLS handshake
	// failures and the like); default discards them.
	ErrorLog *log.Logger
}

// RequestRecord is one authenticated SOAP request the server handled.
type RequestRecord struct {
	Time      time.Time
	Action    Action // empty for an action the server does not know
	User      string
	Scheme    Scheme
	Encrypted bool // NTLM-sealed
	ShellID   string
	Size      int // bytes of the (decrypted) SOAP envelope
	Status    int // HTTP status answered; 0 when the request was abandoned
}

// Server is a running WS-Management endpoint. Its methods are safe for
// concurrent use.
type Server struct {
	opts    Options
	ln      net.Listener
	srv     *http.Server
	ntlm    *ntlmAcceptor
	baseURL string

	// CertPEM is the PEM of the HTTPS certificate (nil for HTTP): give it
	// to a client as its CA file.
	CertPEM []byte
	// Fingerprint is the lower-case hex SHA-256 of the certificate's DER
	// (empty for HTTP): give it to a client as its pin.
	Fingerprint string

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // handlers and commands in flight

	mu           sync.Mutex
	shells       map[string]*shell
	records      []RequestRecord
	authFailures int
	quotaFaults  int
	garbageSent  int
	closed       bool
}

type connKey struct{}

// connState is the authentication state bound to one TCP connection, as
// HTTP.sys binds NTLM to the connection.
type connState struct {
	mu      sync.Mutex
	pending *ntlmPending
	user    string
	session *ntlmSession
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.ReceiveChunk <= 0 {
		opts.ReceiveChunk = 32 << 10
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 2 << 20
	}
	if opts.Machine == "" {
		opts.Machine = "OT-HMI-01"
	}
	if opts.Domain == "" {
		opts.Domain = opts.Machine
	}
	if opts.ErrorLog == nil {
		opts.ErrorLog = log.New(io.Discard, "", 0)
	}
	users := make(map[string]User, len(opts.Users))
	for name, u := range opts.Users {
		users[strings.ToLower(name)] = u
	}
	opts.Users = users

	s := &Server{
		opts:   opts,
		ntlm:   &ntlmAcceptor{computer: strings.ToUpper(opts.Machine), domain: strings.ToUpper(opts.Domain), now: time.Now},
		shells: make(map[string]*shell),
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("wsman: listen %s: %w", opts.Addr, err)
	}
	scheme := "http"
	if opts.TLS {
		cert, certPEM, fp, err := selfSigned(time.Now())
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("wsman: certificate: %w", err)
		}
		s.CertPEM, s.Fingerprint = certPEM, fp
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	s.ln = ln
	s.baseURL = scheme + "://" + ln.Addr().String() + "/wsman"
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          opts.ErrorLog,
		// WinRM speaks HTTP/1.1 only; NTLM is bound to the connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connState{})
		},
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// URL is the endpoint, e.g. "https://127.0.0.1:40123/wsman".
func (s *Server) URL() string { return s.baseURL }

// Addr is the listening address.
func (s *Server) Addr() *net.TCPAddr { return s.ln.Addr().(*net.TCPAddr) }

// Close stops the listener, drops every connection, ends running commands and
// waits for all goroutines of the server to return.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	err := s.srv.Close()
	s.wg.Wait()
	return err
}

// Requests returns a copy of every authenticated request so far, in order.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestRecord(nil), s.records...)
}

// Count returns how many authenticated requests had action a (AnyAction: all).
func (s *Server) Count(a Action) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.records {
		if a == AnyAction || r.Action == a {
			n++
		}
	}
	return n
}

// OpenShells returns the IDs of shells created and not yet deleted.
func (s *Server) OpenShells() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.shells))
	for id := range s.shells {
		ids = append(ids, id)
	}
	return ids
}

// AuthFailures returns how many requests carried credentials that were
// rejected (wrong password, unknown user, scheme not allowed).
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFailures
}

func (s *Server) record(r RequestRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, r)
}

func (s *Server) lookup(name string) (User, bool) {
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	u, ok := s.opts.Users[strings.ToLower(name)]
	return u, ok
}

// basicAllowed reports whether Basic may be used on this listener at all.
func (s *Server) basicAllowed() bool { return s.opts.TLS || !s.opts.RequireEncryption }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	arrived := time.Now()
	if r.URL.Path != "/wsman" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	if s.opts.Garbage == AnyAction && s.countGarbage() {
		s.garbage(w)
		return
	}
	cs, _ := r.Context().Value(connKey{}).(*connState)
	if cs == nil {
		cs = &connState{}
	}
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	sealed := strings.HasPrefix(ct, "multipart/encrypted")
	user, scheme, ok := s.authenticate(w, r, cs, sealed)
	if !ok {
		return
	}
	if len(body) == 0 {
		// An empty POST completes the NTLM handshake of clients that
		// authenticate before sealing (pywinrm, masterzen/winrm).
		w.WriteHeader(http.StatusOK)
		return
	}

	encrypted := false
	switch {
	case sealed:
		cs.mu.Lock()
		sess := cs.session
		var plain []byte
		if sess != nil && scheme == SchemeNTLM {
			plain, err = unsealMessage(sess, body)
		}
		cs.mu.Unlock()
		if sess == nil || scheme != SchemeNTLM || err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body, encrypted = plain, true
	case !s.opts.TLS && s.opts.RequireEncryption:
		// AllowUnencrypted=false: the service refuses plaintext SOAP.
		w.WriteHeader(http.StatusInternalServerError)
		return
	case !strings.Contains(ct, "application/soap+xml"):
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}

	rec := RequestRecord{Time: arrived, User: user, Scheme: scheme, Encrypted: encrypted, Size: len(body)}
	if s.takeGarbage(body) {
		rec.Action, rec.ShellID = peek(body)
		s.record(rec)
		s.garbage(w)
		return
	}
	status, reply, action, shellID := s.dispatch(r.Context(), user, r.RemoteAddr, body)
	rec.Action, rec.ShellID, rec.Status = action, shellID, status
	if reply == nil {
		rec.Status = 0
	}
	s.record(rec)
	if reply == nil {
		// The request was abandoned (client gone or server closing): drop
		// the connection rather than answer.
		panic(http.ErrAbortHandler)
	}
	if s.opts.MalformedXML != "" && (s.opts.MalformedXML == action || s.opts.MalformedXML == AnyAction) {
		status, reply = http.StatusOK, reply[:len(reply)/2]
	}
	contentType := "application/soap+xml;charset=UTF-8"
	if encrypted {
		cs.mu.Lock()
		reply = sealMessage(cs.session, reply)
		cs.mu.Unlock()
		contentType = sealContentType
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(reply)))
	w.WriteHeader(status)
	_, _ = w.Write(reply)
}

// authenticate runs Basic or one NTLM leg. It writes the 401 itself and
// returns ok=false when the request is not (yet) authenticated. A request
// without credentials is accepted only when it is sealed with the NTLM
// session of its connection, which is how a Windows host treats the
// messages that follow an NTLM handshake.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, cs *connState, sealed bool) (string, Scheme, bool) {
	authz := r.Header.Get("Authorization")
	word, token, _ := strings.Cut(authz, " ")
	switch {
	case authz == "":
		cs.mu.Lock()
		user, sess := cs.user, cs.session
		cs.mu.Unlock()
		if sealed && user != "" && sess != nil {
			return user, SchemeNTLM, true
		}
		s.unauthorized(w, "")
		return "", "", false

	case strings.EqualFold(word, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		name, pw, found := strings.Cut(string(raw), ":")
		u, known := s.lookup(name)
		if err != nil || !found || !known || !s.basicAllowed() || !u.allows(SchemeBasic) ||
			subtle.ConstantTimeCompare([]byte(pw), []byte(u.Password)) != 1 {
			s.fail()
			s.unauthorized(w, "")
			return "", "", false
		}
		return name, SchemeBasic, true

	case strings.EqualFold(word, "Negotiate") || strings.EqualFold(word, "NTLM"):
		msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
		if err != nil || len(msg) < 12 || !bytes.Equal(msg[:8], ntlmSignature) {
			// Kerberos / SPNEGO tokens are not supported by this host.
			s.unauthorized(w, "")
			return "", "", false
		}
		cs.mu.Lock()
		defer cs.mu.Unlock()
		switch msg[8] {
		case 1:
			p, err := s.ntlm.challenge(msg)
			cs.pending, cs.user, cs.session = p, "", nil
			if err != nil {
				s.unauthorized(w, "")
				return "", "", false
			}
			s.unauthorized(w, word+" "+base64.StdEncoding.EncodeToString(p.challenge))
			return "", "", false
		case 3:
			p := cs.pending
			cs.pending = nil
			if p == nil {
				s.unauthorized(w, "")
				return "", "", false
			}
			id, err := s.ntlm.authenticate(p, msg, func(name string) (string, bool) {
				u, ok := s.lookup(name)
				if !ok || !u.allows(SchemeNTLM) {
					return "", false
				}
				return u.Password, true
			})
			if err != nil {
				cs.user, cs.session = "", nil
				s.fail()
				s.unauthorized(w, "")
				return "", "", false
			}
			cs.user, cs.session = id.user, id.session
			return id.user, SchemeNTLM, true
		}
		s.unauthorized(w, "")
		return "", "", false
	}
	s.unauthorized(w, "")
	return "", "", false
}

func (s *Server) fail() {
	s.mu.Lock()
	s.authFailures++
	s.mu.Unlock()
}

// unauthorized answers 401 without a SOAP body, as HTTP.sys does. challenge,
// when set, is the one WWW-Authenticate value of an NTLM handshake leg;
// otherwise the schemes this listener offers are listed.
func (s *Server) unauthorized(w http.ResponseWriter, challenge string) {
	h := w.Header()
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	} else {
		h.Add("WWW-Authenticate", "Negotiate")
		if s.basicAllowed() {
			h.Add("WWW-Authenticate", `Basic realm="WSMAN"`)
		}
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// takeGarbage reports whether this request is to be answered with garbage,
// counting it against GarbageCount.
func (s *Server) takeGarbage(body []byte) bool {
	if s.opts.Garbage == "" {
		return false
	}
	if action, _ := peek(body); action != s.opts.Garbage {
		return false
	}
	return s.countGarbage()
}

func (s *Server) countGarbage() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.GarbageCount > 0 && s.garbageSent >= s.opts.GarbageCount {
		return false
	}
	s.garbageSent++
	return true
}

// peek returns the action and shell of a request without performing it.
func peek(body []byte) (Action, string) {
	req, err := parseRequest(body)
	if err != nil {
		return "", ""
	}
	return actionByURI[strings.TrimSpace(req.Header.Action)], req.selector("ShellId")
}

// garbage writes bytes that are not an HTTP response and closes the
// connection.
func (s *Server) garbage(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, _ = buf.Write([]byte("\x00\x00\x00\x1a\xff\xfeSSH-2.0-not-wsman \x81\x82\x83\r\n\r\n"))
	_ = buf.Flush()
	drain(buf)
}

// drain reads what the peer already sent so the close is not a reset.
func drain(buf *bufio.ReadWriter) {
	for buf.Reader.Buffered() > 0 {
		if _, err := buf.Reader.Discard(buf.Reader.Buffered()); err != nil {
			return
		}
	}
}

// dispatch runs one SOAP operation and returns the status and reply.
func (s *Server) dispatch(ctx context.Context, user, remote string, body []byte) (status int, reply []byte, action Action, shellID string) {
	req, err := parseRequest(body)
	if err != nil {
		return http.StatusBadRequest, faultSchema().render("", s.opts.Machine), "", ""
	}
	msgID := req.Header.MessageID
	action = actionByURI[strings.TrimSpace(req.Header.Action)]
	shellID = req.selector("ShellId")
	if action == "" {
		return http.StatusInternalServerError, faultActionNotSupported().render(msgID, s.opts.Machine), "", shellID
	}
	var f *fault
	switch action {
	case ActionCreate:
		shellID, reply, f = s.create(user, remote, msgID)
	case ActionCommand:
		reply, f = s.command(user, req, msgID)
	case ActionSend:
		reply, f = s.send(req, msgID)
	case ActionReceive:
		reply, f = s.receive(ctx, req, msgID)
	case ActionSignal:
		reply, f = s.signal(req, msgID)
	case ActionDelete:
		reply, f = s.delete(req, msgID)
	}
	if f != nil {
		return http.StatusInternalServerError, f.render(msgID, s.opts.Machine), action, shellID
	}
	return http.StatusOK, reply, action, shellID
}
