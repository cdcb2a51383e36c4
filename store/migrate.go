package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationFS is the directory of embedded migrations.
func migrationFS() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }

// migration is one numbered schema change, NNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads every *.sql file of fsys, in version order. Versions
// must be positive, unique and contiguous from 1.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []migration
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name is not NNN_name.sql: %w", n, ErrInvalid)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", n, err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(path.Base(n), ".sql"), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d (numbers must be unique and contiguous): %w", m.name, m.version, i+1, ErrInvalid)
		}
	}
	return ms, nil
}

// migrate applies the migrations of fsys that the database lacks, each in its
// own write transaction together with its schema_migrations row. The applied
// version is read inside each transaction, so two processes opening the same
// new file at once apply every migration exactly once. A database recording a
// version above the highest in fsys is refused with ErrSchemaTooNew.
func (s *Store) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	latest := len(ms)
	steps := ms
	if len(steps) == 0 {
		steps = []migration{{}} // nothing to apply, but still check the version
	}
	for _, m := range steps {
		err := s.write(ctx, func(t *tx) error {
			if _, err := t.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    INTEGER PRIMARY KEY,
				name       TEXT    NOT NULL,
				applied_at INTEGER NOT NULL
			)`); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			var cur int
			if err := t.GetContext(ctx, &cur, `SELECT coalesce(max(version), 0) FROM schema_migrations`); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			if cur > latest {
				return fmt.Errorf("schema version %d, this program knows up to %d: %w", cur, latest, ErrSchemaTooNew)
			}
			if m.version == 0 || m.version <= cur {
				return nil
			}
			if _, err := t.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := t.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, t.now.UnixNano()); err != nil {
				return fmt.Errorf("migration %s: record: %w", m.name, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
