// Package winrm is the WinRM transport of otsweep: it runs one command on a
// Windows host through the Windows Remote Shell protocol over WS-Management
// (Create shell, Command, Send stdin, Receive until Done, Signal, Delete).
//
// Requests are built with github.com/masterzen/winrm; everything on the wire
// is this package's own, because the library's Transporter takes no context,
// swallows SOAP faults on non-200 replies and then polls Receive in a tight
// loop, falls back from NTLM to Basic and from sealed to clear messages, and
// races its stdin and Receive requests. Here every request is paced
// (MinRequestInterval), bounded in time and size, and every reply is
// classified: w:TimedOut on Receive means poll again, a shell quota fault on
// Create means clean up and retry a bounded number of times, and everything
// else is an error wrapping one of the probes sentinels.
//
// Security rules: HTTPS verifies the host certificate against CAFile (or the
// system roots) or a pinned SHA-256 fingerprint; plain HTTP is allowed only
// with NTLM message encryption (what hosts with AllowUnencrypted=false, the
// default, require on port 5985); Basic only over HTTPS. The password is a
// probes.Secret and never appears in an error.
package winrm

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/masterzen/winrm"

	"github.com/otsweep/otsweep/probes"
)

// PowerShellStdin is the command line that runs a script sent on stdin:
// the batch script is far longer than the 8191 characters cmd.exe allows on
// a command line, and stdin has no such limit.
const PowerShellStdin = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command -"

// Authentication mechanisms for Config.Auth.
const (
	AuthNTLM     = "ntlm"
	AuthBasic    = "basic"
	AuthKerberos = "kerberos"
)

// Defaults applied by Dial.
const (
	DefaultHTTPPort           = 5985
	DefaultHTTPSPort          = 5986
	DefaultOperationTimeout   = 20 * time.Second
	DefaultMinRequestInterval = 50 * time.Millisecond
	DefaultMaxOutput          = 16 << 20
	// DefaultRunTimeout bounds a Run whose context has no deadline.
	DefaultRunTimeout = 10 * time.Minute
	// CleanupTimeout bounds Signal and Delete after a command, even when
	// the command's context has already ended.
	CleanupTimeout = 3 * time.Second
)

const (
	// maxEnvelope is the MaxEnvelopeSize we announce and the size every
	// request stays under: 150 KB is the default of WinRM 2.0 (Windows 7,
	// Server 2008 R2), still common in OT; newer hosts allow 500 KB.
	maxEnvelope = 153600
	// stdinChunk is the raw stdin per Send: base64 of it plus the
	// envelope (about 1.3 KB) stays under maxEnvelope.
	stdinChunk = (maxEnvelope - 4096) / 4 * 3
	// quota handling on Create
	maxQuotaRetries = 3
	quotaBackoff    = 250 * time.Millisecond
)

// ErrConfig marks an invalid Config; Dial returns it before any network I/O.
var ErrConfig = errors.New("invalid winrm configuration")

// ErrKerberosUnsupported is returned for Auth "kerberos". The pinned
// masterzen/winrm Kerberos transport needs a krb5.conf and a fresh AS/TGS
// exchange with the KDC for every request, cannot seal messages on HTTP and
// cannot use a pinned certificate, so it fails this package's rules.
var ErrKerberosUnsupported = fmt.Errorf("%w: kerberos not supported (use ntlm over HTTPS, or ntlm with message encryption over HTTP)", ErrConfig)

