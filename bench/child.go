package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"
)

// childEnv names the child mode of a re-executed benchmark binary.
const childEnv = "OTSWEEP_BENCH_CHILD"

// Child modes.
const (
	childServe = "serve"
	childScan  = "scan"
)

// scanDeadline bounds one scanner process.
const scanDeadline = 30 * time.Minute

// IsChild reports whether this process is a benchmark child (see ChildMain).
func IsChild() bool { return os.Getenv(childEnv) != "" }

// ChildMain runs this process as the child the environment names and returns
// its exit code; a test binary's TestMain calls it before anything else when
// IsChild is true.
//
// A server child reads a ServeSpec (JSON) from standard input, starts the
// simulated hosts, writes a ServeInfo (one JSON line) to standard output and
// serves until its standard input ends: the parent closing the pipe, or
// dying, stops it. A scanner child reads a ScanSpec, runs the sweep and
// writes a ScanResult. Errors go to standard error with exit code 1.
func ChildMain() int {
	raiseFileLimit()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var err error
	switch mode := os.Getenv(childEnv); mode {
	case childServe:
		err = serveChild(ctx, os.Stdin, os.Stdout)
	case childScan:
		err = scanChild(ctx, os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench child: %v\n", err)
		return 1
	}
	return 0
}

func serveChild(ctx context.Context, in io.Reader, out io.Writer) error {
	br := bufio.NewReader(in)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("serve spec: %w", err)
	}
	var spec ServeSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("serve spec: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, br) // until the parent closes the pipe
		cancel()
	}()
	return serveFor(ctx, spec, func(info *ServeInfo) error { return json.NewEncoder(out).Encode(info) })
}

func scanChild(ctx context.Context, in io.Reader, out io.Writer) error {
	var spec ScanSpec
	if err := json.NewDecoder(in).Decode(&spec); err != nil {
		return fmt.Errorf("scan spec: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, scanDeadline)
	defer cancel()
	stop, err := startProfile(spec)
	if err != nil {
		return err
	}
	res, err := runScan(ctx, spec)
	if perr := stop(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(res)
}

// profileEnv names a directory that receives a CPU profile and an
// allocation profile of every scanner process (KIND-MODE-N.cpu.pprof,
// .heap.pprof) and of the dashboard view builds (storage-view.*), for `go
// tool pprof`.
const profileEnv = "OTSWEEP_BENCH_PROFILE_DIR"

func startProfile(spec ScanSpec) (stop func() error, err error) {
	return profileCPU(fmt.Sprintf("%s-%s-%d", spec.Kind, spec.Mode, len(spec.Hosts)))
}

// profileCPU starts a CPU profile named name in the directory profileEnv
// names (nothing when it is unset); stop ends it and writes the allocation
// profile next to it.
func profileCPU(name string) (stop func() error, err error) {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() error { return nil }, nil
	}
	base := filepath.Join(dir, name)
	f, err := os.Create(base + ".cpu.pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return err
		}
		h, err := os.Create(base + ".heap.pprof")
		if err != nil {
			return err
		}
		defer h.Close()
		return pprof.Lookup("allocs").WriteTo(h, 0)
	}, nil
}

// raiseFileLimit lifts RLIMIT_NOFILE to its hard limit: a server process
// holds one listener per simulated host.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// fileLimit is the soft RLIMIT_NOFILE after raising it.
func fileLimit() uint64 {
	raiseFileLimit()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return lim.Cur
}

// selfExe names the running executable's own file even after its path has
// been replaced: another run's build (`make bench-smoke` while `make bench`
// runs) rewrites bin/otsweep-bench.test, and a child started from that
// path would be the other build, or fail to start while it is written.
const selfExe = "/proc/self/exe"

// child starts this binary again in mode with spec on its standard input.
func child(ctx context.Context, mode string, stdout io.Writer) (*exec.Cmd, io.WriteCloser, error) {
	exe := selfExe
	if _, err := os.Stat(exe); err != nil {
		if exe, err = os.Executable(); err != nil {
			return nil, nil, fmt.Errorf("bench: own executable: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Args[0] = os.Args[0] // as ps shows it
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	cmd.WaitDelay = 10 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("bench: start %s child: %w", mode, err)
	}
	return cmd, in, nil
}

// serverProc is a running server child.
type serverProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	wait <-chan error // the child's exit
	Info ServeInfo
}

// startServer starts a server child for spec and waits until it listens.
func startServer(ctx context.Context, spec ServeSpec) (*serverProc, error) {
	pr, pw := io.Pipe()
	cmd, in, err := child(ctx, childServe, pw)
	if err != nil {
		return nil, err
	}
	s := &serverProc{cmd: cmd, in: in}
	if err := json.NewEncoder(in).Encode(spec); err != nil {
		s.kill()
		return nil, fmt.Errorf("bench: serve spec: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		dec := json.NewDecoder(pr)
		ready <- dec.Decode(&s.Info)
		_, _ = io.Copy(io.Discard, pr)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	select {
	case err := <-ready:
		if err != nil {
			s.kill()
			return nil, fmt.Errorf("bench: %s server did not start: %w", spec.Kind, err)
		}
	case <-time.After(5 * time.Minute):
		s.kill()
		return nil, fmt.Errorf("bench: %s server did not start within 5 minutes", spec.Kind)
	}
	s.wait = exited
	return s, nil
}

// kill ends the child by its PID.
func (s *serverProc) kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

// Stop closes the child's standard input and waits for it to exit (killing
// it after 30 s). It returns the CPU time the servers used.
func (s *serverProc) Stop() time.Duration {
	_ = s.in.Close()
	select {
	case <-s.wait:
	case <-time.After(30 * time.Second):
		s.kill()
		<-s.wait
	}
	if ps := s.cmd.ProcessState; ps != nil {
		return ps.UserTime() + ps.SystemTime()
	}
	return 0
}

// Measurement is one scanner process: what it measured of its sweep and
// what the kernel says it used.
type Measurement struct {
	ScanResult
	PeakRSS     int64         `json:"peak_rss_bytes"` // ru_maxrss of the scanner process
	ProcessWall time.Duration `json:"process_wall_ns"`
	ProcessCPU  time.Duration `json:"process_cpu_ns"`
	Load        float64       `json:"load"` // 1-minute load average when it ended
}

// scan runs spec in a scanner child.
func scan(ctx context.Context, spec ScanSpec) (*Measurement, error) {
	var out bytesBuffer
	start := time.Now()
	cmd, in, err := child(ctx, childScan, &out)
	if err != nil {
		return nil, err
	}
	encErr := json.NewEncoder(in).Encode(spec)
	_ = in.Close()
	waitErr := cmd.Wait()
	wall := time.Since(start)
	if encErr != nil {
		return nil, fmt.Errorf("bench: scan spec: %w", encErr)
	}
	if waitErr != nil {
		return nil, fmt.Errorf("bench: %s %s scanner of %d hosts: %w", spec.Mode, spec.Kind, len(spec.Hosts), waitErr)
	}
	m := &Measurement{ProcessWall: wall, Load: LoadAverage()}
	if err := json.Unmarshal(out.b, &m.ScanResult); err != nil {
		return nil, fmt.Errorf("bench: scanner result: %w", err)
	}
	ps := cmd.ProcessState
	m.ProcessCPU = ps.UserTime() + ps.SystemTime()
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil, errors.New("bench: no resource usage of the scanner process")
	}
	m.PeakRSS = ru.Maxrss * 1024 // Linux reports KiB
	return m, nil
}

// bytesBuffer collects a child's standard output.
type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
