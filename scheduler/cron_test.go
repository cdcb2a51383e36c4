package scheduler

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func utc(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
}

func TestParseScheduleNext(t *testing.T) {
	tests := []struct {
		name, spec, tz string
		from           time.Time
		want           []time.Time // the next three times, UTC
	}{
		{"daily in UTC", "0 2 * * *", "", utc(2025, 6, 1, 12, 0),
			[]time.Time{utc(2025, 6, 2, 2, 0), utc(2025, 6, 3, 2, 0), utc(2025, 6, 4, 2, 0)}},
		{"timezone field", "0 2 * * *", "Europe/Berlin", utc(2025, 6, 1, 12, 0),
			[]time.Time{utc(2025, 6, 2, 0, 0), utc(2025, 6, 3, 0, 0), utc(2025, 6, 4, 0, 0)}},
		{"CRON_TZ prefix", "CRON_TZ=Asia/Kolkata 0 6 * * *", "", utc(2025, 6, 1, 12, 0),
			[]time.Time{utc(2025, 6, 2, 0, 30), utc(2025, 6, 3, 0, 30), utc(2025, 6, 4, 0, 30)}},
		{"weekdays only", "0 6 * * mon-fri", "", utc(2025, 6, 6, 12, 0), // Friday
			[]time.Time{utc(2025, 6, 9, 6, 0), utc(2025, 6, 10, 6, 0), utc(2025, 6, 11, 6, 0)}},
		{"spring forward: 02:30 does not exist on 30 March", "30 2 * * *", "Europe/Berlin", utc(2025, 3, 29, 12, 0),
			[]time.Time{utc(2025, 3, 31, 0, 30), utc(2025, 4, 1, 0, 30), utc(2025, 4, 2, 0, 30)}},
		{"fall back: 02:30 happens twice on 26 October", "30 2 * * *", "Europe/Berlin", utc(2025, 10, 25, 12, 0),
			[]time.Time{utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 30), utc(2025, 10, 27, 1, 30)}},
		{"every", "@every 90m", "", utc(2025, 6, 1, 12, 0),
			[]time.Time{utc(2025, 6, 1, 13, 30), utc(2025, 6, 1, 15, 0), utc(2025, 6, 1, 16, 30)}},
		{"daily descriptor in a zone", "@daily", "America/New_York", utc(2025, 6, 1, 12, 0),
			[]time.Time{utc(2025, 6, 2, 4, 0), utc(2025, 6, 3, 4, 0), utc(2025, 6, 4, 4, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec, tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Time
			for at := tt.from; len(got) < 3; {
				at = s.Next(at)
				got = append(got, at.UTC())
			}
			if !slices.EqualFunc(got, tt.want, time.Time.Equal) {
				t.Errorf("next %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct{ name, spec, tz, want string }{
		{"empty", "", "", "empty"},
		{"bad field", "61 * * * *", "", "61"},
		{"seconds field", "0 0 2 * * *", "", "expected exactly 5 fields"},
		{"two zones", "CRON_TZ=UTC 0 2 * * *", "Europe/Berlin", "give one"},
		{"unknown zone", "0 2 * * *", "Mars/Olympus_Mons", "Mars/Olympus_Mons"},
		{"unknown zone prefix", "CRON_TZ=Mars/Base 0 2 * * *", "", "Mars/Base"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseSchedule(tt.spec, tt.tz); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseSchedule(%q, %q) = %v, want an error containing %q", tt.spec, tt.tz, err, tt.want)
			}
		})
	}
}

func TestWindows(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	weekdays, _ := parseWeekdays([]string{"mon-fri"})
	nightly, _ := ParseSchedule("0 22 1 * *", "Europe/Berlin") // first of the month, 22:00
	shift := Window{Name: "shift", Location: berlin, Days: weekdays, From: 5*time.Hour + 30*time.Minute, To: 6*time.Hour + 30*time.Minute}
	overnight := Window{Name: "night", Location: berlin, From: 23 * time.Hour, To: 1 * time.Hour}
	fridayNight := Window{Name: "fri-night", Location: berlin, Days: [7]bool{time.Friday: true}, From: 22 * time.Hour, To: 2 * time.Hour}
	monthly := Window{Name: "maint", Cron: &nightly, Duration: 4 * time.Hour}
	tests := []struct {
		name string
		w    Window
		at   time.Time
		want bool
	}{
		{"weekday window, inside (05:30 CEST)", shift, utc(2025, 6, 2, 3, 30), true},
		{"weekday window, end is exclusive", shift, utc(2025, 6, 2, 4, 30), false},
		{"weekday window, before", shift, utc(2025, 6, 2, 3, 29), false},
		{"weekday window, Saturday", shift, utc(2025, 6, 7, 4, 0), false},
		{"weekday window in winter (05:45 CET)", shift, utc(2025, 1, 6, 4, 45), true},
		{"overnight, before midnight", overnight, utc(2025, 6, 2, 21, 30), true},
		{"overnight, after midnight", overnight, utc(2025, 6, 2, 22, 59), true},
		{"overnight, after the end", overnight, utc(2025, 6, 2, 23, 0), false},
		{"Friday night runs into Saturday", fridayNight, utc(2025, 6, 6, 23, 30), true}, // Sat 01:30 CEST
		{"but not into Sunday", fridayNight, utc(2025, 6, 7, 23, 30), false},            // Sun 01:30 CEST
		{"Saturday night is not Friday night", fridayNight, utc(2025, 6, 7, 21, 0), false},
		{"monthly cron window, start", monthly, utc(2025, 6, 1, 20, 0), true},
		{"monthly cron window, inside, next day", monthly, utc(2025, 6, 1, 23, 59), true},
		{"monthly cron window, end", monthly, utc(2025, 6, 2, 0, 0), false},
		{"monthly cron window, other day", monthly, utc(2025, 6, 2, 20, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Active(tt.at); got != tt.want {
				t.Errorf("%s.Active(%s) = %v, want %v", tt.w, tt.at, got, tt.want)
			}
		})
	}
	if w, ok := (Windows{overnight, shift}).Active(utc(2025, 6, 2, 3, 45)); !ok || w.Name != "shift" {
		t.Errorf("Windows.Active = %v %v", w.Name, ok)
	}
}

func TestParseWeekdaysAndClock(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want []time.Weekday
		ok   bool
	}{
		{[]string{"mon-fri"}, []time.Weekday{1, 2, 3, 4, 5}, true},
		{[]string{"fri-mon"}, []time.Weekday{0, 1, 5, 6}, true},
		{[]string{"Saturday", "sun"}, []time.Weekday{0, 6}, true},
		{[]string{"mo"}, nil, false},
		{[]string{"monx"}, nil, false},
		{[]string{"mon-xyz"}, nil, false},
	} {
		days, err := parseWeekdays(tt.in)
		var got []time.Weekday
		for d, on := range days {
			if on {
				got = append(got, time.Weekday(d))
			}
		}
		if (err == nil) != tt.ok || (tt.ok && !slices.Equal(got, tt.want)) {
			t.Errorf("parseWeekdays(%v) = %v, %v", tt.in, got, err)
		}
	}
	for in, want := range map[string]time.Duration{"05:30": 5*time.Hour + 30*time.Minute, "00:00": 0, "24:00": 24 * time.Hour} {
		if got, err := parseClock(in); err != nil || got != want {
			t.Errorf("parseClock(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"5", "25:00", "24:01", "12:60", "7:5", "ab:cd"} {
		if _, err := parseClock(bad); err == nil {
			t.Errorf("parseClock(%q) accepted", bad)
		}
	}
}

// TestStartLimiter: hosts start no faster than the rate, on the daemon's
// clock.
func TestStartLimiter(t *testing.T) {
	clk := newFakeClock(utc(2025, 6, 1, 0, 0))
	l := newStartLimiter(clk, 2) // one host every 500 ms
	var starts []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			if err := l.Wait(context.Background()); err != nil {
				t.Error(err)
				return
			}
			starts = append(starts, clk.Now().Sub(utc(2025, 6, 1, 0, 0)))
		}
	}()
	for range 2 {
		at := clk.waitTimer(t, utc(2025, 6, 1, 0, 1))
		clk.AdvanceTo(at)
	}
	<-done
	if want := []time.Duration{0, 500 * time.Millisecond, time.Second}; !slices.Equal(starts, want) {
		t.Errorf("starts at %v, want %v", starts, want)
	}
	if newStartLimiter(clk, 0) != nil {
		t.Error("rate 0 must not limit")
	}
	slow := newStartLimiter(clk, 0.001)
	if err := slow.Wait(context.Background()); err != nil { // the first start does not wait
		t.Errorf("first start: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := slow.Wait(ctx); err == nil {
		t.Error("a cancelled wait started a host")
	}
}
