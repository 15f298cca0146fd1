package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/trainyard/trainyard/accounts"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/web"
)

// sessionCookie names the login cookie: HttpOnly, SameSite=Lax, Secure under TLS.
const sessionCookie = "trainyard_session"

// caller is who sent a request: a user (nil when anonymous) and, when the
// user came with the session cookie, that session.
type caller struct {
	user    *accounts.User
	session *accounts.Session
}

type callerKey struct{}

// callerOf returns who sent the request in ctx (the zero caller when anonymous).
func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// userName is the name recorded as the creator of what the request makes ("" when anonymous).
func userName(ctx context.Context) string {
	if u := callerOf(ctx).user; u != nil {
		return u.Name
	}
	return ""
}

// publicRoutes answer without a login when auth is on.
var publicRoutes = map[string]bool{"/login": true, "/static*": true}

// viewerRoutes are the state-changing routes a viewer may use: they change
// nothing but the viewer's own login and tokens, or only compute.
var viewerRoutes = map[string]bool{
	"/login": true, "/logout": true, "/account/tokens": true, "/account/tokens/:id/revoke": true, "/api/summary": true,
}

// authenticate finds who sent the request (an API token in Authorization:
// Bearer, else the session cookie) and enforces, in order: a session's
// CSRF token on state-changing requests, the login that --auth requires,
// and the viewer role's read-only rule. Without --auth an anonymous caller
// may do everything, as one person on loopback did before accounts.
func (h *handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx := r.Context()
		var who caller
		if authz := r.Header.Get(echo.HeaderAuthorization); authz != "" {
			scheme, tok, _ := strings.Cut(authz, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				return unauthorized(c, "Authorization must be Bearer TOKEN")
			}
			u, err := h.accounts.UserByToken(ctx, strings.TrimSpace(tok))
			if errors.Is(err, accounts.ErrNotFound) {
				return unauthorized(c, "unknown or revoked API token")
			}
			if err != nil {
				return err
			}
			who.user = &u
		} else if ck, err := r.Cookie(sessionCookie); err == nil {
			s, err := h.accounts.SessionByCookie(ctx, ck.Value)
			switch {
			case err == nil:
				who.user, who.session = &s.User, &s
			case errors.Is(err, accounts.ErrNotFound):
				clearSessionCookie(c) // expired or logged out elsewhere: carry on as anonymous
			default:
				return err
			}
		}
		v := web.Viewer{}
		if who.user != nil {
			v.Name, v.Role = who.user.Name, string(who.user.Role)
		}
		if who.session != nil {
			v.CSRFToken = who.session.CSRFToken
		}
		c.SetRequest(r.WithContext(web.WithViewer(context.WithValue(ctx, callerKey{}, who), v)))

		unsafe := unsafeMethod(r.Method)
		if unsafe && who.session != nil {
			if err := checkCSRF(c, who.session.CSRFToken); err != nil {
				return err
			}
		}
		if who.user == nil && h.auth && !publicRoutes[c.Path()] {
			return loginRequired(c)
		}
		if unsafe && who.user != nil && !who.user.Role.CanWrite() && !viewerRoutes[c.Path()] {
			return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("%s is a viewer: viewers may read but not change anything", who.user.Name))
		}
		return next(c)
	}
}

// unauthorized answers 401 with a JSON error under /api/ (through the error handler).
func unauthorized(c echo.Context, msg string) error {
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="trainyard"`)
	return echo.NewHTTPError(http.StatusUnauthorized, msg)
}

// loginRequired answers an anonymous request when auth is on: 401 JSON for
// the API, a redirect to the login page (coming back afterwards) for pages.
func loginRequired(c echo.Context) error {
	r := c.Request()
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return unauthorized(c, "log in first: send Authorization: Bearer TOKEN (trainyard token create --user NAME)")
	}
	next := "/"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(next))
}

// ownRun is the middleware of routes that change one run (:id): a member
// may change only the runs of experiments they created; admins, and the
// anonymous user of a server without --auth, any run. The run it reads to
// check a member is handed on to the handler through routeRun.
func (h *handler) ownRun(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		u := callerOf(ctx).user
		if u == nil || u.Role == accounts.RoleAdmin {
			return next(c)
		}
		r, err := h.routeRun(c)
		if err != nil {
			return err
		}
		if r.CreatedBy != u.Name {
			return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("run %d belongs to %s: only they or an admin may change it", r.ID, ownerText(r.CreatedBy)))
		}
		c.SetRequest(c.Request().WithContext(context.WithValue(ctx, routeRunKey{}, r)))
		return next(c)
	}
}

type routeRunKey struct{}

// routeRun returns the run the route's :id names: the one ownRun read
// for this request, else the run as the store has it now. A handler that
// needs the run as it is after a change reads it again.
func (h *handler) routeRun(c echo.Context) (runs.Run, error) {
	ctx := c.Request().Context()
	if r, ok := ctx.Value(routeRunKey{}).(runs.Run); ok {
		return r, nil
	}
	id, err := idParam(c, "run")
	if err != nil {
		return runs.Run{}, err
	}
	return h.runs.Run(ctx, id)
}

// ownExperiment is ownRun for routes that change one experiment (:id).
func (h *handler) ownExperiment(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := callerOf(c.Request().Context()).user
		if u == nil || u.Role == accounts.RoleAdmin {
			return next(c)
		}
		id, err := idParam(c, "experiment")
		if err != nil {
			return err
		}
		e, err := h.exps.Experiment(c.Request().Context(), id)
		if err != nil {
			return err
		}
		if e.CreatedBy != u.Name {
			return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("experiment %d belongs to %s: only they or an admin may change it", id, ownerText(e.CreatedBy)))
		}
		return next(c)
	}
}

// adminOnly is the middleware of routes that change what belongs to no
// one user (imported datasets): admins, and the anonymous user of a server
// without --auth, may; members may not.
func (h *handler) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := callerOf(c.Request().Context()).user
		if u == nil || u.Role == accounts.RoleAdmin {
			return next(c)
		}
		return echo.NewHTTPError(http.StatusForbidden, "only an admin may do this")
	}
}

func ownerText(name string) string {
	if name == "" {
		return "no account"
	}
	return name
}

// loginLimit allows each client address 10 login attempts at once, then one
// every 30 seconds; more answer 429 with Retry-After.
func loginLimit() echo.MiddlewareFunc {
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Every(30 * time.Second), Burst: 10, ExpiresIn: 30 * time.Minute,
	})
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Skipper: func(c echo.Context) bool { return c.Request().Method != http.MethodPost },
		Store:   store,
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set(echo.HeaderRetryAfter, "30")
			return echo.NewHTTPError(http.StatusTooManyRequests, "too many login attempts from this address: wait 30 seconds and try again")
		},
		ErrorHandler: func(c echo.Context, err error) error {
			return echo.NewHTTPError(http.StatusForbidden, "could not tell where the request came from")
		},
	})
}

func setSessionCookie(c echo.Context, value string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Request().TLS != nil,
	})
}

func clearSessionCookie(c echo.Context) { setSessionCookie(c, "", -1) }
