package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/linux"
)

// PeerSpec is a set of real sshd hosts for the peer comparison.
type PeerSpec struct {
	Hosts      []Endpoint
	User       string
	KeyPEM     string
	KnownHosts string // known_hosts content for every host
}

// PeerResult compares otsweep with Ansible's raw module on the same real
// hosts, both sending the Linux bundle to every host at once.
type PeerResult struct {
	Hosts int
	// Otsweep is the fastest of two scanner processes; ProcessWall is
	// compared, start-up included, as Ansible's is. Bare is the bare
	// x/crypto/ssh loop on the same hosts (the limit), likewise.
	Otsweep, Bare *Measurement
	// Ansible is the fastest of two `ansible -m raw` runs (wall time of
	// the process); empty AnsibleVersion means Ansible was not run.
	Ansible        time.Duration
	AnsibleVersion string
	Skipped        string // why Ansible was not run
}

// peerRuns is how many times each side runs; the fastest counts.
const peerRuns = 2

// Peer scans spec's hosts with otsweep, then with Ansible's raw module when
// `ansible` is installed.
func (r *Runner) Peer(ctx context.Context, spec PeerSpec) (*PeerResult, error) {
	dir, err := os.MkdirTemp(r.Dir, "peer-")
	if err != nil {
		return nil, err
	}
	kh := filepath.Join(dir, "known_hosts")
	key := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(kh, []byte(spec.KnownHosts), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(key, []byte(spec.KeyPEM), 0o600); err != nil {
		return nil, err
	}
	res := &PeerResult{Hosts: len(spec.Hosts)}
	for run := range peerRuns {
		for _, mode := range []Mode{Otsweep, Bare} {
			sc := ScanSpec{Kind: SSH, Mode: mode, Hosts: spec.Hosts, Concurrency: len(spec.Hosts), Timeout: hostTimeout,
				User: spec.User, KeyPEM: spec.KeyPEM, KnownHosts: kh}
			if mode == Otsweep {
				sc.DB = filepath.Join(dir, fmt.Sprintf("peer-%d.db", run))
			}
			m, err := scan(ctx, sc)
			if err != nil {
				return nil, err
			}
			removeDB(sc.DB)
			if m.OK != len(spec.Hosts) {
				return nil, fmt.Errorf("bench: %s on real sshd hosts: %d of %d ok, first error: %s", mode, m.OK, len(spec.Hosts), m.FirstError)
			}
			r.log().Info("peer", "tool", mode, "hosts", len(spec.Hosts), "run", run+1, "wall", m.ProcessWall.Round(time.Millisecond),
				"target_cpu_per_host", m.TargetCPU.Round(time.Microsecond))
			keep := &res.Otsweep
			if mode == Bare {
				keep = &res.Bare
			}
			if *keep == nil || m.ProcessWall < (*keep).ProcessWall {
				*keep = m
			}
		}
	}
	ansible, err := exec.LookPath("ansible")
	if err != nil {
		res.Skipped = "ansible is not installed (make bench installs Debian's ansible when run as root)"
		return res, nil
	}
	out, err := exec.CommandContext(ctx, ansible, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("bench: ansible --version: %w", err)
	}
	res.AnsibleVersion = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	for run := range peerRuns {
		d, err := runAnsible(ctx, ansible, dir, spec, key, kh)
		if err != nil {
			return nil, err
		}
		r.log().Info("peer", "tool", "ansible", "hosts", len(spec.Hosts), "run", run+1, "wall", d.Round(time.Millisecond))
		if res.Ansible == 0 || d < res.Ansible {
			res.Ansible = d
		}
	}
	return res, nil
}

// ansibleJSON is the part of the json stdout callback's report read here.
type ansibleJSON struct {
	Plays []struct {
		Tasks []struct {
			Hosts map[string]struct {
				RC     int    `json:"rc"`
				Stdout string `json:"stdout"`
				Failed bool   `json:"failed"`
				Msg    string `json:"msg"`
			} `json:"hosts"`
		} `json:"tasks"`
	} `json:"plays"`
}

// runAnsible sends the Linux bundle to every host with `ansible -m raw`,
// all hosts at once (forks = hosts), and checks every host's output.
//
// The raw module cannot feed standard input, so the script travels inside
// the command line, with the arguments the bundle's wrapper would give it:
// sh -c SCRIPT sh NONCE 0 no 0 "" (no deep probes, no sudo, no timeout(1)).
// SSH multiplexing is off so that each run connects afresh, as a daily
// sweep does.
func runAnsible(ctx context.Context, ansible, dir string, spec PeerSpec, key, knownHosts string) (time.Duration, error) {
	var inv strings.Builder
	inv.WriteString("[lab]\n")
	for i, h := range spec.Hosts {
		fmt.Fprintf(&inv, "h%02d ansible_host=%s ansible_port=%d\n", i+1, h.Address, h.Port)
	}
	fmt.Fprintf(&inv, "[lab:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\n", spec.User, key)
	invFile := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(invFile, []byte(inv.String()), 0o600); err != nil {
		return 0, err
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return 0, err
	}
	nonce := probes.NewNonce()
	arg := "{% raw %}sh -c " + shellQuote(linux.Script()) + " sh " + nonce + " 0 no 0 ''{% endraw %}"
	cmd := exec.CommandContext(ctx, ansible, "all", "-i", invFile, "-m", "raw", "-a", arg, "-f", strconv.Itoa(len(spec.Hosts)))
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"ANSIBLE_STDOUT_CALLBACK=json",
		"ANSIBLE_LOAD_CALLBACK_PLUGINS=1",
		"ANSIBLE_HOST_KEY_CHECKING=True",
		"ANSIBLE_SSH_ARGS=-o ControlMaster=no -o UserKnownHostsFile="+knownHosts+" -o StrictHostKeyChecking=yes",
		"ANSIBLE_RETRY_FILES_ENABLED=False",
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_DEPRECATION_WARNINGS=False",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("bench: ansible raw: %w: %s", err, tail(stderr.String(), 600))
	}
	var rep ansibleJSON
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return 0, fmt.Errorf("bench: ansible json output: %w", err)
	}
	if len(rep.Plays) != 1 || len(rep.Plays[0].Tasks) != 1 {
		return 0, errors.New("bench: ansible json output: want one play with one task")
	}
	hosts := rep.Plays[0].Tasks[0].Hosts
	if len(hosts) != len(spec.Hosts) {
		return 0, fmt.Errorf("bench: ansible answered for %d of %d hosts", len(hosts), len(spec.Hosts))
	}
	for name, h := range hosts {
		if h.Failed || h.RC != 0 || !strings.Contains(h.Stdout, "@@OTSCAN "+nonce+" END") {
			return 0, fmt.Errorf("bench: ansible on %s: rc %d failed %v %s: bundle output incomplete", name, h.RC, h.Failed, tail(h.Msg, 300))
		}
	}
	return wall, nil
}

// shellQuote quotes s as one POSIX shell word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
