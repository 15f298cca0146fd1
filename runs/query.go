package runs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A runs query filters the runs table with comparisons of settings and
// metrics joined by and, or, not and parentheses:
//
//	learning_rate < 0.01 and epochs >= 50 and test_accuracy > 0.98
//	optimizer = adam or (preset = 'mnist-cnn2' and not status = failed)
//
// Each field has a type (number or text); numbers compare with < <= > >= =
// != and text with = and !=. A value is a number, a quoted string or a bare
// word. ParseQuery checks the whole expression and answers a *QueryError that
// points at the offending token.

// QueryField is one field a query may name: its type and the SQL expression
// that reads it from a row of the runs listing.
type QueryField struct {
	Numeric bool
	SQL     string
}

// QueryError is a query that cannot be read: Pos is the byte offset of the
// token it points at (0-based), Token that token ("" at the end).
type QueryError struct {
	Pos   int
	Token string
	Msg   string
}

func (e *QueryError) Error() string {
	tok := e.Token
	if tok == "" {
		return fmt.Sprintf("at the end (position %d): %s", e.Pos+1, e.Msg)
	}
	if len(tok) > 40 {
		tok = tok[:40] + "…"
	}
	return fmt.Sprintf("at %q (position %d): %s", tok, e.Pos+1, e.Msg)
}

// MaxQueryLen bounds a query's length in bytes; MaxQueryTerms its comparisons.
const (
	MaxQueryLen   = 2000
	MaxQueryTerms = 50
)

type tokKind int

const (
	tokEnd tokKind = iota
	tokIdent
	tokNumber
	tokString
	tokOp
	tokLParen
	tokRParen
)

type token struct {
	kind tokKind
	text string // the token as written (for strings: its value)
	pos  int
}

func lex(q string) ([]token, error) {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tokLParen, "(", i})
			i++
		case c == ')':
			out = append(out, token{tokRParen, ")", i})
			i++
		case strings.ContainsRune("<>=!", rune(c)):
			j := i + 1
			if j < len(q) && q[j] == '=' {
				j++
			}
			op := q[i:j]
			if op == "!" {
				return nil, &QueryError{i, op, "unknown operator; use one of < <= > >= = !="}
			}
			if op == "==" {
				op = "="
			}
			out = append(out, token{tokOp, op, i})
			i = j
		case c == '\'' || c == '"':
			j := strings.IndexByte(q[i+1:], c)
			if j < 0 {
				return nil, &QueryError{i, q[i:min(len(q), i+20)], "unterminated string: close it with " + string(c)}
			}
			out = append(out, token{tokString, q[i+1 : i+1+j], i})
			i += j + 2
		case c == '-' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(q) && (strings.IndexByte("0123456789.eE", q[j]) >= 0 || ((q[j] == '-' || q[j] == '+') && (q[j-1] == 'e' || q[j-1] == 'E'))) {
				j++
			}
			if _, err := strconv.ParseFloat(q[i:j], 64); err != nil {
				return nil, &QueryError{i, q[i:j], "not a number"}
			}
			out = append(out, token{tokNumber, q[i:j], i})
			i = j
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(q) && (q[j] == '_' || q[j] == '-' || q[j] == '.' || unicode.IsLetter(rune(q[j])) || unicode.IsDigit(rune(q[j]))) {
				j++
			}
			out = append(out, token{tokIdent, q[i:j], i})
			i = j
		default:
			return nil, &QueryError{i, string(q[i]), "unexpected character"}
		}
	}
	return append(out, token{tokEnd, "", len(q)}), nil
}

// parser builds the SQL condition of a query as it reads it.
type parser struct {
	toks   []token
	i      int
	fields map[string]QueryField
	args   []any
	terms  int
	depth  int
}

