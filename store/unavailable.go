package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/srmhq/srm"
)

// markUnavailable wraps err in srm.ErrUnavailable when it means the
// database could not be reached or went away mid-request, keeping err
// itself reachable too (errors.As still finds a *pgconn.PgError). Any
// other error, nil included, is returned as it is.
func markUnavailable(err error) error {
	if err == nil || errors.Is(err, srm.ErrUnavailable) || !unreachable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", srm.ErrUnavailable, err)
}

// unreachable reports whether err means the database could not be
// reached or went away: refused, reset, closed, shutting down, out of
// connections, or timed out.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, puddle.ErrClosedPool) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources, such as too many connections
			"57": // operator intervention: shutdown, crash, cannot connect now
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// marking is a DBTX whose errors, and those of the rows, row and
// transactions it hands out, are marked by markUnavailable: the one place
// the store decides that the database is unavailable.
type marking struct{ db DBTX }

// withMarks returns db marking its errors, unless it does already.
func withMarks(db DBTX) DBTX {
	switch db.(type) {
	case marking, markingTx:
		return db
	}
	return marking{db}
}

func (m marking) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := m.db.Exec(ctx, sql, args...)
	return tag, markUnavailable(err)
}

func (m marking) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := m.db.Query(ctx, sql, args...)
	if err != nil {
		return rows, markUnavailable(err)
	}
	return markingRows{rows}, nil
}

func (m marking) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return markingRow{m.db.QueryRow(ctx, sql, args...)}
}

func (m marking) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := m.db.Begin(ctx)
	if err != nil {
		return tx, markUnavailable(err)
	}
	return markingTx{tx}, nil
}

func (m marking) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := m.db.CopyFrom(ctx, table, columns, src)
	return n, markUnavailable(err)
}

func (m marking) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return markingBatch{m.db.SendBatch(ctx, b)}
}

// markingBatch are a batch's results that mark their errors.
type markingBatch struct{ pgx.BatchResults }

func (r markingBatch) Exec() (pgconn.CommandTag, error) {
	tag, err := r.BatchResults.Exec()
	return tag, markUnavailable(err)
}

func (r markingBatch) Query() (pgx.Rows, error) {
	rows, err := r.BatchResults.Query()
	if err != nil {
		return rows, markUnavailable(err)
	}
	return markingRows{rows}, nil
}

func (r markingBatch) QueryRow() pgx.Row { return markingRow{r.BatchResults.QueryRow()} }

func (r markingBatch) Close() error { return markUnavailable(r.BatchResults.Close()) }

// markingTx is a transaction that marks its errors.
type markingTx struct{ pgx.Tx }

func (t markingTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return marking{t.Tx}.Exec(ctx, sql, args...)
}

func (t markingTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return marking{t.Tx}.Query(ctx, sql, args...)
}

func (t markingTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return marking{t.Tx}.QueryRow(ctx, sql, args...)
}

func (t markingTx) Begin(ctx context.Context) (pgx.Tx, error) { return marking{t.Tx}.Begin(ctx) }

func (t markingTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return marking{t.Tx}.CopyFrom(ctx, table, columns, src)
}

func (t markingTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return marking{t.Tx}.SendBatch(ctx, b)
}

func (t markingTx) Commit(ctx context.Context) error { return markUnavailable(t.Tx.Commit(ctx)) }

// markingRows are rows that mark their errors.
type markingRows struct{ pgx.Rows }

func (r markingRows) Err() error { return markUnavailable(r.Rows.Err()) }

func (r markingRows) Scan(dest ...any) error { return markUnavailable(r.Rows.Scan(dest...)) }

// markingRow is a row that marks its error.
type markingRow struct{ pgx.Row }

func (r markingRow) Scan(dest ...any) error { return markUnavailable(r.Row.Scan(dest...)) }
