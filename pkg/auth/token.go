package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// API tokens look like sag_<40 base62 random chars><6 base62 CRC-32>. The
// fixed prefix lets secret scanners (GitHub, gitleaks) recognise a leaked
// token; the checksum lets CheckToken reject typos and junk without a
// database query. 40 base62 characters carry about 238 random bits, so a
// plain SHA-256 of the token is a sufficient stored hash: there is nothing
// to brute-force that a slow hash would protect.
const (
	TokenPrefix  = "sag_"
	tokenRandLen = 40
	tokenSumLen  = 6
	tokenLen     = len(TokenPrefix) + tokenRandLen + tokenSumLen
	hintLen      = 4
	maxTokenName = 100
)

// TokenInfo describes a stored token. The plaintext is never stored; Hint is
// its first characters so a person can tell tokens apart.
type TokenInfo struct {
	ID       int64
	User     string
	Name     string
	Hint     string // e.g. "sag_Ab3x…"
	Created  time.Time
	Expires  time.Time // zero: never
	LastUsed time.Time // zero: never; updated at most once a minute
	Revoked  time.Time // zero: not revoked
}

// Active reports whether the token would authenticate at now.
func (t TokenInfo) Active(now time.Time) bool {
	return t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires))
}

func newTokenText() string {
	body := TokenPrefix + randomString(tokenRandLen)
	return body + encode62(uint64(crc(body)), tokenSumLen)
}

// wellFormedToken checks prefix, length, alphabet and checksum.
func wellFormedToken(t string) bool {
	if len(t) != tokenLen || !strings.HasPrefix(t, TokenPrefix) {
		return false
	}
	for i := len(TokenPrefix); i < len(t); i++ {
		if strings.IndexByte(base62, t[i]) < 0 {
			return false
		}
	}
	body := t[:len(t)-tokenSumLen]
	return encode62(uint64(crc(body)), tokenSumLen) == t[len(body):]
}

func checkTokenName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > maxTokenName {
		return fmt.Errorf("token name: %w: must be 1 to %d characters", ErrInvalid, maxTokenName)
	}
	for _, c := range name {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("token name %q: %w: control characters not allowed", name, ErrInvalid)
		}
	}
	return nil
}

// NewToken creates an API token for user. The plaintext is returned once
// and cannot be recovered later; only its SHA-256 is stored. A zero expires
// means the token does not expire.
func (s *Store) NewToken(user, name string, expires time.Time) (string, TokenInfo, error) {
	if err := checkTokenName(name); err != nil {
		return "", TokenInfo{}, fmt.Errorf("new token for %s: %w", quoteName(user), err)
	}
	now := s.now()
	if !expires.IsZero() && !expires.After(now) {
		return "", TokenInfo{}, fmt.Errorf("new token for %s: %w: expiry %s is not in the future", quoteName(user), ErrInvalid, expires.Format(time.RFC3339))
	}
	plain := newTokenText()
	info := TokenInfo{User: user, Name: name, Hint: plain[:len(TokenPrefix)+hintLen] + "…", Created: now, Expires: expires}
	var exp sql.NullInt64
	if !expires.IsZero() {
		exp = sql.NullInt64{Int64: expires.UnixNano(), Valid: true}
	}
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		uid, err := userID(tx, user)
		if err != nil {
			return err
		}
		res, err := tx.Exec(`INSERT INTO tokens(user_id, name, hash, hint, created, expires) VALUES (?, ?, ?, ?, ?, ?)`,
			uid, name, sha(plain), info.Hint, now.UnixNano(), exp)
		if err != nil {
			return err
		}
		info.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return "", TokenInfo{}, fmt.Errorf("new token for %s: %w", quoteName(user), err)
	}
	return plain, info, nil
}

// Tokens lists a user's tokens, revoked and expired ones included, oldest
// first.
func (s *Store) Tokens(user string) ([]TokenInfo, error) {
	rows, err := s.db.Query(`SELECT u.name, t.id, t.name, t.hint, t.created, t.expires, t.last_used, t.revoked
		FROM users u LEFT JOIN tokens t ON t.user_id = u.id WHERE u.name = ? ORDER BY t.id`, user)
	var out []TokenInfo
	if err == nil {
		err = ErrNotFound // until the user's row shows up
		for rows.Next() {
			err = nil
			var (
				t              TokenInfo
				id, created    sql.NullInt64
				name, hint     sql.NullString
				exp, used, rev sql.NullInt64
			)
			if err = rows.Scan(&t.User, &id, &name, &hint, &created, &exp, &used, &rev); err != nil {
				break
			}
			if !id.Valid {
				continue // the user exists and has no tokens
			}
			t.ID, t.Name, t.Hint = id.Int64, name.String, hint.String
			t.Created, t.Expires, t.LastUsed, t.Revoked = fromNullNano(created), fromNullNano(exp), fromNullNano(used), fromNullNano(rev)
			out = append(out, t)
		}
		if rerr := rows.Err(); rerr != nil {
			err = rerr
		}
		rows.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", quoteName(user), err)
	}
	return out, nil
}

// RevokeToken revokes one of user's tokens by ID. The row stays, marked
// revoked, so listings show what existed. Revoking twice is not an error; a
// token of another user is ErrNotFound.
func (s *Store) RevokeToken(user string, id int64) error {
	res, err := s.db.Exec(`UPDATE tokens SET revoked = COALESCE(revoked, ?)
		WHERE id = ? AND user_id = (SELECT id FROM users WHERE name = ?)`, s.nowNano(), id, user)
	if err != nil {
		return fmt.Errorf("revoke token %d of %s: %w", id, quoteName(user), err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke token %d of %s: %w", id, quoteName(user), ErrNotFound)
	}
	return nil
}

// CheckToken returns the user a token plaintext belongs to. Malformed,
// unknown, revoked and expired tokens, and tokens of disabled users, all
// fail with ErrBadCredentials; the wrapped message says which, without the
// token.
func (s *Store) CheckToken(plaintext string) (User, error) {
	if !wellFormedToken(plaintext) {
		return User{}, fmt.Errorf("check token: %w: malformed", ErrBadCredentials)
	}
	var (
		u              User
		role           string
		created, tid   int64
		exp, used, rev sql.NullInt64
	)
	err := s.stmtToken.QueryRow(sha(plaintext)).
		Scan(&u.ID, &u.Name, &role, &created, &u.Disabled, &tid, &exp, &used, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("check token: %w: unknown", ErrBadCredentials)
	}
	if err != nil {
		return User{}, fmt.Errorf("check token: %w", err)
	}
	now := s.now()
	switch {
	case rev.Valid:
		return User{}, fmt.Errorf("check token %d: %w: revoked", tid, ErrBadCredentials)
	case exp.Valid && now.UnixNano() >= exp.Int64:
		return User{}, fmt.Errorf("check token %d: %w: expired", tid, ErrBadCredentials)
	case u.Disabled:
		return User{}, fmt.Errorf("check token %d: %w: %w", tid, ErrBadCredentials, ErrDisabled)
	}
	if !used.Valid || now.UnixNano()-used.Int64 >= int64(s.lastUseGap) {
		// Best effort and throttled: a busy database must not fail an
		// otherwise valid request, and a write per API call would
		// serialise every script behind the write lock.
		s.db.Exec(`UPDATE tokens SET last_used = ? WHERE id = ?`, now.UnixNano(), tid)
	}
	u.Role = Role(role)
	u.Created = fromNano(created)
	return u, nil
}
