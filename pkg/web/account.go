package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/saguaro-monitoring/saguaro/pkg/auth"
)

type loginData struct {
	base
	Next  string
	Name  string
	Error string
}

func (s *Server) loginPage(c echo.Context) error {
	next := auth.SafeNext(c.QueryParam("next"))
	if u, ok := auth.UserFrom(c.Request().Context()); ok && u.ID != 0 {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return s.render(c, "login.html", loginData{base: s.base(c, "Log in"), Next: next})
}

func (s *Server) loginSubmit(c echo.Context) error {
	r := c.Request()
	name, pw := strings.TrimSpace(c.FormValue("username")), c.FormValue("password")
	next := auth.SafeNext(c.FormValue("next"))
	_, err := s.o.Auth.Login(c.Response(), r, name, pw)
	if err == nil {
		return c.Redirect(http.StatusSeeOther, next)
	}
	d := loginData{base: s.base(c, "Log in"), Next: next, Name: name}
	code := http.StatusUnauthorized
	var rl *auth.RateLimitError
	switch {
	case errors.As(err, &rl):
		code = http.StatusTooManyRequests
		c.Response().Header().Set("Retry-After", strconv.Itoa(rl.RetryAfterSeconds()))
		d.Error = "Too many failed attempts. Try again in " + strconv.Itoa(rl.RetryAfterSeconds()) + " s."
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrDisabled):
		// One message for both, so the form does not reveal which accounts exist.
		d.Error = "Wrong user name or password."
	default:
		return err
	}
	return s.renderStatus(c, code, "login.html", d)
}

func (s *Server) logout(c echo.Context) error {
	if err := s.o.Auth.Logout(c.Response(), c.Request()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, auth.LoginPath)
}

type accountData struct {
	base
	Tokens   []tokenJSON
	NewToken string
	NewName  string
	Error    string
	Method   string
}

// tokenJSON is a token as pages and the API show it; never the secret.
type tokenJSON struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Hint     string     `json:"hint"`
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires,omitempty"`
	LastUsed *time.Time `json:"last_used,omitempty"`
	Revoked  *time.Time `json:"revoked,omitempty"`
	Active   bool       `json:"active"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// currentUser is the request's user if it is a stored account (not the
// anonymous viewer): only those own tokens.
func currentUser(c echo.Context) (auth.User, error) {
	u, ok := auth.UserFrom(c.Request().Context())
	if !ok || u.ID == 0 {
		return u, echo.NewHTTPError(http.StatusForbidden, "only logged-in users have tokens")
	}
	return u, nil
}

func (s *Server) tokens(user string) ([]tokenJSON, error) {
	list, err := s.o.Users.Tokens(user)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]tokenJSON, 0, len(list))
	for _, t := range list {
		out = append(out, tokenJSON{ID: t.ID, Name: t.Name, Hint: t.Hint, Created: t.Created, Expires: optTime(t.Expires),
			LastUsed: optTime(t.LastUsed), Revoked: optTime(t.Revoked), Active: t.Active(now)})
	}
	return out, nil
}

func (s *Server) accountPage(c echo.Context) error {
	return s.renderAccount(c, http.StatusOK, "", "", "")
}

func (s *Server) renderAccount(c echo.Context, code int, newToken, newName, msg string) error {
	u, err := currentUser(c)
	if err != nil {
		return err
	}
	list, err := s.tokens(u.Name)
	if err != nil {
		return err
	}
	d := accountData{base: s.base(c, "Account"), Tokens: list, NewToken: newToken, NewName: newName, Error: msg,
		Method: string(auth.MethodFrom(c.Request().Context()))}
	return s.renderStatus(c, code, "account.html", d)
}

// readTokenForm reads a new token's name and optional lifetime in days.
func (s *Server) readTokenForm(name, days string) (time.Time, error) {
	if name == "" || len(name) > 100 {
		return time.Time{}, badParam("name", "give the token a name of 1 to 100 characters")
	}
	if days == "" || days == "0" {
		return time.Time{}, nil
	}
	n, err := strconv.Atoi(days)
	if err != nil || n < 0 || n > 3650 {
		return time.Time{}, badParam("expires_days", "%q is not a number of days from 0 (never) to 3650", days)
	}
	return s.now().AddDate(0, 0, n), nil
}

func (s *Server) accountNewToken(c echo.Context) error {
	u, err := currentUser(c)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.FormValue("name"))
	exp, err := s.readTokenForm(name, c.FormValue("expires_days"))
	if err != nil {
		return s.renderAccount(c, http.StatusBadRequest, "", "", err.Error())
	}
	plain, _, err := s.o.Users.NewToken(u.Name, name, exp)
	if err != nil {
		if errors.Is(err, auth.ErrInvalid) {
			return s.renderAccount(c, http.StatusBadRequest, "", "", "That token name is not allowed.")
		}
		return err
	}
	return s.renderAccount(c, http.StatusOK, plain, name, "")
}

func (s *Server) accountRevokeToken(c echo.Context) error {
	u, err := currentUser(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("tid"), 10, 64)
	if err != nil {
		return ErrNotFound
	}
	if err := s.o.Users.RevokeToken(u.Name, id); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account")
}

func (s *Server) apiTokens(c echo.Context) error {
	u, err := currentUser(c)
	if err != nil {
		return err
	}
	list, err := s.tokens(u.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": list})
}

func (s *Server) apiNewToken(c echo.Context) error {
	u, err := currentUser(c)
	if err != nil {
		return err
	}
	var req struct {
		Name        string `json:"name"`
		ExpiresDays int    `json:"expires_days"`
	}
	if err := (&echo.DefaultBinder{}).BindBody(c, &req); err != nil {
		return badParam("body", "want JSON {\"name\": ..., \"expires_days\": ...}")
	}
	exp, err := s.readTokenForm(strings.TrimSpace(req.Name), strconv.Itoa(req.ExpiresDays))
	if err != nil {
		return err
	}
	plain, info, err := s.o.Users.NewToken(u.Name, strings.TrimSpace(req.Name), exp)
	if err != nil {
		if errors.Is(err, auth.ErrInvalid) {
			return badParam("name", "not an allowed token name")
		}
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": info.ID, "name": info.Name, "token": plain, "hint": info.Hint, "expires": optTime(info.Expires)})
}

func (s *Server) apiRevokeToken(c echo.Context) error {
	u, err := currentUser(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("tid"), 10, 64)
	if err != nil {
		return badParam("id", "%q is not a token id", c.Param("tid"))
	}
	if err := s.o.Users.RevokeToken(u.Name, id); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type userJSON struct {
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created"`
	Disabled bool      `json:"disabled"`
}

func (s *Server) userList() ([]userJSON, error) {
	list, err := s.o.Users.Users()
	if err != nil {
		return nil, err
	}
	out := make([]userJSON, 0, len(list))
	for _, u := range list {
		out = append(out, userJSON{Name: u.Name, Role: string(u.Role), Created: u.Created, Disabled: u.Disabled})
	}
	return out, nil
}

func (s *Server) apiUsers(c echo.Context) error {
	list, err := s.userList()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"users": list})
}

type usersData struct {
	base
	Users []userJSON
}

func (s *Server) usersPage(c echo.Context) error {
	list, err := s.userList()
	if err != nil {
		return err
	}
	return s.render(c, "users.html", usersData{base: s.base(c, "Users"), Users: list})
}
