package sshd

import (
	"fmt"
	"strings"
)

// directive is one sshd_config line.
type directive struct{ key, value string }

// globalKeywords returns the keywords (lower case) set in text before its first
// Match block. sshd uses the first value it reads for most keywords, so a lab
// line placed before the spec overrides the spec; the lab adds a line only for
// keywords the spec does not set.
func globalKeywords(text string) map[string]bool {
	set := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		key := keyword(line)
		if key == "" {
			continue
		}
		if key == "match" {
			break
		}
		set[key] = true
	}
	return set
}

// globalValue returns the first value of key (lower case) before the first
// Match block, or "".
func globalValue(text, key string) string {
	for _, line := range strings.Split(text, "\n") {
		k := keyword(line)
		if k == "match" {
			break
		}
		if k == key {
			rest := strings.TrimSpace(line)[len(k):]
			return strings.TrimSpace(strings.TrimLeft(rest, " \t="))
		}
	}
	return ""
}

// keyword returns the lower-case keyword of an sshd_config line, or "" for a
// blank line or comment.
func keyword(line string) string {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return ""
	}
	end := strings.IndexAny(line, " \t=")
	if end < 0 {
		end = len(line)
	}
	return strings.ToLower(line[:end])
}

// composeConfig prepends the lab directives that spec leaves unset (forced
// ones always; a forced keyword the spec also sets is an error) to spec.
func composeConfig(spec string, defaults, forced []directive) (string, error) {
	set := globalKeywords(spec)
	var b strings.Builder
	b.WriteString("# otsweep test bed: lines up to the end marker were added by the lab\n")
	for _, d := range forced {
		if set[strings.ToLower(d.key)] {
			return "", fmt.Errorf("sshd_config sets %s, which the host spec also sets", d.key)
		}
		fmt.Fprintf(&b, "%s %s\n", d.key, d.value)
	}
	for _, d := range defaults {
		if !set[strings.ToLower(d.key)] {
			fmt.Fprintf(&b, "%s %s\n", d.key, d.value)
		}
	}
	b.WriteString("# end of lab lines\n")
	b.WriteString(spec)
	if spec != "" && !strings.HasSuffix(spec, "\n") {
		b.WriteString("\n")
	}
	return b.String(), nil
}

// commentOut disables every line of text whose keyword is in keys (used in
// loopback mode, where the lab must own the listening address).
func commentOut(text string, keys ...string) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		k := keyword(line)
		for _, key := range keys {
			if k == key {
				lines[i] = "# (disabled by the otsweep test bed in loopback mode) " + line
			}
		}
	}
	return strings.Join(lines, "\n")
}
