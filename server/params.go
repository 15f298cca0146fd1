package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/runs"
)

// idParam reads the :id path parameter; a malformed id is as unknown as a missing one.
func idParam(c echo.Context, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, notFound{msg: fmt.Sprintf("%s %q not found", what, c.Param("id"))}
	}
	return id, nil
}

// maxCompare is the most runs one comparison takes.
const maxCompare = 100

// runIDs reads a comma-separated list of distinct run ids ("3,4,9"); a bad
// list is a *runs.ParamError naming "runs".
func runIDs(s string) ([]int64, error) {
	var ids []int64
	seen := map[int64]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil || id < 1 {
			if len(part) > 20 {
				part = part[:20] + "…"
			}
			return nil, &runs.ParamError{Param: "runs", Msg: fmt.Sprintf("%q is not a run id", part)}
		}
		if seen[id] {
			return nil, &runs.ParamError{Param: "runs", Msg: fmt.Sprintf("run %d is named twice: name each run once", id)}
		}
		seen[id] = true
		if len(ids) == maxCompare {
			return nil, &runs.ParamError{Param: "runs", Msg: fmt.Sprintf("compare at most %d runs", maxCompare)}
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, &runs.ParamError{Param: "runs", Msg: "name at least one run, e.g. ?runs=3,4"}
	}
	return ids, nil
}

// targetParam reads ?target=, the validation accuracy (a fraction above 0,
// at most 1) a comparison times the runs to; empty is runs.DefaultTarget.
func targetParam(s string) (float64, error) {
	if strings.TrimSpace(s) == "" {
		return runs.DefaultTarget, nil
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(x > 0 && x <= 1) {
		if len(s) > 20 {
			s = s[:20] + "…"
		}
		return 0, &runs.ParamError{Param: "target", Msg: fmt.Sprintf("%q is not a validation accuracy: give a fraction above 0 and at most 1, e.g. 0.9", s)}
	}
	return x, nil
}
