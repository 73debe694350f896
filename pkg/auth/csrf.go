package auth

import (
	"crypto/subtle"
	"net/http"
)

// CSRFField and CSRFHeader are where CSRF expects the token.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// CSRF rejects (403) state-changing requests (any method but GET, HEAD,
// OPTIONS) that a browser could have been tricked into sending:
//   - cookie sessions and proxy logins must carry CSRFToken(r) in the
//     X-CSRF-Token header or the csrf_token form field;
//   - requests with no user or the anonymous viewer (the login form) must
//     not be cross-origin (Sec-Fetch-Site / Origin, net/http's check), which
//     stops login CSRF;
//   - Bearer and Basic requests pass: browsers never attach those on their
//     own, so there is no ambient credential to abuse.
//
// It must run after Middleware.
func (a *Authenticator) CSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		switch MethodFrom(r.Context()) {
		case MethodToken, MethodBasic:
		case MethodSession, MethodProxy:
			want := CSRFToken(r)
			got := r.Header.Get(CSRFHeader)
			if got == "" {
				got = r.PostFormValue(CSRFField)
			}
			if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				writeError(w, r, http.StatusForbidden, "forbidden: missing or invalid CSRF token", false)
				return
			}
		default:
			if err := a.cop.Check(r); err != nil {
				writeError(w, r, http.StatusForbidden, "forbidden: cross-origin request", false)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