// Config describes how to reach one host.
type Config struct {
	Address string // host name or IP, without port
	Port    int    // default 5985 (HTTP) or 5986 (HTTPS)
	HTTPS   bool
	User    string // "user", `DOMAIN\user` or "user@domain"
	// Password of User; never printed.
	Password probes.Secret
	// Auth is "ntlm" (default), "basic" (HTTPS only) or "kerberos"
	// (refused with ErrKerberosUnsupported).
	Auth string
	// CAFile is a PEM bundle the host certificate must chain to; empty
	// means the system roots (unless Fingerprint is set).
	CAFile string
	// Fingerprint pins the host certificate: hex SHA-256 of its DER,
	// colons and case ignored. Without CAFile it replaces chain and name
	// verification; with CAFile both must hold.
	Fingerprint string
	// OperationTimeout is how long the host may hold a Receive before
	// answering w:TimedOut; default 20 s.
	OperationTimeout time.Duration
	// MinRequestInterval is the least time between two requests to the
	// host; default 50 ms.
	MinRequestInterval time.Duration
	// MaxOutput caps stdout (and, separately, stderr); default 16 MiB.
	MaxOutput int64
}

// Client runs commands on one host. It connects lazily, keeps at most one
// connection, and is not safe for concurrent use (probes.Executor).
type Client struct {
	cfg    Config
	tr     *transport
	params *winrm.Parameters
	// stale holds shells whose Delete failed; they are retried when the
	// host reports its shell quota exhausted.
	stale []string
}

var _ probes.Executor = (*Client)(nil)

// Dial validates cfg and prepares a client. It reads CAFile but does not
// contact the host; the first Run does.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := normalize(&cfg); err != nil {
		return nil, err
	}
	var tlsConf *tls.Config
	if cfg.HTTPS {
		var err error
		if tlsConf, err = buildTLS(&cfg); err != nil {
			return nil, err
		}
	}
	params := winrm.NewParameters(fmt.Sprintf("PT%.3fS", cfg.OperationTimeout.Seconds()), "en-US", maxEnvelope)
	return &Client{cfg: cfg, tr: newTransport(&cfg, tlsConf), params: params}, nil
}

func normalize(cfg *Config) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	cfg.Address = strings.TrimSpace(cfg.Address)
	if cfg.Address == "" || strings.ContainsAny(cfg.Address, "/ \t") || strings.Contains(cfg.Address, "://") {
		return bad("address %q is not a host name or IP address", cfg.Address)
	}
	if ip := strings.Trim(cfg.Address, "[]"); net.ParseIP(ip) != nil {
		cfg.Address = ip
	} else if strings.Contains(cfg.Address, ":") {
		return bad("address %q must not carry a port; use Port", cfg.Address)
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultHTTPPort
		if cfg.HTTPS {
			cfg.Port = DefaultHTTPSPort
		}
	}
	host := net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))
	if cfg.Port < 1 || cfg.Port > 65535 {
		return bad("%s: port out of range", host)
	}
	if cfg.User == "" || cfg.Password.IsZero() {
		return bad("%s: user and password are required", host)
	}
	switch strings.ToLower(cfg.Auth) {
	case "", AuthNTLM:
		cfg.Auth = AuthNTLM
	case AuthBasic:
		cfg.Auth = AuthBasic
		if !cfg.HTTPS {
			return bad("%s: basic authentication would send the password in clear over HTTP; use HTTPS or ntlm", host)
		}
	case AuthKerberos:
		return fmt.Errorf("%s: %w", host, ErrKerberosUnsupported)
	default:
		return bad("%s: unknown auth %q (ntlm, basic)", host, cfg.Auth)
	}
	if !cfg.HTTPS && (cfg.CAFile != "" || cfg.Fingerprint != "") {
		return bad("%s: CAFile and Fingerprint need HTTPS", host)
	}
	switch {
	case cfg.OperationTimeout == 0:
		cfg.OperationTimeout = DefaultOperationTimeout
	case cfg.OperationTimeout < 100*time.Millisecond || cfg.OperationTimeout > 10*time.Minute:
		return bad("%s: operation timeout %v outside 100ms..10m", host, cfg.OperationTimeout)
	}
	switch {
	case cfg.MinRequestInterval == 0:
		cfg.MinRequestInterval = DefaultMinRequestInterval
	case cfg.MinRequestInterval < 0:
		return bad("%s: negative request interval", host)
	}
	switch {
	case cfg.MaxOutput == 0:
		cfg.MaxOutput = DefaultMaxOutput
	case cfg.MaxOutput < 0:
		return bad("%s: negative output cap", host)
	}
	return nil
}

