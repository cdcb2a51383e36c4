package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/store"
)

// Sender delivers one message; *Mailer implements it.
type Sender interface {
	Send(ctx context.Context, msg Message) (attempts int, err error)
}

// DeliveryRecorder stores what became of each message; *store.Store
// implements it.
type DeliveryRecorder interface {
	RecordDelivery(ctx context.Context, d *store.Delivery) error
}

// Recipients says who hears about which asset: Default receives every
// change, Zones[z] the changes of assets in zone z.
type Recipients struct {
	Default []string
	Zones   map[string][]string
}

// Validate checks every address.
func (r Recipients) Validate() error {
	check := func(where string, list []string) error {
		for _, a := range list {
			if _, err := mail.ParseAddress(a); err != nil {
				return fmt.Errorf("recipients %s: %q: %v: %w", where, a, err, ErrInvalid)
			}
		}
		return nil
	}
	if err := check("default", r.Default); err != nil {
		return err
	}
	for z, list := range r.Zones {
		if err := check("of zone "+z, list); err != nil {
			return err
		}
	}
	return nil
}

// All returns every configured address once, sorted.
func (r Recipients) All() []string {
	var out []string
	for _, l := range append([][]string{r.Default}, mapValues(r.Zones)...) {
		for _, a := range l {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

func mapValues(m map[string][]string) [][]string {
	out := make([][]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// For returns who hears about an asset in zone: the default list and the
// zone's, each address once.
func (r Recipients) For(zone string) []string {
	out := slices.Clone(r.Default)
	for _, a := range r.Zones[zone] {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Notifier turns a sweep's drift events into digests and records each
// delivery. It is safe for concurrent use; its fields must not change after
// first use.
type Notifier struct {
	Sender        Sender
	Recipients    Recipients
	Store         DeliveryRecorder // nil: deliveries are not recorded
	Catalog       *mapping.Catalog // FR and SR/RE titles; nil: ids only
	SubjectPrefix string           // default "[otsweep]"
	Now           func() time.Time // nil = time.Now
	Logger        *slog.Logger
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func (n *Notifier) logger() *slog.Logger {
	if n.Logger != nil {
		return n.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// SendDigest mails the drift events of one sweep: every recipient gets one
// message with the events of the zones they follow (recipients who follow
// the same events share a message), regressions first. Only the events given
// are sent, so a caller that passes the events recorded in this sweep sends
// each transition once. No events, or no recipient for them, sends nothing.
// Each message is recorded as a delivery (sent or failed). The error joins
// every send and record failure; the deliveries are returned either way.
func (n *Notifier) SendDigest(ctx context.Context, sw SweepInfo, events []store.DriftEvent) ([]store.Delivery, error) {
	byAddr := map[string][]store.DriftEvent{}
	for _, e := range events {
		for _, a := range n.Recipients.For(e.Zone) {
			byAddr[a] = append(byAddr[a], e)
		}
	}
	// Group the addresses that receive the same events.
	type group struct {
		to     []string
		events []store.DriftEvent
	}
	groups := map[string]*group{}
	var keys []string
	for a, evs := range byAddr {
		k := eventKey(evs)
		g, ok := groups[k]
		if !ok {
			g = &group{events: evs}
			groups[k] = g
			keys = append(keys, k)
		}
		g.to = append(g.to, a)
	}
	slices.Sort(keys)
	var (
		out  []store.Delivery
		errs []error
	)
	for _, k := range keys {
		g := groups[k]
		slices.Sort(g.to)
		msg, err := BuildDigest(sw, g.events, n.Catalog, n.SubjectPrefix)
		if err != nil {
			return out, err
		}
		msg.To = g.to
		d := store.Delivery{SweepID: sw.ID, Kind: store.DeliveryDigest, Recipients: g.to, Subject: msg.Subject}
		for _, e := range g.events {
			if e.ID != 0 {
				d.Events = append(d.Events, e.ID)
			}
		}
		if err := n.deliver(ctx, msg, &d); err != nil {
			errs = append(errs, err)
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

func eventKey(evs []store.DriftEvent) string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = strconv.FormatInt(e.ID, 10) + "/" + e.Kind + "/" + e.Asset + "/" + e.Subject
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// deliver sends msg and records the outcome in d (and the store).
func (n *Notifier) deliver(ctx context.Context, msg Message, d *store.Delivery) error {
	d.Started = n.now()
	attempts, err := n.Sender.Send(ctx, msg)
	d.Finished, d.Attempts = n.now(), attempts
	d.Status = store.DeliverySent
	if err != nil {
		d.Status, d.Error = store.DeliveryFailed, err.Error()
		err = fmt.Errorf("alert %q to %s: %w", msg.Subject, strings.Join(msg.To, ", "), err)
	}
	if n.Store != nil {
		if rerr := n.Store.RecordDelivery(context.WithoutCancel(ctx), d); rerr != nil {
			n.logger().Error("alert delivery not recorded", "subject", msg.Subject, "err", rerr)
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// SendTest mails a short test message to every configured recipient and
// records the delivery.
func (n *Notifier) SendTest(ctx context.Context) (store.Delivery, error) {
	to := n.Recipients.All()
	if len(to) == 0 {
		return store.Delivery{}, fmt.Errorf("alert test: no recipients configured: %w", ErrInvalid)
	}
	prefix := n.SubjectPrefix
	if prefix == "" {
		prefix = "[otsweep]"
	}
	now := n.now()
	msg := Message{To: to, Subject: prefix + " test message",
		Text: fmt.Sprintf("This is a test message from otsweep, sent at %s.\n\n"+
			"Drift alerts for this site will come from this address to these recipients:\n  %s\n",
			fmtTime(now), strings.Join(to, "\n  ")),
	}
	d := store.Delivery{Kind: store.DeliveryTest, Recipients: to, Subject: msg.Subject}
	err := n.deliver(ctx, msg, &d)
	return d, err
}
