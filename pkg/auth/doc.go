// Package auth owns who may do what in Saguaro: users and their roles,
// bcrypt-hashed passwords, API tokens, browser sessions, CSRF tokens, login
// rate limiting and per-user device scopes. State lives in an embedded
// SQLite database (DATA_DIR/state.db, pure-Go driver, numbered migrations).
//
// The package speaks plain net/http: Authenticator.Middleware, Require and
// Authenticator.CSRF are func(http.Handler) http.Handler, so pkg/web wraps
// them with echo.WrapMiddleware and auth never imports echo. Passwords and
// token plaintexts never appear in its errors or log lines.
package auth