// ParseQuery turns a query into an SQL condition with ? placeholders and its
// arguments, over the given fields. An empty query is "" with no arguments.
func ParseQuery(q string, fields map[string]QueryField) (string, []any, error) {
	if strings.TrimSpace(q) == "" {
		return "", nil, nil
	}
	if len(q) > MaxQueryLen {
		return "", nil, &QueryError{MaxQueryLen, "", fmt.Sprintf("the query is longer than %d characters", MaxQueryLen)}
	}
	toks, err := lex(q)
	if err != nil {
		return "", nil, err
	}
	p := &parser{toks: toks, fields: fields}
	sql, err := p.or()
	if err != nil {
		return "", nil, err
	}
	if t := p.peek(); t.kind != tokEnd {
		return "", nil, &QueryError{t.pos, t.text, "expected and, or, or the end of the query"}
	}
	return sql, p.args, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEnd {
		p.i++
	}
	return t
}

func (p *parser) keyword(word string) bool {
	t := p.peek()
	if t.kind == tokIdent && strings.EqualFold(t.text, word) {
		p.i++
		return true
	}
	return false
}

func (p *parser) or() (string, error) {
	left, err := p.and()
	if err != nil {
		return "", err
	}
	for p.keyword("or") {
		right, err := p.and()
		if err != nil {
			return "", err
		}
		left = "(" + left + " OR " + right + ")"
	}
	return left, nil
}

func (p *parser) and() (string, error) {
	left, err := p.not()
	if err != nil {
		return "", err
	}
	for p.keyword("and") {
		right, err := p.not()
		if err != nil {
			return "", err
		}
		left = "(" + left + " AND " + right + ")"
	}
	return left, nil
}

func (p *parser) not() (string, error) {
	if p.keyword("not") {
		inner, err := p.not()
		if err != nil {
			return "", err
		}
		return "(NOT " + inner + ")", nil
	}
	if t := p.peek(); t.kind == tokLParen {
		p.next()
		if p.depth++; p.depth > 20 {
			return "", &QueryError{t.pos, t.text, "too many nested parentheses (at most 20)"}
		}
		inner, err := p.or()
		if err != nil {
			return "", err
		}
		p.depth--
		if c := p.next(); c.kind != tokRParen {
			return "", &QueryError{c.pos, c.text, "expected ) to close the ( at position " + strconv.Itoa(t.pos+1)}
		}
		return inner, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (string, error) {
	ft := p.next()
	if ft.kind != tokIdent {
		return "", &QueryError{ft.pos, ft.text, "expected a field name, e.g. learning_rate"}
	}
	f, ok := p.fields[strings.ToLower(ft.text)]
	if !ok {
		return "", &QueryError{ft.pos, ft.text, "unknown field; use one of " + fieldList(p.fields)}
	}
	if p.terms++; p.terms > MaxQueryTerms {
		return "", &QueryError{ft.pos, ft.text, fmt.Sprintf("too many comparisons (at most %d)", MaxQueryTerms)}
	}
	op := p.next()
	if op.kind != tokOp {
		return "", &QueryError{op.pos, op.text, "expected an operator after " + ft.text + ": < <= > >= = !="}
	}
	v := p.next()
	switch {
	case v.kind != tokNumber && v.kind != tokString && v.kind != tokIdent:
		return "", &QueryError{v.pos, v.text, "expected a value after " + op.text}
	case f.Numeric && v.kind != tokNumber:
		return "", &QueryError{v.pos, v.text, ft.text + " is a number"}
	case !f.Numeric && op.text != "=" && op.text != "!=":
		return "", &QueryError{op.pos, op.text, ft.text + " is text: compare it with = or !="}
	}
	if f.Numeric {
		x, _ := strconv.ParseFloat(v.text, 64)
		p.args = append(p.args, x)
	} else {
		p.args = append(p.args, v.text)
	}
	sqlOp := op.text
	if sqlOp == "!=" {
		sqlOp = "<>"
	}
	// A run without the value (no test result yet) matches no comparison.
	return "(" + f.SQL + " " + sqlOp + " ?)", nil
}

func fieldList(fields map[string]QueryField) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
