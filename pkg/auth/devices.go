package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// StoredDevice is a device added through the API and kept in the state
// database beside the configuration file's devices.
type StoredDevice struct {
	Name      string
	Config    []byte // JSON in the configuration's device schema, secrets included
	Created   time.Time
	Updated   time.Time
	UpdatedBy string
}

// AddDevice stores a new device; ErrExists when the name is taken.
func (s *Store) AddDevice(name string, config []byte, by string) error {
	now := s.nowNano()
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM devices WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrExists
		}
		_, err := tx.Exec(`INSERT INTO devices(name, config, created, updated, updated_by) VALUES (?, ?, ?, ?, ?)`, name, config, now, now, by)
		return err
	})
	if err != nil {
		return fmt.Errorf("add device %s: %w", quoteName(name), err)
	}
	return nil
}

// UpdateDevice replaces a stored device's configuration; ErrNotFound
// when there is none of that name.
func (s *Store) UpdateDevice(name string, config []byte, by string) error {
	res, err := s.db.Exec(`UPDATE devices SET config = ?, updated = ?, updated_by = ? WHERE name = ?`, config, s.nowNano(), by, name)
	if err == nil {
		err = expectOne(res)
	}
	if err != nil {
		return fmt.Errorf("update device %s: %w", quoteName(name), err)
	}
	return nil
}

// DeleteDevice removes a stored device; ErrNotFound when there is none.
func (s *Store) DeleteDevice(name string) error {
	res, err := s.db.Exec(`DELETE FROM devices WHERE name = ?`, name)
	if err == nil {
		err = expectOne(res)
	}
	if err != nil {
		return fmt.Errorf("delete device %s: %w", quoteName(name), err)
	}
	return nil
}

func expectOne(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Device returns one stored device; ErrNotFound when there is none.
func (s *Store) Device(name string) (StoredDevice, error) {
	d := StoredDevice{Name: name}
	var created, updated int64
	err := s.db.QueryRow(`SELECT config, created, updated, updated_by FROM devices WHERE name = ?`, name).Scan(&d.Config, &created, &updated, &d.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("device %s: %w", quoteName(name), err)
	}
	d.Created, d.Updated = fromNano(created), fromNano(updated)
	return d, nil
}

// Devices returns every stored device in the order they were added.
func (s *Store) Devices() ([]StoredDevice, error) {
	rows, err := s.db.Query(`SELECT name, config, created, updated, updated_by FROM devices ORDER BY created, name`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var out []StoredDevice
	for rows.Next() {
		var d StoredDevice
		var created, updated int64
		if err := rows.Scan(&d.Name, &d.Config, &created, &updated, &d.UpdatedBy); err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		d.Created, d.Updated = fromNano(created), fromNano(updated)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}
