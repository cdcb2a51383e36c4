package winrm

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/otsweep/otsweep/probes"
)

// WSManFault codes (wsmerror.h) the transport acts on.
const (
	codeOperationTimedOut = 2150858793 // ERROR_WSMAN_OPERATION_TIMEDOUT: Receive had no output yet
	codeQuotaMaxShells    = 2150859173 // ERROR_WSMAN_QUOTA_MAX_SHELLS
	codeQuotaMaxShellsPPQ = 2150859236 // ERROR_WSMAN_QUOTA_MAX_SHELLS_PPQ (plugin quota)
)

// FaultError is a SOAP fault a host answered an operation with. It wraps
// probes.ErrProtocol; the fields say what the host reported.
type FaultError struct {
	Op      string // WinRS operation: Create, Command, Send, Receive, Signal, Delete
	Status  int    // HTTP status (500 on Windows)
	Code    string // s:Code value, e.g. "s:Receiver"
	Subcode string // s:Subcode value, e.g. "w:TimedOut"
	WSMan   uint32 // WSManFault Code attribute, 0 when absent
	Reason  string // s:Reason text as the host wrote it (whitespace folded, bounded)
}

func (e *FaultError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "WS-Management fault on %s", e.Op)
	if e.Subcode != "" {
		b.WriteString(": " + e.Subcode)
	} else if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.WSMan != 0 {
		fmt.Fprintf(&b, " (code %d)", e.WSMan)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	return b.String()
}

// Unwrap makes every fault a protocol error for probes.StatusOf.
func (e *FaultError) Unwrap() error { return probes.ErrProtocol }

// TimedOut reports the fault a host sends when a Receive found no output
// within the OperationTimeout; the client is expected to Receive again.
func (e *FaultError) TimedOut() bool {
	return e.WSMan == codeOperationTimedOut || (e.WSMan == 0 && localName(e.Subcode) == "TimedOut")
}

// QuotaExceeded reports the "maximum number of concurrent shells" fault.
func (e *FaultError) QuotaExceeded() bool {
	switch e.WSMan {
	case codeQuotaMaxShells, codeQuotaMaxShellsPPQ:
		return true
	case 0:
		return localName(e.Subcode) == "QuotaLimit"
	}
	return false
}

func localName(qname string) string {
	_, local, found := strings.Cut(qname, ":")
	if !found {
		return qname
	}
	return local
}

// faultEnvelope is the part of a SOAP 1.2 fault WinRM hosts fill in.
type faultEnvelope struct {
	Body struct {
		Fault *struct {
			Code struct {
				Value   string `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
				Subcode struct {
					Value string `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
				} `xml:"http://www.w3.org/2003/05/soap-envelope Subcode"`
			} `xml:"http://www.w3.org/2003/05/soap-envelope Code"`
			Reason struct {
				Text []string `xml:"http://www.w3.org/2003/05/soap-envelope Text"`
			} `xml:"http://www.w3.org/2003/05/soap-envelope Reason"`
			Detail struct {
				WSManFault struct {
					Code    string `xml:"Code,attr"`
					Message struct {
						Text     string `xml:",chardata"`
						Provider string `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault ProviderFault"`
					} `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault Message"`
				} `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault WSManFault"`
			} `xml:"http://www.w3.org/2003/05/soap-envelope Detail"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Fault"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

// maxReason bounds the host-provided text carried into an error.
const maxReason = 400

// parseFault extracts the SOAP fault from body; ok is false when body holds
// no parsable fault.
func parseFault(op string, status int, body []byte) (*FaultError, bool) {
	var env faultEnvelope
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&env); err != nil || env.Body.Fault == nil {
		return nil, false
	}
	f := env.Body.Fault
	e := &FaultError{
		Op:      op,
		Status:  status,
		Code:    strings.TrimSpace(f.Code.Value),
		Subcode: strings.TrimSpace(f.Code.Subcode.Value),
	}
	if code, err := strconv.ParseUint(strings.TrimSpace(f.Detail.WSManFault.Code), 10, 32); err == nil {
		e.WSMan = uint32(code)
	}
	reason := strings.Join(f.Reason.Text, " ")
	if msg := strings.TrimSpace(f.Detail.WSManFault.Message.Provider); msg != "" && !strings.Contains(reason, msg) {
		reason += " " + msg
	}
	e.Reason = bound(strings.Join(strings.Fields(reason), " "), maxReason)
	if e.Code == "" && e.Subcode == "" && e.WSMan == 0 && e.Reason == "" {
		return nil, false
	}
	return e, true
}

// bound cuts s to at most n bytes on a rune boundary.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}
