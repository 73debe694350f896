package auth

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are applied in order; migrations[i] brings the schema to
// version i+1. Never edit a released entry: append a new one.
var migrations = []string{
	// 1: users, API tokens, sessions, device/tree scopes, settings.
	`
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
	role          TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
	password_hash BLOB    NOT NULL,
	created       INTEGER NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tokens (
	id        INTEGER PRIMARY KEY,
	user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name      TEXT    NOT NULL,
	hash      BLOB    NOT NULL UNIQUE,
	hint      TEXT    NOT NULL,
	created   INTEGER NOT NULL,
	expires   INTEGER,
	last_used INTEGER,
	revoked   INTEGER
);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE TABLE sessions (
	hash    BLOB    PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expires ON sessions(expires);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE scopes (
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	kind    TEXT    NOT NULL CHECK (kind IN ('device', 'tree')),
	pattern TEXT    NOT NULL,
	PRIMARY KEY (user_id, kind, pattern)
) WITHOUT ROWID;
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
`,
	// 2: devices added through the API. config is the device as JSON in
	// the configuration file's schema, secrets included (the file is 0600
	// like a configuration file holding communities).
	`
CREATE TABLE devices (
	name       TEXT    PRIMARY KEY,
	config     BLOB    NOT NULL,
	created    INTEGER NOT NULL,
	updated    INTEGER NOT NULL,
	updated_by TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
`,
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

// migrate brings db to SchemaVersion inside one transaction, so a crash
// leaves either the old or the new schema, never half of one.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		applied INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if cur > len(migrations) {
		return fmt.Errorf("%w: schema version %d, this binary knows up to %d; upgrade saguaro or restore a matching backup", ErrSchemaTooNew, cur, len(migrations))
	}
	for v := cur + 1; v <= len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied) VALUES (?, ?)`, v, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migrate to schema version %d: record: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
