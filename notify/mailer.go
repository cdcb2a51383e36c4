// Package notify sends otsweep's drift alerts by email: one digest per
// sweep, regressions first, each change with its asset, FR, SR/RE and the
// evidence before and after, as plain text and HTML. Every message handed to
// the SMTP server, or given up on, is recorded as a delivery in the store.
//
// The SMTP connection uses STARTTLS or implicit TLS (plain SMTP only to a
// loopback address), and AUTH PLAIN with a password held as a probes.Secret:
// it is never logged, printed or stored. A server that cannot be reached is
// retried with exponential backoff, a bounded number of times.
package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/otsweep/otsweep/probes"
)

// Security is how the SMTP connection is protected.
type Security string

// Connection security modes.
const (
	StartTLS    Security = "starttls" // plain connect, then STARTTLS, required (port 587)
	ImplicitTLS Security = "tls"      // TLS from the first byte (port 465)
	PlainSMTP   Security = "none"     // no TLS: allowed only to a loopback address (port 25)
)

// ErrInvalid wraps every configuration error of this package.
var ErrInvalid = errors.New("invalid mail setting")

// SMTP says how to reach the mail server.
type SMTP struct {
	Host     string
	Port     int // 0: 587 for StartTLS, 465 for ImplicitTLS, 25 for PlainSMTP
	Security Security
	Username string        // empty: no AUTH
	Password probes.Secret // for AUTH PLAIN
	From     string        // envelope and header sender
	RootCAs  *x509.CertPool
	Timeout  time.Duration // per attempt (connect, TLS, AUTH, DATA); 0 = 30 s
}

// port returns the configured or the default port.
func (c SMTP) port() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.Security {
	case ImplicitTLS:
		return 465
	case PlainSMTP:
		return 25
	}
	return 587
}

// Validate checks the settings without contacting the server.
func (c SMTP) Validate() error {
	switch {
	case c.Host == "":
		return fmt.Errorf("smtp host is required: %w", ErrInvalid)
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("smtp port %d: %w", c.Port, ErrInvalid)
	case c.Security != StartTLS && c.Security != ImplicitTLS && c.Security != PlainSMTP:
		return fmt.Errorf("smtp security %q: want starttls, tls or none: %w", c.Security, ErrInvalid)
	case c.Security == PlainSMTP && !IsLoopback(c.Host):
		return fmt.Errorf("smtp security none sends the password and the plant's weaknesses in clear; it is allowed only to a loopback address, not %q: %w", c.Host, ErrInvalid)
	case c.Username == "" && !c.Password.IsZero():
		return fmt.Errorf("smtp password given without a username: %w", ErrInvalid)
	case c.Username != "" && c.Password.IsZero():
		return fmt.Errorf("smtp username %q given without a password: %w", c.Username, ErrInvalid)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("smtp from %q: %v: %w", c.From, err, ErrInvalid)
	}
	return nil
}

// IsLoopback reports whether host names this machine's loopback interface:
// "localhost" or a literal address in 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Retry bounds how often and how long a message is retried.
type Retry struct {
	Attempts int           // total attempts; 0 = 5
	Initial  time.Duration // wait before the second attempt, doubled after each; 0 = 5 s
	Max      time.Duration // longest single wait; 0 = 2 min
}

func (r Retry) attempts() int {
	if r.Attempts > 0 {
		return r.Attempts
	}
	return 5
}

// wait returns the pause after failed attempt n (1-based).
func (r Retry) wait(n int) time.Duration {
	d, top := r.Initial, r.Max
	if d <= 0 {
		d = 5 * time.Second
	}
	if top <= 0 {
		top = 2 * time.Minute
	}
	for i := 1; i < n && d < top; i++ {
		d *= 2
	}
	return min(d, top)
}

// Message is one email.
type Message struct {
	To      []string
	Subject string
	Text    string // text/plain body
	HTML    string // text/html alternative; empty: text only
}

