package auth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// benchStore has 1000 users with a token and a session each, so lookups
// go through real indexes rather than a one-row table.
func benchStore(b *testing.B) (*Store, []string, []string) {
	s, _ := newStore(b, nil)
	var toks, sess []string
	for i := range 1000 {
		name := "user" + strconv.Itoa(i)
		if _, err := s.insertUser(b.Context(), s.db, name, RoleViewer, []byte("!")); err != nil {
			b.Fatal(err)
		}
		tok, _, err := s.NewToken(name, "bench", time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		id, err := s.NewSession(name, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		toks, sess = append(toks, tok), append(sess, id)
		// Record the first use now, so the timed loop measures the
		// steady state (last_used is written at most once a minute).
		if _, err := s.CheckToken(tok); err != nil {
			b.Fatal(err)
		}
	}
	return s, toks, sess
}

func BenchmarkCheckToken(b *testing.B) {
	s, toks, _ := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.CheckToken(toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCheckTokenParallel(b *testing.B) {
	s, toks, _ := benchStore(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.CheckToken(toks[i%len(toks)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkCheckTokenMalformed(b *testing.B) {
	s, _, _ := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.CheckToken("sag_definitely-not-a-token"); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkSessionUser(b *testing.B) {
	s, _, sess := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.SessionUser(sess[i%len(sess)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// The whole middleware stack for a cookie-session page view.
func BenchmarkMiddlewareSession(b *testing.B) {
	s, _, sess := benchStore(b)
	a, err := NewAuthenticator(s, Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Middleware(a.CSRF(Require(RoleViewer, ChallengeLogin)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))))
	r := httptest.NewRequest(http.MethodGet, "/graphs", nil)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: sess[0]})
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if w.Code != http.StatusOK {
		b.Fatalf("status %d", w.Code)
	}
}
