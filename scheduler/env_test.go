package scheduler

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/otsweep/otsweep/lab/sshsim"
	"github.com/otsweep/otsweep/lab/winhosts"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/probes/linux"
	"github.com/otsweep/otsweep/probes/windows"
)

// TestEnvOncePerHost proves that evaluating every built-in check in one
// shared environment (what the runner does) gives exactly what evaluating
// each check in an environment of its own gives, whatever the order: on
// every recorded Linux and Windows host, with each platform's checks run
// forwards and backwards through the same Env.
func TestEnvOncePerHost(t *testing.T) {
	defs, err := LoadDefinitions("", BundleFacts())
	if err != nil {
		t.Fatal(err)
	}
	const nonce = "0123456789abcdef0123456789abcdef"
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	type host struct {
		name     string
		platform probes.Platform
		obs      func() (*probes.Observation, error)
	}
	var hosts []host
	for _, name := range sshsim.Recordings() {
		hosts = append(hosts, host{"linux/" + name, probes.Linux, func() (*probes.Observation, error) {
			out, err := sshsim.Output(name, nonce)
			if err != nil {
				return nil, err
			}
			return linux.Parse(nonce, out)
		}})
	}
	for _, h := range winhosts.Hosts() {
		hosts = append(hosts, host{"windows/" + h.Name, probes.Windows, func() (*probes.Observation, error) {
			out, err := winhosts.Output(h.Name, nonce)
			if err != nil {
				return nil, err
			}
			return windows.ParseAt(nonce, out, now)
		}})
	}
	bp, ok := defs.Blueprints.Get("hmi")
	if !ok {
		t.Fatal("no hmi blueprint")
	}
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			obs, err := h.obs()
			if err != nil {
				t.Fatal(err)
			}
			cs := defs.Checks.ForPlatform(h.platform)
			if len(cs) == 0 {
				t.Fatal("no checks")
			}
			env := checks.NewEnv(obs.Facts, bp.Params, now)
			evaluated := 0
			for pass, order := range [][]int{indexes(len(cs)), reversed(len(cs))} {
				for _, i := range order {
					c := cs[i]
					want := c.Evaluate(obs.Facts, bp.Params, now)
					got := c.EvaluateIn(env)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("pass %d, check %s: shared env gives %+v, own env %+v", pass, c.ID, got, want)
					}
					if want.Status != "" {
						evaluated++
					}
				}
			}
			if evaluated != 2*len(cs) {
				t.Fatalf("%d of %d results have a status", evaluated, 2*len(cs))
			}
		})
	}
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func reversed(n int) []int {
	out := indexes(n)
	slices.Reverse(out)
	return out
}
