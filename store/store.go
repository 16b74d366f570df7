// Package store reads and writes srm data in PostgreSQL. It returns srm
// types and srm errors; pgx types never leave this package except through
// DBTX. It must not import web or views.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/migrations"
)

// DBTX is what the store needs from PostgreSQL. Both *pgxpool.Pool and
// pgx.Tx satisfy it.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Store is the application's only gateway to the database. It is safe for
// concurrent use.
type Store struct {
	db      DBTX
	catalog *versioned[Catalog]
	owners  *versioned[ownerList]
	// bound says db is a transaction: the Store reads the caches but
	// never fills them (see versioned.at).
	bound bool
}

// New returns a Store that runs its queries on db, with caches of its own.
// Every error that means the database is unreachable comes out of it
// wrapping srm.ErrUnavailable. Given a transaction (a pgx.Tx), it returns
// a Store without caches, which reads the catalog and the owners list in
// that transaction every time: within the store, a transaction's Store
// comes from (*Store).on and shares its parent's caches instead.
func New(db DBTX) *Store {
	if _, ok := db.(pgx.Tx); ok {
		return &Store{db: withMarks(db), bound: true}
	}
	return &Store{db: withMarks(db), catalog: &versioned[Catalog]{}, owners: &versioned[ownerList]{}}
}

// on returns a Store that runs its queries in tx, a transaction begun on
// s's database, and reads s's caches without filling them.
func (s *Store) on(tx pgx.Tx) *Store {
	return &Store{db: withMarks(tx), catalog: s.catalog, owners: s.owners, bound: true}
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Migrate applies every pending migration to the database behind pool.
// Being already current is success. A dirty database (a migration that
// failed halfway) is reported, never forced: an operator must look.
func Migrate(pool *pgxpool.Pool) error {
	m, err := migrator(pool)
	if err != nil {
		return err
	}
	defer m.Close() // returns the connection it holds to the pool
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return migrateError(pool, "up", err)
	}
	return assessIfNeeded(pool)
}

// assessIfNeeded writes the engine's assignments of every workload when a
// migration has asked for it by clearing catalog_version.assessed (000011
// does, as would one that changes baseline rows): the database holds the
// engine's answers, and only srm can compute them.
func assessIfNeeded(pool *pgxpool.Pool) error {
	ctx := context.Background()
	var assessed bool
	if err := pool.QueryRow(ctx, `SELECT assessed FROM catalog_version`).Scan(&assessed); err != nil {
		return fmt.Errorf("store: migrate up: %w", err)
	}
	if assessed {
		return nil
	}
	if err := New(pool).Reassess(WithActor(ctx, Command("migrate"))); err != nil {
		return fmt.Errorf("store: migrate up: assess every workload: %w", err)
	}
	return nil
}

// MigrateDown reverts every migration. Tests use it to prove the down
// migrations work; nothing in the application calls it.
func MigrateDown(pool *pgxpool.Pool) error {
	m, err := migrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Down(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return migrateError(pool, "down", err)
	}
	return nil
}

func migrator(pool *pgxpool.Pool) (*migrate.Migrate, error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	drv, err := pgxmigrate.WithInstance(stdlib.OpenDBFromPool(pool), &pgxmigrate.Config{})
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return m, nil
}

// migrateError says what went wrong in words an operator can act on. It
// reads the migration state on a fresh connection (the migrator's may sit
// in an aborted transaction) and leaves the migration's SQL out.
func migrateError(pool *pgxpool.Pool, dir string, err error) error {
	var de database.Error
	if errors.As(err, &de) && de.OrigErr != nil {
		err = fmt.Errorf("%w (near line %d of the migration)", de.OrigErr, de.Line)
	}
	var (
		version int64
		dirty   bool
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if qerr := pool.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&version, &dirty); qerr == nil && dirty {
		return fmt.Errorf("store: migrate %s: migration %d failed halfway or srm stopped during it, and the database "+
			"is marked dirty at version %d. srm will not start on a dirty database. Each migration runs in one "+
			"transaction, so it is either wholly there or wholly absent: look for its changes (migrations/%06d_*.up.sql). "+
			"If they are there, run `UPDATE schema_migrations SET version = %d, dirty = false`; if they are absent, run "+
			"`UPDATE schema_migrations SET version = %d, dirty = false` (or delete the row if that is 0). Then start "+
			"srm again: %w", dir, version, version, version, version, version-1, err)
	}
	return fmt.Errorf("store: migrate %s: %w", dir, err)
}

// Postgres error codes the store translates into srm errors.
const (
	uniqueViolation          = "23505"
	foreignKeyViolation      = "23503"
	checkViolation           = "23514"
	invalidText              = "22P02"
	characterNotInRepertoire = "22021"
	nullCharacter            = "22P05"
)

// translate turns pgx errors into srm sentinels so callers need no pgx.
func translate(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return srm.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case uniqueViolation:
			return fmt.Errorf("%w: %s", srm.ErrConflict, pe.ConstraintName)
		case foreignKeyViolation:
			return fmt.Errorf("%w: %s", srm.ErrNotFound, pe.ConstraintName)
		case checkViolation, invalidText, characterNotInRepertoire, nullCharacter:
			return fmt.Errorf("%w: %s", srm.ErrInvalid, pe.Message)
		}
	}
	return err
}
