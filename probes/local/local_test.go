package local_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/local"
)

func TestRun(t *testing.T) {
	t.Parallel()
	stdin := make([]byte, 200<<10)
	if _, err := rand.Read(stdin); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(stdin)

	tests := []struct {
		name       string
		cmd        probes.Command
		maxOutput  int64
		wantStdout string
		wantStderr string
		wantExit   int
		wantTrunc  bool
		wantLen    int
	}{
		{name: "stdout", cmd: probes.Command{Line: "echo hello"}, wantStdout: "hello\n"},
		{name: "stderr kept apart", cmd: probes.Command{Line: "echo out; echo err >&2"}, wantStdout: "out\n", wantStderr: "err\n"},
		{name: "stdin delivered intact", cmd: probes.Command{Line: "sha256sum | cut -d' ' -f1", Stdin: stdin}, wantStdout: hex.EncodeToString(sum[:]) + "\n"},
		{name: "script on stdin", cmd: probes.Command{Line: "sh -s -- abc", Stdin: []byte("echo \"arg=$1\"\nexit 4\n")}, wantStdout: "arg=abc\n", wantExit: 4},
		{name: "exit code", cmd: probes.Command{Line: "exit 3"}, wantExit: 3},
		{name: "false", cmd: probes.Command{Line: "false"}, wantExit: 1},
		{name: "killed by signal", cmd: probes.Command{Line: "kill -TERM $$"}, wantExit: 128 + int(syscall.SIGTERM)},
		{name: "input not read", cmd: probes.Command{Line: "true", Stdin: stdin}},
		{name: "output cap", cmd: probes.Command{Line: "yes"}, maxOutput: 4096, wantTrunc: true, wantExit: -1, wantLen: 4096},
		{name: "stderr cap", cmd: probes.Command{Line: "head -c 2000000 /dev/zero >&2; echo done"}, wantStdout: "done\n", wantLen: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := local.New()
			if tt.maxOutput > 0 {
				e.MaxOutput = tt.maxOutput
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := e.Run(ctx, tt.cmd)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if out.ExitCode != tt.wantExit {
				t.Errorf("ExitCode = %d, want %d", out.ExitCode, tt.wantExit)
			}
			if out.Truncated != tt.wantTrunc {
				t.Errorf("Truncated = %v, want %v", out.Truncated, tt.wantTrunc)
			}
			switch {
			case tt.wantLen > 0:
				if len(out.Stdout) != tt.wantLen {
					t.Errorf("len(Stdout) = %d, want %d", len(out.Stdout), tt.wantLen)
				}
			case tt.wantLen < 0:
				if len(out.Stderr) != local.MaxStderr {
					t.Errorf("len(Stderr) = %d, want the cap %d", len(out.Stderr), local.MaxStderr)
				}
				if string(out.Stdout) != tt.wantStdout {
					t.Errorf("Stdout = %q, want %q", out.Stdout, tt.wantStdout)
				}
			default:
				if string(out.Stdout) != tt.wantStdout {
					t.Errorf("Stdout = %q, want %q", out.Stdout, tt.wantStdout)
				}
				if string(out.Stderr) != tt.wantStderr {
					t.Errorf("Stderr = %q, want %q", out.Stderr, tt.wantStderr)
				}
			}
		})
	}
}

// pidsFrom reads the PIDs a test command wrote to files in dir.
func pidsFrom(t *testing.T, dir string, names ...string) []int {
	t.Helper()
	var pids []int
	for _, n := range names {
		var b []byte
		deadline := time.Now().Add(5 * time.Second)
		for {
			var err error
			b, err = os.ReadFile(filepath.Join(dir, n))
			if err == nil && len(bytes.TrimSpace(b)) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pid file %s not written", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("pid file %s: %v", n, err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// waitGone waits until pid has exited (gone, or a zombie nobody reaped yet).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(b, ')'); i > 0 && len(b) > i+2 && b[i+2] == 'Z' {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("process %d still running", pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The shell starts a child and a grandchild that ignore SIGTERM and
	// SIGHUP, then waits: only killing the whole group ends them.
	line := fmt.Sprintf(`trap '' TERM HUP
sleep 300 & echo $! > %[1]s/a
( trap '' TERM HUP; sleep 301 & echo $! > %[1]s/b; wait ) &
wait`, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	out, err := local.New().Run(ctx, probes.Command{Line: line})
	elapsed := time.Since(start)
	if !errors.Is(err, probes.ErrTimeout) {
		t.Fatalf("Run = %v, %v; want ErrTimeout", out, err)
	}
	if probes.StatusOf(err) != probes.StatusTimeout {
		t.Errorf("StatusOf = %s, want timeout", probes.StatusOf(err))
	}
	if elapsed > 2*time.Second {
		t.Errorf("Run returned after %s, want about 0.7 s", elapsed)
	}
	for _, pid := range pidsFrom(t, dir, "a", "b") {
		waitGone(t, pid)
	}
}

func TestBackgroundProcessEnded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The shell exits at once but leaves a child holding stdout open.
	line := fmt.Sprintf("sleep 300 & echo $! > %s/a; echo started; exit 0", dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	out, err := local.New().Run(ctx, probes.Command{Line: line})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Run returned after %s", elapsed)
	}
	if out.ExitCode != 0 || string(out.Stdout) != "started\n" {
		t.Errorf("Output = %d %q, want 0 \"started\\n\"", out.ExitCode, out.Stdout)
	}
	waitGone(t, pidsFrom(t, dir, "a")[0])
}

func TestTruncationKillsProcessGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := fmt.Sprintf("sleep 300 & echo $! > %s/a; yes", dir)
	e := local.New()
	e.MaxOutput = 1 << 20
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := e.Run(ctx, probes.Command{Line: line})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !out.Truncated || len(out.Stdout) != 1<<20 || out.ExitCode != -1 {
		t.Errorf("Output: Truncated=%v len=%d exit=%d; want true, %d, -1", out.Truncated, len(out.Stdout), out.ExitCode, 1<<20)
	}
	waitGone(t, pidsFrom(t, dir, "a")[0])
}

func TestContextAlreadyDone(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := local.New().Run(ctx, probes.Command{Line: "echo never"})
	if !errors.Is(err, probes.ErrTimeout) {
		t.Fatalf("Run = %v, want ErrTimeout", err)
	}
}
