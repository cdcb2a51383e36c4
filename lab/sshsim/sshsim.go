// Package sshsim is an in-process SSH server that plays Linux hosts for the
// scanner: it authenticates a client by public key (and optionally by
// password) and answers the Linux probe bundle with a recorded output,
// instantly, so that what a benchmark measures is the scanner's own cost.
//
// One Server listens on any number of addresses, one simulated host each
// (127.0.0.0/8 gives a machine millions of distinct loopback addresses), with
// one host key. An exec request of the bundle's command line
// (probes/linux.Command) has its standard input read to the end and is then
// answered with the host's recording, the nonce of the command line filled
// in, and exit status 0. Any other command gets dash's answer for an unknown
// program ("sh: 1: NAME: not found" on stderr, exit status 127); shells,
// subsystems and port forwarding are refused. A recording is therefore never
// served to a request that did not ask for it.
//
// The server is for tests, benchmarks and the demo lab. It listens where it
// is told (use loopback addresses) and never runs anything.
package sshsim

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/otsweep/otsweep/probes"
)

// DefaultConnTimeout bounds a connection's whole life when
// Options.ConnTimeout is zero.
const DefaultConnTimeout = 5 * time.Minute

// Options configures a Server.
type Options struct {
	// Addrs are the addresses to listen on, one simulated host each, e.g.
	// "127.0.5.7:2222"; default one "127.0.0.1:0".
	Addrs []string
	// AuthorizedKeys are the client keys accepted by public key
	// authentication.
	AuthorizedKeys []ssh.PublicKey
	// Password, when set, is accepted by password authentication.
	Password probes.Secret
	// User, when set, is the only user name accepted; empty accepts any.
	User string
	// HostKey is the server's key; nil generates an ed25519 key at Start.
	HostKey ssh.Signer
	// Recordings name the recordings served (see Recordings): the host
	// listening on Addrs[i] serves Recordings[i%len(Recordings)]. Empty
	// means DefaultRecording for every host.
	Recordings []string
	// ConnTimeout bounds each connection from accept to close (handshake,
	// commands and all); 0 means DefaultConnTimeout.
	ConnTimeout time.Duration
}

// Stats counts what a Server did.
type Stats struct {
	Connections  int64 // TCP connections accepted
	AuthFailures int64 // authentication attempts refused
	Bundles      int64 // bundle runs answered with a recording
	NotFound     int64 // other commands answered with "not found"
}

// Server is a running simulator. Its methods are safe for concurrent use.
type Server struct {
	config    *ssh.ServerConfig
	hostKey   ssh.Signer
	listeners []net.Listener
	recs      []*recording // per listener
	timeout   time.Duration

	connections, authFailures, bundles, notFound atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens on every address of opts and serves until Close. It fails,
// with nothing left listening, when an address cannot be bound, a recording
// is unknown, or no credential is configured.
func Start(opts Options) (*Server, error) {
	if len(opts.AuthorizedKeys) == 0 && opts.Password.IsZero() {
		return nil, errors.New("sshsim: no credential: set AuthorizedKeys or Password")
	}
	if len(opts.Addrs) == 0 {
		opts.Addrs = []string{"127.0.0.1:0"}
	}
	if len(opts.Recordings) == 0 {
		opts.Recordings = []string{DefaultRecording}
	}
	if opts.ConnTimeout <= 0 {
		opts.ConnTimeout = DefaultConnTimeout
	}
	s := &Server{hostKey: opts.HostKey, timeout: opts.ConnTimeout, conns: map[net.Conn]struct{}{}}
	if s.hostKey == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("sshsim: host key: %w", err)
		}
		if s.hostKey, err = ssh.NewSignerFromKey(priv); err != nil {
			return nil, fmt.Errorf("sshsim: host key: %w", err)
		}
	}
	byName := map[string]*recording{}
	for _, name := range opts.Recordings {
		if byName[name] != nil {
			continue
		}
		r, err := loadRecording(name)
		if err != nil {
			return nil, err
		}
		byName[name] = r
	}
	s.config = s.serverConfig(opts)
	for i, addr := range opts.Addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("sshsim: listen %s: %w", addr, err)
		}
		s.listeners = append(s.listeners, ln)
		s.recs = append(s.recs, byName[opts.Recordings[i%len(opts.Recordings)]])
	}
	for i, ln := range s.listeners {
		s.wg.Add(1)
		go s.accept(ln, s.recs[i])
	}
	return s, nil
}

