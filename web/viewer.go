package web

import (
	"context"
	"time"
)

// Viewer is who is looking at a page: the logged-in user (Name "" when no one
// is) and the CSRF token the page's forms and scripts send back. The server
// puts it in the request context (WithViewer); the layout and every form read it.
type Viewer struct {
	Name string
	Role string
	// CSRFToken is the session's token ("" without a session: then none is needed).
	CSRFToken string
}

type viewerKey struct{}

// WithViewer returns ctx carrying v, for the pages rendered with it.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// viewerOf returns the Viewer in ctx, or the zero Viewer.
func viewerOf(ctx context.Context) Viewer {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v
}

// CSRFFieldName is the form field that carries the CSRF token; scripts send
// the X-CSRF-Token header instead.
const CSRFFieldName = "_csrf"

// htmxConfig turns off what htmx would otherwise do inline, which the
// Content-Security-Policy forbids: its injected indicator <style> and eval.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}`

// LoginProps is the login page: where to go after it, what was typed and why it failed.
type LoginProps struct {
	Next  string
	Name  string
	Error string
}

// AccountProps is the account page of the logged-in user.
type AccountProps struct {
	Name   string
	Role   string
	Tokens []TokenItem
	// NewToken is a token just made, shown once.
	NewToken string
	Error    string
}

// TokenItem is what the account page shows of one API token (never its secret).
type TokenItem struct {
	ID         string
	Label      string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}
