package runs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// ListQuery asks for one page of the runs table. Zero fields match everything.
type ListQuery struct {
	Status       Status
	Preset       string
	Dataset      string
	Tag          string
	ExperimentID int64
	// Search matches a substring of the experiment's name, any case.
	Search string
	// Q is an expression of the query language (see ParseQuery) over ListFields.
	Q string
	// Sort is a column of SortColumns, "-" first for descending (default "-created").
	Sort string
	// Limit is the page size, 1 to MaxListLimit (default 50).
	Limit int
	// Cursor is the NextCursor of the previous page, "" for the first.
	Cursor string
}

// MaxListLimit is the largest page of the runs table.
const MaxListLimit = 500

// ListedRun is one row of the runs table: the run without its epochs and test
// details, with its summary fields at the top level (null until known).
type ListedRun struct {
	Run
	TestAccuracy    *float64 `json:"test_accuracy"`
	BestValAccuracy *float64 `json:"best_val_accuracy"`
	Params          int      `json:"params"`
}

// Page is one page of the runs table and the cursor of the next (null on the last).
type Page struct {
	Runs       []ListedRun `json:"runs"`
	NextCursor *string     `json:"next_cursor"`
}

// ParamError is a list request whose parameter cannot be used; it names the
// parameter (sort, cursor, q, limit, ...).
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }

// sortColumn is a column the runs table sorts on; nullable ones put their
// unknown values last in both directions.
type sortColumn struct {
	sql      string
	nullable bool
}

var sortColumns = map[string]sortColumn{
	"created":           {sql: "runs.id"},
	"id":                {sql: "runs.id"},
	"test_accuracy":     {sql: "runs.test_accuracy", nullable: true},
	"best_val_accuracy": {sql: "runs.best_val_accuracy", nullable: true},
	"epochs":            {sql: "runs.epochs"},
	"train_seconds":     {sql: "runs.train_seconds"},
	"params":            {sql: "runs.params"},
	"learning_rate":     {sql: "runs.learning_rate"},
}

