package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may do. Roles are ordered: admin can do everything an
// editor can, and an editor everything a viewer can.
type Role string

const (
	RoleViewer Role = "viewer" // browse graphs, export data
	RoleEditor Role = "editor" // also change templates and devices
	RoleAdmin  Role = "admin"  // also manage users and settings
)

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r grants everything min grants. An invalid role
// grants nothing.
func (r Role) AtLeast(min Role) bool { return r.Valid() && min.Valid() && r.rank() >= min.rank() }

// ParseRole parses "viewer", "editor" or "admin".
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", fmt.Errorf("role %q: %w: want viewer, editor or admin", s, ErrInvalid)
	}
	return r, nil
}

// User is one account. ID 0 marks a user that is not in the database (the
// anonymous viewer).
type User struct {
	ID       int64
	Name     string
	Role     Role
	Created  time.Time
	Disabled bool
}

// AnonymousName is the name the anonymous viewer carries in the context.
const AnonymousName = "anonymous"

const (
	maxNameLen     = 64
	minPasswordLen = 8
	maxPasswordLen = 72 // bcrypt ignores bytes past 72; refuse rather than truncate
	adminName      = "admin"
	// InitialPasswordFile is the file Bootstrap writes under the data directory.
	InitialPasswordFile = "initial-admin-password"
)

// ValidName checks a user name: 1 to 64 characters from letters, digits
// and . _ @ -, starting with a letter or digit. The narrow alphabet keeps
// names safe in URLs, logs, cookies and proxy headers.
func ValidName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("user name: %w: must be 1 to %d characters", ErrInvalid, maxNameLen)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || c == '.' || c == '_' || c == '@' || c == '-'
		}
		if !ok {
			return fmt.Errorf("user name %q: %w: character %d %q not allowed (letters, digits and . _ @ - only, starting with a letter or digit)", name, ErrInvalid, i+1, c)
		}
	}
	if strings.EqualFold(name, AnonymousName) {
		return fmt.Errorf("user name %q: %w: reserved", name, ErrInvalid)
	}
	return nil
}

// quoteName is for error messages about names that failed validation or
// lookup: it shows a bounded, quoted prefix, so a hostile name cannot flood
// a log line.
func quoteName(name string) string {
	if len(name) > maxNameLen {
		name = name[:maxNameLen] + "…"
	}
	return fmt.Sprintf("%q", name)
}

func checkPassword(pw string) error {
	if len(pw) < minPasswordLen || len(pw) > maxPasswordLen {
		// Never echo the password; its length is not secret enough to matter.
		return fmt.Errorf("password: %w: must be %d to %d bytes", ErrInvalid, minPasswordLen, maxPasswordLen)
	}
	return nil
}

func (s *Store) hash(pw string) ([]byte, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

const userCols = `id, name, role, created, disabled`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	var role string
	if err := row.Scan(&u.ID, &u.Name, &role, &created, &u.Disabled); err != nil {
		return User{}, err
	}
	u.Role = Role(role)
	u.Created = fromNano(created)
	return u, nil
}

// AddUser creates a user. Names are unique regardless of case.
func (s *Store) AddUser(name string, role Role, password string) (User, error) {
	if err := ValidName(name); err != nil {
		return User{}, fmt.Errorf("add user: %w", err)
	}
	if !role.Valid() {
		return User{}, fmt.Errorf("add user %s: role %q: %w", name, role, ErrInvalid)
	}
	if err := checkPassword(password); err != nil {
		return User{}, fmt.Errorf("add user %s: %w", name, err)
	}
	h, err := s.hash(password)
	if err != nil {
		return User{}, fmt.Errorf("add user %s: %w", name, err)
	}
	u, err := s.insertUser(context.Background(), s.db, name, role, h)
	if err != nil {
		return User{}, fmt.Errorf("add user %s: %w", name, err)
	}
	return u, nil
}

type execQuerier interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func (s *Store) insertUser(ctx context.Context, q execQuerier, name string, role Role, hash []byte) (User, error) {
	now := s.nowNano()
	res, err := q.ExecContext(ctx, `INSERT INTO users(name, role, password_hash, created) VALUES (?, ?, ?, ?)`, name, string(role), hash, now)
	if err != nil {
		if isUnique(err) {
			return User{}, ErrExists
		}
		return User{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return User{}, err
	}
	return User{ID: id, Name: name, Role: role, Created: fromNano(now)}, nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// User returns one user by name (case-insensitive).
func (s *Store) User(name string) (User, error) {
	u, err := scanUser(s.db.QueryRow(`SELECT `+userCols+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %s: %w", quoteName(name), ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("read user %s: %w", quoteName(name), err)
	}
	return u, nil
}

// Users lists all users by name.
func (s *Store) Users() ([]User, error) {
	rows, err := s.db.Query(`SELECT ` + userCols + ` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// SetPassword replaces a user's password and ends all of the user's
// sessions, so a stolen cookie dies with the old password. API tokens stay.
func (s *Store) SetPassword(name, password string) error {
	if err := checkPassword(password); err != nil {
		return fmt.Errorf("set password of %s: %w", quoteName(name), err)
	}
	h, err := s.hash(password)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", quoteName(name), err)
	}
	err = s.tx(context.Background(), func(tx *sql.Tx) error {
		id, err := userID(tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE users SET password_hash = ? WHERE id = ?`, h, id); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("set password of %s: %w", quoteName(name), err)
	}
	return nil
}

// SetRole changes a user's role. Demoting the last enabled admin fails with
// ErrLastAdmin.
func (s *Store) SetRole(name string, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("set role of %s: role %q: %w", quoteName(name), role, ErrInvalid)
	}
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		id, err := userID(tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE users SET role = ? WHERE id = ?`, string(role), id); err != nil {
			return err
		}
		return keepAdmin(tx)
	})
	if err != nil {
		return fmt.Errorf("set role of %s: %w", quoteName(name), err)
	}
	return nil
}

// SetDisabled disables or re-enables a user. Disabling ends the user's
// sessions; tokens stop working while disabled. Disabling the last enabled
// admin fails with ErrLastAdmin.
func (s *Store) SetDisabled(name string, disabled bool) error {
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		id, err := userID(tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE users SET disabled = ? WHERE id = ?`, disabled, id); err != nil {
			return err
		}
		if disabled {
			if _, err := tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return err
			}
		}
		return keepAdmin(tx)
	})
	if err != nil {
		return fmt.Errorf("set disabled=%t for %s: %w", disabled, quoteName(name), err)
	}
	return nil
}

