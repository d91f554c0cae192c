package pattern

import (
	"hash/maphash"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// Matcher holds many patterns and finds those an event matches. Add and
// Remove may run while other goroutines call Match.
//
// Every distinct condition (a path and a test on its value) and every
// distinct field test is stored once, whichever patterns use it. Each
// pattern branch is filed under the conditions of one of its field tests,
// preferring a selective one; only those conditions are indexed (exact
// values, prefixes, suffixes and case-insensitive values in hash maps keyed
// by the event's values, the others tried one by one per path), and a branch
// is only checked when one of them holds. Its other field tests are then
// decided on the event's values, once per event.
type Matcher struct {
	mu    sync.RWMutex
	ids   []string // in order of addition
	pats  map[string]*Pattern
	ix    *index
	slots sync.Pool
}

// NewMatcher returns an empty Matcher.
func NewMatcher() *Matcher {
	return &Matcher{pats: map[string]*Pattern{}, ix: newIndex()}
}

// Add files p under id, replacing a pattern already filed under that id.
func (m *Matcher) Add(id string, p *Pattern) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.pats[id]; ok {
		m.removeLocked(id)
	}
	m.pats[id] = p
	m.ids = append(m.ids, id)
	m.ix.add(id, p)
}

// Remove drops the pattern filed under id, if any.
func (m *Matcher) Remove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(id)
}

// removeLocked rebuilds the index without id: removal is rare next to
// matching, and a rebuild leaves no unused conditions behind.
func (m *Matcher) removeLocked(id string) {
	if _, ok := m.pats[id]; !ok {
		return
	}
	delete(m.pats, id)
	for i, x := range m.ids {
		if x == id {
			m.ids = append(m.ids[:i:i], m.ids[i+1:]...)
			break
		}
	}
	m.ix = newIndex()
	for _, x := range m.ids {
		m.ix.add(x, m.pats[x])
	}
}

// Len returns the number of patterns held.
func (m *Matcher) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.pats)
}

// Match returns the ids of the patterns that event, a JSON object, matches,
// each once, in no particular order. The slice is allocated once, at its
// final size; MatchAppend reuses the caller's.
func (m *Matcher) Match(event []byte) ([]string, error) {
	var out []string
	err := m.match(event, func(ids []string, found []int32) {
		if len(found) > 0 {
			out = make([]string, len(found))
			for i, p := range found {
				out[i] = ids[p]
			}
		}
	})
	return out, err
}

// MatchAppend is Match appending the ids to dst, so that a caller reusing
// one slice for many events allocates nothing per event.
func (m *Matcher) MatchAppend(dst []string, event []byte) ([]string, error) {
	err := m.match(event, func(ids []string, found []int32) {
		dst = slices.Grow(dst, len(found))
		for _, p := range found {
			dst = append(dst, ids[p])
		}
	})
	return dst, err
}

