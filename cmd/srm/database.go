package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/store"
)

// database is a command's connection to srm's database: the pool, the role
// it connects as, and the store on it.
type database struct {
	pool *pgxpool.Pool
	role store.DBRole
	st   *store.Store
}

// connect opens a pool on url, checks that the database answers and finds
// out which role it connects as. The caller closes the pool.
func connect(ctx context.Context, url string) (*database, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err) // pgx never puts the password in this error
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 || pcfg.ConnConfig.ConnectTimeout > time.Second {
		// While PostgreSQL is down, requests fail fast with a 503 instead of
		// waiting on the operating system's connect timeout.
		pcfg.ConnConfig.ConnectTimeout = time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil { // pgxpool.New does not dial
		pool.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	role, err := store.CurrentRole(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &database{pool: pool, role: role, st: store.New(pool)}, nil
}

func (db *database) close() { db.pool.Close() }

// ready brings the schema up to date when the role may change it (the
// owner, a superuser), and otherwise checks that the owner has: a
// least-privilege role may not change the schema.
func (db *database) ready(ctx context.Context) error {
	if !db.role.CanMigrate() {
		return store.CheckSchema(ctx, db.pool)
	}
	return db.migrate()
}

// migrate applies pending migrations, saying who may when the role may not.
func (db *database) migrate() error {
	if err := store.Migrate(db.pool); err != nil {
		if !db.role.CanMigrate() {
			return fmt.Errorf("%w (srm migrate runs as the owner of srm's schema or a superuser; %s is neither)", err, db.role.Name)
		}
		return err
	}
	return nil
}
