// Package web owns trainyard's HTML: the templ pages and components, the
// embedded static assets (stylesheet, page scripts, and htmx, its SSE
// extension and uPlot vendored from npm) and the page JavaScript.
//
// Each page is one templ component that takes one props struct (see
// viewmodels.go): HomePage, NewExperimentPage, RunPage, ComparePage,
// ExperimentPage, NotFoundPage and ErrorPage. Chart and form data reach the
// page's scripts through templ.JSONScript. Static holds the assets, served by
// the server under /static/ (StaticRoot strips the "static/" folder).
//
// web renders plain values handed to it: it imports experiments and runs for
// their plain types only, and must not import server, trainer, migrations, a
// database driver or echo. The generated *_templ.go files are committed;
// check-generated.sh fails when they are stale.
package web
