package linux

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

var update = flag.Bool("update", false, "rewrite docs/facts-linux.md")

func TestCommand(t *testing.T) {
	nonce := probes.NewNonce()
	tests := []struct {
		name     string
		o        Options
		contains []string
		absent   []string
	}{
		{"defaults", Options{}, []string{"'" + nonce + "' '0' no '0'", "t k -k 5 '120'"}, []string{"sudo"}},
		{"sudo", Options{Sudo: true}, []string{"sudo -n $T sh -c :", "exec sudo -n $T sh -s -- '" + nonce + "' '0' yes"}, nil},
		{"short timeout is raised to 5 s", Options{Timeout: 1500 * time.Millisecond}, []string{"t k -k 5 '5'"}, nil},
		{"deep leaves the script time to finish", Options{Deep: true, Timeout: 10 * time.Minute}, []string{"'1' no '450'", "t p '600'"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Command(nonce, tc.o)
			line := c.Line
			if strings.ContainsAny(line, "\n!") {
				t.Errorf("line holds a newline or '!': %q", line)
			}
			// the line is `sh -c '<wrapper>'`; unquote the wrapper for reading
			inner := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(line, "sh -c '"), "'"), `'\''`, "'")
			for _, s := range tc.contains {
				if !strings.Contains(inner, s) {
					t.Errorf("wrapper lacks %q:\n%s", s, inner)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(inner, s) {
					t.Errorf("wrapper has %q:\n%s", s, inner)
				}
			}
			if !bytes.Equal(c.Stdin, []byte(Script())) || len(c.Stdin) == 0 {
				t.Error("Stdin is not the bundle script")
			}
		})
	}
}

// argvScript replaces the bundle to see exactly what the wrapper passes on.
const argvScript = `printf '%s\n' "$@"` + "\n"

func runLine(t *testing.T, line string, stdin []byte, env []string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", line)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wrapper: %v\n%s", err, out)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// TestCommandQuoting runs the real wrapper through /bin/sh with a hostile
// nonce: it must arrive as one argument, and nothing in it may run.
func TestCommandQuoting(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "pwned")
	for _, nonce := range []string{probes.NewNonce(), `x'; touch ` + marker + `; '`, `$(touch ` + marker + `)`, "`touch " + marker + "`", `a"b\c`} {
		c := Command(nonce, Options{Timeout: 7 * time.Second})
		got := runLine(t, c.Line, []byte(argvScript), os.Environ())
		want := []string{nonce, "0", "no", "0", "k"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("nonce %q: script got args %q, want %q", nonce, got, want)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("nonce %q executed code", nonce)
		}
	}
}

// TestCommandTimeoutFlavours checks the wrapper's timeout(1) detection on
// hosts without it and with an old busybox that only knows -t.
func TestCommandTimeoutFlavours(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	oldBusybox := "#!" + sh + "\n[ \"$1\" = -t ] || { echo 'timeout: invalid option' >&2; exit 1; }\nshift 2\nexec \"$@\"\n"
	for _, tc := range []struct {
		name, timeout, flavour string
	}{
		{"no timeout(1)", "", ""},
		{"old busybox -t", oldBusybox, "t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			if err := os.Symlink(sh, filepath.Join(bin, "sh")); err != nil {
				t.Fatal(err)
			}
			if tc.timeout != "" {
				if err := os.WriteFile(filepath.Join(bin, "timeout"), []byte(tc.timeout), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			c := Command("abc", Options{Deep: true, Timeout: 20 * time.Second})
			got := runLine(t, c.Line, []byte(argvScript), []string{"PATH=" + bin})
			if want := []string{"abc", "1", "no", "15", tc.flavour}; !reflect.DeepEqual(got, want) {
				t.Errorf("args %q, want %q", got, want)
			}
		})
	}
}

// TestScriptSyntax parses the bundle with every POSIX shell on this machine
// and rejects common bashisms.
func TestScriptSyntax(t *testing.T) {
	shells := [][]string{{"dash", "-n"}, {"busybox", "sh", "-n"}, {"bash", "--posix", "-n"}, {"sh", "-n"}}
	ran := 0
	for _, argv := range shells {
		if _, err := exec.LookPath(argv[0]); err != nil {
			continue
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdin = strings.NewReader(Script())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%v: %v\n%s", argv, err, out)
		}
		ran++
	}
	if ran == 0 {
		t.Skip("no shell to check the script with")
	}
	for _, bashism := range []string{"[[ ", "function ", "local ", "$'", "<<<", "echo -e", "declare ", "${!", "&>", "source "} {
		for i, l := range strings.Split(Script(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "#") {
				continue
			}
			if strings.Contains(l, bashism) {
				t.Errorf("line %d uses %q: %s", i+1, bashism, l)
			}
		}
	}
}

// localRun runs the bundle on this machine exactly as a transport would:
// the command line through /bin/sh, the script on standard input.
func localRun(t *testing.T, o Options, shell string, cred *syscall.Credential) (*probes.Observation, time.Duration) {
	t.Helper()
	nonce := probes.NewNonce()
	c := Command(nonce, o)
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.Line)
	if shell != "" {
		// sh is busybox ash for the wrapper and for the bundle itself
		bin := t.TempDir()
		if err := os.Symlink(shell, filepath.Join(bin, "sh")); err != nil {
			t.Fatal(err)
		}
		cmd = exec.CommandContext(ctx, filepath.Join(bin, "sh"), "-c", c.Line)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	}
	cmd.Stdin = bytes.NewReader(c.Stdin)
	cmd.Dir = t.TempDir()
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = "/"
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("bundle exited with %v\nstderr: %s", err, stderr.String())
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	obs, err := Parse(nonce, stdout)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, stdout)
	}
	return obs, cpu
}

func TestLocalRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the bundle on this machine")
	}
	type variant struct {
		name  string
		shell string
		cred  *syscall.Credential
	}
	variants := []variant{{name: "current user"}}
	if os.Geteuid() == 0 {
		variants = append(variants, variant{name: "nobody", cred: &syscall.Credential{Uid: 65534, Gid: 65534}})
	}
	if bb, err := exec.LookPath("busybox"); err == nil {
		variants = append(variants, variant{name: "busybox ash", shell: bb})
	}
	for _, vr := range variants {
		t.Run(vr.name, func(t *testing.T) {
			start := time.Now()
			obs, cpu := localRun(t, Options{Sudo: true, Timeout: 60 * time.Second}, vr.shell, vr.cred)
			wall := time.Since(start)
			if !obs.Complete {
				t.Fatal("Complete = false")
			}
			checkContract(t, vr.name, obs)
			for name, f := range obs.Facts {
				if strings.HasPrefix(f.Err, probes.ErrTextUnparsed) || strings.Contains(f.Err, "no value derived") ||
					strings.Contains(f.Err, "output ended") {
					t.Errorf("%s: %s", name, f.Err)
				}
			}
			if vr.cred != nil && (obs.Elevated || obs.Facts["accounts.empty_password"].Err != probes.ErrTextNotElevated) {
				t.Errorf("unprivileged run: elevated=%v empty_password=%+v", obs.Elevated, obs.Facts["accounts.empty_password"])
			}
			for _, id := range []string{"FILES", "RESTRICTED", "SOCKETS", "LS", "BIN", "PROCS", "L03"} {
				found := false
				for _, r := range obs.Probes {
					found = found || (r.ID == id && r.Err == "")
				}
				if !found {
					t.Errorf("section %s did not run", id)
				}
			}
			t.Logf("local run (%s, uid %s, sudo=%s): %d processes spawned by the bundle (pid counter; %s commands "+
				"counted by the script, the wrapper adds its sh/timeout/sudo), CPU %v by the shell's `times`, %v by "+
				"wait4 rusage of the whole command line, wall %v, %d facts",
				vr.name, obs.Meta["uid"], obs.Meta["sudo"], obs.Cost.Processes, obs.Meta["execs"], obs.Cost.CPU,
				cpu, wall.Round(time.Millisecond), len(obs.Facts))
		})
	}
}

// TestLocalRunDeepTimeout runs the find probes with a budget too small for a
// whole disk: the facts are complete lists or "timed out", never partial.
func TestLocalRunDeepTimeout(t *testing.T) {
	if testing.Short() || os.Geteuid() != 0 {
		t.Skip("needs root and time")
	}
	obs, cpu := localRun(t, Options{Deep: true, Timeout: 5 * time.Second}, "", nil)
	if !obs.Complete {
		t.Fatal("the script must print END even when find is cut off")
	}
	checkContract(t, "deep", obs)
	for _, n := range []string{"fs.world_writable_files", "fs.world_writable_dirs", "fs.suid_sgid_files"} {
		f := obs.Facts[n]
		if f.Err != "" && !strings.Contains(f.Err, "find timed out") {
			t.Errorf("%s: %s", n, f.Err)
		}
	}
	t.Logf("deep run: %d processes, CPU %v (times) / %v (rusage), suid: %v %s", obs.Cost.Processes, obs.Cost.CPU, cpu,
		obs.Facts["fs.suid_sgid_files"].Value != nil, obs.Facts["fs.suid_sgid_files"].Err)
}

func TestFactsDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "facts-linux.md")
	got := Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with: go generate ./probes/linux)", err)
	}
	if string(want) != got {
		t.Errorf("%s is stale; regenerate with: go generate ./probes/linux", path)
	}
	for _, d := range Facts {
		if !strings.Contains(got, "`"+d.Name+"`") {
			t.Errorf("%s missing from the generated doc", d.Name)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"busybox-root", "busybox-root-deep", "debian12-nonroot", "rhel9-root"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".out"))
		if err != nil {
			f.Fatal(err)
		}
		// re-frame each fixture with the fuzz nonce so mutations explore real sections
		n := fixtureNonce(f, b)
		f.Add(bytes.ReplaceAll(b, []byte(n), []byte(testNonce)))
	}
	f.Add(out{files: map[string]string{"/etc/ssh/sshd_config": "Include a b\nMatch all\n"}}.bytes())
	f.Add([]byte("@@OTSCAN " + testNonce + " BEGIN\n@@OTSCAN " + testNonce + " PROBE FILES\n@@OTSCAN " + testNonce + " FILE ok /x\n/x:/x:y\n"))
	f.Add([]byte("@@OTSCAN " + testNonce + " BEGIN uid=0\n@@OTSCAN " + testNonce + " END\n@@OTSCAN " + testNonce + " COST pids=x\n9999999999m1s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		obs, err := Parse(testNonce, data)
		if err != nil {
			return
		}
		docs := map[string]bool{}
		for _, d := range Facts {
			docs[d.Name] = true
			if _, ok := obs.Facts[d.Name]; !ok && !d.Deep {
				t.Fatalf("documented fact %s missing", d.Name)
			}
		}
		for n, fact := range obs.Facts {
			if !docs[n] {
				t.Fatalf("undocumented fact %s", n)
			}
			if fact.Err != "" && fact.Value != nil {
				t.Fatalf("%s: error with a value", n)
			}
		}
	})
}
