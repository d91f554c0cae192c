package metric

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// This file is metric math: the expression language of GetMetricData and alarms on
// Metrics. A time series is a slice of values over the query's period grid, NaN where a
// period has no datapoint; arithmetic is element-wise and a missing operand makes the
// result missing, as in CloudWatch.

// node is a parsed expression.
type node interface{}

type (
	numNode  float64
	strNode  string
	refNode  string
	callNode struct {
		fn   string
		args []node
	}
	binNode struct {
		op   byte
		l, r node
	}
	negNode struct{ x node }
)

// value is an expression's result: a scalar, one time series or an array of them.
type value struct {
	scalar float64
	series []float64   // nil unless a time series
	array  [][]float64 // nil unless an array (METRICS())
	lower  []float64   // an anomaly detection band's lower edge; series is its upper edge
	kind   byte        // 's' scalar, 't' time series, 'a' array, 'b' band
}

// mathError is a problem with an expression, reported as AWS's ValidationError-like
// InvalidParameterValue by GetMetricData.
type mathError struct{ msg string }

func (e *mathError) Error() string { return e.msg }

func mathErr(format string, args ...any) error { return &mathError{fmt.Sprintf(format, args...)} }

type lexer struct {
	src string
	pos int
}

func (l *lexer) skip() {
	for l.pos < len(l.src) && unicode.IsSpace(rune(l.src[l.pos])) {
		l.pos++
	}
}

func (l *lexer) peek() byte {
	l.skip()
	if l.pos >= len(l.src) {
		return 0
	}
	return l.src[l.pos]
}

// parseExpression parses a metric math expression.
func parseExpression(src string) (node, error) {
	l := &lexer{src: src}
	n, err := l.expr()
	if err != nil {
		return nil, err
	}
	if l.peek() != 0 {
		return nil, mathErr("Syntax error at position %d: unexpected %q.", l.pos+1, l.src[l.pos:l.pos+1])
	}
	return n, nil
}

func (l *lexer) expr() (node, error) {
	n, err := l.term()
	if err != nil {
		return nil, err
	}
	for {
		op := l.peek()
		if op != '+' && op != '-' {
			return n, nil
		}
		l.pos++
		r, err := l.term()
		if err != nil {
			return nil, err
		}
		n = binNode{op, n, r}
	}
}

func (l *lexer) term() (node, error) {
	n, err := l.unary()
	if err != nil {
		return nil, err
	}
	for {
		op := l.peek()
		if op != '*' && op != '/' {
			return n, nil
		}
		l.pos++
		r, err := l.unary()
		if err != nil {
			return nil, err
		}
		n = binNode{op, n, r}
	}
}

func (l *lexer) unary() (node, error) {
	if l.peek() == '-' {
		l.pos++
		x, err := l.unary()
		if err != nil {
			return nil, err
		}
		return negNode{x}, nil
	}
	n, err := l.primary()
	if err != nil {
		return nil, err
	}
	if l.peek() == '^' {
		l.pos++
		r, err := l.unary()
		if err != nil {
			return nil, err
		}
		return binNode{'^', n, r}, nil
	}
	return n, nil
}

