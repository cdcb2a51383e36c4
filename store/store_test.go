package store

import (
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
)

func TestPragmas(t *testing.T) {
	s := openTest(t, WithBusyTimeout(1234*time.Millisecond))
	raw, err := sql.Open("sqlite3", s.Path()) // the driver's defaults: no WAL check, no foreign keys
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })

	tests := []struct {
		name    string
		db      *sql.DB
		want    pragmas
		wantErr error
	}{
		{"writer", s.w.DB, pragmas{busyMS: 1234}, nil},
		{"reader", s.r.DB, pragmas{busyMS: 1234, queryOnly: true}, nil},
		{"reader is not writable", s.r.DB, pragmas{busyMS: 1234}, ErrPragma},
		{"connection without settings", raw, pragmas{busyMS: 1234}, ErrPragma},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			conn, err := tt.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := checkPragmas(ctx, conn, tt.want); !errors.Is(err, tt.wantErr) {
				t.Fatalf("checkPragmas = %v, want %v", err, tt.wantErr)
			}
		})
	}

	t.Run("reader refuses writes", func(t *testing.T) {
		if _, err := s.r.ExecContext(testCtx(t), `INSERT INTO names (name) VALUES ('x')`); err == nil {
			t.Fatal("insert through the read pool succeeded")
		}
	})
	t.Run("foreign keys enforced", func(t *testing.T) {
		err := s.write(testCtx(t), func(tx *tx) error {
			_, err := tx.ExecContext(testCtx(t), `INSERT INTO scans (sweep_id, asset_id, revision_id, status, started_at)
				VALUES (999, 999, 999, 'ok', 1)`)
			return err
		})
		if err == nil {
			t.Fatal("scan with dangling references was inserted")
		}
	})
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name string
		path string
		opts []Option
		want error
	}{
		{"empty path", "", nil, ErrInvalid},
		{"busy timeout below 1ms", "x.db", []Option{WithBusyTimeout(time.Microsecond)}, ErrInvalid},
		{"no readers", "x.db", []Option{WithReaders(0)}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path != "" {
				path = filepath.Join(t.TempDir(), path)
			}
			s, err := Open(testCtx(t), path, tt.opts...)
			if err == nil {
				_ = s.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		s, err := Open(testCtx(t), filepath.Join(t.TempDir(), "nope", "x.db"))
		if err == nil {
			_ = s.Close()
			t.Fatal("Open in a missing directory succeeded")
		}
	})
}

