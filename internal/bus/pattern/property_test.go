package pattern

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
)

// A small vocabulary makes random patterns and events meet often.
var (
	propPaths   = [][]string{{"source"}, {"detail-type"}, {"detail", "a"}, {"detail", "b"}, {"detail", "c", "d"}, {"resources"}}
	propStrings = []string{"", "a", "ab", "abc", "b", "B", "AB", "Abc", "x.png", "X.PNG", "10.0.0.1", "10.0.1.7", "::1", "a*b", "lib/x", "a\"b\\c", "<É>", "<é>"}
	propNumbers = []any{0, 1, 2, 2.5, 10, -3, 1e3}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func randomScalar(r *rand.Rand) any {
	switch r.IntN(6) {
	case 0:
		return pick(r, propNumbers)
	case 1:
		return pick(r, []any{true, false, nil})
	default:
		return pick(r, propStrings)
	}
}

func randomCondition(r *rand.Rand) any {
	s := pick(r, propStrings)
	nonEmpty := pick(r, propStrings[1:])
	switch r.IntN(17) {
	case 0:
		return map[string]any{"prefix": s}
	case 1:
		return map[string]any{"suffix": s}
	case 2:
		return map[string]any{"prefix": map[string]any{"equals-ignore-case": s}}
	case 3:
		return map[string]any{"suffix": map[string]any{"equals-ignore-case": s}}
	case 4:
		return map[string]any{"equals-ignore-case": s}
	case 5:
		return map[string]any{"wildcard": pick(r, []string{"*", "a*", "*b", "a*c", "*.png", "10.*", "a\\*b", "*b*"})}
	case 6:
		return map[string]any{"exists": r.IntN(2) == 0}
	case 7:
		lo := pick(r, propNumbers)
		if r.IntN(2) == 0 {
			return map[string]any{"numeric": []any{pick(r, []string{"=", ">", ">=", "<", "<="}), lo}}
		}
		return map[string]any{"numeric": []any{pick(r, []string{">", ">="}), lo, pick(r, []string{"<", "<="}), pick(r, propNumbers)}}
	case 8:
		return map[string]any{"cidr": pick(r, []string{"10.0.0.0/24", "10.0.0.0/8", "::1/128"})}
	case 9:
		return map[string]any{"anything-but": s}
	case 10:
		return map[string]any{"anything-but": []any{s, pick(r, propStrings)}}
	case 11:
		return map[string]any{"anything-but": pick(r, propNumbers)}
	case 12:
		return map[string]any{"anything-but": map[string]any{pick(r, []string{"prefix", "suffix"}): nonEmpty}}
	case 13:
		return map[string]any{"anything-but": map[string]any{"equals-ignore-case": []any{s}}}
	case 14:
		return map[string]any{"anything-but": map[string]any{"wildcard": pick(r, []string{"a*", "*b"})}}
	default:
		return randomScalar(r)
	}
}

// put sets a value at a path of nested objects.
func setPath(obj map[string]any, path []string, v any) {
	for _, seg := range path[:len(path)-1] {
		next, ok := obj[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[seg] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = v
}

func randomFields(r *rand.Rand, n int) map[string]any {
	obj := map[string]any{}
	for range n {
		var conds []any
		for range 1 + r.IntN(3) {
			conds = append(conds, randomCondition(r))
		}
		setPath(obj, pick(r, propPaths), conds)
	}
	return obj
}

func randomPattern(r *rand.Rand) string {
	obj := randomFields(r, 1+r.IntN(3))
	if r.IntN(4) == 0 {
		obj["$or"] = []any{randomFields(r, 1+r.IntN(2)), randomFields(r, 1+r.IntN(2))}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func randomEvent(r *rand.Rand) []byte {
	obj := map[string]any{}
	for _, p := range propPaths {
		switch r.IntN(4) {
		case 0: // absent
		case 1:
			setPath(obj, p, []any{randomScalar(r), randomScalar(r)})
		default:
			setPath(obj, p, randomScalar(r))
		}
	}
	if r.IntN(5) == 0 {
		setPath(obj, []string{"detail", "c"}, []any{map[string]any{"d": randomScalar(r)}, map[string]any{"d": randomScalar(r)}})
	}
	if r.IntN(4) == 0 {
		// An array of objects, where matches must not mix elements.
		var elems []any
		for range 1 + r.IntN(3) {
			e := map[string]any{}
			for _, k := range []string{"a", "b"} {
				if r.IntN(3) > 0 {
					e[k] = randomScalar(r)
				}
			}
			if r.IntN(2) == 0 {
				e["c"] = []any{map[string]any{"d": randomScalar(r)}, map[string]any{"d": randomScalar(r)}}
			}
			elems = append(elems, e)
		}
		obj["detail"] = elems
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	return b
}

// TestMatcherAgreesWithPatterns checks that the shared index answers what
// matching each pattern alone answers, before and after removals.
func TestMatcherAgreesWithPatterns(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := NewMatcher()
	pats := map[string]*Pattern{}
	for i := 0; len(pats) < 400; i++ {
		src := randomPattern(r)
		p, err := Compile(src)
		if err != nil {
			continue // random patterns can be invalid (empty $or objects and the like)
		}
		id := fmt.Sprintf("p%d", i)
		pats[id] = p
		m.Add(id, p)
	}
	check := func(stage string) {
		matched := 0
		for range 700 {
			ev := randomEvent(r)
			got, err := m.Match(ev)
			if err != nil {
				t.Fatalf("Match(%s): %v", ev, err)
			}
			sort.Strings(got)
			var want []string
			for id, p := range pats {
				ok, err := p.Matches(ev)
				if err != nil {
					t.Fatalf("Matches(%s): %v", ev, err)
				}
				if ok {
					want = append(want, id)
				}
			}
			sort.Strings(want)
			if !slices.Equal(got, want) {
				for _, id := range symmetricDifference(got, want) {
					t.Errorf("%s: event %s, pattern %s %s: Matcher says %v, Matches says %v",
						stage, ev, id, pats[id], slices.Contains(got, id), slices.Contains(want, id))
				}
				t.FailNow()
			}
			matched += len(got)
		}
		if matched == 0 {
			t.Fatalf("%s: no event matched any pattern; the generator is too sparse", stage)
		}
	}
	check("all patterns")
	for id := range pats {
		if r.IntN(2) == 0 {
			m.Remove(id)
			delete(pats, id)
		}
	}
	check("after removals")
	if m.Len() != len(pats) {
		t.Errorf("Len() = %d; want %d", m.Len(), len(pats))
	}
}

func symmetricDifference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestMatcherConcurrent matches from several goroutines while patterns are
// added; run with -race.
func TestMatcherConcurrent(t *testing.T) {
	m := NewMatcher()
	p, err := Compile(`{"source": ["aws.ec2"]}`)
	if err != nil {
		t.Fatal(err)
	}
	m.Add("first", p)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				got, err := m.Match([]byte(`{"source": "aws.ec2"}`))
				if err != nil || !slices.Contains(got, "first") {
					t.Errorf("goroutine %d: Match = %v, %v; want first included", g, got, err)
					return
				}
				if g == 0 {
					q, _ := Compile(fmt.Sprintf(`{"source": ["aws.ec2"], "n": [%d]}`, i))
					m.Add(fmt.Sprint(i), q)
				}
			}
		}()
	}
	wg.Wait()
}

func TestMatcherReplaceAndRemove(t *testing.T) {
	m := NewMatcher()
	a, _ := Compile(`{"source": ["a"]}`)
	b, _ := Compile(`{"source": ["b"]}`)
	m.Add("r", a)
	m.Add("r", b)
	if got, _ := m.Match([]byte(`{"source": "a"}`)); len(got) != 0 {
		t.Errorf("after replacing r, Match(a) = %q; want none", got)
	}
	if got, _ := m.Match([]byte(`{"source": "b"}`)); !slices.Equal(got, []string{"r"}) {
		t.Errorf("after replacing r, Match(b) = %q; want [r]", got)
	}
	m.Remove("r")
	if got, _ := m.Match([]byte(`{"source": "b"}`)); len(got) != 0 {
		t.Errorf("after Remove, Match(b) = %q; want none", got)
	}
}

func TestBadEvents(t *testing.T) {
	p, _ := Compile(`{"source": ["a"]}`)
	m := NewMatcher()
	m.Add("p", p)
	for _, ev := range []string{``, `[]`, `"a"`, `{"source": "a"`, `{"source" "a"}`, `{"source": "a"} x`, `{"x": [1,}`} {
		if _, err := m.Match([]byte(ev)); err == nil {
			t.Errorf("Matcher.Match(%q) = nil error; want an error", ev)
		}
		if _, err := p.Matches([]byte(ev)); err == nil {
			t.Errorf("Matches(%q) = nil error; want an error", ev)
		}
	}
	if _, err := Compile(`{"source": ["a"]`); err == nil {
		t.Errorf("Compile of truncated JSON = nil error; want an error")
	}
}

// TestMatcherManyRules checks the Matcher against each pattern alone with
// thousands of rules: branches filed anew as their number doubles, and exact
// values on one path numerous enough to be filtered (filterFrom), matched by
// MatchAppend into a reused slice that already holds an element.
func TestMatcherManyRules(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := NewMatcher()
	var ids []string
	var pats []*Pattern
	add := func(src string) {
		p, err := Compile(src)
		if err != nil {
			t.Fatalf("Compile(%s): %v", src, err)
		}
		id := fmt.Sprintf("r%d", len(ids))
		ids = append(ids, id)
		pats = append(pats, p)
		m.Add(id, p)
	}
	for i := range 3000 {
		switch i % 3 {
		case 0:
			add(benchRule(r))
		case 1: // logs-0-archive .. logs-59-archive are in the events
			add(fmt.Sprintf(`{"detail": {"requestParameters": {"bucketName": ["logs-%d-archive", "x-%d"]}}}`, r.IntN(400), i))
		default:
			si := r.IntN(len(benchServices))
			add(fmt.Sprintf(`{"detail": {"eventName": [%q], "readOnly": [%v]}}`, benchAction(si, r.IntN(400)), r.IntN(2) == 0))
		}
	}
	filed, want := 0, 0
	for _, c := range m.ix.conds {
		filed += len(c.keyed)
	}
	for _, b := range m.ix.all {
		want += len(m.ix.fts[m.ix.arena[b.off]].conds)
	}
	if filed != want {
		t.Fatalf("%d filings; want %d (each of %d branches under each condition of its first field test)", filed, want, len(m.ix.all))
	}
	if pi := m.ix.paths[m.ix.pathIDs["detail\x00requestParameters\x00bucketName"]]; pi.strFilter.words == nil {
		t.Fatalf("bucketName has %d exact values and no filter", len(pi.exactStr))
	}
	matched := 0
	buf := []string{"kept"}
	for range 300 {
		ev := benchEvent(r)
		leaves, err := decodeLeaves(ev)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i, p := range pats {
			for _, b := range p.branches {
				if branchMatches(b, leaves) {
					want = append(want, ids[i])
					break
				}
			}
		}
		got, err := m.Match(ev)
		if err != nil {
			t.Fatal(err)
		}
		buf, err = m.MatchAppend(buf[:1], ev)
		if err != nil {
			t.Fatal(err)
		}
		if buf[0] != "kept" || !slices.Equal(buf[1:], got) {
			t.Fatalf("MatchAppend(%q) = %q; want kept and Match's %q", ev, buf, got)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Fatalf("event %s: Matcher %q, patterns alone %q", ev, got, want)
		}
		matched += len(got)
	}
	if matched < 300 {
		t.Fatalf("%d matches over 300 events; the rules are too sparse to test much", matched)
	}
}
