// Package ssh is the SSH transport: it connects to a host with
// golang.org/x/crypto/ssh, verifies its host key against a known_hosts file,
// authenticates, and runs commands as a probes.Executor.
//
// Host keys: a host must be in Config.KnownHostsFile (UnknownHostError
// otherwise) unless Config.TOFU is set, in which case an unknown host's key is
// appended to the file. A host whose key differs from the recorded one is
// always refused (HostKeyChangedError). Both wrap probes.ErrHostKeyMismatch.
//
// Timeouts: Dial is bounded by ctx and by Config.ConnectTimeout; Run is
// bounded by ctx, and when ctx ends it signals the remote command (SIGTERM),
// closes the session and the connection, and returns within about a second
// with an error wrapping probes.ErrTimeout, even when the server never answers.
//
// Errors name host:port and the operation (probes.HostError), wrap one of the
// probes sentinel errors where one applies, and never contain a password,
// passphrase or key.
package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/otsweep/otsweep/probes"
)

// Defaults for zero Config fields.
const (
	DefaultPort           = 22
	DefaultConnectTimeout = 15 * time.Second
	DefaultMaxOutput      = 64 << 20 // bytes of stdout kept per command
	DefaultRetries        = 2
	// MaxStderr is the number of stderr bytes kept per command; the rest is
	// read and discarded.
	MaxStderr = 1 << 20

	maxRetries = 10
	// abortGrace is how long Run waits, after signalling the remote command
	// on timeout, for the session to end before closing the connection.
	abortGrace = 500 * time.Millisecond
)

// Config says how to reach and authenticate to one host.
type Config struct {
	Address string
	Port    int // 0 means 22
	User    string

	Password   probes.Secret // password and keyboard-interactive authentication
	PrivateKey probes.Secret // PEM private key (OpenSSH, PKCS#1, PKCS#8 or SEC1)
	Passphrase probes.Secret // for an encrypted PrivateKey
	Agent      bool          // offer the keys of the ssh-agent at AgentSocket
	// AgentSocket is the agent's unix socket; empty means $SSH_AUTH_SOCK.
	AgentSocket string

	// KnownHostsFile is required: host keys are always verified against it.
	KnownHostsFile string
	// TOFU accepts and records the key of a host that is not in
	// KnownHostsFile. A changed key is refused regardless.
	TOFU bool
	// HostKeys, if not nil, is shared by the Dials of a sweep so that a
	// known_hosts file of thousands of hosts is read once, not per Dial.
	HostKeys *KnownHostsCache

	// ConnectTimeout bounds each connection attempt (TCP connect, SSH
	// handshake and authentication); 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxOutput is the stdout cap per command; 0 means DefaultMaxOutput.
	// Beyond it Run stops keeping output, ends the command and sets
	// Output.Truncated.
	MaxOutput int64
	// Retries is how many more times Dial tries when the server closes the
	// connection during the handshake (sshd's MaxStartups does that under
	// load), with exponential backoff. 0 means DefaultRetries; negative
	// means none; at most 10.
	Retries int

	// DialContext opens the TCP connection; nil means a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// addr returns host:port.
func (c *Config) addr() string { return net.JoinHostPort(c.Address, strconv.Itoa(c.Port)) }

func (c Config) withDefaults() (Config, error) {
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MaxOutput <= 0 {
		c.MaxOutput = DefaultMaxOutput
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRetries
	case c.Retries < 0:
		c.Retries = 0
	case c.Retries > maxRetries:
		c.Retries = maxRetries
	}
	if c.DialContext == nil {
		var d net.Dialer
		c.DialContext = d.DialContext
	}
	switch {
	case c.Address == "":
		return c, errors.New("no address")
	case c.Port < 0 || c.Port > 65535:
		return c, fmt.Errorf("port %d out of range", c.Port)
	case c.User == "":
		return c, errors.New("no user")
	case c.KnownHostsFile == "":
		return c, errors.New("no known_hosts file: host keys are always verified (set KnownHostsFile, with TOFU to record new hosts)")
	}
	return c, nil
}

// Client is a connection to one host. It implements probes.Executor. It is
// not safe for concurrent use; Close may be called at any time.
type Client struct {
	addr      string
	conn      net.Conn
	client    *xssh.Client
	hostKey   xssh.PublicKey
	maxOutput int64

	closeOnce sync.Once
	closeErr  error
}

var _ probes.Executor = (*Client)(nil)

// Dial connects to the host, verifies its key and authenticates. It returns
// when ctx ends (error wrapping probes.ErrTimeout); a TCP connection that
// cannot be made wraps probes.ErrUnreachable, rejected credentials wrap
// probes.ErrAuthFailed, and host key problems are *UnknownHostError or
// *HostKeyChangedError (both wrapping probes.ErrHostKeyMismatch).
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	addr := cfg.addr()
	if err != nil {
		return nil, &probes.HostError{Host: addr, Op: "ssh config", Err: err}
	}
	verifier, err := newHostKeyVerifier(cfg.KnownHostsFile, cfg.TOFU, addr, cfg.HostKeys)
	if err != nil {
		return nil, &probes.HostError{Host: addr, Op: "ssh known_hosts", Err: err}
	}
	auth, err := newAuthSet(ctx, &cfg)
	if err != nil {
		return nil, &probes.HostError{Host: addr, Op: "ssh credentials", Err: err}
	}
	defer auth.close()

	backoff := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		c, retry, err := dialOnce(ctx, &cfg, addr, verifier, auth)
		if err == nil {
			return c, nil
		}
		if !retry || attempt >= cfg.Retries {
			return nil, &probes.HostError{Host: addr, Op: "ssh connect", Err: err}
		}
		// Full jitter keeps many scanners from retrying in lockstep.
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, 4*time.Second)
		select {
		case <-ctx.Done():
			return nil, &probes.HostError{Host: addr, Op: "ssh connect", Err: fmt.Errorf("%w: %w (after %v)", probes.ErrTimeout, ctx.Err(), err)}
		case <-time.After(wait):
		}
	}
}

