package wsman

import (
	"context"
	"encoding/base64"
	"net"
	"strings"
	"time"
)

// stdinGrace is how long a Receive waits for a first Send before running a
// command with empty stdin.
const stdinGrace = 250 * time.Millisecond

// shell is one WinRS shell. Guarded by Server.mu.
type shell struct {
	id       string
	owner    string
	commands map[string]*command
}

// command is one process in a shell. Fields are guarded by Server.mu; done is
// closed when the handler has returned and the output may be delivered.
type command struct {
	id      string
	req     CommandRequest
	stdin   []byte
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	// stdinSeen is closed by the first Send.
	stdinSeen chan struct{}
	// set when done is closed:
	resp      Response
	readyAt   time.Time
	stdoutOff int
	stderrOff int
}

func (s *Server) create(user, remote, msgID string) (string, []byte, *fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	quota := s.opts.MaxShellsPerUser
	if s.quotaFaults < s.opts.QuotaFaultOnCreate {
		s.quotaFaults++
		if quota == 0 {
			quota = 30
		}
		f := faultQuota(quota)
		return "", nil, &f
	}
	if quota > 0 {
		owned := 0
		for _, sh := range s.shells {
			if strings.EqualFold(sh.owner, user) {
				owned++
			}
		}
		if owned >= quota {
			f := faultQuota(quota)
			return "", nil, &f
		}
	}
	id := newUUID()
	s.shells[id] = &shell{id: id, owner: user, commands: make(map[string]*command)}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return id, createResponse(msgID, s.baseURL, id, user, host), nil
}

// lookupShell returns the shell named by the request, or the fault Windows
// gives for an unknown one. Caller holds s.mu.
func (s *Server) lookupShell(req *request) (*shell, *fault) {
	id := req.selector("ShellId")
	sh, ok := s.shells[id]
	if !ok {
		f := faultShellNotFound(id)
		return nil, &f
	}
	return sh, nil
}

func (s *Server) command(user string, req *request, msgID string) ([]byte, *fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, f := s.lookupShell(req)
	if f != nil {
		return nil, f
	}
	if req.Body.CommandLine == nil {
		f := faultSchema()
		return nil, &f
	}
	id := newUUID()
	sh.commands[id] = &command{
		id:        id,
		done:      make(chan struct{}),
		stdinSeen: make(chan struct{}),
		req: CommandRequest{
			User: user, ShellID: sh.id, CommandID: id,
			Command:   strings.TrimSpace(req.Body.CommandLine.Command),
			Arguments: req.Body.CommandLine.Arguments,
		},
	}
	return commandResponse(msgID, id), nil
}

func (s *Server) send(req *request, msgID string) ([]byte, *fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, f := s.lookupShell(req)
	if f != nil {
		return nil, f
	}
	if req.Body.Send == nil {
		f := faultSchema()
		return nil, &f
	}
	for _, st := range req.Body.Send.Streams {
		c, ok := sh.commands[st.CommandID]
		if !ok || st.Name != "stdin" || c.started {
			f := faultSchema()
			return nil, &f
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Data))
		if err != nil {
			f := faultSchema()
			return nil, &f
		}
		if c.stdin == nil {
			c.stdin = []byte{}
			close(c.stdinSeen)
		}
		c.stdin = append(c.stdin, data...)
		if st.End == "true" {
			s.start(c)
		}
	}
	return sendResponse(msgID), nil
}

// start runs the handler for c. Caller holds s.mu.
func (s *Server) start(c *command) {
	c.started = true
	c.req.Stdin = c.stdin
	ctx, cancel := context.WithCancel(s.ctx)
	c.cancel = cancel
	req := c.req
	handler := s.opts.Handler
	if handler == nil {
		handler = notRecognized
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		resp := handler(ctx, req)
		s.mu.Lock()
		c.resp = resp
		c.readyAt = time.Now().Add(resp.Delay)
		s.mu.Unlock()
		close(c.done)
	}()
}

// notRecognized is what cmd.exe answers for a program it cannot find.
func notRecognized(_ context.Context, req CommandRequest) Response {
	name, _, _ := strings.Cut(req.Command, " ")
	return Response{
		Stderr:   []byte("'" + name + "' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"),
		ExitCode: 1,
	}
}

