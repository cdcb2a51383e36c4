package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"syscall"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/otsweep/otsweep/lab/sshsim"
	"github.com/otsweep/otsweep/lab/winhosts"
	"github.com/otsweep/otsweep/lab/wsman"
	"github.com/otsweep/otsweep/probes/snmp/snmpsim"
)

// Kind is a kind of simulated endpoint.
type Kind string

// Endpoint kinds.
const (
	SSH   Kind = "ssh"
	WinRM Kind = "winrm"
	SNMP  Kind = "snmp"
)

// layout is the second octet of kind k's loopback addresses (127.K.x.y)
// and the port its hosts try first; when that port is taken on any of the
// addresses, a server picks another (see serve).
func layout(k Kind) (octet, defaultPort int, ok bool) {
	switch k {
	case SSH:
		return 1, 2222, true
	case WinRM:
		return 2, 5985, true
	case SNMP:
		return 3, 1161, true
	}
	return 0, 0, false
}

// Random candidate ports, tried after the default one, lie in
// [randomPortMin, randomPortMax): below Linux's default ephemeral range
// (32768-60999), so that no outgoing connection can hold one.
const (
	randomPortMin = 20000
	randomPortMax = 32000
	// portAttempts is how many candidate ports a server tries in all.
	portAttempts = 8
)

// maxHosts is how many distinct addresses one kind has: 127.K.0.1 to
// 127.K.255.250.
const maxHosts = 256 * 250

// Endpoint is one host as the scanner dials it.
type Endpoint struct {
	Address string `json:"address"`
	Port    int    `json:"port"`
}

func (e Endpoint) String() string { return net.JoinHostPort(e.Address, strconv.Itoa(e.Port)) }

// Fleet returns the endpoints of n simulated hosts of kind k listening on
// port, each on its own loopback address: 127.1.x.y for SSH, 127.2.x.y for
// WinRM, 127.3.x.y for SNMP.
func Fleet(k Kind, n, port int) ([]Endpoint, error) {
	octet, _, ok := layout(k)
	if !ok {
		return nil, fmt.Errorf("bench: unknown endpoint kind %q", k)
	}
	if n < 0 || n > maxHosts {
		return nil, fmt.Errorf("bench: %d %s hosts: at most %d", n, k, maxHosts)
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("bench: %s hosts: port %d out of range", k, port)
	}
	out := make([]Endpoint, n)
	for i := range out {
		out[i] = Endpoint{Address: fmt.Sprintf("127.%d.%d.%d", octet, i/250, i%250+1), Port: port}
	}
	return out, nil
}

