package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Machine describes where the benchmarks ran.
type Machine struct {
	CPUs      int
	CPUModel  string
	MemBytes  uint64
	Kernel    string
	GoVersion string
	FileLimit uint64 // RLIMIT_NOFILE of the processes
}

// DescribeMachine reads the machine's description from /proc.
func DescribeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), CPUModel: "unknown", FileLimit: fileLimit()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				m.MemBytes = kb << 10
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// LoadAverage is the machine's 1-minute load average (/proc/loadavg), 0 when
// unknown. Other processes share the CPUs with the benchmark: wall times
// and ratios measured while it exceeds the number of CPUs are unreliable.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// Report is one benchmark run.
type Report struct {
	Plan    Plan
	Machine Machine
	Date    time.Time
	Command string
	Sweeps  []SweepResult
	Storage *StorageResult
	Peer    *PeerResult
	// Notes are lines printed under the table (skipped parts and the
	// like).
	Notes   []string
	Elapsed time.Duration
}

// Row is one line of the table. Baseline is the bare loop, or the peer.
type Row struct {
	Bench, Measure, Otsweep, Baseline, Ratio, Target, Result string
}

// Verdicts in the Result column.
const (
	Met    = "ok"
	Missed = "MISSED"
)

// target is a bound on a value, or on a ratio to the baseline.
type target struct {
	text string
	ok   bool
}

func within(ok bool, text string) *target { return &target{text: text, ok: ok} }

// Rows builds the table, in the order the issue lists the benchmarks.
func (r *Report) Rows() []Row {
	var rows []Row
	add := func(bench, measure, otsweep, baseline, ratio string, t *target) {
		row := Row{Bench: bench, Measure: measure, Otsweep: otsweep, Baseline: baseline, Ratio: ratio, Target: "-", Result: "-"}
		if t != nil {
			row.Target = t.text
			switch {
			case !r.Plan.Targets:
				row.Result = "n/a (smoke)"
			case t.ok:
				row.Result = Met
			default:
				row.Result = Missed
			}
		}
		rows = append(rows, row)
	}
	for _, s := range r.Sweeps {
		o, b := s.Otsweep, s.Bare
		bare := map[Kind]string{SSH: "x/crypto/ssh", WinRM: "masterzen/winrm", SNMP: "gosnmp"}[s.Kind]
		name := fmt.Sprintf("%s sweep, %d hosts (bare: %s)", s.Kind, s.N, bare)
		n := time.Duration(s.N)
		wallRatio := ratio(o.Wall, b.Wall)
		var wallT *target
		if s.Kind == SSH && s.N == 1000 {
			wallT = within(wallRatio <= 1.3, "≤ 1.3× bare")
		}
		daily := "" // with one run, the only sweep is the first
		if s.First != nil {
			daily = "daily sweep: "
		}
		add(name, daily+"wall time", dur(o.Wall), dur(b.Wall), times(wallRatio), wallT)
		if o.OK != o.Hosts || b.OK != b.Hosts {
			add("", "hosts scanned ok (see notes)", fmt.Sprintf("%d/%d", o.OK, o.Hosts), fmt.Sprintf("%d/%d", b.OK, b.Hosts), "", nil)
		}
		cpuRatio := ratio(o.CPU, b.CPU)
		add("", daily+"scanner CPU per host", dur(o.CPU/n), dur(b.CPU/n), times(cpuRatio), within(cpuRatio <= 1.5, "≤ 1.5× bare"))
		if s.Transport != nil {
			add("", "  of which SSH transport (probes/ssh alone)", dur(s.Transport.CPU/n), dur(b.CPU/n), times(ratio(s.Transport.CPU, b.CPU)), nil)
		}
		if f := s.First; f != nil {
			add("", "first sweep into an empty database: wall time", dur(f.Wall), dur(b.Wall), times(ratio(f.Wall, b.Wall)), nil)
			add("", "first sweep into an empty database: CPU per host", dur(f.CPU/n), dur(b.CPU/n), times(ratio(f.CPU, b.CPU)), nil)
		}
		// Peak RSS is judged on the larger of the first and daily sweeps.
		rss := o.PeakRSS
		if s.First != nil {
			rss = max(rss, s.First.PeakRSS)
		}
		var rssT *target
		if s.Kind == SSH && s.N >= 5000 {
			rssT = within(rss < 300<<20, "< 300 MiB")
		}
		add("", "scanner peak RSS", mib(rss), mib(b.PeakRSS), times(float64(rss)/float64(b.PeakRSS)), rssT)
	}
	if st := r.Storage; st != nil {
		name := fmt.Sprintf("storage, %d daily sweeps of %d hosts", st.Days, st.Hosts)
		add(name, fmt.Sprintf("database size (%.1f %% of check results changed per sweep)", 100*st.ChangedChecks), mib(st.DBBytes), "", "", within(st.DBBytes < 1<<30, "< 1 GiB"))
		add("", "write one sweep: mean", dur(st.WriteMean), "", "", within(st.WriteMean < 2*time.Second, "< 2 s"))
		add("", "write one sweep: slowest / last", dur(st.WriteMax)+" / "+dur(st.WriteLast), "", "", nil)
		add("", fmt.Sprintf("drift of one sweep, %d workers: mean / last", r.Plan.Storage.DriftWorkers), dur(st.DriftMean)+" / "+dur(st.DriftLast), "", "", nil)
		add("", "dashboard 30-day view (report.Build)", dur(st.View30), "", "", within(st.View30 < 500*time.Millisecond, "< 500 ms"))
	}
	if p := r.Peer; p != nil {
		name := fmt.Sprintf("peer, %d real sshd hosts (baseline: Ansible raw)", p.Hosts)
		n := time.Duration(p.Hosts)
		if p.AnsibleVersion != "" {
			q := ratio(p.Otsweep.ProcessWall, p.Ansible)
			add(name, "wall time per host, whole process", dur(p.Otsweep.ProcessWall/n), dur(p.Ansible/n), times(q), within(q <= 0.25, "≤ 0.25× Ansible"))
		} else {
			add(name, "wall time per host, whole process", dur(p.Otsweep.ProcessWall/n), "skipped", "", nil)
		}
		if p.Bare != nil {
			add("", "  the same, bare x/crypto/ssh loop as baseline", dur(p.Otsweep.ProcessWall/n), dur(p.Bare.ProcessWall/n), times(ratio(p.Otsweep.ProcessWall, p.Bare.ProcessWall)), nil)
		}
		add("", "bundle CPU on the target per host (Observation.Cost)", dur(p.Otsweep.TargetCPU), "", "",
			within(p.Otsweep.TargetCPU > 0 && p.Otsweep.TargetCPU < 40*time.Millisecond, "< 40 ms"))
	}
	return rows
}

