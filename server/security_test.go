package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/trainyard/trainyard/accounts"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
	"github.com/trainyard/trainyard/runs"
)

// addUser stores a user with the password "password-" + name.
func (a *testApp) addUser(t *testing.T, name string, role accounts.Role) {
	t.Helper()
	if _, err := a.srv.h.accounts.CreateUser(context.Background(), name, role, "password-"+name); err != nil {
		t.Fatal(err)
	}
}

// token makes an API token for the user.
func (a *testApp) token(t *testing.T, user string) string {
	t.Helper()
	sec, _, err := a.srv.h.accounts.CreateToken(context.Background(), user, "test")
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

// probe is one request with chosen headers; it never follows redirects.
type probe struct {
	method, path, body string
	header             map[string]string
}

func (a *testApp) send(t *testing.T, client *http.Client, p probe) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(p.method, a.url+p.path, strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if client == nil {
		client = noRedirect(nil)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login logs the user in through the form and returns a client holding the
// session cookie and the session's CSRF token (read from the page's meta tag).
func (a *testApp) login(t *testing.T, name string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	form := url.Values{"name": {name}, "password": {"password-" + name}, "next": {"/"}}
	code, body, h := a.send(t, c, probe{"POST", "/login", form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Fatalf("login %s: %d %s", name, code, body)
	}
	_, page, _ := a.send(t, c, probe{"GET", "/account", "", nil})
	i := strings.Index(page, `<meta name="csrf-token" content="`)
	if i < 0 {
		t.Fatalf("no csrf meta tag on the account page: %s", page)
	}
	tok := page[i+len(`<meta name="csrf-token" content="`):]
	tok = tok[:strings.IndexByte(tok, '"')]
	if tok == "" {
		t.Fatal("empty CSRF token in a session's page")
	}
	return c, tok
}

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	for _, p := range []probe{
		{"GET", "/", "", nil}, {"GET", "/api/runs", "", nil}, {"GET", "/static/js/app.js", "", nil},
		{"GET", "/no/such/page", "", nil}, {"GET", "/api/runs/1", "", map[string]string{"Host": "rebind.evil.example"}},
		{"POST", "/api/experiments", "{}", map[string]string{"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"}},
	} {
		_, _, h := a.send(t, nil, p)
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s %s: Content-Security-Policy %q", p.method, p.path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s %s: headers %v", p.method, p.path, h)
		}
	}
}

// TestCrossSiteRequestsRefused replays what another web site can make a
// browser send: a text/plain fetch to the API and form posts to pages.
func TestCrossSiteRequestsRefused(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	_, ids := a.create(t, nn1Quick)
	cross := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	withType := func(ct string) map[string]string {
		h := map[string]string{"Content-Type": ct}
		for k, v := range cross {
			h[k] = v
		}
		return h
	}
	form := url.Values{"name": {"x"}, "preset": {"mnist-nn1"}, "repeats": {"1"}, "spec_json": {`{}`}}.Encode()
	for _, p := range []probe{
		{"POST", "/api/experiments", nn1Quick, withType("text/plain")},
		{"POST", "/api/experiments", nn1Quick, withType(jsonType)},
		{"POST", "/experiments", form, withType(formType)},
		{"POST", "/runs/" + itoa(ids[0]) + "/cancel", "", withType(formType)},
		{"POST", "/api/runs/" + itoa(ids[0]) + "/cancel", "", cross},
		// An older browser without Sec-Fetch-Site still sends Origin.
		{"POST", "/runs/" + itoa(ids[0]) + "/cancel", "", map[string]string{"Origin": "http://evil.example", "Content-Type": formType}},
		{"POST", "/runs/" + itoa(ids[0]) + "/cancel", "", map[string]string{"Sec-Fetch-Site": "same-site"}},
	} {
		code, body, _ := a.send(t, nil, p)
		if code != http.StatusForbidden || !strings.Contains(body, "cross-origin") {
			t.Errorf("%s %s %v: %d %s", p.method, p.path, p.header, code, clip(body, 200))
		}
	}
	if r := a.run(t, ids[0]); r.Status != runs.StatusQueued {
		t.Fatalf("a cross-site request changed the run: %s", r.Status)
	}
	if _, b, _ := a.do(t, "GET", "/api/experiments", ""); strings.Count(b2s(b), `"id"`) != 1 {
		t.Fatalf("a cross-site request stored an experiment: %s", b)
	}
	// The same requests from the site itself pass.
	code, _, _ := a.send(t, nil, probe{"POST", "/runs/" + itoa(ids[0]) + "/cancel", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": a.url, "Content-Type": formType}})
	if code != http.StatusSeeOther || a.run(t, ids[0]).Status != runs.StatusCancelled {
		t.Fatalf("same-origin cancel: %d", code)
	}
}

func b2s(b []byte) string { return string(b) }

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJSONEndpointsNeedJSONContentType(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		h := map[string]string{}
		if ct != "" {
			h["Content-Type"] = ct
		}
		for _, path := range []string{"/api/experiments", "/api/summary"} {
			code, body, _ := a.send(t, nil, probe{"POST", path, nn1Quick, h})
			if code != http.StatusUnsupportedMediaType || !strings.Contains(body, "Content-Type must be application/json") {
				t.Errorf("POST %s as %q: %d %s", path, ct, code, body)
			}
		}
	}
	_, ids := a.create(t, nn1Quick) // application/json passes
	// A POST without a body needs no Content-Type.
	if code, body, _ := a.send(t, nil, probe{"POST", "/api/runs/" + itoa(ids[0]) + "/cancel", "", nil}); code != http.StatusOK {
		t.Fatalf("cancel without a body: %d %s", code, body)
	}
}

func TestRebindingHostRefused(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{AllowedHosts: []string{"trainyard.lan"}})
	port := a.url[strings.LastIndexByte(a.url, ':')+1:]
	for host, want := range map[string]int{
		"rebind.evil.example":         http.StatusMisdirectedRequest,
		"rebind.evil.example:" + port: http.StatusMisdirectedRequest,
		"localhost:1":                 http.StatusMisdirectedRequest,
		"127.0.0.1":                   http.StatusMisdirectedRequest, // port 80, not the served one
		"10.1.2.3:" + port:            http.StatusMisdirectedRequest,
		"localhost:" + port:           http.StatusOK,
		"127.0.0.1:" + port:           http.StatusOK,
		"[::1]:" + port:               http.StatusOK,
		"trainyard.lan":               http.StatusOK,
		"TrainYard.LAN:" + port:       http.StatusOK,
	} {
		code, body, h := a.send(t, nil, probe{"GET", "/api/runs", "", map[string]string{"Host": host}})
		if code != want {
			t.Errorf("Host %s: %d %s, want %d", host, code, clip(body, 200), want)
		}
		if want == http.StatusMisdirectedRequest && (strings.Contains(body, "[") || !strings.HasPrefix(h.Get("Content-Type"), "application/json")) {
			t.Errorf("Host %s: refused with %s %s", host, h.Get("Content-Type"), body)
		}
	}
	if code, _, _ := a.send(t, nil, probe{"GET", "/", "", map[string]string{"Host": "rebind.evil.example"}}); code != http.StatusMisdirectedRequest {
		t.Errorf("page with a rebinding Host: %d", code)
	}
}

// TestExposedAddressNeedsAccounts: serve on an address other machines reach
// refuses to start without --auth and a user, and on a wildcard address
// without --allowed-hosts.
func TestExposedAddressNeedsAccounts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	try := func(cfg Config) error {
		cfg.DataDir, cfg.Logger = dir, discardLogger()
		s, err := New(context.Background(), cfg)
		if err == nil {
			s.Close(context.Background())
		}
		return err
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Addr: "0.0.0.0:8080"}, "trainyard user add NAME --role admin --data-dir " + dir},
		{Config{Addr: "192.0.2.7:8080", Auth: false}, "then start with --auth"},
		{Config{Addr: ":8080", Auth: true}, "without accounts"},
		{Config{Addr: "[::]:8080", Auth: true}, "without accounts"},
	} {
		if err := try(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error saying %q", c.cfg.Addr, err, c.want)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		if err := try(Config{Addr: addr}); err != nil {
			t.Errorf("loopback %s without auth: %v", addr, err)
		}
	}
	a := setupCfg(t, Config{DataDir: dir})
	a.addUser(t, "root", accounts.RoleAdmin)
	a.srv.Close(context.Background())
	if err := try(Config{Addr: "0.0.0.0:8080", Auth: true}); err == nil || !strings.Contains(err.Error(), "--allowed-hosts") {
		t.Errorf("wildcard without --allowed-hosts: %v", err)
	}
	if err := try(Config{Addr: "0.0.0.0:8080", Auth: false, AllowedHosts: []string{"x.lan"}}); err == nil || !strings.Contains(err.Error(), "add --auth") {
		t.Errorf("a user but no --auth: %v", err)
	}
	for _, cfg := range []Config{{Addr: "0.0.0.0:8080", Auth: true, AllowedHosts: []string{"x.lan"}}, {Addr: "192.0.2.7:8080", Auth: true}} {
		if err := try(cfg); err != nil {
			t.Errorf("%s with auth and a user: %v", cfg.Addr, err)
		}
	}
}

