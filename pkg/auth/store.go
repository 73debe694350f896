package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Sentinel errors; test with errors.Is.
var (
	ErrNotFound       = errors.New("not found")
	ErrExists         = errors.New("already exists")
	ErrBadCredentials = errors.New("invalid credentials")
	ErrDisabled       = errors.New("account disabled")
	ErrInvalid        = errors.New("invalid value")
	ErrLastAdmin      = errors.New("would leave no enabled admin")
	ErrSchemaTooNew   = errors.New("database schema is newer than this binary")
)

// Store is the auth state database. It is safe for concurrent use.
type Store struct {
	db         *sql.DB
	path       string
	now        func() time.Time
	cost       int
	csrfKey    []byte
	dummyOnce  sync.Once
	dummyHash  []byte
	lastUseGap time.Duration

	// Prepared once: the per-request lookups skip SQL parsing.
	stmtToken, stmtSession *sql.Stmt
}

// Option tunes a Store at Open.
type Option func(*Store)

// WithClock replaces time.Now, for tests of expiry.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithBcryptCost sets the bcrypt cost for new password hashes (default
// bcrypt.DefaultCost). Tests use bcrypt.MinCost to stay fast.
func WithBcryptCost(cost int) Option { return func(s *Store) { s.cost = cost } }

// Open opens (creating if needed) the state database at path and applies
// any pending schema migrations. It refuses a database whose schema is
// newer than this binary knows, rather than guessing at it.
func Open(path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open state db: %w: empty path", ErrInvalid)
	}
	if strings.ContainsRune(path, '?') {
		// The driver splits the DSN at the first '?'.
		return nil, fmt.Errorf("open state db %q: %w: path must not contain '?'", path, ErrInvalid)
	}
	s := &Store{path: path, now: time.Now, cost: bcrypt.DefaultCost, lastUseGap: time.Minute}
	for _, o := range opts {
		o(s)
	}
	if s.cost < bcrypt.MinCost || s.cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("open state db: %w: bcrypt cost %d outside [%d, %d]", ErrInvalid, s.cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	// The file holds password and token hashes: owner-only. SQLite gives
	// the -wal and -shm files the main file's permissions.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("open state db: %w", err)
	}
	// WAL lets page loads read while a login writes; busy_timeout makes
	// writers from another process (the `saguaro user` CLI) wait instead of
	// failing; immediate transactions take the write lock up front so two
	// read-then-write transactions cannot deadlock into SQLITE_BUSY.
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state db %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s.db = db
	ctx := context.Background()
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state db %s: %w", path, err)
	}
	if err := s.loadKeys(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state db %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state db %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	s.stmtToken, err = s.db.PrepareContext(ctx, `SELECT u.id, u.name, u.role, u.created, u.disabled, t.id, t.expires, t.last_used, t.revoked
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`)
	if err != nil {
		return fmt.Errorf("prepare token lookup: %w", err)
	}
	s.stmtSession, err = s.db.PrepareContext(ctx, `SELECT u.id, u.name, u.role, u.created, u.disabled
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.hash = ? AND s.expires > ? AND u.disabled = 0`)
	if err != nil {
		return fmt.Errorf("prepare session lookup: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmtToken.Close()
	s.stmtSession.Close()
	return s.db.Close()
}

// loadKeys reads the server-side CSRF key, creating it on first open. It
// lives in the database so tokens in open forms survive a restart.
func (s *Store) loadKeys(ctx context.Context) error {
	key := make([]byte, 32)
	rand.Read(key)
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO settings(key, value) VALUES ('csrf_key', ?)`, key); err != nil {
		return fmt.Errorf("create csrf key: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'csrf_key'`).Scan(&s.csrfKey); err != nil {
		return fmt.Errorf("read csrf key: %w", err)
	}
	if len(s.csrfKey) < 32 {
		return fmt.Errorf("read csrf key: %w: only %d bytes", ErrInvalid, len(s.csrfKey))
	}
	return nil
}

// tx runs f in one immediate transaction.
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) nowNano() int64 { return s.now().UnixNano() }

func fromNano(n int64) time.Time { return time.Unix(0, n) }

func fromNullNano(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64)
}
