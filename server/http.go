package server

import (
	"log/slog"
	"net/http"
	"time"
)

// timeouts are the HTTP server's limits on slow clients and long answers.
type timeouts struct {
	// header bounds reading a request's headers.
	header time.Duration
	// read bounds reading a whole request, body included (a dataset zip).
	read time.Duration
	// write bounds a request from its headers to the end of its answer;
	// event streams lift it (see streamForever).
	write time.Duration
	// idle bounds how long a kept-alive connection waits for a request.
	idle time.Duration
}

// defaultTimeouts leave room for a 200 MiB upload on a slow link and for
// evaluating a large dataset.
var defaultTimeouts = timeouts{header: 10 * time.Second, read: 5 * time.Minute, write: 10 * time.Minute, idle: 2 * time.Minute}

// maxHeaderBytes bounds a request's headers.
const maxHeaderBytes = 64 << 10

// newHTTPServer is the http.Server trainyard serves h with.
func newHTTPServer(h http.Handler, t timeouts, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.header,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelInfo),
	}
}

// streamForever lifts the read and write deadlines of a request that
// streams for as long as it lasts (server-sent events): otherwise the server's
// timeouts would end the stream.
func streamForever(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
}