func TestAuthRequiresLogin(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Auth: true})
	code, body, h := a.send(t, nil, probe{"GET", "/api/runs", "", nil})
	var e struct{ Error string }
	if code != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" || h.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous API: %d %s", code, body)
	}
	if code, body, _ := a.send(t, nil, probe{"POST", "/api/experiments", nn1Quick, map[string]string{"Content-Type": jsonType}}); code != http.StatusUnauthorized {
		t.Fatalf("anonymous create: %d %s", code, body)
	}
	code, _, h = a.send(t, nil, probe{"GET", "/runs/1?x=1", "", nil})
	if code != http.StatusSeeOther || h.Get("Location") != "/login?next="+url.QueryEscape("/runs/1?x=1") {
		t.Fatalf("anonymous page: %d to %s", code, h.Get("Location"))
	}
	for _, p := range []string{"/login", "/static/js/app.js", "/static/css/app.css"} {
		if code, _, _ := a.send(t, nil, probe{"GET", p, "", nil}); code != http.StatusOK {
			t.Errorf("GET %s without login: %d", p, code)
		}
	}
	if code, _, _ := a.send(t, nil, probe{"GET", "/api/runs", "", map[string]string{"Authorization": "Bearer tyt_madeup"}}); code != http.StatusUnauthorized {
		t.Errorf("made-up token: %d", code)
	}
	a.addUser(t, "ann", accounts.RoleMember)
	// A wrong password re-renders the form; a good one goes where it was going.
	form := url.Values{"name": {"ann"}, "password": {"wrong-password"}, "next": {"/runs/1"}}
	if code, body, _ := a.send(t, nil, probe{"POST", "/login", form.Encode(), map[string]string{"Content-Type": formType}}); code != http.StatusUnauthorized || !strings.Contains(body, "wrong user name or password") {
		t.Fatalf("wrong password: %d %s", code, clip(body, 300))
	}
	var c *http.Client
	for next, want := range map[string]string{"/runs/1": "/runs/1", "//evil.example/": "/", "https://evil.example/": "/"} {
		jar, _ := cookiejar.New(nil)
		c = noRedirect(jar)
		form = url.Values{"name": {"ann"}, "password": {"password-ann"}, "next": {next}}
		code, _, h := a.send(t, c, probe{"POST", "/login", form.Encode(), map[string]string{"Content-Type": formType}})
		if code != http.StatusSeeOther || h.Get("Location") != want {
			t.Fatalf("login with next %s: %d to %s", next, code, h.Get("Location"))
		}
		ck := h.Get("Set-Cookie")
		if !strings.Contains(ck, sessionCookie+"=") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") || strings.Contains(ck, "Secure") {
			t.Fatalf("session cookie over plain HTTP: %s", ck)
		}
	}
	if code, _, _ := a.send(t, c, probe{"GET", "/api/runs", "", nil}); code != http.StatusOK {
		t.Fatalf("logged in API: %d", code)
	}
}