// dialOnce makes one connection attempt. retry reports whether the failure
// looks like a handshake reset worth retrying.
func dialOnce(ctx context.Context, cfg *Config, addr string, v *hostKeyVerifier, auth *authSet) (_ *Client, retry bool, _ error) {
	actx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()

	conn, err := cfg.DialContext(actx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("%w: %w", probes.ErrTimeout, ctx.Err())
		}
		return nil, false, fmt.Errorf("%w: %w", probes.ErrUnreachable, err)
	}
	if dl, ok := actx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// A server that never speaks blocks the handshake; the deadline and this
	// watcher both end it.
	stop := context.AfterFunc(actx, func() { conn.Close() })

	v.accepted = nil
	authStarted := false
	ccfg := &xssh.ClientConfig{
		User:              cfg.User,
		HostKeyCallback:   v.check,
		HostKeyAlgorithms: v.algorithms(),
		AuthCallback:      auth.callback(&authStarted),
		Timeout:           0, // the connection is ours; bounded above
	}
	sconn, chans, reqs, err := xssh.NewClientConn(conn, addr, ccfg)
	stopped := stop()
	if err != nil {
		conn.Close()
		retry, err := classifyHandshake(ctx, actx, stopped, err, v, authStarted)
		return nil, retry, err
	}
	if !stopped { // the watcher fired: the connection is closed
		sconn.Close()
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("%w: %w", probes.ErrTimeout, ctx.Err())
		}
		return nil, false, fmt.Errorf("%w: handshake exceeded %s", probes.ErrTimeout, cfg.ConnectTimeout)
	}
	_ = conn.SetDeadline(time.Time{})
	return &Client{
		addr:      addr,
		conn:      conn,
		client:    xssh.NewClient(sconn, chans, reqs),
		hostKey:   v.accepted,
		maxOutput: cfg.MaxOutput,
	}, false, nil
}

