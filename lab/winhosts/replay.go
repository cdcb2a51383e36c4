package winhosts

import (
	"context"
	"fmt"
	"regexp"

	"github.com/otsweep/otsweep/lab/wsman"
)

// bundleNonce finds the nonce the scanner wrote into the bundle script.
var bundleNonce = regexp.MustCompile(`\$N = '([0-9a-f]{8,64})'`)

// notRecognized is cmd.exe's answer to a program it cannot find, which is
// what a recorded host gives for anything but the bundle.
const notRecognized = "'%s' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"

// Replayer returns a wsman.Handler that answers the Windows probe bundle with
// the named host's recording, nonce filled in. Any other command, or a bundle
// without a nonce, gets cmd.exe's "not recognized" error and exit code 1: a
// recording is never served to a request that did not ask for it.
func Replayer(name string) wsman.Handler {
	return func(_ context.Context, req wsman.CommandRequest) wsman.Response {
		m := bundleNonce.FindSubmatch(req.Stdin)
		if m == nil || !isPowerShell(req.Command) {
			return wsman.Response{Stderr: []byte(notRecognizedText(req.Command)), ExitCode: 1}
		}
		out, err := Output(name, string(m[1]))
		if err != nil {
			return wsman.Response{Stderr: []byte(err.Error() + "\r\n"), ExitCode: 1}
		}
		return wsman.Response{Stdout: out}
	}
}

var powershellRe = regexp.MustCompile(`(?i)^powershell(\.exe)?(\s|$)`)

func isPowerShell(cmd string) bool { return powershellRe.MatchString(cmd) }

func notRecognizedText(cmd string) string {
	word := regexp.MustCompile(`^\S+`).FindString(cmd)
	return fmt.Sprintf(notRecognized, word)
}
