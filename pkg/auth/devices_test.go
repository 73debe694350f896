package auth

import (
	"errors"
	"testing"
	"time"
)

func TestStoredDevices(t *testing.T) {
	clk := newClock()
	s, path := newStore(t, clk)
	if err := s.AddDevice("r1", []byte(`{"name":"r1"}`), "editor1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if err := s.AddDevice("a2", []byte(`{"name":"a2"}`), "editor1"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDevice("r1", []byte(`{}`), "x"); !errors.Is(err, ErrExists) {
		t.Errorf("second r1: %v, want ErrExists", err)
	}
	clk.Advance(time.Second)
	if err := s.UpdateDevice("r1", []byte(`{"name":"r1","interval":"2m"}`), "admin1"); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateDevice("nope", []byte(`{}`), "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	if err := s.DeleteDevice("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	// Devices survive closing and reopening the database, in order added.
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	list, err := s2.Devices()
	if err != nil || len(list) != 2 || list[0].Name != "r1" || list[1].Name != "a2" {
		t.Fatalf("devices after reopen: %v %+v", err, list)
	}
	r1 := list[0]
	if string(r1.Config) != `{"name":"r1","interval":"2m"}` || r1.UpdatedBy != "admin1" || !r1.Updated.After(r1.Created) {
		t.Errorf("r1: %+v", r1)
	}
	if d, err := s2.Device("a2"); err != nil || string(d.Config) != `{"name":"a2"}` {
		t.Errorf("a2: %v %+v", err, d)
	}
	if err := s2.DeleteDevice("a2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Device("a2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a2 after delete: %v", err)
	}
	// Names are exact: SQL in a name is a name.
	if err := s2.AddDevice("x' OR '1'='1", []byte(`{}`), "e"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s2.Devices(); len(list) != 2 {
		t.Errorf("devices: %+v", list)
	}
}
