package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones resolve on hosts without a zoneinfo database

	"github.com/robfig/cron/v3"
)

// Clock is the daemon's source of time: schedules, blackout windows, rate
// limits and the shutdown grace period all read it, so tests drive them with
// a fake clock instead of sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once d has passed on this clock.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// SystemClock is the real clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) NewTimer(d time.Duration) Timer {
	return systemTimer{time.NewTimer(d)}
}

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

// sleepCtx waits d on clk; it returns ctx's error if ctx ends first.
func sleepCtx(ctx context.Context, clk Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// cronParser reads standard five-field specs with an optional CRON_TZ= or
// TZ= prefix, and the descriptors @yearly, @monthly, @weekly, @daily,
// @hourly and @every DURATION.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed cron spec in a time zone.
type Schedule struct {
	Spec     string         // as written
	Location *time.Location // where the spec's fields are read
	sched    cron.Schedule
}

// ParseSchedule parses a cron spec (robfig/cron/v3 standard syntax). The
// time zone comes from a CRON_TZ= prefix in spec, else from tz, else UTC;
// giving both is an error. Daylight-saving changes follow robfig/cron: a
// wall-clock time that does not exist on the spring-forward day is skipped
// that day, and one that occurs twice on the fall-back day fires twice.
func ParseSchedule(spec, tz string) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Schedule{}, errors.New("empty cron spec")
	}
	prefixed := strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=")
	if prefixed && tz != "" {
		return Schedule{}, fmt.Errorf("cron spec %q names a time zone and so does timezone %q: give one", spec, tz)
	}
	loc := time.UTC
	full := spec
	if prefixed {
		name, _, _ := strings.Cut(spec[strings.Index(spec, "=")+1:], " ")
		l, err := time.LoadLocation(name)
		if err != nil {
			return Schedule{}, fmt.Errorf("cron spec %q: time zone: %w", spec, err)
		}
		loc = l
	} else if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return Schedule{}, fmt.Errorf("timezone %q: %w", tz, err)
		}
		loc = l
		full = "CRON_TZ=" + tz + " " + spec
	}
	s, err := cronParser.Parse(full)
	if err != nil {
		return Schedule{}, fmt.Errorf("cron spec %q: %w", spec, err)
	}
	return Schedule{Spec: spec, Location: loc, sched: s}, nil
}

// Next returns the first scheduled time after t, or the zero time if there
// is none.
func (s Schedule) Next(t time.Time) time.Time { return s.sched.Next(t) }

// Window is a blackout window: while it is active no host is contacted.
// It is either a weekly window (Days, From, To in Location; To <= From
// crosses midnight into the next day) or a cron window (active for
// Duration from each time Cron fires).
type Window struct {
	Name     string
	Location *time.Location
	Days     [7]bool       // by time.Weekday; all false = every day
	From, To time.Duration // since local midnight
	Cron     *Schedule
	Duration time.Duration
}

// Active reports whether t falls inside the window.
func (w Window) Active(t time.Time) bool {
	if w.Cron != nil {
		start := w.Cron.Next(t.Add(-w.Duration))
		return !start.IsZero() && !start.After(t)
	}
	lt := t.In(w.Location)
	// The window that contains t started today or, crossing midnight, yesterday.
	for back := 0; back <= 1; back++ {
		day := lt.AddDate(0, 0, -back)
		if !w.everyDay() && !w.Days[day.Weekday()] {
			continue
		}
		y, m, d := day.Date()
		start := time.Date(y, m, d, 0, 0, 0, 0, w.Location).Add(w.From)
		length := w.To - w.From
		if length <= 0 {
			length += 24 * time.Hour
		}
		end := start.Add(length)
		if !t.Before(start) && t.Before(end) {
			return true
		}
	}
	return false
}

func (w Window) everyDay() bool { return w.Days == [7]bool{} }

// String describes the window for logs and missed-run records.
func (w Window) String() string {
	if w.Cron != nil {
		return fmt.Sprintf("%s (%s for %s)", w.Name, w.Cron.Spec, w.Duration)
	}
	return fmt.Sprintf("%s (%s-%s %s)", w.Name, clockText(w.From), clockText(w.To), w.Location)
}

func clockText(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
}

// Windows is a set of blackout windows.
type Windows []Window

// Active returns the first window active at t.
func (ws Windows) Active(t time.Time) (Window, bool) {
	for _, w := range ws {
		if w.Active(t) {
			return w, true
		}
	}
	return Window{}, false
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parseWeekdays reads day names (mon, tuesday, …) and ranges (mon-fri).
func parseWeekdays(names []string) ([7]bool, error) {
	var days [7]bool
	day := func(s string) (time.Weekday, error) {
		s = strings.ToLower(strings.TrimSpace(s))
		if len(s) >= 3 {
			if d, ok := weekdays[s[:3]]; ok && strings.HasPrefix(strings.ToLower(d.String()), s) {
				return d, nil
			}
		}
		return 0, fmt.Errorf("unknown weekday %q (mon, tue, … or a range mon-fri)", s)
	}
	for _, n := range names {
		if a, b, isRange := strings.Cut(n, "-"); isRange {
			from, err := day(a)
			if err != nil {
				return days, err
			}
			to, err := day(b)
			if err != nil {
				return days, err
			}
			for d := from; ; d = (d + 1) % 7 {
				days[d] = true
				if d == to {
					break
				}
			}
			continue
		}
		d, err := day(n)
		if err != nil {
			return days, err
		}
		days[d] = true
	}
	return days, nil
}

// parseClock reads "HH:MM" (00:00 to 24:00) as time since midnight.
func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) || len(m) != 2 {
		return 0, fmt.Errorf("time of day %q: want HH:MM", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// startLimiter spaces job starts at least 1/perSecond apart on a Clock, with
// no burst: the first start is immediate. It is safe for concurrent use.
type startLimiter struct {
	clock    Clock
	interval time.Duration

	mu   sync.Mutex
	next time.Time
}

func newStartLimiter(clk Clock, perSecond float64) *startLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &startLimiter{clock: clk, interval: time.Duration(float64(time.Second) / perSecond)}
}

// Wait blocks until the caller may start a host, or ctx ends.
func (l *startLimiter) Wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	now := l.clock.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	return sleepCtx(ctx, l.clock, at.Sub(now))
}
