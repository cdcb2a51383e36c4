package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// Sentinel errors. Every error the store returns wraps one of these or an
// error from SQLite or the context.
var (
	// ErrNotFound: the sweep, scan or asset asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrSchemaTooNew: the database was migrated by a newer otsweep.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
	// ErrPragma: SQLite did not apply a setting the store depends on.
	ErrPragma = errors.New("sqlite setting not applied")
	// ErrNotRunning: the sweep is finished and takes no more scans.
	ErrNotRunning = errors.New("sweep is not running")
	// ErrInvalid: the value handed to the store cannot be recorded.
	ErrInvalid = errors.New("invalid value")
)

// Defaults for Open.
const (
	DefaultBusyTimeout = 5 * time.Second
	DefaultStaleAfter  = 30 * time.Minute
)

// Option configures Open.
type Option func(*config)

type config struct {
	now        func() time.Time
	busy       time.Duration
	staleAfter time.Duration
	readers    int
}

// WithClock sets the clock used for every timestamp the store itself takes
// (sweep start and finish, heartbeats, asset first/last seen, removal). Scan
// start and finish times come from the Scan.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithBusyTimeout sets how long a statement waits for another connection or
// process holding the database lock before failing (default 5 s). It is
// rounded down to milliseconds and must be at least 1 ms.
func WithBusyTimeout(d time.Duration) Option { return func(c *config) { c.busy = d } }

// WithStaleAfter sets after how long without a heartbeat RecoverIncomplete
// considers a running sweep dead when it cannot check the owning process
// directly (another host, or a platform without process information).
// Default 30 minutes.
func WithStaleAfter(d time.Duration) Option { return func(c *config) { c.staleAfter = d } }

// WithReaders sets the size of the read connection pool (default: the number
// of CPUs, at least 2).
func WithReaders(n int) Option { return func(c *config) { c.readers = n } }

// Store is otsweep's history database. It is safe for concurrent use; see the
// package documentation for the one-writer rule and what it guarantees.
type Store struct {
	path string
	// w is the single write connection. Only write uses it.
	w *sqlx.DB
	// wlock is held by write for the whole of a write transaction, so that
	// goroutines queue here (honouring their ctx) rather than inside SQLite.
	wlock chan struct{}
	// r is a pool of query_only connections for reads.
	r *sqlx.DB

	now        func() time.Time
	staleAfter time.Duration
	self       owner
}

