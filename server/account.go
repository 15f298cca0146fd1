package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/accounts"
	"github.com/trainyard/trainyard/web"
)

// safeNext returns where to go after logging in: a path on this site, else "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || len(next) > 2000 {
		return "/"
	}
	return next
}

func (h *handler) loginPage(c echo.Context) error {
	return render(c, http.StatusOK, web.LoginPage(web.LoginProps{Next: safeNext(c.QueryParam("next"))}))
}

// login checks the name and password, starts a session (its cookie) and
// goes on to next. A wrong name or password re-renders the form with 401.
func (h *handler) login(c echo.Context) error {
	ctx := c.Request().Context()
	name, password, next := c.FormValue("name"), c.FormValue("password"), safeNext(c.FormValue("next"))
	u, err := h.accounts.Authenticate(ctx, name, password)
	if errors.Is(err, accounts.ErrBadCredentials) {
		h.log.Warn("login failed", "user", clip(name, 64), "ip", c.RealIP())
		return render(c, http.StatusUnauthorized, web.LoginPage(web.LoginProps{Next: next, Name: clip(name, 64), Error: err.Error()}))
	}
	if err != nil {
		return err
	}
	if old, err := c.Cookie(sessionCookie); err == nil {
		h.accounts.DeleteSession(ctx, old.Value)
	}
	cookie, s, err := h.accounts.CreateSession(ctx, u.Name)
	if err != nil {
		return err
	}
	setSessionCookie(c, cookie, int(time.Until(s.ExpiresAt).Seconds()))
	return c.Redirect(http.StatusSeeOther, next)
}

func (h *handler) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := h.accounts.DeleteSession(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/login")
}

// accountUser is the logged-in user of an account route; anonymous callers
// go to the login page.
func accountUser(c echo.Context) (*accounts.User, error) {
	u := callerOf(c.Request().Context()).user
	if u == nil {
		return nil, loginRequired(c)
	}
	return u, nil
}

func (h *handler) accountPage(c echo.Context) error {
	u, err := accountUser(c)
	if u == nil {
		return err
	}
	return h.renderAccount(c, u, http.StatusOK, "", "")
}

func (h *handler) renderAccount(c echo.Context, u *accounts.User, code int, newToken, msg string) error {
	toks, err := h.accounts.Tokens(c.Request().Context(), u.Name)
	if err != nil {
		return err
	}
	p := web.AccountProps{Name: u.Name, Role: string(u.Role), NewToken: newToken, Error: msg}
	for _, t := range toks {
		p.Tokens = append(p.Tokens, web.TokenItem{ID: t.ID, Label: t.Label, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt})
	}
	return render(c, code, web.AccountPage(p))
}

// tokenCreate makes an API token for the logged-in user and shows it once.
func (h *handler) tokenCreate(c echo.Context) error {
	u, err := accountUser(c)
	if u == nil {
		return err
	}
	sec, _, err := h.accounts.CreateToken(c.Request().Context(), u.Name, strings.TrimSpace(c.FormValue("label")))
	var fe *accounts.FieldError
	if errors.As(err, &fe) {
		return h.renderAccount(c, u, http.StatusUnprocessableEntity, "", fe.Message)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return h.renderAccount(c, u, http.StatusOK, sec, "")
}

// tokenRevoke deletes one of the logged-in user's tokens.
func (h *handler) tokenRevoke(c echo.Context) error {
	u, err := accountUser(c)
	if u == nil {
		return err
	}
	err = h.accounts.RevokeToken(c.Request().Context(), u.Name, c.Param("id"))
	if errors.Is(err, accounts.ErrNotFound) {
		return notFound{msg: "no such token of yours: " + clip(c.Param("id"), 40)}
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account")
}
