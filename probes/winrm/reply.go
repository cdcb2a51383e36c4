package winrm

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	uriCreateResponse  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse"
	uriCommandResponse = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse"
	uriReceiveResponse = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse"
	uriStateDone       = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
)

// errReply marks a 200 reply the transport cannot use; it is always wrapped
// together with probes.ErrProtocol.
var errReply = errors.New("unexpected reply")

// header is the WS-Addressing header every reply carries.
type header struct {
	Action string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
}

func decodeStrict(body []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errReply, err)
	}
	return nil
}

func checkAction(got, want string) error {
	if strings.TrimSpace(got) != want {
		return fmt.Errorf("%w: action %q, want %q", errReply, bound(got, 120), want)
	}
	return nil
}

// parseCreate returns the ShellId of a CreateResponse.
func parseCreate(body []byte) (string, error) {
	var env struct {
		Header header `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
		Body   struct {
			Selectors []struct {
				Name  string `xml:"Name,attr"`
				Value string `xml:",chardata"`
			} `xml:"http://schemas.xmlsoap.org/ws/2004/09/transfer ResourceCreated>ReferenceParameters>SelectorSet>Selector"`
			ShellID string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell>ShellId"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
	}
	if err := decodeStrict(body, &env); err != nil {
		return "", err
	}
	if err := checkAction(env.Header.Action, uriCreateResponse); err != nil {
		return "", err
	}
	id := strings.TrimSpace(env.Body.ShellID)
	for _, s := range env.Body.Selectors {
		if s.Name == "ShellId" {
			id = strings.TrimSpace(s.Value)
		}
	}
	if !validID(id) {
		return "", fmt.Errorf("%w: no usable ShellId in CreateResponse", errReply)
	}
	return id, nil
}

// parseCommand returns the CommandId of a CommandResponse.
func parseCommand(body []byte) (string, error) {
	var env struct {
		Header header `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
		Body   struct {
			CommandID string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandResponse>CommandId"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
	}
	if err := decodeStrict(body, &env); err != nil {
		return "", err
	}
	if err := checkAction(env.Header.Action, uriCommandResponse); err != nil {
		return "", err
	}
	id := strings.TrimSpace(env.Body.CommandID)
	if !validID(id) {
		return "", fmt.Errorf("%w: no usable CommandId in CommandResponse", errReply)
	}
	return id, nil
}

// validID accepts the GUIDs Windows hands out (and nothing that could break
// the XML of later requests).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// received is one ReceiveResponse.
type received struct {
	stdout, stderr []byte
	done           bool
	exitCode       int
}

// parseReceive decodes a ReceiveResponse for command id. Unlike the
// library's parser it rejects undecodable streams instead of dropping them.
func parseReceive(body []byte, id string) (*received, error) {
	var env struct {
		Header header `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
		Body   struct {
			Receive *struct {
				Streams []struct {
					Name      string `xml:"Name,attr"`
					CommandID string `xml:"CommandId,attr"`
					Data      string `xml:",chardata"`
				} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
				State *struct {
					CommandID string `xml:"CommandId,attr"`
					State     string `xml:"State,attr"`
					ExitCode  string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ExitCode"`
				} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandState"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ReceiveResponse"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
	}
	if err := decodeStrict(body, &env); err != nil {
		return nil, err
	}
	if err := checkAction(env.Header.Action, uriReceiveResponse); err != nil {
		return nil, err
	}
	rr := env.Body.Receive
	if rr == nil {
		return nil, fmt.Errorf("%w: ReceiveResponse missing", errReply)
	}
	out := &received{}
	for _, s := range rr.Streams {
		if s.CommandID != "" && s.CommandID != id {
			return nil, fmt.Errorf("%w: stream for another command", errReply)
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Data))
		if err != nil {
			return nil, fmt.Errorf("%w: %s stream is not base64", errReply, bound(s.Name, 20))
		}
		switch s.Name {
		case "stdout":
			out.stdout = append(out.stdout, data...)
		case "stderr":
			out.stderr = append(out.stderr, data...)
		default:
			return nil, fmt.Errorf("%w: unknown stream %q", errReply, bound(s.Name, 20))
		}
	}
	if rr.State != nil && rr.State.State == uriStateDone {
		if rr.State.CommandID != "" && rr.State.CommandID != id {
			return nil, fmt.Errorf("%w: state of another command", errReply)
		}
		code, err := exitCode(rr.State.ExitCode)
		if err != nil {
			return nil, err
		}
		out.done, out.exitCode = true, code
	}
	return out, nil
}

// exitCode reads rsp:ExitCode. Windows reports the process's DWORD exit
// status, so "exit -1" arrives as 4294967295; it is returned as the signed
// 32-bit value a Windows administrator knows (-1, or -1073741510 for
// STATUS_CONTROL_C_EXIT).
func exitCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: command done without an exit code", errReply)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < math.MinInt32 || v > math.MaxUint32 {
		return 0, fmt.Errorf("%w: exit code %q", errReply, bound(s, 20))
	}
	return int(int32(uint32(v))), nil
}