func (s *Server) receive(ctx context.Context, req *request, msgID string) ([]byte, *fault) {
	s.mu.Lock()
	sh, f := s.lookupShell(req)
	if f == nil && s.opts.SOAPFaultOnReceive {
		ff := faultShellNotFound(sh.id)
		f = &ff
	}
	if f != nil {
		s.mu.Unlock()
		return nil, f
	}
	var c *command
	if req.Body.Receive != nil {
		c = sh.commands[req.Body.Receive.DesiredStream.CommandID]
	}
	if c == nil {
		s.mu.Unlock()
		f := faultSchema()
		return nil, &f
	}
	if !c.started && c.stdin == nil {
		// A client that never sends stdin (whoami, ipconfig) starts
		// receiving right away: after a short grace for a Send racing this
		// Receive, the command runs with empty stdin. One that sent some
		// stdin without End="true" keeps the command waiting, like
		// powershell -Command - waiting for the end of its input.
		seen := c.stdinSeen
		s.mu.Unlock()
		grace := time.NewTimer(stdinGrace)
		select {
		case <-seen:
		case <-grace.C:
		case <-ctx.Done():
		case <-s.ctx.Done():
		}
		grace.Stop()
		s.mu.Lock()
		if !c.started && c.stdin == nil {
			s.start(c)
		}
	}
	done := c.done
	s.mu.Unlock()

	hold := operationTimeout(req.Header.OperationTimeout, 60*time.Second)
	if m := s.opts.MaxOperationTimeout; m > 0 && hold > m {
		hold = m
	}
	timer := time.NewTimer(hold)
	defer timer.Stop()

	// Wait for the command to finish (never, for Hang), then for its Delay.
	select {
	case <-done:
	case <-timer.C:
		f := faultTimedOut()
		return nil, &f
	case <-ctx.Done():
		return nil, nil
	case <-s.ctx.Done():
		return nil, nil
	}
	s.mu.Lock()
	hang, readyAt := c.resp.Hang, c.readyAt
	s.mu.Unlock()
	wait := time.Until(readyAt)
	if hang {
		wait = hold + time.Hour // longer than the timer
	}
	if wait > 0 {
		delay := time.NewTimer(wait)
		defer delay.Stop()
		select {
		case <-delay.C:
		case <-timer.C:
			f := faultTimedOut()
			return nil, &f
		case <-ctx.Done():
			return nil, nil
		case <-s.ctx.Done():
			return nil, nil
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	chunk := s.opts.ReceiveChunk
	out := next(c.resp.Stdout, &c.stdoutOff, chunk)
	errOut := next(c.resp.Stderr, &c.stderrOff, chunk)
	finished := c.stdoutOff >= len(c.resp.Stdout) && c.stderrOff >= len(c.resp.Stderr)
	return receiveResponse(msgID, c.id, out, errOut, finished, c.resp.ExitCode), nil
}

func next(b []byte, off *int, n int) []byte {
	end := min(*off+n, len(b))
	part := b[*off:end]
	*off = end
	return part
}

func (s *Server) signal(req *request, msgID string) ([]byte, *fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, f := s.lookupShell(req)
	if f != nil {
		return nil, f
	}
	if req.Body.Signal == nil {
		f := faultSchema()
		return nil, &f
	}
	code := strings.TrimSpace(req.Body.Signal.Code)
	if code != uriSignalTerminate && code != uriSignalCtrlC {
		f := faultSchema()
		return nil, &f
	}
	if c, ok := sh.commands[req.Body.Signal.CommandID]; ok {
		if c.cancel != nil {
			c.cancel()
		}
		delete(sh.commands, c.id)
	}
	return signalResponse(msgID), nil
}

func (s *Server) delete(req *request, msgID string) ([]byte, *fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, f := s.lookupShell(req)
	if f != nil {
		return nil, f
	}
	for _, c := range sh.commands {
		if c.cancel != nil {
			c.cancel()
		}
	}
	delete(s.shells, sh.id)
	return deleteResponse(msgID), nil
}
