package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Session ids are 43 base62 characters (about 256 random bits). Only their
// SHA-256 is stored, so a copy of state.db does not hand out live sessions.
const (
	sessionIDLen = 43
	// MaxSessionTTL bounds how long a session may live.
	MaxSessionTTL = 90 * 24 * time.Hour
)

// NewSession starts a browser session for user lasting ttl and returns its
// id, the cookie value. Expired sessions of everyone are purged on the way.
func (s *Store) NewSession(user string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > MaxSessionTTL {
		return "", fmt.Errorf("new session for %s: %w: ttl %s outside (0, %s]", quoteName(user), ErrInvalid, ttl, MaxSessionTTL)
	}
	id := randomString(sessionIDLen)
	now := s.now()
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		uid, err := userID(tx, user)
		if err != nil {
			return err
		}
		var disabled bool
		if err := tx.QueryRow(`SELECT disabled FROM users WHERE id = ?`, uid).Scan(&disabled); err != nil {
			return err
		}
		if disabled {
			return ErrDisabled
		}
		if _, err := tx.Exec(`DELETE FROM sessions WHERE expires <= ?`, now.UnixNano()); err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT INTO sessions(hash, user_id, created, expires) VALUES (?, ?, ?, ?)`,
			sha(id), uid, now.UnixNano(), now.Add(ttl).UnixNano())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("new session for %s: %w", quoteName(user), err)
	}
	return id, nil
}

// SessionUser returns the user of a live session. Unknown and expired
// sessions, and sessions of disabled users, fail with ErrNotFound.
func (s *Store) SessionUser(id string) (User, error) {
	if len(id) != sessionIDLen {
		return User{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	u, err := scanUser(s.stmtSession.QueryRow(sha(id), s.nowNano()))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("read session: %w", err)
	}
	return u, nil
}

// EndSession ends a session (logout). Ending an unknown session is not an
// error: the outcome is the same.
func (s *Store) EndSession(id string) error {
	if _, err := s.db.Exec(`DELETE FROM sessions WHERE hash = ?`, sha(id)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// csrfToken binds a CSRF token to a credential (a session id, or a user
// name for proxy logins) with an HMAC under a key kept in the database.
// Nothing is stored per session, and a page cannot compute it without
// the key or reading it from a same-origin page.
func (s *Store) csrfToken(kind, value string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