// classifyHandshake maps a failed SSH handshake to the package's errors.
func classifyHandshake(ctx, actx context.Context, watcherIdle bool, err error, v *hostKeyVerifier, authStarted bool) (retry bool, _ error) {
	var (
		unknown *UnknownHostError
		changed *HostKeyChangedError
		exhaust *errAuthExhausted
		algo    *xssh.AlgorithmNegotiationError
		netErr  net.Error
	)
	switch {
	case ctx.Err() != nil:
		return false, fmt.Errorf("%w: %w", probes.ErrTimeout, ctx.Err())
	case errors.As(err, &unknown), errors.As(err, &changed), errors.Is(err, probes.ErrHostKeyMismatch):
		return false, err
	case errors.As(err, &algo) && algo.What == "host key" && len(v.known) > 0:
		return false, &HostKeyChangedError{Host: v.addr, Expected: v.fingerprints(), Offered: algo.RequestedAlgorithms}
	case errors.As(err, &exhaust):
		return false, fmt.Errorf("%w: %w", probes.ErrAuthFailed, err)
	case actx.Err() != nil || !watcherIdle || (errors.As(err, &netErr) && netErr.Timeout()):
		return false, fmt.Errorf("%w: handshake did not complete in time: %w", probes.ErrTimeout, err)
	case authStarted && !isConnectionLoss(err):
		// The server ended authentication itself, e.g. after MaxAuthTries.
		return false, fmt.Errorf("%w: %w", probes.ErrAuthFailed, err)
	case v.accepted == nil && isConnectionLoss(err):
		// Closed before the key exchange finished: sshd's MaxStartups
		// drops handshakes like this under load.
		return true, fmt.Errorf("%w: connection closed during handshake: %w", probes.ErrProtocol, err)
	default:
		return false, fmt.Errorf("%w: handshake: %w", probes.ErrProtocol, err)
	}
}

// isConnectionLoss reports whether err is the peer closing or resetting the
// connection.
func isConnectionLoss(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// HostKey returns the accepted host key's algorithm and SHA256 fingerprint.
func (c *Client) HostKey() (algorithm, sha256Fingerprint string) {
	if c.hostKey == nil {
		return "", ""
	}
	return c.hostKey.Type(), xssh.FingerprintSHA256(c.hostKey)
}

// Close closes the connection. It is safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if err := c.client.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			c.closeErr = &probes.HostError{Host: c.addr, Op: "ssh close", Err: err}
		}
	})
	return c.closeErr
}

// Run executes c.Line in a new session, writes c.Stdin to it and closes its
// standard input, and collects stdout (up to MaxOutput) and stderr (up to
// MaxStderr). A non-zero exit is not an error: it is Output.ExitCode (128+n
// for a command killed by signal n). A command that ends without an exit
// status, or a connection lost mid-command, is an error wrapping
// probes.ErrProtocol.
//
// When ctx ends, Run sends SIGTERM to the command, closes the session and the
// connection and returns an error wrapping probes.ErrTimeout within about a
// second; the Client is closed after that. When stdout exceeds the cap, Run
// ends the command the same way but keeps the connection, and returns the
// kept output with Truncated set and ExitCode -1.
func (c *Client) Run(ctx context.Context, cmd probes.Command) (*probes.Output, error) {
	out, err := c.run(ctx, cmd)
	if err != nil {
		return nil, &probes.HostError{Host: c.addr, Op: "ssh run", Err: err}
	}
	return out, nil
}

func (c *Client) run(ctx context.Context, cmd probes.Command) (*probes.Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", probes.ErrTimeout, err)
	}
	r := &runState{client: c, waitDone: make(chan struct{})}
	stop := context.AfterFunc(ctx, r.abort)
	defer stop()

	sess, err := c.client.NewSession()
	if err != nil {
		return nil, r.failure(ctx, "open session", err)
	}
	if !r.setSession(sess) { // ctx ended while the session opened
		sess.Close()
		return nil, r.failure(ctx, "open session", net.ErrClosed)
	}
	defer sess.Close()
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, r.failure(ctx, "stdin", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, r.failure(ctx, "stdout", err)
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return nil, r.failure(ctx, "stderr", err)
	}
	if err := sess.Start(cmd.Line); err != nil {
		return nil, r.failure(ctx, "start command", err)
	}

	go func() {
		// A command may exit without reading all of its input; write
		// errors then are not failures (like EPIPE for a local pipe).
		_, _ = io.Copy(stdin, bytes.NewReader(cmd.Stdin))
		_ = stdin.Close()
	}()
	var (
		wg             sync.WaitGroup
		outBuf, errBuf cappedBuffer
	)
	outBuf.limit, outBuf.onFull = c.maxOutput, r.truncate
	errBuf.limit = MaxStderr
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(&outBuf, stdout) }()
	go func() { defer wg.Done(); _, _ = io.Copy(&errBuf, stderr) }()
	wg.Wait()
	waitErr := sess.Wait()
	close(r.waitDone)

	out := &probes.Output{Stdout: outBuf.buf, Stderr: errBuf.buf, Truncated: outBuf.full}
	if r.timedOut() {
		return nil, fmt.Errorf("%w: %w", probes.ErrTimeout, context.Cause(ctx))
	}
	if outBuf.full {
		out.ExitCode = -1
		return out, nil
	}
	var exit *xssh.ExitError
	switch {
	case waitErr == nil:
		return out, nil
	case errors.As(waitErr, &exit):
		out.ExitCode = exit.ExitStatus()
		return out, nil
	default:
		return nil, fmt.Errorf("%w: connection lost: %w", probes.ErrProtocol, waitErr)
	}
}

