package inventories

import (
	"net"
	"net/netip"
	"strings"
	"time"
)

// Lexical rules for the values an inventory may hold. Every value that later
// reaches a command line, a file name or a log line passes one of these, so
// nothing from an inventory can carry shell metacharacters or whitespace.

const maxNameLen = 64

// validName reports whether s is a valid element name, id or tag: 1 to 64
// letters, digits, '.', '_' or '-', starting with a letter or digit.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validEnvName reports whether s is a portable environment variable name.
func validEnvName(s string) bool {
	if s == "" || len(s) > 128 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

// checkAddress returns "" when s is an IPv4 or IPv6 address (an IPv6 zone of
// letters, digits, '.', '_' or '-' is allowed) or an RFC 1123 host name, and
// otherwise a reason, with a hint for the usual mistakes.
func checkAddress(s string) string {
	if ip, err := netip.ParseAddr(s); err == nil {
		if z := ip.Zone(); z != "" && !validName(z) {
			return "the IPv6 zone must be an interface name"
		}
		return ""
	}
	switch {
	case strings.Contains(s, "://"):
		return "give the host only, not a URL"
	case strings.ContainsAny(s, ";&|$`<>(){}[]\\'\"*?!~#"):
		return "an address contains no shell metacharacters"
	case strings.ContainsAny(s, " \t\r\n"):
		return "an address contains no spaces"
	}
	if host, port, err := net.SplitHostPort(s); err == nil && port != "" && checkAddress(host) == "" {
		return "give the port in the port field, not in the address"
	}
	if !validHostname(s) {
		return "want an IPv4 or IPv6 address or an RFC 1123 host name"
	}
	return ""
}

// validHostname reports whether s is an RFC 1123 host name: dot-separated
// labels of 1 to 63 letters, digits and hyphens, not starting or ending with
// a hyphen, 253 characters at most, an optional trailing dot, and a last
// label that is not all digits (so that "10.1.2.300" is not taken for a
// name).
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

// isLocalAddress reports whether s names this machine: localhost or a
// loopback address.
func isLocalAddress(s string) bool {
	if strings.EqualFold(strings.TrimSuffix(s, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(s)
	return err == nil && ip.IsLoopback()
}

// targetKey normalises an address for duplicate-target detection.
func targetKey(addr string) string {
	if ip, err := netip.ParseAddr(addr); err == nil {
		return ip.Unmap().String()
	}
	return strings.ToLower(strings.TrimSuffix(addr, "."))
}

// maxTimeout bounds a per-host deadline.
const maxTimeout = 24 * time.Hour

// dateLayout is the format of countermeasure expiry dates.
const dateLayout = "2006-01-02"
