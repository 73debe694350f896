package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// Outside input reaches the package through tokens, names, redirect
// targets and raw Authorization headers; none may panic, and none may
// authenticate unless it is the real credential.
func FuzzAuthorizationHeader(f *testing.F) {
	s, _ := newStore(f, nil)
	mustAdd(f, s, "alice", RoleViewer, "password1")
	a, err := NewAuthenticator(s, Options{})
	if err != nil {
		f.Fatal(err)
	}
	tok, _, _ := s.NewToken("alice", "t", zeroTime)
	for _, seed := range []string{"Bearer " + tok, "Bearer " + tok[:20], "Basic YWxpY2U6cGFzc3dvcmQx", "Basic !!!", "bearer", "Basic", "Bearer sag_' OR 1=1 --", "Digest x"} {
		f.Add(seed)
	}
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := UserFrom(r.Context()); ok {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", header)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			scheme, cred, _ := strings.Cut(header, " ")
			real := strings.EqualFold(scheme, "bearer") && strings.TrimSpace(cred) == tok ||
				strings.EqualFold(scheme, "basic")
			if !real {
				t.Fatalf("header %q authenticated", header)
			}
			if strings.EqualFold(scheme, "basic") {
				if name, pw, ok := r.BasicAuth(); !ok || !strings.EqualFold(name, "alice") || pw != "password1" {
					t.Fatalf("Basic header %q authenticated", header)
				}
			}
		}
	})
}

func FuzzTokenFormat(f *testing.F) {
	f.Add(newTokenText())
	f.Add("sag_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if wellFormedToken(s) && (len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix)) {
			t.Fatalf("%q accepted", s)
		}
	})
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/a", "//x", `/\x`, "http://x", "/a\r\nb", "/%2f%2fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SafeNext(s)
		if got != "/" && got != s {
			t.Fatalf("SafeNext(%q) = %q", s, got)
		}
		if got[0] != '/' || len(got) > 1 && (got[1] == '/' || got[1] == '\\') {
			t.Fatalf("SafeNext(%q) = %q leaves the site", s, got)
		}
	})
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"alice", "a.b@c-d_e", "", "a b", "ädmin", "admin' --"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidName(s) != nil {
			return
		}
		if !utf8.ValidString(s) || len(s) > maxNameLen || strings.ContainsAny(s, " '\"\\/;%\x00\r\n<>") {
			t.Fatalf("ValidName accepted %q", s)
		}
	})
}