func TestViewerCannotChangeAnything(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Auth: true})
	a.addUser(t, "vic", accounts.RoleViewer)
	a.addUser(t, "mia", accounts.RoleMember)
	bearer := map[string]string{"Authorization": "Bearer " + a.token(t, "mia"), "Content-Type": jsonType}
	code, body, _ := a.send(t, nil, probe{"POST", "/api/experiments", nn1Quick, bearer})
	if code != http.StatusCreated {
		t.Fatalf("member create: %d %s", code, body)
	}
	var created createResponse
	json.Unmarshal([]byte(body), &created)
	vic := map[string]string{"Authorization": "Bearer " + a.token(t, "vic"), "Content-Type": jsonType}
	if code, _, _ := a.send(t, nil, probe{"GET", "/api/runs", "", vic}); code != http.StatusOK {
		t.Fatalf("viewer read: %d", code)
	}
	if code, _, _ := a.send(t, nil, probe{"POST", "/api/summary", `{"dataset":"mnist"}`, vic}); code != http.StatusOK {
		t.Fatalf("viewer summary: %d", code)
	}
	for _, p := range []probe{
		{"POST", "/api/experiments", nn1Quick, vic},
		{"POST", "/api/runs/" + itoa(created.Runs[0]) + "/cancel", "", vic},
		{"POST", "/api/suites/seed-report", "", vic},
	} {
		if code, body, _ := a.send(t, nil, p); code != http.StatusForbidden || !strings.Contains(body, "viewer") {
			t.Errorf("viewer %s %s: %d %s", p.method, p.path, code, body)
		}
	}
	// Through the pages, with a valid CSRF token, too.
	c, csrf := a.login(t, "vic")
	form := url.Values{"_csrf": {csrf}, "name": {"x"}, "preset": {"mnist-nn1"}, "repeats": {"1"}, "spec_json": {`{}`}}
	if code, _, _ := a.send(t, c, probe{"POST", "/experiments", form.Encode(), map[string]string{"Content-Type": formType}}); code != http.StatusForbidden {
		t.Errorf("viewer form post: %d", code)
	}
	if r := a.runAs(t, created.Runs[0], bearer); r.Status != runs.StatusQueued || r.CreatedBy != "mia" {
		t.Fatalf("run after the viewer's attempts: %s by %q", r.Status, r.CreatedBy)
	}
}

