// Package linux is the Linux probe bundle: one POSIX sh script (bundle.sh)
// sent over a single remote execution, and the parser that turns its framed,
// raw output into typed facts (probe IDs L01–L34 of the probe catalog).
//
// The script only reads and serializes: it dumps the /etc and /proc files the
// probes need with one grep, runs a handful of commands (uname, the package
// manager, sshd -T, nft, auditctl, systemctl, lsblk, timedatectl) and leaves
// every evaluation to Parse. It writes nothing on the host.
//
// Everything here is a pure function of its arguments and safe for concurrent
// use.
package linux

import (
	_ "embed"
	"strconv"
	"strings"
	"time"

	"github.com/otsweep/otsweep/probes"
)

//go:generate go test -run TestFactsDoc -update .

//go:embed bundle.sh
var script string

// Schema is the output schema the script announces in its BEGIN line.
const Schema = "otscan.linux/1"

// DefaultTimeout bounds the script on the host when Options.Timeout is zero.
const DefaultTimeout = 120 * time.Second

// Options selects how the bundle runs on the host.
type Options struct {
	// Sudo makes the wrapper try `sudo -n` for the whole script; when sudo is
	// absent, wants a password or a TTY, or refuses, the script runs
	// unprivileged and reports sudo=no.
	Sudo bool
	// Deep adds the find(1) probes L24/L25 (world-writable and SUID/SGID
	// files) over local filesystems, bounded by their own timeout where the
	// host has timeout(1).
	Deep bool
	// Timeout is the wall-clock bound the host itself enforces on the script
	// through timeout(1) (SIGTERM, then SIGKILL 5 s later). Hosts without
	// timeout(1) run unbounded there; the transport's context deadline still
	// ends the session. Zero means DefaultTimeout; it is rounded up to whole
	// seconds, minimum 5.
	Timeout time.Duration
}

// Script returns the bundle text exactly as it is sent on standard input.
func Script() string { return script }

// Command returns the command line and standard input that run the bundle.
//
// The line is a short fixed wrapper run by the login shell: it picks a
// timeout(1) syntax the host understands (GNU/new busybox with -k, plain,
// or old busybox -t), tries `sudo -n` when o.Sudo is set, and execs
// `sh -s -- <nonce> <deep> <sudo> <findsecs> <timeout-flavour>` with the
// script on standard input. Only the nonce and integers reach the line, each
// through shellQuote; the line holds no newline and no '!', so csh-family
// login shells pass it on unchanged. nonce should come from probes.NewNonce.
func Command(nonce string, o Options) probes.Command {
	secs := int((o.Timeout + time.Second - 1) / time.Second)
	if o.Timeout <= 0 {
		secs = int(DefaultTimeout / time.Second)
	}
	secs = max(secs, 5)
	deep, findSecs := 0, 0
	if o.Deep {
		// find runs last; it gets the budget minus a reserve for the
		// sections before it, its own KILL grace (2 s) and END.
		deep, findSecs = 1, max(secs-max(4, secs/4), 1)
	}
	q := func(n int) string { return shellQuote(strconv.Itoa(n)) }
	args := shellQuote(nonce) + " " + q(deep) + " "
	tail := " " + q(findSecs) + " \"$F\""
	var b strings.Builder
	// t FLAVOR ARGS...: keep the first timeout(1) syntax this host accepts.
	b.WriteString("T=;F=;t(){ f=$1;shift;timeout \"$@\" sh -c : </dev/null >/dev/null 2>&1&&T=\"timeout $*\"&&F=$f;};")
	b.WriteString("command -v timeout >/dev/null 2>&1&&{ t k -k 5 " + q(secs) + "||t p " + q(secs) +
		"||t t -t " + q(secs) + ";};")
	if o.Sudo {
		b.WriteString("sudo -n $T sh -c : </dev/null >/dev/null 2>&1&&exec sudo -n $T sh -s -- " +
			args + "yes" + tail + ";")
	}
	b.WriteString("exec $T sh -s -- " + args + "no" + tail)
	return probes.Command{
		Line:  "sh -c " + shellQuote(b.String()),
		Stdin: []byte(script),
	}
}

// shellQuote quotes s as one POSIX shell word. It is the only way a value
// reaches the command line.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