// match finds the patterns event matches and hands their numbers (indexes
// into ids) to emit, under the read lock.
func (m *Matcher) match(event []byte, emit func(ids []string, found []int32)) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ix := m.ix
	st, _ := m.slots.Get().(*state)
	if st == nil {
		st = &state{}
	}
	defer m.slots.Put(st)
	st.prepare(ix)

	// The event's text is read in place: no value of it outlives the call.
	var text string
	if len(event) > 0 {
		text = unsafe.String(&event[0], len(event))
	}
	sc := scanner{s: text, out: st.leaves[:0], trails: st.trails[:0], stack: st.stack[:0]}
	err := sc.event(ix.root)
	defer func() {
		clear(sc.out) // keep no reference to the caller's buffer
		st.leaves, st.trails, st.stack = sc.out[:0], sc.trails[:0], sc.stack[:0]
	}()
	if err != nil {
		return err
	}
	g := st.gen
	st.next = grow(st.next, len(sc.out))
	for i, l := range sc.out {
		p := &st.paths[l.path]
		if p.gen != g {
			p.gen, p.head = g, -1
		}
		st.next[i], p.head = p.head, int32(i)
		st.leaf = -1
		if l.t1 > l.t0 {
			st.leaf = int32(i)
		}
		ix.paths[l.path].lookup(l.v, ix, st)
	}
	st.leaf = -1
	for _, cid := range ix.absent {
		if st.paths[ix.conds[cid].path].gen != g {
			st.hit(ix, cid)
		}
	}
	found := st.found[:0]
	for _, cid := range st.held {
		keyFree := st.conds[cid].free == g
	branches:
		for _, b := range ix.conds[cid].keyed {
			// The branch's field tests are in order of selectivity; the
			// first, which it is filed under, holds (cid did). The
			// others are decided once per event, when a branch first
			// needs them, and a branch that fails usually fails at the
			// second, in the entry.
			free := keyFree
			if b.second >= 0 {
				f := &st.fts[b.second]
				if f.decided != g {
					st.decide(ix, int(b.second), sc.out)
				}
				if f.held != g {
					continue
				}
				free = free && f.free == g
			}
			fts := ix.arena[b.off : b.off+b.n]
			for i := 2; i < len(fts); i++ {
				other := fts[i]
				f := &st.fts[other]
				if f.decided != g {
					st.decide(ix, int(other), sc.out)
				}
				if f.held != g {
					continue branches
				}
				free = free && f.free == g
			}
			if st.patGen[b.pat] == g {
				continue
			}
			if !free {
				// Values inside arrays of objects: consistency needs
				// the first field test's values too.
				if f := &st.fts[fts[0]]; f.decided != g {
					st.decide(ix, int(fts[0]), sc.out)
				}
				if !st.consistent(fts, sc.out, sc.trails) {
					continue
				}
			}
			st.patGen[b.pat] = g
			found = append(found, b.pat)
		}
	}
	st.found = found
	emit(ix.patIDs, found)
	return nil
}

// index is the shared structure behind a Matcher.
type index struct {
	root    *pnode
	pathIDs map[string]int
	paths   []*pathIndex
	condIDs map[string]int
	conds   []condEntry
	ftIDs   map[string]int
	fts     []ftEntry
	absent  []int // exists:false conditions
	patIDs  []string
	arena   []int32       // the field tests of every branch (branchEntry)
	all     []branchEntry // every branch, in order of addition
	filed   int           // len(all) when every branch was last filed anew
}

type condEntry struct {
	c       *cond
	path    int
	fts     []int         // field tests that hold when this condition does
	keyed   []branchEntry // branches filed under this condition
	indexed bool          // in its path's pathIndex (or absent)
}

// ftEntry is a field test. A branch is filed under each condition of one of
// its field tests; only those conditions are in the path indexes, looked up
// for every event value. The branch's other field tests are decided when it
// is a candidate, once per event. So the work per event follows the
// conditions branches are filed under that it meets and the branches it
// makes candidates, not every filter of every rule (a numeric bound, a CIDR
// block, the source all rules share).
type ftEntry struct {
	weight int
	uses   int // branches that contain this field test
	path   int
	conds  []int   // distinct
	cs     []*cond // conds' conditions, read by decide without going through ix.conds
	absent bool    // one of conds is exists:false
}

// branchEntry is a branch: its field tests are arena[off:off+n], ordered
// when filed, most selective first.
type branchEntry struct {
	pat    int32
	off, n int32
	second int32 // arena[off+1], or -1
}

func newIndex() *index {
	return &index{
		root:    newPnode(),
		pathIDs: map[string]int{},
		condIDs: map[string]int{},
		ftIDs:   map[string]int{},
	}
}

// weight ranks conditions by how often they are expected to hold: branches
// are filed under their most selective field test.
func (c *cond) weight() int {
	switch c.kind {
	case kExact, kEqualsCI:
		return 0
	case kPrefix, kSuffix, kPrefixCI, kSuffixCI, kCIDR:
		return 1
	case kWildcard, kNumeric:
		return 2
	case kAbsent:
		return 4
	default:
		return 3
	}
}