func buildTLS(cfg *Config) (*tls.Config, error) {
	host := net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.Address}
	if cfg.CAFile != "" {
		pemBytes, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: CA file: %w", ErrConfig, host, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%w: %s: CA file %s holds no PEM certificate", ErrConfig, host, cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.Fingerprint != "" {
		want, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(cfg.Fingerprint), ":", ""))
		if err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("%w: %s: fingerprint is not a hex SHA-256", ErrConfig, host)
		}
		if cfg.CAFile == "" {
			// The pin below replaces chain and name verification; it is
			// the only thing this client trusts.
			tc.InsecureSkipVerify = true
		}
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return &pinError{}
			}
			got := sha256.Sum256(raw[0])
			if subtle.ConstantTimeCompare(got[:], want) != 1 {
				return &pinError{got: hex.EncodeToString(got[:])}
			}
			return nil
		}
	}
	return tc, nil
}

// pinError is a certificate that does not match the pinned fingerprint.
type pinError struct{ got string }

func (e *pinError) Error() string {
	if e.got == "" {
		return "host presented no certificate"
	}
	return "host certificate SHA-256 " + e.got + " does not match the pinned fingerprint"
}

// Close drops the idle connection. Shells are deleted by Run itself; a Run
// after Close connects and authenticates again.
func (c *Client) Close() error {
	c.tr.close()
	return nil
}

// Run executes cmd.Line in a new shell, writes cmd.Stdin to it and closes
// stdin, and collects stdout and stderr until the command is done. The shell
// is always signalled and deleted afterwards, with its own CleanupTimeout
// deadline, also when ctx has ended. When ctx ends first Run returns an error
// wrapping probes.ErrTimeout; a ctx without deadline gets DefaultRunTimeout.
// Output beyond MaxOutput ends the command: the Output is returned with
// Truncated set and ExitCode -1. Errors are *probes.HostError naming
// host:port and the operation, wrapping a probes sentinel; SOAP faults are
// *FaultError.
func (c *Client) Run(ctx context.Context, cmd probes.Command) (*probes.Output, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultRunTimeout)
		defer cancel()
	}
	if strings.TrimSpace(cmd.Line) == "" {
		return nil, c.fail("run", fmt.Errorf("%w: empty command line", ErrConfig))
	}
	shell, err := c.createShell(ctx)
	if err != nil {
		return nil, c.fail("create shell", err)
	}
	out, runErr := c.runIn(ctx, shell, cmd)

	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
	defer cancel()
	if err := c.deleteShell(cctx, shell); err != nil {
		// The output is valid; the shell idles out on the host eventually
		// (IdleTimeOut, 2 h by default) and is retried on a quota fault.
		c.stale = append(c.stale, shell)
	}
	return out, runErr
}

func (c *Client) fail(op string, err error) error {
	return &probes.HostError{Host: c.tr.host, Op: "winrm " + op, Err: err}
}

// protocolError wraps a reply the transport could not use.
func protocolError(err error) error {
	if errors.Is(err, probes.ErrProtocol) {
		return err
	}
	return fmt.Errorf("%w: %w", probes.ErrProtocol, err)
}

func (c *Client) createShell(ctx context.Context) (string, error) {
	for attempt := 0; ; attempt++ {
		reply, err := c.tr.post(ctx, "Create", []byte(winrm.NewOpenShellRequest(c.tr.url, c.params).String()))
		var fault *FaultError
		if errors.As(err, &fault) && fault.QuotaExceeded() && attempt < maxQuotaRetries {
			// Shells this client could not delete earlier count against
			// the quota; delete them, back off, try again.
			c.deleteStale(ctx)
			if err := sleep(ctx, quotaBackoff<<attempt); err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", err
		}
		id, err := parseCreate(reply)
		if err != nil {
			return "", protocolError(err)
		}
		return id, nil
	}
}