func (l *lexer) primary() (node, error) {
	c := l.peek()
	switch {
	case c == 0:
		return nil, mathErr("Syntax error: unexpected end of expression.")
	case c == '(':
		l.pos++
		n, err := l.expr()
		if err != nil {
			return nil, err
		}
		if l.peek() != ')' {
			return nil, mathErr("Syntax error at position %d: expected ')'.", l.pos+1)
		}
		l.pos++
		return n, nil
	case c == '"' || c == '\'':
		end := strings.IndexByte(l.src[l.pos+1:], c)
		if end < 0 {
			return nil, mathErr("Syntax error: unterminated string.")
		}
		s := l.src[l.pos+1 : l.pos+1+end]
		l.pos += end + 2
		return strNode(s), nil
	case c >= '0' && c <= '9' || c == '.':
		start := l.pos
		for l.pos < len(l.src) && (l.src[l.pos] >= '0' && l.src[l.pos] <= '9' || l.src[l.pos] == '.' ||
			l.src[l.pos] == 'e' || l.src[l.pos] == 'E' ||
			((l.src[l.pos] == '-' || l.src[l.pos] == '+') && (l.src[l.pos-1] == 'e' || l.src[l.pos-1] == 'E'))) {
			l.pos++
		}
		f, err := strconv.ParseFloat(l.src[start:l.pos], 64)
		if err != nil {
			return nil, mathErr("Syntax error: invalid number %q.", l.src[start:l.pos])
		}
		return numNode(f), nil
	case c == '_' || unicode.IsLetter(rune(c)):
		start := l.pos
		for l.pos < len(l.src) && (l.src[l.pos] == '_' || unicode.IsLetter(rune(l.src[l.pos])) || unicode.IsDigit(rune(l.src[l.pos]))) {
			l.pos++
		}
		name := l.src[start:l.pos]
		if l.peek() != '(' {
			return refNode(name), nil
		}
		l.pos++
		var args []node
		if l.peek() == ')' {
			l.pos++
			return callNode{strings.ToUpper(name), nil}, nil
		}
		for {
			a, err := l.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			switch l.peek() {
			case ',':
				l.pos++
				continue
			case ')':
				l.pos++
				return callNode{strings.ToUpper(name), args}, nil
			}
			return nil, mathErr("Syntax error at position %d: expected ',' or ')'.", l.pos+1)
		}
	}
	return nil, mathErr("Syntax error at position %d: unexpected %q.", l.pos+1, string(c))
}

// refs lists the ids an expression names, and whether it calls METRICS().
func refs(n node, out map[string]bool) (usesMetrics bool) {
	switch n := n.(type) {
	case refNode:
		out[string(n)] = true
	case binNode:
		a := refs(n.l, out)
		b := refs(n.r, out)
		return a || b
	case negNode:
		return refs(n.x, out)
	case callNode:
		m := n.fn == "METRICS"
		for _, a := range n.args {
			m = refs(a, out) || m
		}
		return m
	}
	return false
}

// mathEnv is what evaluation needs: the results of the other queries, the grid, and the
// queries' kinds for METRICS().
type mathEnv struct {
	lookup  func(id string) (value, error)
	metrics func(filter string) ([][]float64, error)
	// band is ANOMALY_DETECTION_BAND of the metric query id with k standard deviations.
	band   func(id string, k float64) (value, error)
	n      int     // grid length
	period float64 // seconds
}

func (env *mathEnv) eval(n node) (value, error) {
	switch n := n.(type) {
	case numNode:
		return value{kind: 's', scalar: float64(n)}, nil
	case strNode:
		return value{}, mathErr("A string is only allowed as the argument of METRICS().")
	case refNode:
		return env.lookup(string(n))
	case negNode:
		x, err := env.eval(n.x)
		if err != nil {
			return value{}, err
		}
		if x.kind == 'b' {
			return value{}, mathErr("An anomaly detection band cannot be negated.")
		}
		return mapValue(x, func(v float64) float64 { return -v }), nil
	case binNode:
		l, err := env.eval(n.l)
		if err != nil {
			return value{}, err
		}
		r, err := env.eval(n.r)
		if err != nil {
			return value{}, err
		}
		return binary(n.op, l, r)
	case callNode:
		return env.call(n)
	}
	return value{}, mathErr("unsupported expression")
}

func apply(op byte, a, b float64) float64 {
	switch op {
	case '+':
		return a + b
	case '-':
		return a - b
	case '*':
		return a * b
	case '/':
		if b == 0 {
			return math.NaN()
		}
		return a / b
	case '^':
		return math.Pow(a, b)
	}
	return math.NaN()
}

