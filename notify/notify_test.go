package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otsweep/otsweep/internal/testbed/smtpd"
	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/store"
)

const (
	testUser = "otsweep-alerts"
	testPass = "S3cret-Sm7p-pass!" // generated for the test server; appears nowhere else
)

// received is a parsed message as the server got it.
type received struct {
	smtpd.Message
	Subject string
	To      string
	Text    string
	HTML    string
}

func parse(t *testing.T, m smtpd.Message) received {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, m.Data)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	r := received{Message: m, Subject: subj, To: msg.Header.Get("To")}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		r.Text = decodePart(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return r
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body := decodePart(t, p.Header.Get("Content-Transfer-Encoding"), p)
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			r.Text = body
		case "text/html":
			r.HTML = body
		}
	}
	return r
}

func decodePart(t *testing.T, enc string, r io.Reader) string {
	t.Helper()
	switch strings.ToLower(enc) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func testMailer(srv *smtpd.Server) *Mailer {
	return &Mailer{
		SMTP: SMTP{Host: srv.Host, Port: srv.Port, Security: StartTLS, Username: testUser,
			Password: probes.NewSecret(testPass), From: "otsweep@plant.example", RootCAs: srv.CertPool, Timeout: 5 * time.Second},
		Retry: Retry{Attempts: 3, Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond},
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "otsweep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// beginSweep records a sweep for deliveries to refer to.
func beginSweep(t *testing.T, st *store.Store) int64 {
	t.Helper()
	sw, err := st.BeginSweep(t.Context(), "nightly", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	return sw.ID
}

var t0 = time.Date(2025, 6, 3, 2, 0, 5, 0, time.UTC)

// sweepEvents are the events of one sweep, shaped like scheduler.Drift's,
// in the order the store returns them (not regressions first).
func sweepEvents() []store.DriftEvent {
	return []store.DriftEvent{
		{ID: 11, At: t0, ScanID: 101, Asset: "hist-01", Zone: "ops-l3", Kind: store.DriftFact, Subject: "packages.list",
			Title: "installed software", Before: "removed: (1) openssl 3.0.15-1~deb12u1", After: "added: (1) openssl 3.0.16-1~deb12u1"},
		{ID: 12, At: t0, ScanID: 102, Asset: "hmi-07", Zone: "cell-3", Kind: store.DriftCheckFailing, Subject: "linux.pw.max_age",
			Title: "Password maximum age", FR: "FR 1", Requirements: []string{"SR 1.7"},
			Before: "pass; expected login_defs.pass_max_days <= 90; actual 90",
			After:  "fail; expected login_defs.pass_max_days <= 90; actual 99999; evidence: PASS_MAX_DAYS\t99999", Regression: true},
		{ID: 13, At: t0, ScanID: 102, Asset: "hmi-07", Zone: "cell-3", Kind: store.DriftFact, Subject: "sys.descr",
			Title: "firmware / OS build", Before: "v2.1", After: "<script>alert('x')</script>\x1b[31m v2.2", Regression: false},
		{ID: 14, At: t0, ScanID: 102, Asset: "hmi-07", Zone: "cell-3", Kind: store.DriftLevel, Subject: "FR 1",
			Title: "Identification and authentication control", FR: "FR 1", Requirements: []string{"SR 1.7"},
			Before: "SL-A 2 (SL-T 3)", After: "SL-A 1 (SL-T 3)", Regression: true},
	}
}

func TestDigestEndToEnd(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Config{Username: testUser, Password: testPass})
	st := openStore(t)
	var logs bytes.Buffer
	n := &Notifier{Sender: testMailer(srv), Store: st, Catalog: mapping.DefaultCatalog(),
		Recipients: Recipients{Default: []string{"ot-security@plant.example"}, Zones: map[string][]string{"cell-3": {"line3@plant.example"}}},
		Logger:     slogTo(&logs)}
	n.Sender.(*Mailer).Logger = slogTo(&logs)
	sw := SweepInfo{ID: beginSweep(t, st), Name: "nightly", Status: "complete", Started: t0, Finished: t0.Add(3 * time.Minute)}

	dels, err := n.SendDigest(t.Context(), sw, sweepEvents())
	if err != nil {
		t.Fatalf("SendDigest: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 || len(dels) != 2 {
		t.Fatalf("%d messages, %d deliveries; want 2 (everything to the default list, cell-3 to line 3)", len(msgs), len(dels))
	}
	byTo := map[string]received{}
	for _, m := range msgs {
		r := parse(t, m)
		if !r.TLS || r.AuthUser != testUser || r.From != "otsweep@plant.example" {
			t.Errorf("message to %v: tls %v auth %q from %q", r.Message.To, r.TLS, r.AuthUser, r.From)
		}
		byTo[strings.Join(r.Message.To, ",")] = r
	}
	all, line3 := byTo["ot-security@plant.example"], byTo["line3@plant.example"]
	if all.Text == "" || line3.Text == "" {
		t.Fatalf("recipients %v", slices.Collect(maps.Keys(byTo)))
	}

	t.Run("subject", func(t *testing.T) {
		if want := "[otsweep] nightly: 2 regression(s), 2 other change(s) on 2 asset(s)"; all.Subject != want {
			t.Errorf("subject %q, want %q", all.Subject, want)
		}
		if want := "[otsweep] nightly: 2 regression(s), 1 other change(s) on 1 asset(s)"; line3.Subject != want {
			t.Errorf("subject %q, want %q", line3.Subject, want)
		}
	})
	t.Run("zone recipients see only their zone", func(t *testing.T) {
		if strings.Contains(line3.Text, "hist-01") || !strings.Contains(all.Text, "hist-01") {
			t.Error("hist-01 (ops-l3) must reach the default list only")
		}
	})
	t.Run("regressions first, with FR, SR/RE and evidence", func(t *testing.T) {
		for _, body := range []string{all.Text, all.HTML} {
			iReg := strings.Index(body, "linux.pw.max_age")
			iLvl := strings.Index(body, "SL-A 1 (SL-T 3)")
			iOther := strings.Index(body, "packages.list")
			if iReg < 0 || iLvl < 0 || iOther < 0 || iReg > iOther || iLvl > iOther {
				t.Errorf("order: check %d, level %d, other %d in\n%s", iReg, iLvl, iOther, body)
			}
		}
		for _, want := range []string{
			"[1] hmi-07 (zone cell-3): SL-A changed: FR 1 - Identification and authentication control",
			"[2] hmi-07 (zone cell-3): check newly failing: linux.pw.max_age - Password maximum age",
			"    FR:      FR 1 Identification and authentication control",
			"    SR/RE:   SR 1.7 Strength of password-based authentication",
			"    Before:  pass; expected login_defs.pass_max_days <= 90; actual 90",
			"    After:   fail; expected login_defs.pass_max_days <= 90; actual 99999; evidence: PASS_MAX_DAYS 99999",
			"    Seen:    2025-06-03 02:00:05 UTC (scan 102)",
			"REGRESSIONS", "OTHER CHANGES",
		} {
			if !strings.Contains(all.Text, want) {
				t.Errorf("text lacks %q:\n%s", want, all.Text)
			}
		}
	})
	t.Run("html escapes what hosts report", func(t *testing.T) {
		if strings.Contains(all.HTML, "<script>") || !strings.Contains(all.HTML, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") {
			t.Errorf("host text not escaped in HTML:\n%s", all.HTML)
		}
		if strings.Contains(all.Text, "\x1b") || strings.Contains(all.HTML, "\x1b") {
			t.Error("terminal escape passed through")
		}
		if !strings.Contains(all.HTML, "<h2 class=\"reg\">Regressions</h2>") {
			t.Error("no regressions heading in HTML")
		}
	})
	t.Run("deliveries recorded", func(t *testing.T) {
		got, err := st.Deliveries(t.Context(), 0, 0)
		if err != nil || len(got) != 2 {
			t.Fatalf("deliveries %+v, %v", got, err)
		}
		for _, d := range got {
			if d.Status != store.DeliverySent || d.Attempts != 1 || d.Kind != store.DeliveryDigest || d.Error != "" {
				t.Errorf("delivery %+v", d)
			}
			if d.Recipients[0] == "line3@plant.example" && !slices.Equal(d.Events, []int64{12, 13, 14}) {
				t.Errorf("line 3 delivery carries events %v", d.Events)
			}
		}
	})
	t.Run("nothing to report sends nothing", func(t *testing.T) {
		dels, err := n.SendDigest(t.Context(), sw, nil)
		if len(dels) != 0 || err != nil || len(srv.Messages()) != 2 {
			t.Errorf("empty digest: %v %v, %d messages", dels, err, len(srv.Messages()))
		}
	})
	if strings.Contains(logs.String(), testPass) {
		t.Error("the SMTP password reached the log")
	}
}

func TestRetryWhileServerDown(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Config{Username: testUser, Password: testPass})
	st := openStore(t)

	t.Run("down, then up again", func(t *testing.T) {
		srv.Stop()
		m := testMailer(srv)
		var waits []time.Duration
		m.Sleep = func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			if len(waits) == 2 { // the server comes back after the second failure
				if err := srv.Restart(); err != nil {
					t.Fatal(err)
				}
			}
			return nil
		}
		n := &Notifier{Sender: m, Store: st, Recipients: Recipients{Default: []string{"ot@plant.example"}}}
		dels, err := n.SendDigest(t.Context(), SweepInfo{ID: beginSweep(t, st), Name: "nightly"}, sweepEvents()[:1])
		if err != nil {
			t.Fatalf("SendDigest: %v", err)
		}
		if len(dels) != 1 || dels[0].Status != store.DeliverySent || dels[0].Attempts != 3 {
			t.Fatalf("deliveries %+v", dels)
		}
		if !slices.Equal(waits, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}) {
			t.Errorf("backoff waits %v", waits)
		}
		if len(srv.Messages()) != 1 {
			t.Errorf("%d messages received", len(srv.Messages()))
		}
	})

	t.Run("down for good: bounded, recorded as failed", func(t *testing.T) {
		srv.Stop()
		m := testMailer(srv)
		m.Retry = Retry{Attempts: 4, Initial: time.Millisecond, Max: 2 * time.Millisecond}
		var waits []time.Duration
		m.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
		n := &Notifier{Sender: m, Store: st, Recipients: Recipients{Default: []string{"ot@plant.example"}}}
		dels, err := n.SendDigest(t.Context(), SweepInfo{ID: beginSweep(t, st), Name: "nightly"}, sweepEvents()[:1])
		if err == nil || len(dels) != 1 || dels[0].Status != store.DeliveryFailed || dels[0].Attempts != 4 || dels[0].Error == "" {
			t.Fatalf("deliveries %+v, %v", dels, err)
		}
		if !slices.Equal(waits, []time.Duration{time.Millisecond, 2 * time.Millisecond, 2 * time.Millisecond}) {
			t.Errorf("waits %v", waits)
		}
		recs, _ := st.Deliveries(t.Context(), 0, 0)
		if len(recs) != 2 || recs[1].Status != store.DeliveryFailed || !strings.Contains(recs[1].Error, srv.Addr()) {
			t.Errorf("stored deliveries %+v", recs)
		}
	})

	t.Run("ctx ends the retries", func(t *testing.T) {
		m := testMailer(srv) // still down
		ctx, cancel := context.WithCancel(t.Context())
		m.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); <-ctx.Done(); return ctx.Err() }
		n, err := m.Send(ctx, Message{To: []string{"ot@plant.example"}, Subject: "s", Text: "t"})
		if n != 1 || !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %d, %v", n, err)
		}
	})
}