func (ix *index) add(id string, p *Pattern) {
	pat := len(ix.patIDs)
	ix.patIDs = append(ix.patIDs, id)
	for _, b := range p.branches {
		be := branchEntry{pat: int32(pat), off: int32(len(ix.arena)), n: int32(len(b))}
		for i := range b {
			ft := ix.fieldTest(&b[i])
			ix.arena = append(ix.arena, int32(ft))
			ix.fts[ft].uses++
		}
		ix.all = append(ix.all, be)
		ix.file(be)
	}
	// Use counts change as patterns are added: when the number of branches
	// has doubled, file them all again, so that each is filed under the
	// field test it shares with the fewest others (amortised O(1) a branch).
	if len(ix.all) >= 2*ix.filed && len(ix.all) >= 16 {
		// Path indexes anew, with the conditions filed under from now on.
		for i := range ix.paths {
			ix.paths[i] = &pathIndex{}
		}
		for i := range ix.conds {
			ix.conds[i].keyed = ix.conds[i].keyed[:0]
			ix.conds[i].indexed = false
		}
		ix.absent = nil
		for _, be := range ix.all {
			ix.file(be)
		}
		ix.filed = len(ix.all)
	}
}

// file files a branch under its most selective field test: the kind of
// condition first (exact values hold least often), then the one the fewest
// branches contain, then the one sharing its values with the fewest field
// tests (shared), so that a value common in events (a source, a
// detail-type) does not make every branch that mentions it a candidate.
//
// The branch's field tests are put in that order, most selective first: the
// branch is filed under be.fts[0], and checking the others stops at the
// first that did not hold.
func (ix *index) file(be branchEntry) {
	fts := ix.arena[be.off : be.off+be.n]
	slices.SortStableFunc(fts, func(a, b int32) int {
		x, y := &ix.fts[a], &ix.fts[b]
		if x.weight != y.weight {
			return x.weight - y.weight
		}
		if x.uses != y.uses {
			return x.uses - y.uses
		}
		return ix.shared(x) - ix.shared(y)
	})
	be.second = -1
	if len(fts) > 1 {
		be.second = fts[1]
	}
	for _, cid := range ix.fts[fts[0]].conds {
		ce := &ix.conds[cid]
		if !ce.indexed {
			ix.indexCond(cid)
		}
		ce.keyed = append(ce.keyed, be)
	}
}

// shared counts the field tests that share a condition with ft (ft
// included, once per condition): between two field tests used by as many
// branches, the one whose values fewer rules mention is likelier to be rare
// in events ({"eventName": ["CreateBucket"]} is in many rules' lists, a
// bucket's name in one).
func (ix *index) shared(ft *ftEntry) int {
	n := 0
	for _, cid := range ft.conds {
		n += len(ix.conds[cid].fts)
	}
	return n
}

// fieldTest returns the id of a field test, storing it if new.
func (ix *index) fieldTest(ft *fieldTest) int {
	key := ft.canonical()
	if id, ok := ix.ftIDs[key]; ok {
		return id
	}
	id := len(ix.fts)
	ix.ftIDs[key] = id
	w := 0
	for _, c := range ft.conds {
		w = max(w, c.weight())
	}
	path := ix.path(ft.path)
	ix.fts = append(ix.fts, ftEntry{weight: w, path: path})
	seen := map[int]bool{}
	for _, c := range ft.conds {
		cid := ix.cond(ft.path, path, c)
		if !seen[cid] {
			seen[cid] = true
			ix.conds[cid].fts = append(ix.conds[cid].fts, id)
			ix.fts[id].conds = append(ix.fts[id].conds, cid)
			ix.fts[id].cs = append(ix.fts[id].cs, ix.conds[cid].c)
			ix.fts[id].absent = ix.fts[id].absent || c.kind == kAbsent
		}
	}
	return id
}

// path returns the id of a field path, adding it to the trie if new.
func (ix *index) path(p string) int {
	if id, ok := ix.pathIDs[p]; ok {
		return id
	}
	id := len(ix.paths)
	ix.pathIDs[p] = id
	ix.paths = append(ix.paths, &pathIndex{})
	n := ix.root
	for _, seg := range strings.Split(p, pathSep) {
		n = n.childOrNew(seg)
	}
	n.path = id
	return id
}