// runAs reads a run with the given headers (a token).
func (a *testApp) runAs(t *testing.T, id int64, h map[string]string) runs.Run {
	t.Helper()
	code, body, _ := a.send(t, nil, probe{"GET", "/api/runs/" + itoa(id), "", h})
	if code != http.StatusOK {
		t.Fatalf("run %d: %d %s", id, code, body)
	}
	var r runs.Run
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTokenWorksUntilRevoked(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, testTokenWorksUntilRevoked)
}

func testTokenWorksUntilRevoked(t *testing.T, d migrations.Dialect) {
	a := setupCfg(t, Config{Auth: true, DB: dbtest.URL(t, d)})
	a.addUser(t, "tom", accounts.RoleMember)
	tok := a.token(t, "tom")
	h := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonType}
	code, body, _ := a.send(t, nil, probe{"POST", "/api/experiments", nn1Quick, h})
	if code != http.StatusCreated {
		t.Fatalf("create with a token: %d %s", code, body)
	}
	code, body, _ = a.send(t, nil, probe{"GET", "/api/experiments", "", h})
	if code != http.StatusOK || !strings.Contains(body, `"created_by":"tom"`) {
		t.Fatalf("experiments: %d %s", code, body)
	}
	if err := a.srv.h.accounts.RevokeToken(context.Background(), "tom", tok); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := a.send(t, nil, probe{"GET", "/api/experiments", "", h}); code != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
		t.Fatalf("revoked token: %d %s", code, body)
	}
	// On the account page: make one, use it, revoke it.
	c, csrf := a.login(t, "tom")
	code, page, _ := a.send(t, c, probe{"POST", "/account/tokens", url.Values{"_csrf": {csrf}, "label": {"ci"}}.Encode(), map[string]string{"Content-Type": formType}})
	i := strings.Index(page, `id="new-token">`)
	if code != http.StatusOK || i < 0 {
		t.Fatalf("account token: %d %s", code, clip(page, 300))
	}
	tok2 := page[i+len(`id="new-token">`):]
	tok2 = tok2[:strings.IndexByte(tok2, '<')]
	h2 := map[string]string{"Authorization": "Bearer " + tok2}
	if code, _, _ := a.send(t, nil, probe{"GET", "/api/runs", "", h2}); code != http.StatusOK {
		t.Fatalf("token from the account page: %d", code)
	}
	toks, _ := a.srv.h.accounts.Tokens(context.Background(), "tom")
	if len(toks) != 1 || toks[0].Label != "ci" || toks[0].LastUsedAt == nil {
		t.Fatalf("tokens = %+v", toks)
	}
	code, _, hdr := a.send(t, c, probe{"POST", "/account/tokens/" + toks[0].ID + "/revoke", url.Values{"_csrf": {csrf}}.Encode(), map[string]string{"Content-Type": formType}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/account" {
		t.Fatalf("revoke on the page: %d", code)
	}
	if code, _, _ := a.send(t, nil, probe{"GET", "/api/runs", "", h2}); code != http.StatusUnauthorized {
		t.Fatalf("token revoked on the page: %d", code)
	}
}

