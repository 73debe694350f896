package auth

import (
	"errors"
	"reflect"
	"testing"
)

func TestScope(t *testing.T) {
	s, _ := newStore(t, nil)
	mustAdd(t, s, "alice", RoleViewer, "password1")
	mustAdd(t, s, "bob", RoleViewer, "password1")

	if !s.AllowDevice("alice", "anything") {
		t.Error("a user without a scope must see every device")
	}
	sc := Scope{Devices: []string{"core-*", "rtr-[ab]?"}, Trees: []string{"site-a/*"}}
	if err := s.SetScope("alice", sc); err != nil {
		t.Fatal(err)
	}
	got, err := s.Scope("alice")
	if err != nil || !reflect.DeepEqual(got, sc) {
		t.Fatalf("Scope = %+v, %v; want %+v", got, err, sc)
	}
	cases := []struct {
		device string
		trees  []string
		want   bool
	}{
		{"core-sw1", nil, true},
		{"rtr-a1", nil, true},
		{"rtr-c1", nil, false},
		{"edge-1", nil, false},
		{"edge-1", []string{"site-b/dc1"}, false},
		{"edge-1", []string{"site-b/dc1", "site-a/dc2"}, true},
		{"edge-1", []string{"site-a/dc2/rack4"}, false}, // '*' does not cross '/'
	}
	for _, tc := range cases {
		if g := got.Allow(tc.device, tc.trees...); g != tc.want {
			t.Errorf("Allow(%q, %q) = %v, want %v", tc.device, tc.trees, g, tc.want)
		}
	}
	if !s.AllowDevice("alice", "core-x") || s.AllowDevice("alice", "edge-1") {
		t.Error("AllowDevice disagrees with the scope")
	}
	if !s.AllowDevice("bob", "edge-1") {
		t.Error("alice's scope leaked onto bob")
	}
	if s.AllowDevice("nobody", "core-x") {
		t.Error("unknown user allowed; AllowDevice must fail closed")
	}
	if !s.AllowDevice(AnonymousName, "edge-1") {
		t.Error("anonymous viewer should be unrestricted")
	}
	if err := s.SetScope("alice", Scope{}); err != nil {
		t.Fatal(err)
	}
	if !s.AllowDevice("alice", "edge-1") {
		t.Error("empty scope should lift the limit")
	}
	for _, bad := range []Scope{{Devices: []string{"["}}, {Trees: []string{""}}, {Devices: make([]string, maxPatterns+1)}} {
		if err := s.SetScope("alice", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetScope(%q): %v", bad.Devices, err)
		}
	}
	if err := s.SetScope("nobody", sc); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetScope(nobody): %v", err)
	}
}