func (s *Server) serverConfig(opts Options) *ssh.ServerConfig {
	keys := make([][]byte, len(opts.AuthorizedKeys))
	for i, k := range opts.AuthorizedKeys {
		keys[i] = k.Marshal()
	}
	userOK := func(c ssh.ConnMetadata) bool {
		return opts.User == "" || subtle.ConstantTimeCompare([]byte(c.User()), []byte(opts.User)) == 1
	}
	cfg := &ssh.ServerConfig{
		MaxAuthTries: 6,
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if userOK(c) {
				offered := key.Marshal()
				for _, k := range keys {
					if subtle.ConstantTimeCompare(k, offered) == 1 {
						return &ssh.Permissions{}, nil
					}
				}
			}
			s.authFailures.Add(1)
			return nil, errors.New("public key not accepted")
		},
		ServerVersion: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
	}
	if !opts.Password.IsZero() {
		want := []byte(opts.Password.Reveal())
		cfg.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if userOK(c) && subtle.ConstantTimeCompare(pw, want) == 1 {
				return &ssh.Permissions{}, nil
			}
			s.authFailures.Add(1)
			return nil, errors.New("password not accepted")
		}
	}
	cfg.AddHostKey(s.hostKey)
	return cfg
}

// Addr is the address of the first listener.
func (s *Server) Addr() net.Addr { return s.listeners[0].Addr() }

// Addrs are the addresses listened on, in the order of Options.Addrs.
func (s *Server) Addrs() []net.Addr {
	out := make([]net.Addr, len(s.listeners))
	for i, ln := range s.listeners {
		out[i] = ln.Addr()
	}
	return out
}

// HostKey is the server's public host key.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey.PublicKey() }

// KnownHostsLine is the known_hosts line of the host at addr ("host:port"):
// "[127.0.5.7]:2222 ssh-ed25519 AAAA…", or without brackets and port for
// port 22, as OpenSSH writes it.
func (s *Server) KnownHostsLine(addr string) string {
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, s.HostKey())
}

// KnownHosts is a known_hosts file listing every listener, one line each,
// newline-terminated.
func (s *Server) KnownHosts() string {
	var b []byte
	for _, a := range s.Addrs() {
		b = append(b, s.KnownHostsLine(a.String())...)
		b = append(b, '\n')
	}
	return string(b)
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	return Stats{Connections: s.connections.Load(), AuthFailures: s.authFailures.Load(),
		Bundles: s.bundles.Load(), NotFound: s.notFound.Load()}
}

// Close stops every listener, drops every connection and waits for the
// server's goroutines to return. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.closeListeners()
	s.wg.Wait()
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
}

// track registers c; it reports false (and closes c) once the server is
// closed.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.Close()
}

func (s *Server) accept(ln net.Listener, rec *recording) {
	defer s.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, then go on.
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		s.connections.Add(1)
		if !s.track(c) {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serveConn(c, rec)
		}()
	}
}

func (s *Server) serveConn(c net.Conn, rec *recording) {
	_ = c.SetDeadline(time.Now().Add(s.timeout))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(ch, creqs, rec)
		}()
	}
}

// execRequest is the payload of an "exec" channel request (RFC 4254 6.5).
type execRequest struct{ Command string }

// exitStatus is the payload of an "exit-status" channel request.
type exitStatus struct{ Status uint32 }

// session serves one session channel: the first exec request runs; any
// other request (pty, env, shell, subsystem) is refused.
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request, rec *recording) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
			continue
		}
		var ex execRequest
		if err := ssh.Unmarshal(req.Payload, &ex); err != nil {
			_ = req.Reply(false, nil)
			continue
		}
		_ = req.Reply(true, nil)
		go ssh.DiscardRequests(reqs) // signals and the like
		s.exec(ch, ex.Command, rec)
		return
	}
}

// exec answers one command and ends the channel with its exit status.
func (s *Server) exec(ch ssh.Channel, line string, rec *recording) {
	status := uint32(0)
	if nonce, ok := bundleNonce(line); ok {
		// The script arrives on stdin; like sh -s, answer once it is all
		// read (and discarded: nothing is run).
		if _, err := io.Copy(io.Discard, ch); err != nil {
			return
		}
		if _, err := ch.Write(rec.render(nonce)); err != nil {
			return
		}
		s.bundles.Add(1)
	} else {
		s.notFound.Add(1)
		_, _ = fmt.Fprintf(ch.Stderr(), "sh: 1: %s: not found\n", commandName(line))
		status = 127
	}
	_ = ch.CloseWrite()
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(exitStatus{status}))
}
