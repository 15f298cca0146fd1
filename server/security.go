package server

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/accounts"
	"github.com/trainyard/trainyard/web"
)

// contentSecurityPolicy allows scripts, styles, images and connections from
// trainyard itself only: no inline script or style, no framing, no plugins.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets, on every response (errors included), the headers
// that keep browsers from running injected script, framing the pages,
// guessing content types or leaking addresses to other sites.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if c.Request().TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}

// hostGuard answers 421 to a request whose Host header is not one this
// server answers to, which is what a DNS-rebinding page sends. Allowed: a
// loopback name (localhost, 127.0.0.1, [::1]) on the port the request came
// in on, the address it came in on, and cfg.AllowedHosts (a name, or name:port).
func hostGuard(cfg Config) echo.MiddlewareFunc {
	allowed := map[string]bool{}
	for _, h := range cfg.AllowedHosts {
		allowed[strings.ToLower(strings.TrimSpace(h))] = true
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if !hostAllowed(r, cfg.Addr, allowed) {
				return echo.NewHTTPError(http.StatusMisdirectedRequest,
					fmt.Sprintf("this server does not answer to the host %q; serve with --allowed-hosts NAME to add it", clip(r.Host, 80)))
			}
			return next(c)
		}
	}
}

func hostAllowed(r *http.Request, addr string, allowed map[string]bool) bool {
	host := strings.ToLower(r.Host)
	if host == "" {
		return false
	}
	name, port, err := net.SplitHostPort(host)
	if err != nil { // no port: the scheme's default
		name, port = strings.Trim(host, "[]"), "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	if allowed[name] || allowed[net.JoinHostPort(name, port)] {
		return true
	}
	// The address the connection came in on (the listener's when it is not a wildcard).
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	localHost, localPort, err := net.SplitHostPort(addr)
	if local != nil {
		localHost, localPort, err = net.SplitHostPort(local.String())
	}
	if err != nil || port != localPort {
		return false
	}
	switch name {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return name == strings.ToLower(localHost)
}

// crossOriginGuard answers 403 to a state-changing request a browser sent
// from another origin (Sec-Fetch-Site, else Origin against Host): another
// web site cannot post forms or scripts here. Requests without those headers
// (curl, scripts) pass; they need a token when auth is on.
func crossOriginGuard() echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := cop.Check(c.Request()); err != nil {
				return echo.NewHTTPError(http.StatusForbidden, "cross-origin request refused: a page of another site may not change anything here")
			}
			return next(c)
		}
	}
}

// jsonBody is the middleware of the routes that read a JSON body: a body of
// any other Content-Type is refused with 415 (a browser form or a text/plain
// fetch from another page cannot pass for JSON). A request without a body needs none.
func jsonBody(next echo.HandlerFunc) echo.HandlerFunc {
	return bodyOf("application/json")(next)
}

// bodyOf is jsonBody for routes that take one of several body types.
func bodyOf(types ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
				return next(c)
			}
			mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
			for _, t := range types {
				if mt == t {
					return next(c)
				}
			}
			got := mt
			if got == "" {
				got = "none"
			}
			return echo.NewHTTPError(http.StatusUnsupportedMediaType,
				fmt.Sprintf("Content-Type must be %s, got %s", strings.Join(types, " or "), clip(got, 80)))
		}
	}
}

// unsafeMethod reports whether the method may change state.
func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// checkCSRF verifies that a request authenticated by the session cookie
// carries the session's CSRF token, in the X-CSRF-Token header or the form
// field _csrf. Form bodies are read under the route's own body limit.
func checkCSRF(c echo.Context, want string) error {
	r := c.Request()
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
		if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
			if limit, ok := uploadRoutes[c.Path()]; ok {
				r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			}
			if err := r.ParseMultipartForm(32 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				if tooLarge(err) {
					return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
				}
				return badRequest{msg: "the form could not be read"}
			}
			got = r.PostFormValue(web.CSRFFieldName)
		}
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return echo.NewHTTPError(http.StatusForbidden,
			"missing or wrong CSRF token: reload the page and try again (scripts: send Authorization: Bearer TOKEN and no session cookie)")
	}
	return nil
}

// checkExposure refuses to serve on an address other hosts can reach unless
// every request must log in and someone can; a wildcard address also needs
// --allowed-hosts. It checks the TLS files too.
func checkExposure(ctx context.Context, cfg Config, accts *accounts.Store) error {
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	if cfg.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", cfg.Addr, err)
	}
	if loopback(host) {
		return nil
	}
	n, err := accts.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("refusing to serve on %s, which other machines can reach, without accounts: "+
			"create one with `trainyard user add NAME --role admin --data-dir %s`, then start with --auth "+
			"(or serve on 127.0.0.1)", cfg.Addr, cfg.DataDir)
	}
	if !cfg.Auth {
		return fmt.Errorf("refusing to serve on %s, which other machines can reach, without --auth: "+
			"add --auth so every request logs in (%d users exist: trainyard user list), or serve on 127.0.0.1", cfg.Addr, n)
	}
	if ip := net.ParseIP(host); (host == "" || ip != nil && ip.IsUnspecified()) && len(cfg.AllowedHosts) == 0 {
		return fmt.Errorf("serving on the wildcard address %s needs --allowed-hosts with the names people use to reach it "+
			"(e.g. --allowed-hosts trainyard.lan,192.168.1.20)", cfg.Addr)
	}
	return nil
}

// loopback reports whether a listen host is reachable from this machine only.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clip quotes at most n bytes of what a client sent.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