// TestSessionRequestsNeedCSRFToken: a request that comes with the session
// cookie must carry the session's CSRF token; curl with a token needs none.
func TestSessionRequestsNeedCSRFToken(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{})
	a.addUser(t, "sue", accounts.RoleMember)
	c, csrf := a.login(t, "sue")
	for _, p := range []probe{
		{"POST", "/api/experiments", nn1Quick, map[string]string{"Content-Type": jsonType}},
		{"POST", "/api/experiments", nn1Quick, map[string]string{"Content-Type": jsonType, "X-CSRF-Token": "not-the-token"}},
		{"POST", "/experiments", url.Values{"name": {"x"}}.Encode(), map[string]string{"Content-Type": formType}},
		{"POST", "/logout", "", nil},
	} {
		if code, body, _ := a.send(t, c, p); code != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Errorf("%s %s without the token: %d %s", p.method, p.path, code, clip(body, 200))
		}
	}
	code, body, _ := a.send(t, c, probe{"POST", "/api/experiments", nn1Quick, map[string]string{"Content-Type": jsonType, "X-CSRF-Token": csrf}})
	if code != http.StatusCreated {
		t.Fatalf("with the header: %d %s", code, body)
	}
	var created createResponse
	json.Unmarshal([]byte(body), &created)
	code, _, h := a.send(t, c, probe{"POST", "/runs/" + itoa(created.Runs[0]) + "/cancel", url.Values{"_csrf": {csrf}}.Encode(), map[string]string{"Content-Type": formType}})
	if code != http.StatusSeeOther || a.run(t, created.Runs[0]).Status != runs.StatusCancelled {
		t.Fatalf("form cancel with the field: %d %v", code, h)
	}
	if r := a.run(t, created.Runs[0]); r.CreatedBy != "sue" {
		t.Fatalf("created_by = %q", r.CreatedBy)
	}
	// Without the cookie (curl, scripts) no token is asked for.
	if code, body, _ := a.send(t, nil, probe{"POST", "/api/experiments", nn1Quick, map[string]string{"Content-Type": jsonType}}); code != http.StatusCreated {
		t.Fatalf("no cookie: %d %s", code, body)
	}
	// Logging out ends the session: the cookie no longer counts.
	if code, _, _ := a.send(t, c, probe{"POST", "/logout", url.Values{"_csrf": {csrf}}.Encode(), map[string]string{"Content-Type": formType}}); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	if _, page, _ := a.send(t, c, probe{"GET", "/", "", nil}); strings.Contains(page, `id="usernav"`) {
		t.Fatal("still logged in after logout")
	}
}

