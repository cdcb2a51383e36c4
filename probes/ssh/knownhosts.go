package ssh

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"strings"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// A known_hosts file lists every host of a plant, and x/crypto's knownhosts
// parses every line of it (key included) on each load: thousands of hosts
// made each Dial cost milliseconds of CPU and allocate a megabyte. lookupPlain
// is the fast path for the common file, the one OpenSSH and learn write:
// lines of plain host patterns. It parses only the lines naming the dialled
// host and answers exactly as knownhosts would. Every other file (markers,
// hashed or wildcard patterns, negations, over-long lines), and every
// lookup that finds no usable line, goes to knownhosts itself, so first
// contacts, trust on first use and unusual files keep the library's
// behaviour.

// plainDB is the part of a plain known_hosts file that concerns one address.
type plainDB struct {
	addr  string // host:port it answers for
	host  string
	port  string
	file  string
	lines []knownhosts.KnownKey // lines naming host:port, in file order
}

// lookupPlain returns a host key callback and the recorded keys for addr
// ("host:port") when file is a plain known_hosts file with at least one
// valid line for addr; ok is false otherwise (use knownhosts).
func lookupPlain(file, addr string) (cb xssh.HostKeyCallback, known []knownhosts.KnownKey, ok bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || hasLongLine(data) {
		return nil, nil, false // an over-long line fails knownhosts on the whole file
	}
	db := &plainDB{addr: addr, host: host, port: port, file: file}
	if !hasSpecial(data) {
		// No marker, hashed, wildcard or negated pattern anywhere: only
		// lines naming the host can matter, so jump from one to the next.
		hostBytes := []byte(host)
		num, counted := 1, 0 // line number of data[counted]
		for off := 0; off < len(data); {
			i := bytes.Index(data[off:], hostBytes)
			if i < 0 {
				break
			}
			i += off
			start := bytes.LastIndexByte(data[:i], '\n') + 1
			end := len(data)
			if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
				end = i + j
			}
			num += bytes.Count(data[counted:start], []byte("\n"))
			counted = start
			db.add(data[start:end], num)
			off = end + 1
		}
	} else {
		// Lines are split as bufio.ScanLines splits them (on '\n', a final
		// '\r' dropped, a last line without a newline kept), numbered
		// from 1.
		for num := 1; len(data) > 0; num++ {
			var line []byte
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				line, data = data[:i], data[i+1:]
			} else {
				line, data = data, nil
			}
			if !db.add(line, num) {
				return nil, nil, false
			}
		}
	}
	return db.answer()
}

// answer is lookupPlain's result once db holds the lines for its address.
func (db *plainDB) answer() (xssh.HostKeyCallback, []knownhosts.KnownKey, bool) {
	if len(db.lines) == 0 {
		return nil, nil, false
	}
	cc := &xssh.CertChecker{
		IsHostAuthority: func(xssh.PublicKey, string) bool { return false },
		HostKeyFallback: db.check,
	}
	return cc.CheckHostKey, db.lines, true
}

// hasSpecial reports whether data holds a byte that can start a marker or
// make a host pattern hashed, wildcard or negated.
func hasSpecial(data []byte) bool {
	for _, c := range []byte("@|*?!") {
		if bytes.IndexByte(data, c) >= 0 {
			return true
		}
	}
	return false
}

// hasLongLine reports whether a line of data is too long for knownhosts'
// line scanner.
func hasLongLine(data []byte) bool {
	if len(data) < bufio.MaxScanTokenSize {
		return false
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		if i >= bufio.MaxScanTokenSize {
			return true
		}
		data = data[min(i+1, len(data)):]
	}
	return false
}

// add reads line number num, recording it when it names the address. It
// returns false for a line only knownhosts can judge (a marker, a hashed,
// wildcard or negated pattern).
func (db *plainDB) add(raw []byte, num int) bool {
	line := bytes.Trim(bytes.TrimSuffix(raw, []byte("\r")), " \t")
	if len(line) == 0 || line[0] == '#' {
		return true
	}
	if line[0] == '@' {
		return false
	}
	patterns, rest := line, []byte(nil)
	if i := bytes.IndexAny(line, "\t "); i >= 0 {
		patterns, rest = line[:i], bytes.Trim(line[i:], " \t")
	}
	if bytes.ContainsAny(patterns, "|*?!") {
		return false
	}
	if !bytes.Contains(patterns, []byte(db.host)) { // cheap: most lines name other hosts
		return true
	}
	if matches, valid := plainMatch(string(patterns), db.host, db.port); !valid || !matches {
		return true
	}
	if key, ok := parseKnownKey(rest); ok { // knownhosts skips a line it cannot parse
		db.lines = append(db.lines, knownhosts.KnownKey{Key: key, Filename: db.file, Line: num})
	}
	return true
}

// nextWord splits off the first blank-separated word, as knownhosts does.
func nextWord(line []byte) (string, []byte) {
	i := bytes.IndexAny(line, "\t ")
	if i == -1 {
		return string(line), nil
	}
	return string(line[:i]), bytes.Trim(line[i:], " \t")
}

// plainMatch evaluates a comma-separated list of plain host patterns the way
// knownhosts does: "[host]:port", "host:port" or "host" (port 22), compared
// exactly. valid is false when a pattern does not parse (knownhosts then
// skips the line).
func plainMatch(patterns, host, port string) (matches, valid bool) {
	for _, p := range strings.Split(patterns, ",") {
		if p == "" {
			continue
		}
		h, pt, err := net.SplitHostPort(p)
		if err != nil {
			if p[0] == '[' {
				return false, false
			}
			h, pt = p, "22"
		}
		if h == host && pt == port {
			matches = true
		}
	}
	return matches, true
}

// parseKnownKey parses "TYPE BASE64 [comment]" and checks the type, as
// knownhosts does.
func parseKnownKey(rest []byte) (xssh.PublicKey, bool) {
	wantType, rest := nextWord(rest)
	if len(rest) == 0 {
		return nil, false
	}
	blob, _ := nextWord(rest)
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return nil, false
	}
	key, err := xssh.ParsePublicKey(raw)
	if err != nil || key.Type() != wantType {
		return nil, false
	}
	return key, true
}

// errOtherAddress: the callback was asked about an address it was not
// built for (a programming error; the verifier always passes its own).
var errOtherAddress = errors.New("known_hosts: lookup for another address")

// check is knownhosts' check for one address: the key must equal one of the
// lines naming the address, else a *knownhosts.KeyError lists them.
func (db *plainDB) check(hostname string, _ net.Addr, key xssh.PublicKey) error {
	if hostname != db.addr {
		return errOtherAddress
	}
	for _, l := range db.lines {
		if bytes.Equal(l.Key.Marshal(), key.Marshal()) {
			return nil
		}
	}
	return &knownhosts.KeyError{Want: db.lines}
}

// loadFor returns the callback and the recorded keys for addr from file: by
// the fast path when it applies (through cache when not nil), else by
// knownhosts. A missing file yields a
// nil callback.
func loadFor(file, addr string, cache *KnownHostsCache) (xssh.HostKeyCallback, []knownhosts.KnownKey, error) {
	lookup := lookupPlain
	if cache != nil {
		lookup = cache.lookup
	}
	if cb, known, ok := lookup(file, addr); ok {
		return cb, known, nil
	}
	cb, err := loadKnownHosts(file)
	if err != nil {
		return nil, nil, err
	}
	known, err := knownKeys(cb, addr)
	if err != nil {
		return nil, nil, err
	}
	return cb, known, nil
}
