package ssh

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"syscall"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/otsweep/otsweep/probes"
)

// hostKeyVerifier checks host keys against a known_hosts file and, with
// trust-on-first-use, records unknown ones. One verifier serves one Dial.
type hostKeyVerifier struct {
	file string
	tofu bool
	addr string // host:port as dialled

	accepted xssh.PublicKey // set once a key is accepted
	known    []knownhosts.KnownKey
	// db is the file as read when the Dial began (nil: no file); it
	// serves the key check too, so the file is read once per Dial. A host
	// learned meanwhile by a concurrent Dial is seen by learn, which reads
	// the file again under its lock.
	db xssh.HostKeyCallback
}

// newHostKeyVerifier loads the keys recorded for addr (see loadFor). A
// missing file is an empty one.
func newHostKeyVerifier(file string, tofu bool, addr string, cache *KnownHostsCache) (*hostKeyVerifier, error) {
	v := &hostKeyVerifier{file: file, tofu: tofu, addr: addr}
	db, known, err := loadFor(file, addr, cache)
	if err != nil {
		return nil, err
	}
	v.db, v.known = db, known
	return v, nil
}

// knownKeys returns the keys db records for addr.
func knownKeys(db xssh.HostKeyCallback, addr string) ([]knownhosts.KnownKey, error) {
	if db == nil {
		return nil, nil
	}
	// knownhosts has no lookup; checking a key that cannot be in the file
	// yields a KeyError listing the recorded keys.
	probe, err := xssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return nil, fmt.Errorf("known_hosts lookup: %w", err)
	}
	err = db(addr, literalAddr(addr), probe)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		return ke.Want, nil
	}
	return nil, nil
}

// loadKnownHosts parses file; it returns a nil callback when the file does
// not exist.
func loadKnownHosts(file string) (xssh.HostKeyCallback, error) {
	cb, err := knownhosts.New(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known_hosts %s: %w", file, err)
	}
	return cb, nil
}

// literalAddr is a net.Addr whose String is the dialled host:port, so that
// knownhosts checks exactly that name.
type literalAddr string

func (a literalAddr) Network() string { return "tcp" }
func (a literalAddr) String() string  { return string(a) }

// algorithms returns the host key algorithms to offer: those of the recorded
// key types, so the server cannot pick an unrecorded type it also has and
// fail the lookup. Nil (library defaults) when nothing is recorded.
func (v *hostKeyVerifier) algorithms() []string {
	var algos []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	for _, k := range v.known {
		switch t := k.Key.Type(); t {
		case xssh.KeyAlgoRSA:
			add(xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256, xssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

func (v *hostKeyVerifier) fingerprints() []string {
	fps := make([]string, 0, len(v.known))
	for _, k := range v.known {
		fps = append(fps, xssh.FingerprintSHA256(k.Key))
	}
	return fps
}

// check is the ssh.HostKeyCallback.
func (v *hostKeyVerifier) check(hostname string, remote net.Addr, key xssh.PublicKey) error {
	var err error
	if cb := v.db; cb != nil {
		err = cb(hostname, literalAddr(hostname), key)
		if err == nil {
			v.accepted = key
			return nil
		}
	} else {
		err = &knownhosts.KeyError{}
	}
	if e := v.classify(err, key); e != nil {
		return e
	}
	// Unknown host.
	if !v.tofu {
		return &UnknownHostError{Host: v.addr, KnownHostsFile: v.file, Algorithm: key.Type(), Fingerprint: xssh.FingerprintSHA256(key)}
	}
	if err := v.learn(hostname, key); err != nil {
		return err
	}
	v.accepted = key
	return nil
}

// classify turns a knownhosts error into the package's errors. It returns nil
// for an unknown host (the caller decides on trust-on-first-use).
func (v *hostKeyVerifier) classify(err error, key xssh.PublicKey) error {
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		if len(ke.Want) == 0 {
			return nil
		}
		expected := make([]string, 0, len(ke.Want))
		for _, k := range ke.Want {
			expected = append(expected, xssh.FingerprintSHA256(k.Key))
		}
		return &HostKeyChangedError{Host: v.addr, Presented: []string{xssh.FingerprintSHA256(key)}, Expected: expected}
	}
	var re *knownhosts.RevokedError
	if errors.As(err, &re) {
		return fmt.Errorf("host key %s of %s is revoked in %s: %w", xssh.FingerprintSHA256(key), v.addr, v.file, probes.ErrHostKeyMismatch)
	}
	return fmt.Errorf("host key check for %s: %w", v.addr, err)
}

// learn appends key for hostname to the known_hosts file under an exclusive
// flock, after checking again under the lock: a concurrent Dial may have
// recorded the host meanwhile.
func (v *hostKeyVerifier) learn(hostname string, key xssh.PublicKey) error {
	f, err := os.OpenFile(v.file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("trust on first use: open known_hosts: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("trust on first use: lock %s: %w", v.file, err)
	}
	// Closing f releases the lock.
	cb, err := loadKnownHosts(v.file)
	if err != nil {
		return err
	}
	if cb != nil {
		err := cb(hostname, literalAddr(hostname), key)
		if err == nil {
			return nil
		}
		if e := v.classify(err, key); e != nil {
			return e
		}
	}
	content, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("trust on first use: read %s: %w", v.file, err)
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key) + "\n"
	if len(content) > 0 && content[len(content)-1] != '\n' {
		line = "\n" + line
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("trust on first use: %w", err)
	}
	if _, err := f.WriteString(line); err != nil {
		return fmt.Errorf("trust on first use: write %s: %w", v.file, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("trust on first use: sync %s: %w", v.file, err)
	}
	return nil
}