func TestMemberCannotCancelAnotherMembersRun(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, testMemberCannotCancelAnotherMembersRun)
}

func testMemberCannotCancelAnotherMembersRun(t *testing.T, d migrations.Dialect) {
	a := setupCfg(t, Config{Auth: true, DB: dbtest.URL(t, d)})
	for name, role := range map[string]accounts.Role{"amy": accounts.RoleMember, "bob": accounts.RoleMember, "ada": accounts.RoleAdmin} {
		a.addUser(t, name, role)
	}
	as := func(user string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + a.token(t, user), "Content-Type": jsonType}
	}
	amy, bob, ada := as("amy"), as("bob"), as("ada")
	var r1, r2 createResponse
	for _, r := range []*createResponse{&r1, &r2} {
		_, body, _ := a.send(t, nil, probe{"POST", "/api/experiments", nn1Quick, amy})
		json.Unmarshal([]byte(body), r)
	}
	for _, path := range []string{"/api/runs/" + itoa(r1.Runs[0]) + "/cancel", "/runs/" + itoa(r1.Runs[0]) + "/cancel"} {
		if code, body, _ := a.send(t, nil, probe{"POST", path, "", bob}); code != http.StatusForbidden || !strings.Contains(body, "belongs to amy") {
			t.Errorf("bob cancels amy's run at %s: %d %s", path, code, body)
		}
	}
	for _, p := range []probe{
		{"PATCH", "/api/runs/" + itoa(r1.Runs[0]), `{"note": "bob was here"}`, bob},
		{"DELETE", "/api/runs/" + itoa(r1.Runs[0]), "", bob},
		{"PATCH", "/api/experiments/" + itoa(r1.ID), `{"note": "bob was here"}`, bob},
		{"DELETE", "/api/experiments/" + itoa(r1.ID), "", bob},
	} {
		if code, body, _ := a.send(t, nil, p); code != http.StatusForbidden || !strings.Contains(body, "belongs to amy") {
			t.Errorf("bob: %s %s: %d %s", p.method, p.path, code, body)
		}
	}
	if r := a.runAs(t, r1.Runs[0], amy); r.Status != runs.StatusQueued || strings.Contains(b2s(mustJSON(t, r)), "bob was here") {
		t.Fatalf("bob changed amy's run: %+v", r)
	}
	if code, body, _ := a.send(t, nil, probe{"PATCH", "/api/runs/" + itoa(r1.Runs[0]), `{"note": "mine"}`, amy}); code != http.StatusOK {
		t.Errorf("amy notes her run: %d %s", code, body)
	}
	if code, _, _ := a.send(t, nil, probe{"POST", "/api/runs/" + itoa(r1.Runs[0]) + "/cancel", "", amy}); code != http.StatusOK {
		t.Errorf("amy cancels her run: %d", code)
	}
	if code, _, _ := a.send(t, nil, probe{"POST", "/api/runs/" + itoa(r2.Runs[0]) + "/cancel", "", ada}); code != http.StatusOK {
		t.Errorf("an admin cancels amy's run: %d", code)
	}
	// A run that does not exist is 404 to a member, as to anyone.
	missing := itoa(r2.Runs[0] + 1000)
	for _, p := range []probe{
		{"POST", "/api/runs/" + missing + "/cancel", "", bob},
		{"POST", "/runs/" + missing + "/cancel", "", bob},
		{"PATCH", "/api/runs/" + missing, `{"note": "x"}`, bob},
		{"DELETE", "/api/runs/" + missing, "", bob},
		{"DELETE", "/api/runs/" + missing, "", ada},
	} {
		if code, body, _ := a.send(t, nil, p); code != http.StatusNotFound {
			t.Errorf("%s %s: %d %s", p.method, p.path, code, body)
		}
	}
}

