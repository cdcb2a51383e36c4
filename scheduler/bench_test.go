package scheduler

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/otsweep/otsweep/lab/sshsim"
	"github.com/otsweep/otsweep/lab/winhosts"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/linux"
	"github.com/otsweep/otsweep/probes/windows"
	"github.com/otsweep/otsweep/store"
)

// parsedProber answers with a copy of an observation parsed once, so a
// benchmark measures what the runner does with a host's facts (checks, the
// assessment, the store write and drift), not the transport or the parser.
type parsedProber struct{ obs *probes.Observation }

func (p parsedProber) Plan() []probes.Planned { return nil }

func (p parsedProber) Probe(context.Context) (*probes.Observation, error) {
	o := *p.obs
	return &o, nil
}

// BenchmarkRunnerPerHost is the runner's own cost per host after the probe
// returned: one sweep of b.N hosts answering a recorded bundle, with drift
// and Summarize as `otsweep scan` and the daemon run them. first-sweep:
// every host new to the database (the most rows written); daily-sweep: the
// database holds the previous sweep of the same hosts, as every sweep after
// a plant's first does.
func BenchmarkRunnerPerHost(b *testing.B) {
	const nonce = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, role string
		parse      func() (*probes.Observation, error)
	}{
		{"linux", "linux-server", func() (*probes.Observation, error) {
			out, err := sshsim.Output("debian12-root", nonce)
			if err != nil {
				return nil, err
			}
			return linux.Parse(nonce, out)
		}},
		{"windows", "hmi", func() (*probes.Observation, error) {
			out, err := winhosts.Output("win10-22h2", nonce)
			if err != nil {
				return nil, err
			}
			return windows.Parse(nonce, out)
		}},
	} {
		for _, repeat := range []bool{false, true} {
			name := tc.name + "/first-sweep"
			if repeat {
				name = tc.name + "/daily-sweep"
			}
			b.Run(name, func(b *testing.B) {
				defs := testDefs(b)
				obs, err := tc.parse()
				if err != nil {
					b.Fatal(err)
				}
				st, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = st.Close() }()
				bp, _ := defs.Blueprints.Get(tc.role)
				jobs := make([]Job, b.N)
				for i := range jobs {
					jobs[i] = Job{Asset: store.Asset{Name: fmt.Sprintf("host-%05d", i), Address: "192.0.2.10", Role: tc.role,
						Zone: "cell-1", Platform: string(obs.Platform), Transport: "ssh"}, Prober: parsedProber{obs}, Blueprint: bp}
				}
				d := &Drift{Store: st, Defs: defs}
				r := &Runner{Defs: defs, Store: st, Concurrency: 4, Summarize: true, AfterSave: d.AfterSave}
				if repeat {
					// Yesterday's sweep of the same hosts: today's writes only
					// what changed (nothing, here) after comparing.
					if res, err := r.Run(b.Context(), "bench", "manual", jobs); err != nil || len(res.Assets) != b.N {
						b.Fatalf("%v, %d results", err, len(res.Assets))
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				res, err := r.Run(b.Context(), "bench", "manual", jobs)
				if err != nil || len(res.Assets) != b.N {
					b.Fatalf("%v, %d results", err, len(res.Assets))
				}
			})
		}
	}
}