// bareStore opens only the write connection of a fresh file, unmigrated.
func bareStore(t *testing.T) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bare.db")
	w, err := openPool(testCtx(t), dsn(path, pragmas{busyMS: 5000}, false), 1, pragmas{busyMS: 5000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return &Store{path: path, w: w, r: w, wlock: make(chan struct{}, 1), now: newTestClock().Now}
}

func versions(t *testing.T, db *sqlx.DB) []int {
	t.Helper()
	var v []int
	if err := db.SelectContext(testCtx(t), &v, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		t.Fatal(err)
	}
	return v
}

func tableExists(t *testing.T, db *sqlx.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.GetContext(testCtx(t), &n, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, name); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestMigrate(t *testing.T) {
	m1 := &fstest.MapFile{Data: []byte(`CREATE TABLE a (id INTEGER PRIMARY KEY);`)}
	m2 := &fstest.MapFile{Data: []byte(`CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));
		INSERT INTO a (id) VALUES (1); INSERT INTO b (a_id) VALUES (1);`)}
	bad := &fstest.MapFile{Data: []byte(`CREATE TABLE c (id INTEGER PRIMARY KEY); INSERT INTO nosuch VALUES (1);`)}

	tests := []struct {
		name      string
		runs      []fs.FS // applied in turn to one database
		wantErr   error   // of the last run; nil: all succeed
		wantVers  []int
		tables    []string
		notTables []string
	}{
		{
			name:     "applies in order",
			runs:     []fs.FS{fstest.MapFS{"002_b.sql": m2, "001_a.sql": m1}},
			wantVers: []int{1, 2}, tables: []string{"a", "b"},
		},
		{
			name:     "idempotent",
			runs:     []fs.FS{fstest.MapFS{"001_a.sql": m1, "002_b.sql": m2}, fstest.MapFS{"001_a.sql": m1, "002_b.sql": m2}},
			wantVers: []int{1, 2}, tables: []string{"a", "b"},
		},
		{
			name:     "new migration applied later",
			runs:     []fs.FS{fstest.MapFS{"001_a.sql": m1}, fstest.MapFS{"001_a.sql": m1, "002_b.sql": m2}},
			wantVers: []int{1, 2}, tables: []string{"a", "b"},
		},
		{
			name:     "failed migration rolls back",
			runs:     []fs.FS{fstest.MapFS{"001_a.sql": m1, "002_c.sql": bad}},
			wantErr:  errAny,
			wantVers: []int{1}, tables: []string{"a"}, notTables: []string{"c"},
		},
		{
			name:     "newer schema refused",
			runs:     []fs.FS{fstest.MapFS{"001_a.sql": m1, "002_b.sql": m2}, fstest.MapFS{"001_a.sql": m1}},
			wantErr:  ErrSchemaTooNew,
			wantVers: []int{1, 2},
		},
		{
			name:    "gap in numbers",
			runs:    []fs.FS{fstest.MapFS{"001_a.sql": m1, "003_b.sql": m2}},
			wantErr: ErrInvalid,
		},
		{
			name:    "unnumbered file",
			runs:    []fs.FS{fstest.MapFS{"init.sql": m1}},
			wantErr: ErrInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := bareStore(t)
			var err error
			for i, fsys := range tt.runs {
				err = s.migrate(testCtx(t), fsys)
				if i < len(tt.runs)-1 && err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("migrate: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("migrate = %v, want %v", err, tt.wantErr)
			}
			if tt.wantVers != nil {
				if got := versions(t, s.w); !slices.Equal(got, tt.wantVers) {
					t.Errorf("versions = %v, want %v", got, tt.wantVers)
				}
			}
			for _, tb := range tt.tables {
				if !tableExists(t, s.w, tb) {
					t.Errorf("table %s missing", tb)
				}
			}
			for _, tb := range tt.notTables {
				if tableExists(t, s.w, tb) {
					t.Errorf("table %s exists", tb)
				}
			}
		})
	}
}

// errAny in a test table means "some error".
var errAny = errors.New("any error")

func TestOpenMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "otsweep.db")
	mfs, err := migrationFS()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(mfs)
	if err != nil || len(ms) == 0 {
		t.Fatalf("embedded migrations: %v, %d", err, len(ms))
	}

	s1, err := Open(testCtx(t), path)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := s1.BeginSweep(testCtx(t), "nightly", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("reopen keeps schema and data", func(t *testing.T) {
		s2 := openAt(t, path)
		if got := versions(t, s2.w); len(got) != len(ms) {
			t.Errorf("versions = %v, want %d of them", got, len(ms))
		}
		if _, err := s2.Sweep(testCtx(t), sw.ID); err != nil {
			t.Errorf("sweep lost on reopen: %v", err)
		}
		if _, err := s2.w.ExecContext(testCtx(t), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)`, len(ms)+1); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("newer schema refused", func(t *testing.T) {
		s3, err := Open(testCtx(t), path)
		if err == nil {
			_ = s3.Close()
		}
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
		}
	})
}

func TestWriteWhileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	tests := []struct {
		name     string
		busy     time.Duration
		hold     time.Duration
		wantBusy bool
	}{
		{"lock released within the busy timeout", time.Second, 50 * time.Millisecond, false},
		{"lock held past every attempt", 20 * time.Millisecond, 2 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openAt(t, path, WithBusyTimeout(tt.busy))
			other := openAt(t, path)
			ctx := testCtx(t)
			conn, err := other.w.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
				t.Fatal(err)
			}
			release := time.AfterFunc(tt.hold, func() { _, _ = conn.ExecContext(ctx, `ROLLBACK`) })
			defer release.Stop()

			start := time.Now()
			_, err = s.BeginSweep(ctx, "nightly", "schedule")
			took := time.Since(start)
			if got := isBusy(err); got != tt.wantBusy {
				t.Fatalf("BeginSweep after %v: %v; busy %v, want %v", took, err, got, tt.wantBusy)
			}
			if tt.wantBusy && took > tt.hold {
				t.Errorf("gave up after %v, later than the lock was released", took)
			}
			if release.Stop() {
				_, _ = conn.ExecContext(ctx, `ROLLBACK`)
			}
		})
	}
}

func TestNewFilePrivate(t *testing.T) {
	s := openTest(t)
	if _, err := s.BeginSweep(testCtx(t), "nightly", "schedule"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{s.Path(), s.Path() + "-wal"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %v, want no access for group and others", filepath.Base(name), perm)
		}
	}
}
