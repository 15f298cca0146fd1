package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/runs"
)

// serveWith serves a (not started: runs stay queued) server with the given
// timeouts, as Serve does, and returns its address.
func serveWith(t *testing.T, to timeouts) (*Server, string) {
	t.Helper()
	s, err := New(context.Background(), Config{DataDir: t.TempDir(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(s.Handler(), to, discardLogger())
	go srv.Serve(ln)
	t.Cleanup(func() {
		s.Close(context.Background())
		srv.Close()
	})
	return s, ln.Addr().String()
}

func TestServerTimeouts(t *testing.T) {
	t.Parallel()
	short := timeouts{header: 300 * time.Millisecond, read: 500 * time.Millisecond, write: 500 * time.Millisecond, idle: time.Second}
	s, addr := serveWith(t, short)
	base := "http://" + addr

	// A client that never finishes its headers is cut off.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /api/runs HTTP/1.1\r\nHost: localhost\r\n"))
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a connection with unfinished headers open")
	}
	if bytes.Contains(got, []byte("200 OK")) {
		t.Fatalf("answered unfinished headers: %s", got)
	}

	// Headers over the limit are refused.
	req, _ := http.NewRequest("GET", base+"/api/runs", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 2*maxHeaderBytes))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("oversized headers: %v %v, want 431", res, err)
	}

	// An event stream outlives the read and write timeouts.
	code, b := post(t, base+"/api/experiments", tinyCaptcha)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, b)
	}
	id := decode[createResponse](t, b).Runs[0]
	res, err := http.Get(base + "/api/runs/" + itoa(id) + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	if line, _ := rd.ReadString('\n'); line != "event: status\n" {
		t.Fatalf("first line %q", line)
	}
	rd.ReadString('\n')
	rd.ReadString('\n')
	time.Sleep(3 * short.write)
	s.h.broker.Publish(runs.Event{RunID: id, Kind: runs.EventProgress, Data: runs.Progress{Epoch: 1}})
	if line, err := rd.ReadString('\n'); line != "event: progress\n" {
		t.Fatalf("after the write timeout the stream gave %q, %v; want the next event", line, err)
	}
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// recordHandler keeps log records' messages.
type recordHandler struct {
	slog.Handler
	msgs *[]string
}

func (r recordHandler) Handle(_ context.Context, rec slog.Record) error {
	*r.msgs = append(*r.msgs, rec.Level.String()+" "+rec.Message)
	return nil
}

func TestClientGoneIsNotAnError(t *testing.T) {
	t.Parallel()
	var msgs []string
	h := &handler{log: slog.New(recordHandler{Handler: slog.NewTextHandler(io.Discard, nil), msgs: &msgs})}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", "/api/runs/1/evaluate", nil)
	rec := httptest.NewRecorder()
	h.errorHandler(context.Canceled, echo.New().NewContext(req, rec))
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "INFO client went away") {
		t.Fatalf("logged %q, want one INFO line", msgs)
	}
	// The same error while the client is still there is a server error.
	msgs = nil
	req = httptest.NewRequest("POST", "/api/runs/1/evaluate", nil)
	rec = httptest.NewRecorder()
	h.errorHandler(context.Canceled, echo.New().NewContext(req, rec))
	if rec.Code != http.StatusInternalServerError || len(msgs) != 1 || !strings.HasPrefix(msgs[0], "ERROR") {
		t.Fatalf("%d, logged %q", rec.Code, msgs)
	}
}
