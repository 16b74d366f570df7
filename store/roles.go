package store

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/migrations"
)

// DBRole is the database role a connection acts as, and what it could do
// to the audit trail beyond what srm needs.
type DBRole struct {
	Name        string
	Superuser   bool
	BypassRLS   bool
	Replication bool
	// SetReplicationRole: the role may SET session_replication_role, which
	// switches every trigger off, the audit triggers included.
	SetReplicationRole bool
	// Owns names what the role owns, or owns through membership, of srm's
	// schema: "the schema public", "the table audit"; empty when nothing.
	Owns string
}

// CurrentRole describes the role db is connected as.
func CurrentRole(ctx context.Context, db DBTX) (DBRole, error) {
	var r DBRole
	var version int
	err := db.QueryRow(ctx, `
		SELECT r.rolname, r.rolsuper, r.rolbypassrls, r.rolreplication,
		       current_setting('server_version_num')::int,
		       CASE WHEN pg_has_role(current_user, n.nspowner, 'MEMBER') THEN 'the schema public'
		            ELSE COALESCE((SELECT 'the table ' || c.relname FROM pg_class c
		                           WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
		                             AND pg_has_role(current_user, c.relowner, 'MEMBER')
		                           ORDER BY c.relname <> 'audit', c.relname LIMIT 1), '') END
		FROM pg_roles r, pg_namespace n
		WHERE r.rolname = current_user AND n.nspname = 'public'`).
		Scan(&r.Name, &r.Superuser, &r.BypassRLS, &r.Replication, &version, &r.Owns)
	if err != nil {
		return r, fmt.Errorf("store: read the database role: %w", err)
	}
	r.SetReplicationRole = r.Superuser
	if version >= 150000 && !r.Superuser { // GRANT SET ON PARAMETER exists from PostgreSQL 15
		if err := db.QueryRow(ctx, `SELECT has_parameter_privilege('session_replication_role', 'SET')`).
			Scan(&r.SetReplicationRole); err != nil {
			return r, fmt.Errorf("store: read the database role: %w", err)
		}
	}
	return r, nil
}

// ServeProblem says why srm should not serve as r, or "" when r is a
// least-privilege role. The message names the role and what to do.
func (r DBRole) ServeProblem() string {
	var why string
	switch {
	case r.Superuser:
		why = "a superuser: it could switch off the audit triggers and rewrite the audit trail"
	case r.Owns != "":
		why = "the owner of " + r.Owns + ": it could drop or disable the audit triggers"
	case r.SetReplicationRole:
		why = "allowed to set session_replication_role: it could switch off the audit triggers"
	case r.BypassRLS || r.Replication:
		why = "a role with REPLICATION or BYPASSRLS, more than srm needs"
	default:
		return ""
	}
	return fmt.Sprintf("srm serve is connected as %s, %s. Run `srm migrate --app-role srm_app` as the owner "+
		"and serve as srm_app (docs/deploy.md), or set SRM_ALLOW_OWNER_ROLE=1 for tests and one-off use", r.Name, why)
}

// CanMigrate reports whether r may change srm's schema: a superuser or the
// owner of the schema or its tables.
func (r DBRole) CanMigrate() bool { return r.Superuser || r.Owns != "" }

// LatestMigration is the highest migration version srm carries.
func LatestMigration() (uint, error) {
	names, err := fs.Glob(migrations.FS, "*.up.sql")
	if err != nil {
		return 0, err
	}
	var latest uint
	for _, n := range names {
		v, err := strconv.ParseUint(strings.SplitN(n, "_", 2)[0], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("store: migration %s: %w", n, err)
		}
		latest = max(latest, uint(v))
	}
	return latest, nil
}

// CheckSchema reports whether the database behind db has exactly the
// migrations this srm carries, without changing anything: what a role that
// may not migrate checks before serving.
func CheckSchema(ctx context.Context, db DBTX) error {
	latest, err := LatestMigration()
	if err != nil {
		return err
	}
	var (
		version int64
		dirty   bool
	)
	err = db.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&version, &dirty)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		version = 0
	case err != nil:
		return fmt.Errorf("store: read the schema version (has `srm migrate --app-role ROLE` been run as the owner?): %w", err)
	}
	switch {
	case dirty:
		return fmt.Errorf("store: the database is marked dirty at migration %d: run `srm migrate` as the owner to see what to do", version)
	case version < int64(latest):
		return fmt.Errorf("store: the database schema is at migration %d and this srm needs %d: run "+
			"`srm migrate --app-role ROLE` as the owner of the schema first", version, latest)
	case version > int64(latest):
		return fmt.Errorf("store: the database schema is at migration %d, newer than this srm knows (%d): run a newer srm", version, latest)
	}
	// The engine's assignments are written by srm migrate after the
	// migrations (assessIfNeeded): a migrate stopped in between left none.
	var assessed bool
	if err := db.QueryRow(ctx, `SELECT assessed FROM catalog_version`).Scan(&assessed); err != nil {
		return fmt.Errorf("store: read the schema state: %w", err)
	}
	if !assessed {
		return errors.New("store: the workloads have not been assessed since the last migration: run " +
			"`srm migrate --app-role ROLE` as the owner of the schema first")
	}
	return nil
}

var appRoleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// AppRoleProblem says what is wrong with name as the name of srm's serving
// role, or "" when nothing is.
func AppRoleProblem(name string) string {
	switch {
	case !appRoleName.MatchString(name):
		return "give a role name of lower-case letters, digits and underscores, such as srm_app"
	case strings.HasPrefix(name, "pg_") || name == "public" || name == "postgres":
		return "give a role of srm's own, such as srm_app, not a built-in one"
	}
	return ""
}

// GrantAppRole makes name the least-privilege role srm serves with, on the
// database behind pool, which must be connected as the owner of srm's
// schema with the right to create roles. It creates the role (LOGIN, and no
// other attribute) when it does not exist; sets its password when password
// is not nil; and grants exactly what serving needs, revoking anything else
// it held on srm's objects: CONNECT on the database, USAGE on schema
// public, SELECT, INSERT, UPDATE and DELETE on every table except audit and
// schema_migrations (SELECT only), USAGE and SELECT on the sequences but
// audit's, and EXECUTE on the functions. The audit trail is written by the
// audit functions, which run as their owner. Run again after every
// migration (srm migrate --app-role does): tables added later are granted
// then. It also takes CREATE on schema public from PUBLIC (the default since
// PostgreSQL 15), so no role can plant objects there.
func GrantAppRole(ctx context.Context, pool *pgxpool.Pool, name string, password *string) error {
	if msg := AppRoleProblem(name); msg != "" {
		return fmt.Errorf("store: app role %q: %s", name, msg)
	}
	role := pgx.Identifier{name}.Sanitize()
	var verifier string
	if password != nil {
		var err error
		if verifier, err = scramVerifier(*password); err != nil {
			return err
		}
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Two migrators at once would otherwise collide on CREATE ROLE and
		// on the catalog rows of the grants.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7262661)`); err != nil {
			return fmt.Errorf("store: app role: %w", err)
		}
		var exists, super, bypass, repl, owns, self bool
		err := tx.QueryRow(ctx, `
			SELECT true, r.rolsuper, r.rolbypassrls, r.rolreplication,
			       pg_has_role(r.oid, n.nspowner, 'MEMBER') OR EXISTS (
			           SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND pg_has_role(r.oid, c.relowner, 'MEMBER')),
			       r.rolname = current_user
			FROM pg_roles r, pg_namespace n WHERE r.rolname = $1 AND n.nspname = 'public'`, name).
			Scan(&exists, &super, &bypass, &repl, &owns, &self)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := tx.Exec(ctx, `CREATE ROLE `+role+` LOGIN`); err != nil {
				return fmt.Errorf("store: create role %s (the role running srm migrate needs CREATEROLE): %w", name, err)
			}
		case err != nil:
			return fmt.Errorf("store: app role: %w", err)
		case self || super || owns:
			return fmt.Errorf("store: --app-role %s: that role is a superuser or owns srm's schema; give a role of its own, such as srm_app", name)
		case bypass || repl:
			return fmt.Errorf("store: --app-role %s: that role has REPLICATION or BYPASSRLS; give a role without them", name)
		}
		if password != nil {
			// A SCRAM verifier, never the password, so the password cannot
			// reach the server's statement log.
			if _, err := tx.Exec(ctx, `ALTER ROLE `+role+` PASSWORD '`+verifier+`'`); err != nil {
				return fmt.Errorf("store: set the password of %s: %w", name, err)
			}
		}
		var db string
		if err := tx.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
			return fmt.Errorf("store: app role: %w", err)
		}
		var auditSeq string
		if err := tx.QueryRow(ctx, `SELECT COALESCE(pg_get_serial_sequence('public.audit', 'id'), '')`).Scan(&auditSeq); err != nil {
			return fmt.Errorf("store: app role: %w", err)
		}
		stmts := []string{
			`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
			`GRANT CONNECT ON DATABASE ` + pgx.Identifier{db}.Sanitize() + ` TO ` + role,
			`GRANT USAGE ON SCHEMA public TO ` + role,
			`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ` + role,
			`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ` + role,
			`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM ` + role,
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ` + role,
			`REVOKE INSERT, UPDATE, DELETE ON public.audit, public.schema_migrations FROM ` + role,
			`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ` + role,
			`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ` + role,
		}
		if auditSeq != "" {
			// pg_get_serial_sequence returns the name quoted as needed.
			stmts = append(stmts, `REVOKE ALL ON SEQUENCE `+auditSeq+` FROM `+role)
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("store: app role %s: %s: %w", name, s, err)
			}
		}
		return nil
	})
}

// scramVerifier returns what PostgreSQL stores for password under
// SCRAM-SHA-256 (RFC 5802, 7677), as libpq's PQencryptPasswordConn does:
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. The password's
// bytes are used as given.
func scramVerifier(password string) (string, error) {
	const iterations = 4096
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(mac(salted, "Server Key"))), nil
}