// TestOwnRunHandsOnTheRun: ownRun reads the run to check a member's
// request and the handler uses that run, so a member's delete reads the
// runs table as often as an admin's (whom ownRun does not check).
func TestOwnRunHandsOnTheRun(t *testing.T) { eachDB(t, testOwnRunHandsOnTheRun) }

func testOwnRunHandsOnTheRun(t *testing.T, d migrations.Dialect) {
	var reads atomic.Int64
	a := setupCfg(t, Config{Auth: true, DB: dbtest.URL(t, d)}, func(s *Server) {
		// Count the queries of the runs table that requests make.
		err := s.db.Gorm.Callback().Query().After("gorm:query").Register("test:count_run_reads", func(db *gorm.DB) {
			if _, ok := db.Statement.Context.Value(callerKey{}).(caller); ok && db.Statement.Table == "runs" {
				reads.Add(1)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	a.addUser(t, "amy", accounts.RoleMember)
	a.addUser(t, "ada", accounts.RoleAdmin)
	amy := map[string]string{"Authorization": "Bearer " + a.token(t, "amy"), "Content-Type": jsonType}
	ada := map[string]string{"Authorization": "Bearer " + a.token(t, "ada"), "Content-Type": jsonType}
	var ids []int64
	for range 2 {
		code, body, _ := a.send(t, nil, probe{"POST", "/api/experiments", nn1Quick, amy})
		var r createResponse
		if err := json.Unmarshal([]byte(body), &r); code != http.StatusCreated || err != nil {
			t.Fatalf("create: %d %s", code, body)
		}
		if code, body, _ := a.send(t, nil, probe{"POST", "/api/runs/" + itoa(r.Runs[0]) + "/cancel", "", amy}); code != http.StatusOK {
			t.Fatalf("cancel: %d %s", code, body)
		}
		ids = append(ids, r.Runs[0])
	}
	deleteReads := func(id int64, as map[string]string) int64 {
		t.Helper()
		reads.Store(0)
		if code, body, _ := a.send(t, nil, probe{"DELETE", "/api/runs/" + itoa(id), "", as}); code != http.StatusNoContent {
			t.Fatalf("delete run %d: %d %s", id, code, body)
		}
		n := reads.Load()
		if code, _, _ := a.send(t, nil, probe{"GET", "/api/runs/" + itoa(id), "", ada}); code != http.StatusNotFound {
			t.Fatalf("run %d after its delete: %d", id, code)
		}
		return n
	}
	member, admin := deleteReads(ids[0], amy), deleteReads(ids[1], ada)
	t.Logf("reads of the runs table by a delete: member %d, admin %d", member, admin)
	if admin == 0 {
		t.Fatal("no reads of the runs table counted")
	}
	if member != admin {
		t.Errorf("a member's delete read the runs table %d times, an admin's %d: the handler read the run ownRun had read", member, admin)
	}
}

func TestLoginAttemptsRateLimited(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Auth: true})
	a.addUser(t, "lee", accounts.RoleMember)
	wrong := url.Values{"name": {"lee"}, "password": {"guess-guess"}}.Encode()
	for i := range 10 {
		if code, _, _ := a.send(t, nil, probe{"POST", "/login", wrong, map[string]string{"Content-Type": formType}}); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	right := url.Values{"name": {"lee"}, "password": {"password-lee"}}.Encode()
	code, body, h := a.send(t, nil, probe{"POST", "/login", right, map[string]string{"Content-Type": formType}})
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "too many login attempts") {
		t.Fatalf("11th attempt: %d %s", code, clip(body, 200))
	}
	// Only logins are limited.
	if code, _, _ := a.send(t, nil, probe{"GET", "/login", "", nil}); code != http.StatusOK {
		t.Fatalf("login page after the limit: %d", code)
	}
}