func binary(op byte, l, r value) (value, error) {
	if l.kind == 'b' || r.kind == 'b' {
		return value{}, mathErr("An anomaly detection band cannot be used in arithmetic.")
	}
	switch {
	case l.kind == 's' && r.kind == 's':
		return value{kind: 's', scalar: apply(op, l.scalar, r.scalar)}, nil
	case l.kind == 'a' || r.kind == 'a':
		arr, other := l, r
		if l.kind != 'a' {
			arr, other = r, l
		}
		if other.kind == 'a' {
			return value{}, mathErr("Arithmetic between two arrays of time series is not supported.")
		}
		out := value{kind: 'a'}
		for _, s := range arr.array {
			x := value{kind: 't', series: s}
			var v value
			var err error
			if l.kind == 'a' {
				v, err = binary(op, x, other)
			} else {
				v, err = binary(op, other, x)
			}
			if err != nil {
				return value{}, err
			}
			out.array = append(out.array, v.series)
		}
		return out, nil
	}
	n := max(len(l.series), len(r.series))
	out := make([]float64, n)
	for i := range out {
		a, b := l.scalar, r.scalar
		if l.kind == 't' {
			a = l.series[i]
		}
		if r.kind == 't' {
			if len(r.series) != n || (l.kind == 't' && len(l.series) != n) {
				return value{}, mathErr("The time series in an expression must have the same period.")
			}
			b = r.series[i]
		}
		out[i] = apply(op, a, b)
	}
	return value{kind: 't', series: out}, nil
}

func mapValue(x value, f func(float64) float64) value {
	switch x.kind {
	case 's':
		return value{kind: 's', scalar: f(x.scalar)}
	case 't':
		out := make([]float64, len(x.series))
		for i, v := range x.series {
			out[i] = f(v)
		}
		return value{kind: 't', series: out}
	}
	out := value{kind: 'a'}
	for _, s := range x.array {
		out.array = append(out.array, mapValue(value{kind: 't', series: s}, f).series)
	}
	return out
}