// MaxLoad is the highest 1-minute load average seen when a measurement
// ended. The run itself accounts for about 2 (scanner and servers).
func (r *Report) MaxLoad() float64 {
	var load float64
	for _, s := range r.Sweeps {
		for _, m := range []*Measurement{s.Otsweep, s.First, s.Bare, s.Transport} {
			if m != nil {
				load = max(load, m.Load)
			}
		}
	}
	if r.Peer != nil {
		for _, m := range []*Measurement{r.Peer.Otsweep, r.Peer.Bare} {
			if m != nil {
				load = max(load, m.Load)
			}
		}
	}
	if r.Storage != nil {
		load = max(load, r.Storage.Load)
	}
	return load
}

// Missed returns the rows whose target was missed.
func (r *Report) Missed() []Row {
	var out []Row
	for _, row := range r.Rows() {
		if row.Result == Missed {
			out = append(out, row)
		}
	}
	return out
}

// WriteText prints the header lines, the table and the notes.
func (r *Report) WriteText(w io.Writer) error {
	m := r.Machine
	fmt.Fprintf(w, "otsweep benchmarks (%s), %s\n", r.Plan.Name, r.Date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine: %d CPUs, %s, %s RAM, Linux %s, %s, RLIMIT_NOFILE %d\n", m.CPUs, m.CPUModel, gib(m.MemBytes), m.Kernel, m.GoVersion, m.FileLimit)
	runs := "one run each"
	if n := max(r.Plan.Repeat, 1); n > 1 {
		runs = fmt.Sprintf("%d runs each: otsweep's first into an empty database, the fastest of the other %d (daily sweeps) as \"otsweep\"; the fastest bare run", n, n-1)
	}
	fmt.Fprintf(w, "sweeps: %d hosts in flight for otsweep and the bare loops alike, %s; servers in their own process\n",
		r.Plan.Concurrency, runs)
	if r.Command != "" {
		fmt.Fprintf(w, "command: %s\n", r.Command)
	}
	if load := r.MaxLoad(); load > 0 {
		fmt.Fprintf(w, "highest 1-minute load average at the end of a measurement: %.1f", load)
		if load > float64(m.CPUs)+2 {
			fmt.Fprint(w, " (other processes competed for the CPUs: wall times are inflated, CPU times hold)")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tmeasure\totsweep\tbaseline\tratio\ttarget\tresult")
	for _, row := range r.Rows() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Bench, row.Measure, row.Otsweep, row.Baseline, row.Ratio, row.Target, row.Result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintln(w, "note:", n)
		}
	}
	if r.Elapsed > 0 {
		fmt.Fprintf(w, "\nelapsed: %s\n", r.Elapsed.Round(time.Second))
	}
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func times(q float64) string {
	if q == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", q)
}

// dur prints a duration with three significant digits.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return fmt.Sprintf("%.3g s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3g ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3g µs", float64(d)/float64(time.Microsecond))
	}
}

func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func gib(b uint64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }
