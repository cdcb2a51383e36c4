package windows

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// socket is one row of `netstat -ano`.
type socket struct {
	Proto string // "tcp" or "udp"
	Addr  string // local address without brackets: "0.0.0.0", "::", "fe80::1%12"
	Port  int
	PID   int
}

// parseNetstat returns the listening TCP sockets and the bound UDP endpoints
// of `netstat -ano`. The header and the TCP state column are localized
// ("LISTENING", "ABHÖREN"), so a TCP row counts as listening by its foreign
// address alone: 0.0.0.0:0 or [::]:0. The PID is the last column. Every UDP
// row is an endpoint. A row that starts with TCP or UDP but does not parse
// makes the whole output unparsed rather than silently smaller.
func parseNetstat(text string) (tcp, udp []socket, err error) {
	rows := 0
	for n, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		proto := strings.ToLower(f[0])
		if proto != "tcp" && proto != "udp" {
			continue
		}
		rows++
		if len(f) < 4 {
			return nil, nil, fmt.Errorf("netstat line %d: too few columns: %q", n+1, line)
		}
		addr, port, err := splitHostPort(f[1])
		if err != nil {
			return nil, nil, fmt.Errorf("netstat line %d: local address: %w", n+1, err)
		}
		pid, err := strconv.Atoi(f[len(f)-1])
		if err != nil || pid < 0 {
			return nil, nil, fmt.Errorf("netstat line %d: pid %q", n+1, f[len(f)-1])
		}
		s := socket{Proto: proto, Addr: addr, Port: port, PID: pid}
		if proto == "udp" {
			udp = append(udp, s)
			continue
		}
		if len(f) < 5 {
			return nil, nil, fmt.Errorf("netstat line %d: too few columns for tcp: %q", n+1, line)
		}
		if f[2] == "0.0.0.0:0" || f[2] == "[::]:0" {
			tcp = append(tcp, s)
		}
	}
	if rows == 0 {
		return nil, nil, errors.New("netstat: no TCP or UDP rows")
	}
	return tcp, udp, nil
}

// splitHostPort splits "0.0.0.0:135", "[::]:135" or "[fe80::1%12]:49664".
func splitHostPort(s string) (string, int, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return "", 0, fmt.Errorf("%q has no port", s)
	}
	host, ps := s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", 0, fmt.Errorf("%q: unbalanced brackets", s)
		}
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return "", 0, fmt.Errorf("%q: IPv6 address without brackets", s)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 || host == "" {
		return "", 0, fmt.Errorf("%q: bad port", s)
	}
	return host, port, nil
}

// loopback reports whether a listener is bound to a loopback address only.
func loopback(addr string) bool {
	return strings.HasPrefix(addr, "127.") || addr == "::1"
}
