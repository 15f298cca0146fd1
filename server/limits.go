package server

import (
	"fmt"
	"runtime/debug"
	"strconv"

	"github.com/labstack/echo/v4"
)

// slot lets one request at a time do one kind of heavy work (evaluating a
// dataset, reading an image with a model); a request that finds it taken is
// answered 429 at once instead of queueing in memory.
type slot struct {
	ch chan struct{}
	// what names the work in the 429 message.
	what string
	// retryAfter is the Retry-After of a 429, in seconds.
	retryAfter int
}

func newSlot(what string, retryAfter int) *slot {
	return &slot{ch: make(chan struct{}, 1), what: what, retryAfter: retryAfter}
}

// take holds the slot for the request, or sets Retry-After and returns a
// busy error (429). Call the returned release when the work is done: it
// frees the slot and hands the work's memory back to the system.
func (s *slot) take(c echo.Context) (release func(), err error) {
	select {
	case s.ch <- struct{}{}:
		return func() {
			debug.FreeOSMemory()
			<-s.ch
		}, nil
	default:
		c.Response().Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
		return nil, busy{msg: fmt.Sprintf("another %s is running on this server; try again in %d seconds", s.what, s.retryAfter)}
	}
}

// busy is a request turned away because its kind of work is already running;
// it answers 429.
type busy struct{ msg string }

func (b busy) Error() string { return b.msg }