func TestAuthAndTLSFailures(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Config{Username: testUser, Password: testPass})
	msg := Message{To: []string{"ot@plant.example"}, Subject: "s", Text: "t"}
	tests := []struct {
		name   string
		change func(m *Mailer)
	}{
		{"wrong password", func(m *Mailer) { m.SMTP.Password = probes.NewSecret("wrong-" + testPass) }},
		{"untrusted certificate", func(m *Mailer) { m.SMTP.RootCAs = nil }},
		{"implicit TLS to a STARTTLS port", func(m *Mailer) { m.SMTP.Security = ImplicitTLS }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMailer(srv)
			m.Retry = Retry{Attempts: 2, Initial: time.Millisecond}
			tt.change(m)
			n, err := m.Send(t.Context(), msg)
			if err == nil || n != 2 {
				t.Fatalf("Send = %d, %v; want an error after 2 attempts", n, err)
			}
			if strings.Contains(err.Error(), testPass) {
				t.Errorf("error carries the password: %v", err)
			}
		})
	}
	if len(srv.Messages()) != 0 {
		t.Errorf("%d messages accepted", len(srv.Messages()))
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Config{Username: testUser, Password: testPass, ImplicitTLS: true})
	m := testMailer(srv)
	m.SMTP.Security = ImplicitTLS
	if n, err := m.Send(t.Context(), Message{To: []string{"ot@plant.example"}, Subject: "s", Text: "t"}); n != 1 || err != nil {
		t.Fatalf("Send = %d, %v", n, err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS || msgs[0].AuthUser != testUser {
		t.Errorf("messages %+v", msgs)
	}
	m.SMTP.Security = StartTLS                                         // plain greeting expected, TLS handshake found
	m.Retry, m.SMTP.Timeout = Retry{Attempts: 1}, 500*time.Millisecond // the client waits for a greeting that never comes
	if _, err := m.Send(t.Context(), Message{To: []string{"ot@plant.example"}, Subject: "s", Text: "t"}); err == nil {
		t.Error("STARTTLS to an implicit-TLS port succeeded")
	}
}

func TestSendTest(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Config{Username: testUser, Password: testPass})
	st := openStore(t)
	n := &Notifier{Sender: testMailer(srv), Store: st,
		Recipients: Recipients{Default: []string{"a@plant.example"}, Zones: map[string][]string{"z": {"b@plant.example", "a@plant.example"}}}}
	d, err := n.SendTest(t.Context())
	if err != nil || d.Status != store.DeliverySent || d.Kind != store.DeliveryTest {
		t.Fatalf("SendTest = %+v, %v", d, err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"a@plant.example", "b@plant.example"}) {
		t.Fatalf("messages %+v", msgs)
	}
	if r := parse(t, msgs[0]); r.Subject != "[otsweep] test message" || !strings.Contains(r.Text, "b@plant.example") {
		t.Errorf("test message %q\n%s", r.Subject, r.Text)
	}
}