// Open opens (creating if needed) the SQLite database at path, checks that WAL
// journaling, foreign keys, the busy timeout and synchronous=NORMAL are in
// force on both the write connection and the read pool, and applies pending
// migrations. It refuses a database whose schema is newer than this program
// (ErrSchemaTooNew). The directory must exist. ctx bounds the opening and the
// migrations only. A new database file is created readable by its owner only
// (it maps the plant's weaknesses); SQLite gives its -wal and -shm files the
// same permissions.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{now: time.Now, busy: DefaultBusyTimeout, staleAfter: DefaultStaleAfter, readers: max(2, runtime.NumCPU())}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" {
		return nil, fmt.Errorf("store: open: empty path: %w", ErrInvalid)
	}
	if cfg.busy < time.Millisecond || cfg.readers < 1 || cfg.staleAfter <= 0 || cfg.now == nil {
		return nil, fmt.Errorf("store: open %s: busy timeout, readers, stale-after or clock out of range: %w", path, ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	want := pragmas{busyMS: cfg.busy.Milliseconds()}

	s := &Store{path: abs, wlock: make(chan struct{}, 1), now: cfg.now, staleAfter: cfg.staleAfter, self: currentOwner()}
	if s.w, err = openPool(ctx, dsn(abs, want, false), 1, want); err != nil {
		return nil, fmt.Errorf("store: open %s: writer: %w", abs, err)
	}
	mfs, err := migrationFS()
	if err == nil {
		err = s.migrate(ctx, mfs)
	}
	if err != nil {
		_ = s.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	want.queryOnly = true
	if s.r, err = openPool(ctx, dsn(abs, want, true), cfg.readers, want); err != nil {
		_ = s.w.Close()
		return nil, fmt.Errorf("store: open %s: readers: %w", abs, err)
	}
	return s, nil
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close closes both connection pools after the calls in progress have
// finished; no call may start after it.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// createPrivate creates an empty file at path with mode 0600 unless a file
// is there already.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// pragmas are the settings every connection must run with.
type pragmas struct {
	busyMS    int64
	queryOnly bool
}

// dsn builds a go-sqlite3 URI for path. Settings passed here are applied by
// the driver on every new connection, so they hold for the whole pool; the
// writer takes the write lock at BEGIN (_txlock=immediate) so a transaction
// never has to upgrade a read lock, which SQLite cannot wait for.
func dsn(path string, p pragmas, reader bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(p.busyMS, 10))
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_stmt_cache_size", "64") // the store runs a few dozen fixed statements
	if reader {
		q.Set("_query_only", "on")
	} else {
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

func openPool(ctx context.Context, dsn string, conns int, want pragmas) (*sqlx.DB, error) {
	db, err := sqlx.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	conn, err := db.Conn(ctx)
	if err == nil {
		err = checkPragmas(ctx, conn, want)
		err = errors.Join(err, conn.Close())
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// checkPragmas reads back the settings of one connection and fails with
// ErrPragma if any is not what the store depends on.
func checkPragmas(ctx context.Context, conn *sql.Conn, want pragmas) error {
	var journal string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journal); err != nil {
		return fmt.Errorf("read journal_mode: %w", err)
	}
	if journal != "wal" {
		return fmt.Errorf("journal_mode is %q, want wal: %w", journal, ErrPragma)
	}
	queryOnly := int64(0)
	if want.queryOnly {
		queryOnly = 1
	}
	for _, p := range []struct {
		name string
		want int64
	}{
		{"foreign_keys", 1},
		{"busy_timeout", want.busyMS},
		{"synchronous", 1}, // NORMAL
		{"query_only", queryOnly},
	} {
		var got int64
		if err := conn.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&got); err != nil {
			return fmt.Errorf("read %s: %w", p.name, err)
		}
		if got != p.want {
			return fmt.Errorf("%s is %d, want %d: %w", p.name, got, p.want, ErrPragma)
		}
	}
	return nil
}

// tx is a write transaction with the time it runs at: every timestamp the
// store takes inside one transaction is the same.
type tx struct {
	*sqlx.Tx
	now time.Time
}

// write runs fn in a write transaction on the single write connection and
// commits it if fn returns nil. Waiting for the lock honours ctx; SQLite waits
// up to the busy timeout for other processes.
func (s *Store) write(ctx context.Context, fn func(*tx) error) error {
	select {
	case s.wlock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wlock }()
	t, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&tx{Tx: t, now: s.now()}); err != nil {
		_ = t.Rollback()
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// beginAttempts bounds how often begin retries a BEGIN IMMEDIATE that found
// the database locked for a whole busy timeout.
const beginAttempts = 5

// begin starts a write transaction. SQLite's busy handler backs off while it
// waits, so a process writing back to back can hold the lock for longer than
// the busy timeout; as BEGIN IMMEDIATE has done nothing yet when it fails, it
// is safe to try again.
func (s *Store) begin(ctx context.Context) (*sqlx.Tx, error) {
	for i := 1; ; i++ {
		t, err := s.w.BeginTxx(ctx, nil)
		if err == nil || i == beginAttempts || !isBusy(err) {
			return t, err
		}
	}
}

// read runs fn in a read transaction, so that all its queries see one
// snapshot of the database.
func (s *Store) read(ctx context.Context, fn func(*sqlx.Tx) error) error {
	t, err := s.r.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer func() { _ = t.Rollback() }()
	return fn(t)
}

// Time encoding: INTEGER Unix nanoseconds, NULL for the zero time.

func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
