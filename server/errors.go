package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/web"
)

// fieldErrors is a request whose fields are invalid; it answers 422.
type fieldErrors map[string]string

func (f fieldErrors) Error() string { return "invalid request" }

// badRequest is a request that could not be read at all (malformed JSON); it answers 400.
type badRequest struct{ msg string }

func (b badRequest) Error() string { return b.msg }

// notFound names what was not found; it answers 404.
type notFound struct{ msg string }

func (n notFound) Error() string { return n.msg }

// conflict is a request that does not fit the thing's state; it answers 409.
type conflict struct{ msg string }

func (c conflict) Error() string { return c.msg }

// errorHandler maps every handler error to one answer: JSON under /api/, a page elsewhere.
func (h *handler) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		h.log.Info("client went away", "method", c.Request().Method, "path", c.Request().URL.Path)
		return
	}
	code, msg := http.StatusInternalServerError, "something went wrong on the server; the details are in its log"
	var fields fieldErrors
	var br badRequest
	var nf notFound
	var cf conflict
	var he *echo.HTTPError
	var ve *experiments.ValidationError
	var pe *runs.ParamError
	if ucode, umsg, ufields, ok := uploadError(err); ok {
		code, msg, fields = ucode, umsg, ufields
	}
	switch {
	case code != http.StatusInternalServerError:
	case errors.As(err, &fields):
		code, msg = http.StatusUnprocessableEntity, "invalid request"
	case errors.As(err, &ve):
		code, msg, fields = http.StatusUnprocessableEntity, "invalid spec", ve.Fields
	case errors.As(err, &pe):
		code, msg, fields = http.StatusBadRequest, pe.Error(), fieldErrors{pe.Param: pe.Msg}
	case errors.As(err, &br):
		code, msg = http.StatusBadRequest, br.msg
	case errors.As(err, &nf):
		code, msg = http.StatusNotFound, nf.msg
	case errors.Is(err, runs.ErrNotFound), errors.Is(err, experiments.ErrNotFound):
		code, msg = http.StatusNotFound, err.Error()
	case errors.As(err, &cf):
		code, msg = http.StatusConflict, cf.msg
	case errors.As(err, &he):
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(code)
		}
		if code == http.StatusNotFound {
			msg = "page not found: " + c.Request().URL.Path
		}
		if code == http.StatusRequestEntityTooLarge {
			msg = "request body too large"
		}
	default:
		h.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		body := map[string]any{"error": msg}
		if fields != nil {
			body["errors"] = fields
		}
		if c.Request().Method == http.MethodHead {
			c.NoContent(code)
			return
		}
		c.JSON(code, body)
		return
	}
	if code == http.StatusNotFound {
		render(c, code, web.NotFoundPage(web.NotFoundProps{Message: msg}))
		return
	}
	render(c, code, web.ErrorPage(web.ErrorProps{Code: code, Message: msg}))
}

// render writes a templ component as the response.
func render(c echo.Context, code int, comp templ.Component) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(code)
	return comp.Render(c.Request().Context(), c.Response())
}