// Mailer sends messages through one SMTP server. It is safe for concurrent
// use; its fields must not change after first use.
type Mailer struct {
	SMTP  SMTP
	Retry Retry
	// Sleep waits between attempts; nil waits on a real timer. It returns
	// ctx's error if ctx ends first.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

func (m *Mailer) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (m *Mailer) sleep(ctx context.Context, d time.Duration) error {
	if m.Sleep != nil {
		return m.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Send delivers msg, trying up to Retry.Attempts times with exponential
// backoff while the server cannot be reached or answers with a temporary
// error; a permanent refusal (a 5xx reply to the message) is not retried.
// Each attempt is bounded by SMTP.Timeout and by ctx; when ctx ends, Send
// returns at once. It returns the number of attempts made and the last
// error. Errors name the server and never contain the password.
func (m *Mailer) Send(ctx context.Context, msg Message) (int, error) {
	if err := m.SMTP.Validate(); err != nil {
		return 0, err
	}
	if len(msg.To) == 0 {
		return 0, fmt.Errorf("mail %q: no recipients: %w", msg.Subject, ErrInvalid)
	}
	gm, err := m.build(msg)
	if err != nil {
		return 0, err
	}
	server := net.JoinHostPort(m.SMTP.Host, fmt.Sprint(m.SMTP.port()))
	max := m.Retry.attempts()
	var last error
	for n := 1; ; n++ {
		last = m.attempt(ctx, gm)
		if last == nil {
			m.logger().Info("mail sent", "host", server, "subject", msg.Subject, "recipients", len(msg.To), "attempts", n)
			return n, nil
		}
		last = fmt.Errorf("mail via %s, attempt %d of %d: %w", server, n, max, last)
		var se *gomail.SendError
		permanent := errors.As(last, &se) && !se.IsTemp()
		if n >= max || permanent || ctx.Err() != nil {
			m.logger().Error("mail not sent", "host", server, "subject", msg.Subject, "attempts", n, "err", last)
			return n, last
		}
		wait := m.Retry.wait(n)
		m.logger().Warn("mail attempt failed; retrying", "host", server, "attempt", n, "wait", wait, "err", last)
		if err := m.sleep(ctx, wait); err != nil {
			return n, errors.Join(last, err)
		}
	}
}

func (m *Mailer) build(msg Message) (*gomail.Msg, error) {
	gm := gomail.NewMsg()
	if err := gm.From(m.SMTP.From); err != nil {
		return nil, fmt.Errorf("mail from %q: %v: %w", m.SMTP.From, err, ErrInvalid)
	}
	if err := gm.To(msg.To...); err != nil {
		return nil, fmt.Errorf("mail recipients %v: %v: %w", msg.To, err, ErrInvalid)
	}
	gm.Subject(msg.Subject)
	gm.SetDate()
	gm.SetMessageID()
	gm.SetGenHeader("Auto-Submitted", "auto-generated")
	gm.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return gm, nil
}

func (m *Mailer) attempt(ctx context.Context, gm *gomail.Msg) error {
	c := m.SMTP
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []gomail.Option{
		gomail.WithPort(c.port()),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: c.Host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	switch c.Security {
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case PlainSMTP:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if c.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(c.Username),
			gomail.WithPassword(c.Password.Reveal()))
	}
	client, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return client.DialAndSendWithContext(actx, gm)
}

// SecretRef says where the SMTP password lives: an environment variable or
// an owner-only file. At most one is set.
type SecretRef struct {
	Env  string
	File string
}

// maxSecretFile bounds what Resolve reads.
const maxSecretFile = 64 << 10

// Resolve reads the secret. A file must be a regular file that neither group
// nor others may access; one trailing newline is dropped. Errors name the
// variable or file, never the value. A zero ref resolves to a zero Secret.
func (r SecretRef) Resolve(getenv func(string) string) (probes.Secret, error) {
	switch {
	case r.Env != "" && r.File != "":
		return probes.Secret{}, fmt.Errorf("password: give password_env or password_file, not both: %w", ErrInvalid)
	case r.Env != "":
		v := getenv(r.Env)
		if v == "" {
			return probes.Secret{}, fmt.Errorf("password: environment variable %s is not set or empty: %w", r.Env, ErrInvalid)
		}
		return probes.NewSecret(v), nil
	case r.File != "":
		st, err := os.Stat(r.File)
		if err != nil {
			return probes.Secret{}, fmt.Errorf("password file: %w", err)
		}
		if !st.Mode().IsRegular() {
			return probes.Secret{}, fmt.Errorf("password file %s: not a regular file: %w", r.File, ErrInvalid)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return probes.Secret{}, fmt.Errorf("password file %s: mode %04o is too open; chmod 600 %s: %w", r.File, st.Mode().Perm(), r.File, ErrInvalid)
		}
		if st.Size() > maxSecretFile {
			return probes.Secret{}, fmt.Errorf("password file %s: larger than 64 KiB: %w", r.File, ErrInvalid)
		}
		b, err := os.ReadFile(r.File)
		if err != nil {
			return probes.Secret{}, fmt.Errorf("password file: %w", err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return probes.Secret{}, fmt.Errorf("password file %s is empty: %w", r.File, ErrInvalid)
		}
		return probes.NewSecret(v), nil
	}
	return probes.Secret{}, nil
}
