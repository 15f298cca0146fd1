package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// idParam reads the :id path parameter; a malformed id is as unknown as a missing one.
func idParam(c echo.Context, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, notFound{msg: fmt.Sprintf("%s %q not found", what, c.Param("id"))}
	}
	return id, nil
}

// runIDs reads a comma-separated list of run ids ("3,4,9").
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
			return nil, fieldErrors{"runs": fmt.Sprintf("%q is not a run id", part)}
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fieldErrors{"runs": "name at least one run, e.g. ?runs=3,4"}
	}
	if len(ids) > 20 {
		return nil, fieldErrors{"runs": "compare at most 20 runs"}
	}
	return ids, nil
}
