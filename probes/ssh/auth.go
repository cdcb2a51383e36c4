package ssh

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/otsweep/otsweep/probes"
)

// maxKeyboardInteractiveRounds bounds the challenges answered per Dial, so a
// server cannot keep the client answering forever.
const maxKeyboardInteractiveRounds = 4

// namedMethod is an auth method with its RFC 4252 name.
type namedMethod struct {
	name   string
	method xssh.AuthMethod
}

// authSet is the ordered list of methods for one Dial, and the agent
// connection to close afterwards.
type authSet struct {
	methods []namedMethod
	agent   net.Conn
}

func (a *authSet) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

// errAuthExhausted ends the handshake when no configured method is left.
type errAuthExhausted struct {
	tried, allowed []string
}

func (e *errAuthExhausted) Error() string {
	return fmt.Sprintf("no configured method accepted (tried %v, server allows %v)", e.tried, e.allowed)
}

// newAuthSet builds the methods in order: public key (the configured key,
// then the agent's keys), then password and keyboard-interactive answering
// with the password. Errors never contain key material or passwords.
func newAuthSet(ctx context.Context, cfg *Config) (*authSet, error) {
	a := &authSet{}
	var signers []xssh.Signer
	if !cfg.PrivateKey.IsZero() {
		s, err := parseKey(cfg.PrivateKey, cfg.Passphrase)
		if err != nil {
			return nil, err
		}
		signers = append(signers, s)
	}
	var agentSigners func() ([]xssh.Signer, error)
	if cfg.Agent {
		sock := cfg.AgentSocket
		if sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
		}
		if sock == "" {
			return nil, fmt.Errorf("ssh agent: SSH_AUTH_SOCK is not set: %w", probes.ErrAuthFailed)
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", sock)
		if err != nil {
			return nil, fmt.Errorf("ssh agent %s: %w: %w", sock, probes.ErrAuthFailed, err)
		}
		a.agent = conn
		agentSigners = agent.NewClient(conn).Signers
	}
	if len(signers) > 0 || agentSigners != nil {
		a.methods = append(a.methods, namedMethod{"publickey", xssh.PublicKeysCallback(func() ([]xssh.Signer, error) {
			all := slices.Clone(signers)
			if agentSigners != nil {
				more, err := agentSigners()
				if err != nil {
					return nil, fmt.Errorf("ssh agent: %w", err)
				}
				all = append(all, more...)
			}
			return all, nil
		})})
	}
	if !cfg.Password.IsZero() {
		pw := cfg.Password
		a.methods = append(a.methods,
			namedMethod{"password", xssh.PasswordCallback(func() (string, error) { return pw.Reveal(), nil })},
			namedMethod{"keyboard-interactive", keyboardInteractive(pw)},
		)
	}
	if len(a.methods) == 0 {
		a.close()
		return nil, errors.New("no credentials: set PrivateKey, Agent or Password")
	}
	return a, nil
}

// keyboardInteractive answers every hidden prompt with the password (and
// visible ones with nothing), for a bounded number of rounds.
func keyboardInteractive(pw probes.Secret) xssh.AuthMethod {
	rounds := 0
	return xssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
		if len(questions) == 0 {
			return nil, nil
		}
		rounds++
		if rounds > maxKeyboardInteractiveRounds {
			return nil, fmt.Errorf("keyboard-interactive: more than %d challenges", maxKeyboardInteractiveRounds)
		}
		answers := make([]string, len(questions))
		for i := range questions {
			if i < len(echos) && !echos[i] {
				answers[i] = pw.Reveal()
			}
		}
		return answers, nil
	})
}

// callback picks the next untried method the server allows; when none is
// left it ends the handshake with *errAuthExhausted, which Dial reports as
// probes.ErrAuthFailed.
func (a *authSet) callback(started *bool) xssh.ClientAuthCallback {
	return func(ac *xssh.ClientAuthContext) (xssh.AuthMethod, error) {
		*started = true
		for _, m := range a.methods {
			if slices.Contains(ac.AllowedMethods, m.name) && !slices.Contains(ac.TriedMethods, m.name) {
				return m.method, nil
			}
		}
		return nil, &errAuthExhausted{tried: ac.TriedMethods, allowed: ac.AllowedMethods}
	}
}

// parseKey parses a PEM private key, decrypting it with passphrase if given.
func parseKey(key, passphrase probes.Secret) (xssh.Signer, error) {
	var (
		s   xssh.Signer
		err error
	)
	if passphrase.IsZero() {
		s, err = xssh.ParsePrivateKey([]byte(key.Reveal()))
	} else {
		s, err = xssh.ParsePrivateKeyWithPassphrase([]byte(key.Reveal()), []byte(passphrase.Reveal()))
	}
	var missing *xssh.PassphraseMissingError
	switch {
	case err == nil:
		return s, nil
	case errors.As(err, &missing):
		return nil, fmt.Errorf("private key is encrypted and no passphrase is set: %w", probes.ErrAuthFailed)
	case errors.Is(err, x509.IncorrectPasswordError):
		return nil, fmt.Errorf("private key: wrong passphrase: %w", probes.ErrAuthFailed)
	default:
		return nil, fmt.Errorf("private key: %w: %w", probes.ErrAuthFailed, err)
	}
}
