package checks

import (
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

// FuzzDefinitions feeds arbitrary user check files to the loader. It must
// return checks or an error, never panic, and a check it accepts must never
// pass on a host where the facts it reads could not be collected.
func FuzzDefinitions(f *testing.F) {
	f.Add([]byte(testChecks))
	f.Add([]byte("- id: x.y\n  title: t\n  platform: linux\n  expr: len(1..9) > 0 && login_defs.pass_max_days > 0\n  expected: e\n"))
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	params := map[string]any{"max_password_age_days": 90, "forbidden_tcp_ports": []int{23}, "allow_root_key_login": false}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := loadSources([]source{{name: "fuzz.yaml", data: data}}, 0, testValidator)
		if err != nil {
			return
		}
		for _, c := range s.All() {
			failed := probes.Facts{}
			for _, name := range append(append(append([]string{}, c.Facts...), c.whenFacts...), c.IfCollected...) {
				failed.Fail(name, "L00", probes.ErrTextNotCollected)
			}
			r := c.Evaluate(failed, params, now)
			if r.Status == Pass && len(c.Facts) > 0 {
				t.Fatalf("%s passes although none of %v was collected", c.ID, c.Facts)
			}
			switch r.Status {
			case Pass, Fail, Error, NotApplicable:
			default:
				t.Fatalf("%s: status %q", c.ID, r.Status)
			}
			_ = c.Evaluate(probes.Facts{}, params, now)
		}
	})
}