// DeleteUser removes a user with its tokens, sessions and scopes. Deleting
// the last enabled admin fails with ErrLastAdmin.
func (s *Store) DeleteUser(name string) error {
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		id, err := userID(tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM users WHERE id = ?`, id); err != nil {
			return err
		}
		return keepAdmin(tx)
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", quoteName(name), err)
	}
	return nil
}

func userID(tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRow(`SELECT id FROM users WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return id, err
}

// keepAdmin fails the transaction when it would leave no enabled admin, so
// nobody can lock everyone out of user management by accident.
func keepAdmin(tx *sql.Tx) error {
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrLastAdmin
	}
	return nil
}

// dummy is a bcrypt hash of a random password at the store's cost. Checking
// a password against it for unknown users makes them take as long as known
// ones, so response time does not reveal which names exist.
func (s *Store) dummy() []byte {
	s.dummyOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(randomString(24)), s.cost)
		if err != nil {
			panic("bcrypt of a fixed-length random password failed: " + err.Error())
		}
		s.dummyHash = h
	})
	return s.dummyHash
}

// CheckPassword verifies a user's password. Unknown users and wrong
// passwords both give ErrBadCredentials after the same bcrypt work; a
// disabled user with the right password gives ErrDisabled.
func (s *Store) CheckPassword(name, password string) (User, error) {
	var hash []byte
	row := s.db.QueryRow(`SELECT `+userCols+`, password_hash FROM users WHERE name = ?`, name)
	var u User
	var created int64
	var role string
	err := row.Scan(&u.ID, &u.Name, &role, &created, &u.Disabled, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		bcrypt.CompareHashAndPassword(s.dummy(), []byte(password))
		return User{}, fmt.Errorf("check password: %w", ErrBadCredentials)
	case err != nil:
		return User{}, fmt.Errorf("check password of %s: %w", quoteName(name), err)
	}
	if _, err := bcrypt.Cost(hash); err != nil {
		// No usable password (a proxy-created user): spend the same time
		// as a real check so the response does not tell.
		bcrypt.CompareHashAndPassword(s.dummy(), []byte(password))
		return User{}, fmt.Errorf("check password: %w", ErrBadCredentials)
	}
	if len(password) > maxPasswordLen {
		// bcrypt refuses these outright; spend the same time anyway.
		bcrypt.CompareHashAndPassword(s.dummy(), []byte(password[:maxPasswordLen]))
		return User{}, fmt.Errorf("check password: %w", ErrBadCredentials)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return User{}, fmt.Errorf("check password: %w", ErrBadCredentials)
	}
	u.Role = Role(role)
	u.Created = fromNano(created)
	if u.Disabled {
		return User{}, fmt.Errorf("check password of %s: %w", quoteName(u.Name), ErrDisabled)
	}
	return u, nil
}

// Bootstrap makes a fresh installation usable: when there are no users at
// all it creates "admin" with a random password, writes the password to
// dataDir/initial-admin-password (mode 0600) and returns it so the caller
// can print it once. On any later start it returns created == false and
// touches nothing.
func (s *Store) Bootstrap(dataDir string) (password string, created bool, err error) {
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return "", false, fmt.Errorf("bootstrap admin: count users: %w", err)
	}
	if n > 0 {
		return "", false, nil // the usual start: skip the bcrypt work below
	}
	file := filepath.Join(dataDir, InitialPasswordFile)
	pw := randomString(24)
	h, err := s.hash(pw)
	if err != nil {
		return "", false, fmt.Errorf("bootstrap admin: %w", err)
	}
	err = s.tx(context.Background(), func(tx *sql.Tx) error {
		// Again under the write lock: another process may have won.
		if err := tx.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := s.insertUser(context.Background(), tx, adminName, RoleAdmin, h); err != nil {
			return err
		}
		// Write the file before committing: if it cannot be written, the
		// user is not created and the next start tries again.
		if err := writeSecretFile(file, pw+"\n"); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("bootstrap admin: %w", err)
	}
	if !created {
		return "", false, nil
	}
	return pw, true, nil
}

// writeSecretFile writes data to a new file readable only by the owner.
func writeSecretFile(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// An older file may have been created with looser permissions.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}