func TestValidate(t *testing.T) {
	good := SMTP{Host: "mail.plant.example", Security: StartTLS, Username: "u", Password: probes.NewSecret("p"), From: "otsweep@plant.example"}
	tests := []struct {
		name   string
		change func(*SMTP)
		ok     bool
	}{
		{"good", func(*SMTP) {}, true},
		{"implicit tls", func(c *SMTP) { c.Security = ImplicitTLS }, true},
		{"no auth", func(c *SMTP) { c.Username, c.Password = "", probes.Secret{} }, true},
		{"plain to loopback", func(c *SMTP) { c.Security, c.Host = PlainSMTP, "127.0.0.1" }, true},
		{"plain to localhost", func(c *SMTP) { c.Security, c.Host = PlainSMTP, "localhost" }, true},
		{"plain to a relay", func(c *SMTP) { c.Security = PlainSMTP }, false},
		{"plain to a private address", func(c *SMTP) { c.Security, c.Host = PlainSMTP, "10.0.0.25" }, false},
		{"unknown security", func(c *SMTP) { c.Security = "ssl" }, false},
		{"no host", func(c *SMTP) { c.Host = "" }, false},
		{"bad from", func(c *SMTP) { c.From = "not an address" }, false},
		{"user without password", func(c *SMTP) { c.Password = probes.Secret{} }, false},
		{"password without user", func(c *SMTP) { c.Username = "" }, false},
		{"port out of range", func(c *SMTP) { c.Port = 70000 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			err := c.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Errorf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if err := (Recipients{Default: []string{"ok@plant.example"}, Zones: map[string][]string{"z": {"nope"}}}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad zone recipient: %v", err)
	}
}

func TestSecretRef(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"OTSWEEP_SMTP_PASSWORD": "from-env"}
	tests := []struct {
		name string
		ref  SecretRef
		want string
		ok   bool
	}{
		{"env", SecretRef{Env: "OTSWEEP_SMTP_PASSWORD"}, "from-env", true},
		{"env unset", SecretRef{Env: "OTSWEEP_NOPE"}, "", false},
		{"owner-only file", SecretRef{File: write("pw", 0o600, "from-file\n")}, "from-file", true},
		{"read-only file", SecretRef{File: write("pw-ro", 0o400, "ro")}, "ro", true},
		{"group-readable file", SecretRef{File: write("pw-open", 0o640, "leaky")}, "", false},
		{"empty file", SecretRef{File: write("pw-empty", 0o600, "\n")}, "", false},
		{"missing file", SecretRef{File: filepath.Join(dir, "none")}, "", false},
		{"both", SecretRef{Env: "OTSWEEP_SMTP_PASSWORD", File: "/x"}, "", false},
		{"none", SecretRef{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.ref.Resolve(func(k string) string { return env[k] })
			if (err == nil) != tt.ok || s.Reveal() != tt.want {
				t.Fatalf("Resolve = %q, %v; want %q ok=%v", s.Reveal(), err, tt.want, tt.ok)
			}
			if err != nil && (strings.Contains(err.Error(), "leaky") || strings.Contains(err.Error(), "from-env")) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestRetryWait(t *testing.T) {
	r := Retry{}
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, r.wait(n))
	}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 2 * time.Minute, 2 * time.Minute}
	if !slices.Equal(got, want) || r.attempts() != 5 {
		t.Errorf("default waits %v attempts %d", got, r.attempts())
	}
}

// concurrency: one Mailer serves concurrent sends (the daemon's sweeps).
func TestConcurrentSends(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Config{Username: testUser, Password: testPass})
	m := testMailer(srv)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.Send(t.Context(), Message{To: []string{"ot@plant.example"}, Subject: "s", Text: "t"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(srv.Messages()) != 4 {
		t.Errorf("%d messages", len(srv.Messages()))
	}
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
