package sshsim

import (
	"regexp"
	"strings"
)

// bundleTail is how the Linux bundle's wrapper ends (probes/linux.Command):
// `sh -s -- 'NONCE' 'DEEP' yes|no 'FINDSECS' "$F"`, the script on stdin.
var bundleTail = regexp.MustCompile(`sh -s -- '([0-9a-f]{8,64})' '[01]' (?:yes|no) '[0-9]+' "\$F"$`)

// bundleNonce returns the nonce a Linux bundle command line carries. The
// line is `sh -c 'WRAPPER'`, the wrapper quoted as one POSIX shell word; the
// nonce is the first argument the wrapper hands to `sh -s`.
func bundleNonce(line string) (string, bool) {
	words, ok := shellWords(line)
	if !ok || len(words) != 3 || words[0] != "sh" || words[1] != "-c" {
		return "", false
	}
	m := bundleTail.FindStringSubmatch(words[2])
	if m == nil {
		return "", false
	}
	return m[1], true
}

// commandName is the first word of a command line, as a shell's "not found"
// message names it.
func commandName(line string) string {
	if words, ok := shellWords(line); ok && len(words) > 0 {
		return words[0]
	}
	if f := strings.Fields(line); len(f) > 0 {
		return f[0]
	}
	return line
}

// shellWords splits line into POSIX shell words: blanks separate words,
// single quotes keep everything literally, double quotes keep everything but
// a backslash before one of $`"\ and newline, and a backslash outside quotes
// escapes the next character. Expansions are not performed. ok is false for
// an unterminated quote or a trailing backslash.
func shellWords(line string) (words []string, ok bool) {
	var (
		cur    strings.Builder
		inWord bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("$`\"\\\n", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, false
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(line) {
				return nil, false
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}
