package runs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var testFields = map[string]QueryField{
	"learning_rate": {Numeric: true, SQL: "lr"},
	"epochs":        {Numeric: true, SQL: "ep"},
	"test_accuracy": {Numeric: true, SQL: "acc"},
	"optimizer":     {SQL: "opt"},
	"preset":        {SQL: "preset"},
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		q    string
		sql  string
		args []any
	}{
		{"", "", nil},
		{"learning_rate < 0.01 and epochs >= 50 and test_accuracy > 0.98",
			"(((lr < ?) AND (ep >= ?)) AND (acc > ?))", []any{0.01, 50.0, 0.98}},
		{"optimizer = adam or (preset == 'mnist-cnn2' and not epochs != 1e2)",
			"((opt = ?) OR ((preset = ?) AND (NOT (ep <> ?))))", []any{"adam", "mnist-cnn2", 100.0}},
		{"EPOCHS<=-1 OR preset=mnist-nn1", "((ep <= ?) OR (preset = ?))", []any{-1.0, "mnist-nn1"}},
	} {
		sql, args, err := ParseQuery(tc.q, testFields)
		if err != nil || sql != tc.sql || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("%q: %q %v %v, want %q %v", tc.q, sql, args, err, tc.sql, tc.args)
		}
	}
}

func TestParseQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		q, token, msg string
		pos           int
	}{
		{"epochs > 5 and colour = red", "colour", "unknown field", 15},
		{"epochs >", "", "expected a value", 8},
		{"epochs 5", "5", "expected an operator", 7},
		{"epochs > fifty", "fifty", "is a number", 9},
		{"optimizer < adam", "<", "is text", 10},
		{"(epochs > 5", "", "expected )", 11},
		{"epochs > 5 epochs", "epochs", "expected and, or", 11},
		{"epochs ! 5", "!", "unknown operator", 7},
		{"preset = 'mnist", "'mnist", "unterminated string", 9},
		{"epochs > 1.2.3", "1.2.3", "not a number", 9},
		{"epochs > 5 ; drop table runs", ";", "unexpected character", 11},
		{strings.Repeat("(", 30) + "epochs > 1" + strings.Repeat(")", 30), "(", "nested", 20},
	} {
		_, _, err := ParseQuery(tc.q, testFields)
		var qe *QueryError
		if !errors.As(err, &qe) || qe.Token != tc.token || qe.Pos != tc.pos || !strings.Contains(qe.Msg, tc.msg) {
			t.Errorf("%q: %v (%+v), want %q at %d (%s)", tc.q, err, qe, tc.token, tc.pos, tc.msg)
		}
	}
	long := strings.Repeat("epochs > 1 and ", 60) + "epochs > 1"
	if _, _, err := ParseQuery(long, testFields); err == nil || !strings.Contains(err.Error(), "too many comparisons") {
		t.Errorf("61 comparisons: %v", err)
	}
	if _, _, err := ParseQuery(strings.Repeat(" ", MaxQueryLen+1), testFields); err != nil {
		t.Errorf("blank query: %v", err)
	}
	if _, _, err := ParseQuery("epochs > 1"+strings.Repeat(" ", MaxQueryLen), testFields); err == nil {
		t.Error("over-long query accepted")
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, q := range []string{"learning_rate < 0.01 and epochs >= 50", "not (optimizer = 'adam' or preset != x)", "((", "epochs > -1e400", "'"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		sql, args, err := ParseQuery(q, testFields)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Pos < 0 || qe.Pos > len(q) {
				t.Fatalf("%q: error %v is not a QueryError inside the query", q, err)
			}
			return
		}
		if strings.Count(sql, "?") != len(args) {
			t.Fatalf("%q: %d placeholders, %d args", q, strings.Count(sql, "?"), len(args))
		}
	})
}
