package auth

import (
	"context"
	"database/sql"
	"fmt"
	"path"
)

// Scope limits which devices a user may see. Patterns are path.Match globs
// ("core-*", "rtr-[ab]?"); '*' does not cross '/'. The web server passes a
// device's site and every site above it as its trees, so the tree glob
// "emea" covers all of emea at any depth and "emea/*" everything below its
// first level. An empty Scope allows everything.
type Scope struct {
	Devices []string // device-name globs
	Trees   []string // tree-path globs; a device in a matching tree is allowed
}

// Unrestricted reports whether the scope allows every device.
func (sc Scope) Unrestricted() bool { return len(sc.Devices) == 0 && len(sc.Trees) == 0 }

// Allow reports whether device, which sits in the given trees, is visible.
// Patterns were validated when stored, so a match error cannot occur.
func (sc Scope) Allow(device string, trees ...string) bool {
	if sc.Unrestricted() {
		return true
	}
	for _, p := range sc.Devices {
		if ok, _ := path.Match(p, device); ok {
			return true
		}
	}
	for _, p := range sc.Trees {
		for _, t := range trees {
			if ok, _ := path.Match(p, t); ok {
				return true
			}
		}
	}
	return false
}

const (
	maxPatternLen = 256
	maxPatterns   = 1000
)

func checkPatterns(kind string, ps []string) error {
	if len(ps) > maxPatterns {
		return fmt.Errorf("%s patterns: %w: %d given, at most %d", kind, ErrInvalid, len(ps), maxPatterns)
	}
	for i, p := range ps {
		if p == "" || len(p) > maxPatternLen {
			return fmt.Errorf("%s pattern %d: %w: must be 1 to %d characters", kind, i+1, ErrInvalid, maxPatternLen)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("%s pattern %d %q: %w: %v", kind, i+1, p, ErrInvalid, err)
		}
	}
	return nil
}

// SetScope replaces a user's scope; an empty Scope lifts all limits.
func (s *Store) SetScope(user string, sc Scope) error {
	if err := checkPatterns("device", sc.Devices); err != nil {
		return fmt.Errorf("set scope of %s: %w", quoteName(user), err)
	}
	if err := checkPatterns("tree", sc.Trees); err != nil {
		return fmt.Errorf("set scope of %s: %w", quoteName(user), err)
	}
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		uid, err := userID(tx, user)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM scopes WHERE user_id = ?`, uid); err != nil {
			return err
		}
		for kind, ps := range map[string][]string{"device": sc.Devices, "tree": sc.Trees} {
			for _, p := range ps {
				if _, err := tx.Exec(`INSERT OR IGNORE INTO scopes(user_id, kind, pattern) VALUES (?, ?, ?)`, uid, kind, p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set scope of %s: %w", quoteName(user), err)
	}
	return nil
}

// Scope returns a user's scope. A handler rendering many devices loads it
// once per request and calls Scope.Allow per device. The anonymous viewer
// is unrestricted.
func (s *Store) Scope(user string) (Scope, error) {
	if user == AnonymousName {
		return Scope{}, nil
	}
	var sc Scope
	// One read, no transaction: the LEFT JOIN yields one row with NULLs
	// for a user without patterns and no row for an unknown user.
	rows, err := s.db.Query(`SELECT s.kind, s.pattern FROM users u
		LEFT JOIN scopes s ON s.user_id = u.id WHERE u.name = ? ORDER BY s.kind, s.pattern`, user)
	if err == nil {
		err = ErrNotFound
		for rows.Next() {
			err = nil
			var kind, p sql.NullString
			if err = rows.Scan(&kind, &p); err != nil {
				break
			}
			switch kind.String {
			case "device":
				sc.Devices = append(sc.Devices, p.String)
			case "tree":
				sc.Trees = append(sc.Trees, p.String)
			}
		}
		if rerr := rows.Err(); rerr != nil {
			err = rerr
		}
		rows.Close()
	}
	if err != nil {
		return Scope{}, fmt.Errorf("read scope of %s: %w", quoteName(user), err)
	}
	return sc, nil
}

// AllowDevice reports whether user may see device (by device globs only;
// use Scope.Allow to include trees). It fails closed: an unknown user or a
// database error denies.
func (s *Store) AllowDevice(user, device string) bool {
	sc, err := s.Scope(user)
	return err == nil && sc.Allow(device)
}