// cond returns the id of a condition on a path, indexing it if new.
func (ix *index) cond(pathText string, path int, c *cond) int {
	key := pathText + "\x01" + c.key
	if id, ok := ix.condIDs[key]; ok {
		return id
	}
	id := len(ix.conds)
	ix.condIDs[key] = id
	ix.conds = append(ix.conds, condEntry{c: c, path: path})
	return id
}

// indexCond puts a condition into its path's index, where every event value
// at the path is looked up.
func (ix *index) indexCond(id int) {
	ce := &ix.conds[id]
	ce.indexed = true
	c := ce.c
	pi := ix.paths[ce.path]
	switch c.kind {
	case kExact:
		if strings.HasPrefix(c.str, `"`) {
			pi.exactStr = put(pi.exactStr, c.str[1:], id)
			pi.strFilter.note(pi.exactStr, c.str[1:])
		} else {
			pi.exactOther = put(pi.exactOther, c.str, id)
		}
		if c.ops != nil {
			pi.numeric = c.interval(id).insert(pi.numeric)
		}
	case kEqualsCI:
		pi.equalsCI = put(pi.equalsCI, c.str, id)
	case kPrefix:
		pi.prefix.add(c.str, id)
	case kSuffix:
		pi.suffix.add(c.str, id)
	case kPrefixCI:
		pi.prefixCI.add(c.str, id)
	case kSuffixCI:
		pi.suffixCI.add(c.str, id)
	case kCIDR:
		pi.cidr.add(c.prefix, id)
	case kNumeric:
		pi.numeric = c.interval(id).insert(pi.numeric)
	case kAbsent:
		ix.absent = append(ix.absent, id)
	default:
		pi.others = append(pi.others, id)
	}
}

func put(m map[string]int, k string, id int) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[k] = id
	return m
}

// affixes indexes prefixes (or suffixes) by text, remembering which lengths
// occur so a value is looked up once per length.
type affixes struct {
	byText map[string]int
	lens   []int // sorted, distinct
}

func (a *affixes) add(s string, id int) {
	if a.byText == nil {
		a.byText = map[string]int{}
	}
	a.byText[s] = id
	i := sort.SearchInts(a.lens, len(s))
	if i == len(a.lens) || a.lens[i] != len(s) {
		a.lens = append(a.lens, 0)
		copy(a.lens[i+1:], a.lens[i:])
		a.lens[i] = len(s)
	}
}

// filter is a blocked Bloom filter of the keys of a large map of exact
// values. With thousands of rules the maps of a path (an ARN, a bucket name)
// span more memory than the caches keep between events, and most event
// values are in none of them: one probe of a word of the filter, a few
// kilobytes in all, answers most lookups without touching the map.
type filter struct {
	words []uint64 // a power of two long; nil while the map is small
}

// filterFrom is the number of keys from which a map gets a filter.
const filterFrom = 64

var filterSeed = maphash.MakeSeed()

// bits returns the word and the two bits of the filter that stand for h.
func (f *filter) bits(h uint64) (*uint64, uint64) {
	return &f.words[h&uint64(len(f.words)-1)], 1<<(h>>52&63) | 1<<(h>>58)
}

// mayHold reports whether k may be a key of the map (always, without a filter).
func (f *filter) mayHold(k string) bool {
	if f.words == nil {
		return true
	}
	w, b := f.bits(maphash.String(filterSeed, k))
	return *w&b == b
}

// note adds k, just put into m, rebuilding the filter from m's keys when it
// has fewer than 16 bits a key.
func (f *filter) note(m map[string]int, k string) {
	if len(m) < filterFrom {
		return
	}
	if len(f.words)*64 < 16*len(m) {
		n := 1
		for n*64 < 32*len(m) {
			n *= 2
		}
		f.words = make([]uint64, n)
		for k := range m {
			w, b := f.bits(maphash.String(filterSeed, k))
			*w |= b
		}
		return
	}
	w, b := f.bits(maphash.String(filterSeed, k))
	*w |= b
}

