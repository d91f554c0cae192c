package metric

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

func series(s string) []float64 {
	var out []float64
	for _, f := range strings.Fields(s) {
		v := math.NaN()
		if f != "-" {
			v, _ = strconv.ParseFloat(f, 64)
		}
		out = append(out, v)
	}
	return out
}

func show(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = "-"
		if !math.IsNaN(x) {
			parts[i] = strconv.FormatFloat(x, 'g', -1, 64)
		}
	}
	return strings.Join(parts, " ")
}

// TestMath runs the metric math cases of testdata/math.txt.
func TestMath(t *testing.T) {
	f, err := os.Open("testdata/math.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string][]float64{"a": series("1 2 - 4"), "b": series("10 10 10 10"), "c": series("- 3 - 5")}
	env := &mathEnv{n: 4, period: 60,
		lookup: func(id string) (value, error) {
			if s, ok := vars[id]; ok {
				return value{kind: 't', series: s}, nil
			}
			return value{}, mathErr("Unknown metric or expression id %s.", id)
		},
		metrics: func(filter string) ([][]float64, error) {
			var out [][]float64
			for _, id := range []string{"a", "b", "c"} {
				if strings.Contains(id, filter) {
					out = append(out, vars[id])
				}
			}
			return out, nil
		}}
	sc := bufio.NewScanner(f)
	cases := 0
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		src, want, _ := strings.Cut(text, "|")
		src, want = strings.TrimSpace(src), strings.TrimSpace(want)
		cases++
		n, err := parseExpression(src)
		var v value
		if err == nil {
			v, err = env.eval(n)
		}
		if strings.HasPrefix(want, "error:") {
			if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(strings.TrimPrefix(want, "error:"))) {
				t.Errorf("math.txt:%d: %s error = %v; want %s", line, src, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("math.txt:%d: %s: %v", line, src, err)
			continue
		}
		var got []float64
		switch v.kind {
		case 's':
			got = []float64{v.scalar, v.scalar, v.scalar, v.scalar}
		case 't':
			got = v.series
		default:
			t.Errorf("math.txt:%d: %s returned an array", line, src)
			continue
		}
		if show(got) != want {
			t.Errorf("math.txt:%d: %s = %s; want %s", line, src, show(got), want)
		}
	}
	if cases < 20 {
		t.Fatalf("math.txt has %d cases", cases)
	}
}