// candidatePorts are the ports a server of kind k tries, in order: the
// kind's default port, then random ones from [randomPortMin,
// randomPortMax), portAttempts in all, without repeats.
func candidatePorts(k Kind) []int {
	_, port, _ := layout(k)
	out := []int{port}
	for len(out) < portAttempts {
		p := randomPortMin + rand.IntN(randomPortMax-randomPortMin)
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Recordings the simulated hosts serve, assigned round-robin: a mixed
// fleet, the same for otsweep and the bare loops.
var (
	linuxRecordings   = []string{"debian12-root", "ubuntu2204-root", "rhel9-root", "busybox-root"}
	windowsRecordings = []string{"win10-22h2", "ws2019-dc", "ws2016", "win11-23h2"}
)

// snmpRecording is a walk recorded from a real net-snmp agent; its community.
const (
	snmpRecording = "netsnmp-debian12"
	snmpCommunity = "lab-ro"
)

// ServeSpec says which simulated hosts a server process runs.
type ServeSpec struct {
	Kind Kind `json:"kind"`
	N    int  `json:"n"`
	// ClientKey is the authorized SSH client key (authorized_keys format).
	ClientKey string `json:"client_key,omitempty"`
	// User and Password are the WinRM account.
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// Ports are the candidate ports, tried in order (see serve); empty
	// means the kind's default port, then random ones.
	Ports []int `json:"ports,omitempty"`
}

// ServeInfo is what a server process reports once it listens.
type ServeInfo struct {
	Endpoints  []Endpoint `json:"endpoints"`
	KnownHosts string     `json:"known_hosts,omitempty"` // SSH: one line per host
	HostKey    string     `json:"host_key,omitempty"`    // SSH: authorized_keys format
	Community  string     `json:"community,omitempty"`   // SNMP
}

// serve starts the hosts of spec in this process and returns what clients
// need and a function that stops them all.
//
// All hosts of one server share one port, on their distinct addresses. The
// port is the first of spec.Ports (default: candidatePorts) that is free on
// every address: when a listener cannot bind because its address and port
// are in use (another benchmark run, a lab left running), everything
// started is stopped and the next candidate is tried. Any other error ends
// serve.
func serve(spec ServeSpec) (*ServeInfo, func(), error) {
	ports := spec.Ports
	if len(ports) == 0 {
		ports = candidatePorts(spec.Kind)
	}
	var inUse []int
	for _, port := range ports {
		eps, err := Fleet(spec.Kind, spec.N, port)
		if err != nil {
			return nil, nil, err
		}
		info, stop, err := serveOn(spec, eps)
		if errors.Is(err, syscall.EADDRINUSE) {
			inUse = append(inUse, port)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return info, stop, nil
	}
	return nil, nil, fmt.Errorf("bench: %d %s hosts: ports %v in use on some of their addresses: %w", spec.N, spec.Kind, inUse, syscall.EADDRINUSE)
}

// serveOn starts spec's hosts on eps. On error nothing is left listening.
func serveOn(spec ServeSpec, eps []Endpoint) (*ServeInfo, func(), error) {
	info := &ServeInfo{Endpoints: eps}
	switch spec.Kind {
	case SSH:
		key, _, _, _, err := xssh.ParseAuthorizedKey([]byte(spec.ClientKey))
		if err != nil {
			return nil, nil, fmt.Errorf("bench: client key: %w", err)
		}
		addrs := make([]string, len(eps))
		for i, e := range eps {
			addrs[i] = e.String()
		}
		s, err := sshsim.Start(sshsim.Options{Addrs: addrs, AuthorizedKeys: []xssh.PublicKey{key},
			Recordings: linuxRecordings, ConnTimeout: 10 * time.Minute})
		if err != nil {
			return nil, nil, err
		}
		info.KnownHosts = s.KnownHosts()
		info.HostKey = string(xssh.MarshalAuthorizedKey(s.HostKey()))
		return info, func() { _ = s.Close() }, nil
	case WinRM:
		var servers []*wsman.Server
		stop := func() {
			for _, s := range servers {
				_ = s.Close()
			}
		}
		for i, e := range eps {
			s, err := wsman.Start(wsman.Options{Addr: e.String(), Machine: fmt.Sprintf("OT-WIN-%05d", i),
				Users:   map[string]wsman.User{spec.User: {Password: spec.Password, Schemes: []wsman.Scheme{wsman.SchemeNTLM}}},
				Handler: winhosts.Replayer(windowsRecordings[i%len(windowsRecordings)])})
			if err != nil {
				stop()
				return nil, nil, err
			}
			servers = append(servers, s)
		}
		return info, stop, nil
	case SNMP:
		rec, err := snmpsim.Embedded(snmpRecording)
		if err != nil {
			return nil, nil, err
		}
		var agents []*snmpsim.Agent
		stop := func() {
			for _, a := range agents {
				_ = a.Close()
			}
		}
		for _, e := range eps {
			a, err := snmpsim.Start(e.String(), rec, snmpsim.Options{AnswerDiscovery: true})
			if err != nil {
				stop()
				return nil, nil, fmt.Errorf("bench: snmp agent %s: %w", e, err)
			}
			agents = append(agents, a)
		}
		info.Community = snmpCommunity
		return info, stop, nil
	}
	return nil, nil, fmt.Errorf("bench: unknown endpoint kind %q", spec.Kind)
}

// serveFor runs spec's hosts until ctx ends.
func serveFor(ctx context.Context, spec ServeSpec, ready func(*ServeInfo) error) error {
	info, stop, err := serve(spec)
	if err != nil {
		return err
	}
	defer stop()
	if err := ready(info); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