// runState coordinates one Run with the goroutine that ends it on timeout or
// truncation.
type runState struct {
	client   *Client
	waitDone chan struct{}

	mu       sync.Mutex
	sess     *xssh.Session
	timeout  bool
	stopping bool
}

func (r *runState) setSession(s *xssh.Session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sess = s
	return !r.timeout
}

func (r *runState) timedOut() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.timeout
}

// abort runs when ctx ends: it signals the command, closes the session, waits
// briefly for it to end, and closes the connection, which unblocks every
// pending read, write and request.
func (r *runState) abort() {
	r.mu.Lock()
	r.timeout = true
	s := r.sess
	r.mu.Unlock()
	if s != nil {
		signalled := make(chan struct{})
		go func() {
			defer close(signalled)
			_ = s.Signal(xssh.SIGTERM)
			_ = s.Close()
		}()
		deadline := time.After(abortGrace)
		select {
		case <-signalled:
			select {
			case <-r.waitDone:
			case <-deadline:
			}
		case <-deadline:
		}
	}
	_ = r.client.conn.Close()
}

// truncate runs (once) when stdout passes the cap: it ends the command but
// keeps the connection.
func (r *runState) truncate() {
	r.mu.Lock()
	s := r.sess
	already := r.stopping
	r.stopping = true
	r.mu.Unlock()
	if s == nil || already {
		return
	}
	go func() {
		_ = s.Signal(xssh.SIGTERM)
		_ = s.Close()
	}()
}

// failure classifies an error before the command ran.
func (r *runState) failure(ctx context.Context, op string, err error) error {
	if r.timedOut() {
		return fmt.Errorf("%s: %w: %w", op, probes.ErrTimeout, context.Cause(ctx))
	}
	var oce *xssh.OpenChannelError
	if errors.As(err, &oce) {
		return fmt.Errorf("%s: %w: %w", op, probes.ErrProtocol, err)
	}
	return fmt.Errorf("%s: %w: connection lost: %w", op, probes.ErrProtocol, err)
}

// cappedBuffer keeps the first limit bytes written to it and discards the
// rest, calling onFull once when the limit is passed. Its capacity grows by
// doubling but never past limit, so a host that floods its output costs at
// most limit bytes here (plus, while growing, the half-size copy replaced).
type cappedBuffer struct {
	buf    []byte
	limit  int64
	full   bool
	onFull func()
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.limit - int64(len(b.buf))
	keep := int(min(int64(len(p)), max(room, 0)))
	if keep > 0 {
		b.grow(keep)
		b.buf = append(b.buf, p[:keep]...)
	}
	if keep < len(p) && !b.full {
		b.full = true
		if b.onFull != nil {
			b.onFull()
		}
	}
	return len(p), nil
}

// grow makes room for n more bytes within limit.
func (b *cappedBuffer) grow(n int) {
	need := len(b.buf) + n
	if need <= cap(b.buf) {
		return
	}
	c := int(min(int64(max(2*cap(b.buf), need, 32<<10)), max(b.limit, int64(need))))
	nb := make([]byte, len(b.buf), c)
	copy(nb, b.buf)
	b.buf = nb
}
