package wsman

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// XML namespaces of the WS-Management / WinRS subset.
const (
	nsSOAP  = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr  = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsShell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
)

// Action URIs.
const (
	uriCreate          = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	uriCreateResponse  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse"
	uriDelete          = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	uriDeleteResponse  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse"
	uriCommand         = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	uriCommandResponse = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse"
	uriSend            = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
	uriSendResponse    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse"
	uriReceive         = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	uriReceiveResponse = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse"
	uriSignal          = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"
	uriSignalResponse  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse"
	uriFault           = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
	uriResourceCmd     = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
	uriStateRunning    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
	uriStateDone       = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
	uriSignalTerminate = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
	uriSignalCtrlC     = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c"
)

var actionByURI = map[string]Action{
	uriCreate:  ActionCreate,
	uriCommand: ActionCommand,
	uriSend:    ActionSend,
	uriReceive: ActionReceive,
	uriSignal:  ActionSignal,
	uriDelete:  ActionDelete,
}

// request is the parsed subset of a WS-Management request envelope.
type request struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		Action           string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		MessageID        string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		ResourceURI      string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd ResourceURI"`
		OperationTimeout string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OperationTimeout"`
		MaxEnvelopeSize  string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd MaxEnvelopeSize"`
		Selectors        []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet>Selector"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		CommandLine *struct {
			Command   string   `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Command"`
			Arguments []string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Arguments"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandLine"`
		Send *struct {
			Streams []struct {
				Name      string `xml:"Name,attr"`
				CommandID string `xml:"CommandId,attr"`
				End       string `xml:"End,attr"`
				Data      string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Send"`
		Receive *struct {
			DesiredStream struct {
				CommandID string `xml:"CommandId,attr"`
				Streams   string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell DesiredStream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Receive"`
		Signal *struct {
			CommandID string `xml:"CommandId,attr"`
			Code      string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Code"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Signal"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

func parseRequest(b []byte) (*request, error) {
	var r request
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	if err := d.Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *request) selector(name string) string {
	for _, s := range r.Header.Selectors {
		if s.Name == name {
			return strings.TrimSpace(s.Value)
		}
	}
	return ""
}

// operationTimeout parses the xs:duration forms WinRM clients send
// ("PT60S", "PT60.000S", "PT1M30S"); def is used when absent or unparsable.
func operationTimeout(s string, def time.Duration) time.Duration {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "PT")
	if !ok || rest == "" {
		return def
	}
	var total time.Duration
	for rest != "" {
		i := strings.IndexAny(rest, "HMS")
		if i <= 0 {
			return def
		}
		v, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || v < 0 {
			return def
		}
		unit := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}[rest[i]]
		total += time.Duration(v * float64(unit))
		rest = rest[i+1:]
	}
	return total
}

// newUUID returns an upper-case random UUID, as Windows prints them.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// envelope renders a reply the way WinRM does: one line, the usual prefixes.
func envelope(action, relatesTo, body string) []byte {
	var b strings.Builder
	b.WriteString(`<s:Envelope xml:lang="en-US" xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddr +
		`" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="` + nsWSMan +
		`" xmlns:rsp="` + nsShell + `" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">`)
	b.WriteString(`<s:Header><a:Action>` + action + `</a:Action><a:MessageID>uuid:` + newUUID() +
		`</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>`)
	if relatesTo != "" {
		b.WriteString(`<a:RelatesTo>` + xmlEscape(relatesTo) + `</a:RelatesTo>`)
	}
	b.WriteString(`</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
	return []byte(b.String())
}

func createResponse(relatesTo, address, shellID, owner, clientIP string) []byte {
	return envelope(uriCreateResponse, relatesTo,
		`<x:ResourceCreated><a:Address>`+xmlEscape(address)+`</a:Address><a:ReferenceParameters>`+
			`<w:ResourceURI>`+uriResourceCmd+`</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">`+shellID+
			`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>`+
			`<rsp:Shell xmlns:rsp="`+nsShell+`"><rsp:ShellId>`+shellID+`</rsp:ShellId>`+
			`<rsp:ResourceUri>`+uriResourceCmd+`</rsp:ResourceUri><rsp:Owner>`+xmlEscape(owner)+`</rsp:Owner>`+
			`<rsp:ClientIP>`+xmlEscape(clientIP)+`</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>`+
			`<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>`+
			`<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>`)
}

func commandResponse(relatesTo, commandID string) []byte {
	return envelope(uriCommandResponse, relatesTo,
		`<rsp:CommandResponse><rsp:CommandId>`+commandID+`</rsp:CommandId></rsp:CommandResponse>`)
}

func sendResponse(relatesTo string) []byte {
	return envelope(uriSendResponse, relatesTo, `<rsp:SendResponse/>`)
}

func signalResponse(relatesTo string) []byte {
	return envelope(uriSignalResponse, relatesTo, `<rsp:SignalResponse/>`)
}

func deleteResponse(relatesTo string) []byte {
	return envelope(uriDeleteResponse, relatesTo, ``)
}

// receiveResponse renders one Receive reply. exitCode is only used when done.
func receiveResponse(relatesTo, commandID string, stdout, stderr []byte, done bool, exitCode int) []byte {
	var b strings.Builder
	b.WriteString(`<rsp:ReceiveResponse>`)
	stream := func(name string, data []byte) {
		if len(data) > 0 {
			b.WriteString(`<rsp:Stream Name="` + name + `" CommandId="` + commandID + `">` +
				base64.StdEncoding.EncodeToString(data) + `</rsp:Stream>`)
		}
		if done {
			b.WriteString(`<rsp:Stream Name="` + name + `" CommandId="` + commandID + `" End="true"></rsp:Stream>`)
		}
	}
	stream("stdout", stdout)
	stream("stderr", stderr)
	if done {
		b.WriteString(`<rsp:CommandState CommandId="` + commandID + `" State="` + uriStateDone + `"><rsp:ExitCode>` +
			strconv.FormatUint(uint64(uint32(int32(exitCode))), 10) + `</rsp:ExitCode></rsp:CommandState>`)
	} else {
		b.WriteString(`<rsp:CommandState CommandId="` + commandID + `" State="` + uriStateRunning + `"></rsp:CommandState>`)
	}
	b.WriteString(`</rsp:ReceiveResponse>`)
	return envelope(uriReceiveResponse, relatesTo, b.String())
}

// fault is a WS-Management fault as Windows renders it (MS-WSMV 2.2.4.43).
type fault struct {
	code    string // s:Sender or s:Receiver
	subcode string // e.g. w:TimedOut
	wsman   uint32 // WSManFault Code attribute
	reason  string
}

// Faults this server produces, with the codes, subcodes and texts of wsmerror.h.
func faultTimedOut() fault {
	return fault{"s:Receiver", "w:TimedOut", 2150858793,
		"The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "}
}

func faultQuota(maxShells int) fault {
	return fault{"s:Sender", "w:QuotaLimit", 2150859173, fmt.Sprintf(
		"The WS-Management service cannot process the request. This user is allowed a maximum number of %d concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. ", maxShells)}
}

func faultShellNotFound(shellID string) fault {
	return fault{"s:Sender", "w:InvalidSelectors", 2150858843, "The request for the Windows Remote Shell with ShellId " + shellID +
		" failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. "}
}

func faultActionNotSupported() fault {
	return fault{"s:Sender", "a:ActionNotSupported", 2150858771,
		"The WS-Management service does not support the action specified in the request. "}
}

func faultSchema() fault {
	return fault{"s:Sender", "w:SchemaValidationError", 2150858817,
		"The SOAP XML in the message does not match the corresponding XML schema definition. Change the XML and retry. "}
}

func (f fault) render(relatesTo, machine string) []byte {
	reason := xmlEscape(f.reason)
	return envelope(uriFault, relatesTo,
		`<s:Fault><s:Code><s:Value>`+f.code+`</s:Value><s:Subcode><s:Value>`+f.subcode+`</s:Value></s:Subcode></s:Code>`+
			`<s:Reason><s:Text xml:lang="en-US">`+reason+`</s:Text></s:Reason>`+
			`<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="`+
			strconv.FormatUint(uint64(f.wsman), 10)+`" Machine="`+xmlEscape(machine)+`"><f:Message>`+reason+
			`</f:Message></f:WSManFault></s:Detail></s:Fault>`)
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