// pathIndex holds the conditions on one field path.
type pathIndex struct {
	exactStr   map[string]int // string values, unquoted
	strFilter  filter         // before exactStr, once it is large
	exactOther map[string]int // numbers and literals, as text
	equalsCI   map[string]int // lower-cased
	prefix     affixes
	suffix     affixes
	prefixCI   affixes // lower-cased
	suffixCI   affixes // lower-cased
	cidr       cidrs
	numeric    []interval // sorted by lower bound
	others     []int      // tried one by one
}

// interval is a numeric condition as a range of numbers.
type interval struct {
	lo, hi         float64
	loOpen, hiOpen bool
	id             int
}

// interval returns the range of numbers a numeric condition accepts.
func (c *cond) interval(id int) interval {
	iv := interval{lo: math.Inf(-1), hi: math.Inf(1), id: id}
	for _, o := range c.ops {
		switch o.op {
		case "=":
			iv.lo, iv.hi = o.val, o.val
		case ">":
			iv.lo, iv.loOpen = o.val, true
		case ">=":
			iv.lo = o.val
		case "<":
			iv.hi, iv.hiOpen = o.val, true
		case "<=":
			iv.hi = o.val
		}
	}
	return iv
}

func (iv interval) insert(s []interval) []interval {
	i := sort.Search(len(s), func(i int) bool { return s[i].lo > iv.lo })
	return slices.Insert(s, i, iv)
}

func (iv *interval) contains(f float64) bool {
	if f < iv.lo || (iv.loOpen && f == iv.lo) {
		return false
	}
	return f < iv.hi || (!iv.hiOpen && f == iv.hi)
}

// cidrs indexes CIDR blocks by their masked prefix, remembering which
// prefix lengths occur so an address is looked up once per length.
type cidrs struct {
	byPrefix map[netip.Prefix]int
	bits     []int // sorted, distinct
}

func (c *cidrs) add(p netip.Prefix, id int) {
	if c.byPrefix == nil {
		c.byPrefix = map[netip.Prefix]int{}
	}
	c.byPrefix[p] = id
	i := sort.SearchInts(c.bits, p.Bits())
	if i == len(c.bits) || c.bits[i] != p.Bits() {
		c.bits = slices.Insert(c.bits, i, p.Bits())
	}
}

// lookup records every condition of the path that v meets.
func (pi *pathIndex) lookup(v value, ix *index, st *state) {
	if v.kind != vString {
		if id, ok := pi.exactOther[v.text]; ok {
			st.hit(ix, id)
		}
	} else {
		s := v.text
		if pi.exactStr != nil && pi.strFilter.mayHold(s) {
			if id, ok := pi.exactStr[s]; ok {
				st.hit(ix, id)
			}
		}
		for _, n := range pi.prefix.lens {
			if n > len(s) {
				break
			}
			if id, ok := pi.prefix.byText[s[:n]]; ok {
				st.hit(ix, id)
			}
		}
		for _, n := range pi.suffix.lens {
			if n > len(s) {
				break
			}
			if id, ok := pi.suffix.byText[s[len(s)-n:]]; ok {
				st.hit(ix, id)
			}
		}
		if pi.equalsCI != nil || pi.prefixCI.lens != nil || pi.suffixCI.lens != nil {
			lower := strings.ToLower(s)
			if id, ok := pi.equalsCI[lower]; ok {
				st.hit(ix, id)
			}
			for _, n := range pi.prefixCI.lens {
				if n > len(lower) {
					break
				}
				if id, ok := pi.prefixCI.byText[lower[:n]]; ok {
					st.hit(ix, id)
				}
			}
			for _, n := range pi.suffixCI.lens {
				if n > len(lower) {
					break
				}
				if id, ok := pi.suffixCI.byText[lower[len(lower)-n:]]; ok {
					st.hit(ix, id)
				}
			}
		}
	}
	if pi.cidr.byPrefix == nil && pi.others == nil && pi.numeric == nil {
		return
	}
	pv := probe{value: v}
	if pi.numeric != nil {
		if f, ok := pv.number(); ok {
			for i := range pi.numeric {
				iv := &pi.numeric[i]
				if iv.lo > f {
					break
				}
				if iv.contains(f) {
					st.hit(ix, iv.id)
				}
			}
		}
	}
	if pi.cidr.byPrefix != nil {
		if a, ok := pv.address(); ok {
			for _, n := range pi.cidr.bits {
				if n > a.BitLen() {
					break
				}
				if p, err := a.Prefix(n); err == nil {
					if id, ok := pi.cidr.byPrefix[p]; ok {
						st.hit(ix, id)
					}
				}
			}
		}
	}
	for _, id := range pi.others {
		if ix.conds[id].c.test(&pv) {
			st.hit(ix, id)
		}
	}
}