// SortColumns lists the columns the runs table sorts on.
func SortColumns() []string {
	out := make([]string, 0, len(sortColumns))
	for k := range sortColumns {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ListFields are the fields a runs query (ListQuery.Q) may compare.
var ListFields = map[string]QueryField{
	"id":                {Numeric: true, SQL: "runs.id"},
	"epochs":            {Numeric: true, SQL: "runs.epochs"},
	"batch_size":        {Numeric: true, SQL: "runs.batch_size"},
	"learning_rate":     {Numeric: true, SQL: "runs.learning_rate"},
	"seed":              {Numeric: true, SQL: "runs.seed"},
	"params":            {Numeric: true, SQL: "runs.params"},
	"test_accuracy":     {Numeric: true, SQL: "runs.test_accuracy"},
	"best_val_accuracy": {Numeric: true, SQL: "runs.best_val_accuracy"},
	"train_seconds":     {Numeric: true, SQL: "runs.train_seconds"},
	"optimizer":         {SQL: "runs.optimizer"},
	"dataset":           {SQL: "runs.dataset"},
	"status":            {SQL: "runs.status"},
	"device":            {SQL: "runs.device"},
	"preset":            {SQL: "experiments.preset"},
	"experiment":        {SQL: "experiments.name"},
}

// cursor is where the next page starts: after (value, id) in the sort order,
// or, with Null, after id among the runs whose sort value is unknown.
type cursor struct {
	Sort  string  `json:"s"`
	Null  bool    `json:"n,omitempty"`
	Value float64 `json:"v"`
	ID    int64   `json:"id"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, sort string) (cursor, error) {
	bad := &ParamError{Param: "cursor", Msg: "not a cursor of this listing: start again from the first page"}
	if len(s) > 200 {
		return cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.ID < 1 || math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
		return cursor{}, bad
	}
	if c.Sort != sort {
		return cursor{}, &ParamError{Param: "cursor", Msg: fmt.Sprintf("the cursor belongs to sort=%s, not sort=%s", c.Sort, sort)}
	}
	return c, nil
}

// List returns one page of runs matching q in its sort order. Bad parameters
// are a *ParamError naming the parameter.
func (s *Store) List(ctx context.Context, q ListQuery) (Page, error) {
	sort, desc := q.Sort, false
	if sort == "" {
		sort = "-created"
	}
	name := strings.TrimPrefix(sort, "-")
	desc = name != sort
	col, ok := sortColumns[name]
	if !ok {
		return Page{}, &ParamError{Param: "sort", Msg: fmt.Sprintf("cannot sort by %q: use one of %s, with - first for descending", clip(name, 40), strings.Join(SortColumns(), ", "))}
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > MaxListLimit:
		return Page{}, &ParamError{Param: "limit", Msg: fmt.Sprintf("must be between 1 and %d", MaxListLimit)}
	}
	var after *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, sort)
		if err != nil {
			return Page{}, err
		}
		after = &c
	}
	where, args, err := ParseQuery(q.Q, ListFields)
	if err != nil {
		return Page{}, &ParamError{Param: "q", Msg: err.Error()}
	}

	filter := func() *gorm.DB {
		db := s.db.WithContext(ctx).Table("runs").
			Joins("JOIN experiments ON experiments.id = runs.experiment_id")
		if q.Status != "" {
			db = db.Where("runs.status = ?", string(q.Status))
		}
		if q.Preset != "" {
			db = db.Where("experiments.preset = ?", q.Preset)
		}
		if q.Dataset != "" {
			db = db.Where("runs.dataset = ?", q.Dataset)
		}
		if q.ExperimentID != 0 {
			db = db.Where("runs.experiment_id = ?", q.ExperimentID)
		}
		if q.Tag != "" {
			db = db.Where("EXISTS (SELECT 1 FROM run_tags WHERE run_tags.run_id = runs.id AND run_tags.tag = ?)", q.Tag)
		}
		if q.Search != "" {
			db = db.Where("LOWER(experiments.name) LIKE ? ESCAPE '\\'", "%"+likeEscape(strings.ToLower(q.Search))+"%")
		}
		if where != "" {
			db = db.Where(where, args...)
		}
		return db
	}
	dir, cmp := "ASC", ">"
	if desc {
		dir, cmp = "DESC", "<"
	}
	var rows []runRow
	// Known values first, in order; then, for a nullable column, the unknown ones by id.
	if after == nil || !after.Null {
		db := filter()
		if col.nullable {
			db = db.Where(col.sql + " IS NOT NULL")
		}
		if after != nil {
			if col.sql == "runs.id" {
				db = db.Where("runs.id "+cmp+" ?", after.ID)
			} else {
				db = db.Where("("+col.sql+", runs.id) "+cmp+" (?, ?)", after.Value, after.ID)
			}
		}
		order := col.sql + " " + dir
		if col.sql != "runs.id" {
			order += ", runs.id " + dir
		}
		if err := s.pageRows(ctx, db, order, limit+1, &rows); err != nil {
			return Page{}, fmt.Errorf("list runs: %w", err)
		}
	}
	if col.nullable && len(rows) <= limit {
		db := filter().Where(col.sql + " IS NULL")
		if after != nil && after.Null {
			db = db.Where("runs.id "+cmp+" ?", after.ID)
		}
		var more []runRow
		if err := s.pageRows(ctx, db, "runs.id "+dir, limit+1-len(rows), &more); err != nil {
			return Page{}, fmt.Errorf("list runs: %w", err)
		}
		rows = append(rows, more...)
	}
	page := Page{Runs: make([]ListedRun, 0, min(len(rows), limit))}
	if len(rows) > limit {
		last := rows[limit-1]
		c := cursor{Sort: sort, ID: last.ID}
		switch v := last.sortValue(name); {
		case v == nil:
			c.Null = true
		default:
			c.Value = *v
		}
		next := c.encode()
		page.NextCursor = &next
		rows = rows[:limit]
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	tags, err := s.tagsOf(ctx, "run_tags", "run_id", ids)
	if err != nil {
		return Page{}, err
	}
	for _, r := range rows {
		lr, err := r.listed()
		if err != nil {
			return Page{}, err
		}
		lr.Tags = tags[r.ID]
		if lr.Tags == nil {
			lr.Tags = []string{}
		}
		page.Runs = append(page.Runs, lr)
	}
	return page, nil
}

// pageRows reads into rows the first n runs of the filtered query db in
// order. It picks their ids first, which indexes answer without reading the
// rows, and then reads only those n rows: a filter that matches many runs
// (a preset and a name at a million runs) would otherwise read every match
// whole to sort them.
func (s *Store) pageRows(ctx context.Context, db *gorm.DB, order string, n int, rows *[]runRow) error {
	ids := db.Select("runs.id").Order(order).Limit(n)
	return s.db.WithContext(ctx).Table("runs").
		Joins("JOIN experiments ON experiments.id = runs.experiment_id").
		Where("runs.id IN (?)", ids).
		Select(listColumns).Order(order).Find(rows).Error
}

// listColumns are the columns a page reads: not the test result, which holds
// confusion matrices and images.
const listColumns = "runs.id, runs.experiment_id, runs.status, runs.error, runs.device, runs.spec, runs.train_seconds, " +
	"runs.created_at, runs.started_at, runs.finished_at, runs.test_accuracy, runs.best_val_accuracy, runs.params, " +
	"runs.epochs, runs.learning_rate, runs.note, runs.stop_rung, runs.weights_sha256, experiments.name AS experiment_name, experiments.preset AS experiment_preset, " +
	"experiments.created_by AS created_by"

func (r runRow) sortValue(name string) *float64 {
	f := func(v float64) *float64 { return &v }
	switch name {
	case "test_accuracy":
		return r.TestAccuracy
	case "best_val_accuracy":
		return r.BestValAccuracy
	case "epochs":
		return f(float64(r.Epochs))
	case "train_seconds":
		return f(r.TrainSeconds)
	case "params":
		return f(float64(r.Params))
	case "learning_rate":
		return f(r.LearningRate)
	default:
		return f(float64(r.ID))
	}
}

func (r runRow) listed() (ListedRun, error) {
	run, err := r.run()
	if err != nil {
		return ListedRun{}, err
	}
	return ListedRun{Run: run, TestAccuracy: r.TestAccuracy, BestValAccuracy: r.BestValAccuracy, Params: r.Params}, nil
}

// tagsOf returns the tags of each id from a tag table.
func (s *Store) tagsOf(ctx context.Context, table, key string, ids []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID  int64
		Tag string
	}
	if err := s.db.WithContext(ctx).Table(table).Select(key+" AS id, tag").Where(key+" IN ?", ids).Order("tag").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = append(out[r.ID], r.Tag)
	}
	return out, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