func (c *Client) deleteStale(ctx context.Context) {
	var keep []string
	for _, id := range c.stale {
		if err := c.deleteShell(ctx, id); err != nil {
			var fault *FaultError
			if !errors.As(err, &fault) { // a fault means the host no longer knows it
				keep = append(keep, id)
			}
		}
	}
	c.stale = keep
}

func (c *Client) deleteShell(ctx context.Context, shell string) error {
	_, err := c.tr.post(ctx, "Delete", []byte(winrm.NewDeleteShellRequest(c.tr.url, shell, c.params).String()))
	return err
}

// runIn runs the command in shell and always signals it afterwards.
func (c *Client) runIn(ctx context.Context, shell string, cmd probes.Command) (*probes.Output, error) {
	reply, err := c.tr.post(ctx, "Command", []byte(winrm.NewExecuteCommandRequest(c.tr.url, shell, cmd.Line, nil, c.params).String()))
	if err != nil {
		return nil, c.fail("start command", err)
	}
	id, err := parseCommand(reply)
	if err != nil {
		return nil, c.fail("start command", protocolError(err))
	}
	defer func() {
		// Terminate releases the process on the host; a command that is
		// already done is unaffected. Best effort: Delete follows anyway.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
		defer cancel()
		_, _ = c.tr.post(cctx, "Signal", []byte(winrm.NewSignalRequest(c.tr.url, shell, id, c.params).String()))
	}()

	if err := c.sendStdin(ctx, shell, id, cmd.Stdin); err != nil {
		return nil, c.fail("send stdin", err)
	}
	out, err := c.receive(ctx, shell, id)
	if err != nil {
		return nil, c.fail("receive output", err)
	}
	return out, nil
}

// sendStdin sends stdin in envelope-sized chunks and marks its end, so
// PowerShell's "-Command -" sees end of input (PowerShell 2.0 waits forever
// otherwise).
func (c *Client) sendStdin(ctx context.Context, shell, id string, stdin []byte) error {
	for {
		n := min(len(stdin), stdinChunk)
		last := n == len(stdin)
		msg := winrm.NewSendInputRequest(c.tr.url, shell, id, stdin[:n], last, c.params)
		if _, err := c.tr.post(ctx, "Send", []byte(msg.String())); err != nil {
			return err
		}
		if last {
			return nil
		}
		stdin = stdin[n:]
	}
}

// receive polls until the command is done. w:TimedOut faults are the normal
// answer to a Receive on a quiet command and are polled again; the pacer
// bounds the rate and ctx the duration.
func (c *Client) receive(ctx context.Context, shell, id string) (*probes.Output, error) {
	out := &probes.Output{}
	msg := []byte(winrm.NewGetOutputRequest(c.tr.url, shell, id, "stdout stderr", c.params).String())
	for {
		reply, err := c.tr.post(ctx, "Receive", msg)
		var fault *FaultError
		if errors.As(err, &fault) && fault.TimedOut() {
			continue
		}
		if err != nil {
			return nil, err
		}
		r, err := parseReceive(reply, id)
		if err != nil {
			return nil, protocolError(err)
		}
		out.Stdout, out.Truncated = appendCapped(out.Stdout, r.stdout, c.cfg.MaxOutput)
		out.Stderr, _ = appendCapped(out.Stderr, r.stderr, c.cfg.MaxOutput)
		if out.Truncated {
			out.ExitCode = -1
			return out, nil
		}
		if r.done {
			out.ExitCode = r.exitCode
			return out, nil
		}
	}
}

func appendCapped(dst, src []byte, capacity int64) ([]byte, bool) {
	room := capacity - int64(len(dst))
	if int64(len(src)) > room {
		return append(dst, src[:max(room, 0)]...), true
	}
	return append(dst, src...), false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", probes.ErrTimeout, ctx.Err())
	}
}