// state is the scratch space of one Match call, reused through a pool.
// Generation stamps stand for sets, so nothing is cleared between events.
type state struct {
	gen    uint32
	fts    []ftGen   // by field test
	paths  []pathGen // by path
	next   []int32   // leaf -> the previous leaf at its path, or -1
	patGen []uint32  // pattern -> gen when reported
	conds  []ftGen   // by condition (held, free)
	held   []int     // conditions that held (hit)
	leaves []leaf
	trails []arrPos
	stack  []arrPos
	leaf   int32    // the leaf being looked up, if it is inside an array of objects
	within []ftLeaf // field tests that held on leaves inside arrays of objects
	found  []int32  // patterns matched
}

// ftGen tells when a field test last held (held), and held on a value
// outside any array of objects (free); together, as they are read together.
type ftGen struct {
	held, free uint32
	decided    uint32 // when held and free were decided
}

// pathGen tells when a path last had values, and the last of them (a leaf;
// state.next links the others).
type pathGen struct {
	gen  uint32
	head int32
}

// decide decides a field test on the event's values at its path.
func (st *state) decide(ix *index, ft int, leaves []leaf) {
	fe := &ix.fts[ft]
	g := st.gen
	f := &st.fts[ft]
	f.decided = g
	p := st.paths[fe.path]
	if p.gen != g {
		if fe.absent {
			f.held, f.free = g, g
		}
		return
	}
	for li := p.head; li >= 0; li = st.next[li] {
		pv := probe{value: leaves[li].v}
		for _, c := range fe.cs {
			if c.kind != kAbsent && c.test(&pv) {
				f.held = g
				if l := &leaves[li]; l.t1 == l.t0 {
					f.free = g
				} else if f.free != g {
					st.within = append(st.within, ftLeaf{ft: ft, leaf: li})
				}
				break
			}
		}
	}
}

type ftLeaf struct {
	ft   int
	leaf int32
}

// consistent decides a branch whose field tests all held, some only on
// values inside arrays of objects: it matches if one value per field test
// can be chosen with no two from different elements of the same array.
func (st *state) consistent(fts []int32, leaves []leaf, trails []arrPos) bool {
	var cands [][][]arrPos
	for _, ft := range fts {
		if st.fts[ft].free == st.gen {
			continue
		}
		var c [][]arrPos
		for _, w := range st.within {
			if w.ft == int(ft) {
				l := leaves[w.leaf]
				c = append(c, trails[l.t0:l.t1])
			}
		}
		cands = append(cands, c)
	}
	return assignable(cands)
}

func (st *state) prepare(ix *index) {
	st.fts = grow(st.fts, len(ix.fts))
	st.within = st.within[:0]
	st.paths = grow(st.paths, len(ix.paths))
	st.patGen = grow(st.patGen, len(ix.patIDs))
	st.conds = grow(st.conds, len(ix.conds))
	st.held = st.held[:0]
	st.gen++
	if st.gen == 0 {
		clear(st.fts)
		clear(st.conds)
		clear(st.paths)
		clear(st.patGen)
		st.gen = 1
	}
}

func grow[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// hit records that condition id, which branches are filed under, holds.
func (st *state) hit(ix *index, id int) {
	c := &st.conds[id]
	if c.held != st.gen {
		c.held = st.gen
		st.held = append(st.held, id)
	}
	if st.leaf < 0 {
		c.free = st.gen
	}
}