// reduce folds the non-missing values with f; NaN when there are none.
func reduce(vs []float64, f func(acc, v float64) float64, init float64, avg bool) float64 {
	acc, n := init, 0
	for _, v := range vs {
		if !math.IsNaN(v) {
			acc = f(acc, v)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	if avg {
		return acc / float64(n)
	}
	return acc
}

func (env *mathEnv) call(c callNode) (value, error) {
	argc := func(lo, hi int) error {
		if len(c.args) < lo || len(c.args) > hi {
			return mathErr("Function %s takes %d to %d arguments; %d given.", c.fn, lo, hi, len(c.args))
		}
		return nil
	}
	switch c.fn {
	case "METRICS":
		if err := argc(0, 1); err != nil {
			return value{}, err
		}
		filter := ""
		if len(c.args) == 1 {
			s, ok := c.args[0].(strNode)
			if !ok {
				return value{}, mathErr("METRICS() takes a string.")
			}
			filter = string(s)
		}
		arr, err := env.metrics(filter)
		if err != nil {
			return value{}, err
		}
		return value{kind: 'a', array: arr}, nil
	case "PERIOD":
		if err := argc(1, 1); err != nil {
			return value{}, err
		}
		return value{kind: 's', scalar: env.period}, nil
	case "ANOMALY_DETECTION_BAND":
		if err := argc(1, 2); err != nil {
			return value{}, err
		}
		ref, ok := c.args[0].(refNode)
		if !ok {
			return value{}, mathErr("The first argument of ANOMALY_DETECTION_BAND must be the id of a metric.")
		}
		k := DefaultBandWidth
		if len(c.args) == 2 {
			v, err := env.eval(c.args[1])
			if err != nil {
				return value{}, err
			}
			if v.kind != 's' || !(v.scalar > 0) {
				return value{}, mathErr("The second argument of ANOMALY_DETECTION_BAND must be a positive number of standard deviations.")
			}
			k = v.scalar
		}
		if env.band == nil {
			return value{}, mathErr("ANOMALY_DETECTION_BAND is not available here.")
		}
		return env.band(string(ref), k)
	}
	args := make([]value, len(c.args))
	for i, a := range c.args {
		if c.fn == "FILL" && i == 1 {
			if r, ok := a.(refNode); ok && (strings.EqualFold(string(r), "REPEAT") || strings.EqualFold(string(r), "LINEAR")) {
				args[i] = value{kind: 'k', series: nil, scalar: map[bool]float64{true: 1, false: 2}[strings.EqualFold(string(r), "REPEAT")]}
				continue
			}
		}
		v, err := env.eval(a)
		if err != nil {
			return value{}, err
		}
		if v.kind == 'b' {
			return value{}, mathErr("An anomaly detection band cannot be the argument of %s.", c.fn)
		}
		args[i] = v
	}
	switch c.fn {
	case "SUM", "AVG", "MIN", "MAX", "STDDEV":
		if err := argc(1, 1); err != nil {
			return value{}, err
		}
		return aggregate(c.fn, args[0]), nil
	case "ABS", "CEIL", "FLOOR", "SQRT", "LOG", "LOG10":
		if err := argc(1, 1); err != nil {
			return value{}, err
		}
		f := map[string]func(float64) float64{"ABS": math.Abs, "CEIL": math.Ceil, "FLOOR": math.Floor,
			"SQRT": math.Sqrt, "LOG": math.Log, "LOG10": math.Log10}[c.fn]
		return mapValue(args[0], f), nil
	case "FILL":
		if err := argc(2, 2); err != nil {
			return value{}, err
		}
		return fill(args[0], args[1])
	case "RATE", "DIFF":
		if err := argc(1, 1); err != nil {
			return value{}, err
		}
		return perSeries(args[0], func(s []float64) []float64 { return diff(s, c.fn == "RATE", env.period) })
	}
	return value{}, mathErr("Unsupported function %s.", c.fn)
}

func perSeries(x value, f func([]float64) []float64) (value, error) {
	switch x.kind {
	case 't':
		return value{kind: 't', series: f(x.series)}, nil
	case 'a':
		out := value{kind: 'a'}
		for _, s := range x.array {
			out.array = append(out.array, f(s))
		}
		return out, nil
	}
	return value{}, mathErr("The function needs a time series.")
}

// diff is the change from the previous present value (per second when rate).
func diff(s []float64, rate bool, period float64) []float64 {
	out := make([]float64, len(s))
	prev := -1
	for i, v := range s {
		out[i] = math.NaN()
		if math.IsNaN(v) {
			continue
		}
		if prev >= 0 {
			out[i] = v - s[prev]
			if rate {
				out[i] /= float64(i-prev) * period
			}
		}
		prev = i
	}
	return out
}

func aggregate(fn string, x value) value {
	f := func(vs []float64) float64 {
		switch fn {
		case "SUM":
			return reduce(vs, func(a, v float64) float64 { return a + v }, 0, false)
		case "AVG":
			return reduce(vs, func(a, v float64) float64 { return a + v }, 0, true)
		case "MIN":
			return reduce(vs, math.Min, math.Inf(1), false)
		case "MAX":
			return reduce(vs, math.Max, math.Inf(-1), false)
		}
		mean := reduce(vs, func(a, v float64) float64 { return a + v }, 0, true)
		return math.Sqrt(reduce(vs, func(a, v float64) float64 { return a + (v-mean)*(v-mean) }, 0, true))
	}
	switch x.kind {
	case 's':
		return x
	case 't':
		return value{kind: 's', scalar: f(x.series)}
	}
	n := 0
	for _, s := range x.array {
		n = max(n, len(s))
	}
	out := make([]float64, n)
	col := make([]float64, len(x.array))
	for i := range out {
		for j, s := range x.array {
			col[j] = math.NaN()
			if i < len(s) {
				col[j] = s[i]
			}
		}
		out[i] = f(col)
	}
	return value{kind: 't', series: out}
}

func fill(x, with value) (value, error) {
	return perSeries(x, func(s []float64) []float64 {
		out := append([]float64(nil), s...)
		switch with.kind {
		case 's':
			for i, v := range out {
				if math.IsNaN(v) {
					out[i] = with.scalar
				}
			}
		case 't':
			for i, v := range out {
				if math.IsNaN(v) && i < len(with.series) {
					out[i] = with.series[i]
				}
			}
		case 'k':
			repeat := with.scalar == 1
			last := -1
			for i, v := range s {
				if math.IsNaN(v) {
					continue
				}
				if last >= 0 && i-last > 1 {
					for j := last + 1; j < i; j++ {
						if repeat {
							out[j] = s[last]
						} else {
							out[j] = s[last] + (v-s[last])*float64(j-last)/float64(i-last)
						}
					}
				}
				last = i
			}
			if repeat && last >= 0 {
				for j := last + 1; j < len(out); j++ {
					out[j] = s[last]
				}
			}
		}
		return out
	})
}
