package pdffont

import (
	"slices"

	"golang.org/x/text/unicode/bidi"
)

// visual is s, one line of a left-to-right paragraph, in the order its
// characters are seen: the Unicode Bidirectional Algorithm (UAX #9,
// Unicode 6.3 and later, with bracket pairs) for the one case a PDF line
// here is, rules W1-W7, N0-N2, I1-I2, L1, L2 and L4. There are no explicit
// embeddings, overrides or isolates: traded.CleanLine refuses those
// characters in anything people type, and any that reach here are treated
// as boundary neutrals (X9), like the other BN characters.
//
// Why not golang.org/x/text/unicode/bidi's Paragraph: its Order put
// "(Head)" after "דוד כהן" inside the right-to-left run, mirrored, and an
// emoji between Arabic and Latin inside the Arabic; GNU FriBidi, which the
// emitters test reads the PDFs back against, and the algorithm do neither.
// Its character classes and bracket properties are used as they are.
func visual(s string) string {
	rs := []rune(s)
	perm, levels := order(rs)
	out := make([]rune, len(rs))
	for v, i := range perm {
		out[v] = rs[i]
		if levels[i]%2 == 1 {
			out[v] = mirror(rs[i]) // L4
		}
	}
	return string(out)
}

// order is where each character of rs is seen: perm[v] is the index in rs
// of the character drawn v-th from the left, and levels are the resolved
// embedding levels of rs (odd for right to left).
func order(rs []rune) (perm, levels []int) {
	n := len(rs)
	orig := make([]bidi.Class, n) // classes as looked up, for L1
	t := make([]bidi.Class, n)    // classes being resolved
	var seq []int                 // positions that take part: all but BN (X9)
	for i, r := range rs {
		p, _ := bidi.LookupRune(r)
		c := p.Class()
		switch c {
		case bidi.LRE, bidi.RLE, bidi.LRO, bidi.RLO, bidi.PDF, bidi.LRI, bidi.RLI, bidi.FSI, bidi.PDI:
			c = bidi.BN
		}
		orig[i], t[i] = c, c
		if c != bidi.BN {
			seq = append(seq, i)
		}
	}

	// W1-W7, over the sequence with BN left out; sos and eos are L.
	prev := bidi.L
	for _, i := range seq { // W1
		if t[i] == bidi.NSM {
			t[i] = prev
		}
		prev = t[i]
	}
	strong := bidi.L
	for _, i := range seq { // W2, W3
		switch t[i] {
		case bidi.L, bidi.R, bidi.AL:
			strong = t[i]
		case bidi.EN:
			if strong == bidi.AL {
				t[i] = bidi.AN
			}
		}
	}
	for _, i := range seq {
		if t[i] == bidi.AL {
			t[i] = bidi.R
		}
	}
	for k := 1; k+1 < len(seq); k++ { // W4
		a, b, c := t[seq[k-1]], t[seq[k]], t[seq[k+1]]
		switch {
		case b == bidi.ES && a == bidi.EN && c == bidi.EN:
			t[seq[k]] = bidi.EN
		case b == bidi.CS && a == c && (a == bidi.EN || a == bidi.AN):
			t[seq[k]] = a
		}
	}
	for k := 0; k < len(seq); { // W5
		if t[seq[k]] != bidi.ET {
			k++
			continue
		}
		e := k
		for e < len(seq) && t[seq[e]] == bidi.ET {
			e++
		}
		if (k > 0 && t[seq[k-1]] == bidi.EN) || (e < len(seq) && t[seq[e]] == bidi.EN) {
			for m := k; m < e; m++ {
				t[seq[m]] = bidi.EN
			}
		}
		k = e
	}
	for _, i := range seq { // W6
		switch t[i] {
		case bidi.ES, bidi.ET, bidi.CS:
			t[i] = bidi.ON
		}
	}
	strong = bidi.L
	for _, i := range seq { // W7
		switch t[i] {
		case bidi.L, bidi.R:
			strong = t[i]
		case bidi.EN:
			if strong == bidi.L {
				t[i] = bidi.L
			}
		}
	}

	resolveBrackets(rs, orig, t, seq)

	// N1, N2: a run of neutrals between two strong directions that agree
	// (numbers count as R) takes that direction, else the embedding's, L.
	isNeutral := func(c bidi.Class) bool {
		return c == bidi.B || c == bidi.S || c == bidi.WS || c == bidi.ON
	}
	dir := func(c bidi.Class) bidi.Class {
		if c == bidi.L {
			return bidi.L
		}
		return bidi.R // R, EN, AN
	}
	for k := 0; k < len(seq); {
		if !isNeutral(t[seq[k]]) {
			k++
			continue
		}
		e := k
		for e < len(seq) && isNeutral(t[seq[e]]) {
			e++
		}
		before, after := bidi.L, bidi.L
		if k > 0 {
			before = dir(t[seq[k-1]])
		}
		if e < len(seq) {
			after = dir(t[seq[e]])
		}
		c := bidi.L
		if before == after {
			c = before
		}
		for m := k; m < e; m++ {
			t[seq[m]] = c
		}
		k = e
	}

	// I1, I2 at paragraph level 0; BN takes the level before it.
	levels = make([]int, n)
	last := 0
	for i := range rs {
		switch t[i] {
		case bidi.R:
			levels[i] = 1
		case bidi.EN, bidi.AN:
			levels[i] = 2
		case bidi.BN:
			levels[i] = last
		}
		last = levels[i]
	}
	// L1: separators, and white space before them or at the end of the
	// line, go back to the paragraph's level.
	trailing := true
	for i := n - 1; i >= 0; i-- {
		switch orig[i] {
		case bidi.S, bidi.B:
			levels[i], trailing = 0, true
		case bidi.WS, bidi.BN:
			if trailing {
				levels[i] = 0
			}
		default:
			trailing = false
		}
	}

	// L2: from the highest level down to 1, turn round each stretch at
	// or above that level.
	perm = make([]int, n)
	at := make([]int, n) // levels in the order being built
	top := 0
	for i, l := range levels {
		perm[i], at[i] = i, l
		top = max(top, l)
	}
	for l := top; l >= 1; l-- {
		for i := 0; i < n; {
			if at[i] < l {
				i++
				continue
			}
			j := i
			for j < n && at[j] >= l {
				j++
			}
			slices.Reverse(perm[i:j])
			slices.Reverse(at[i:j])
			i = j
		}
	}
	// L3: combining marks on a right-to-left character, now before it,
	// go back after it, in the order typed: a PDF draws a mark over the
	// glyph before it, as FriBidi (and so Pango and GTK) order them.
	// Boundary neutrals among the marks (X9 left them out) go with them.
	mark := func(v int) bool {
		c := orig[perm[v]]
		return (c == bidi.NSM || c == bidi.BN) && levels[perm[v]]%2 == 1
	}
	for v := 0; v < n; v++ {
		if !mark(v) || orig[perm[v]] != bidi.NSM {
			continue
		}
		j := v
		for j < n && mark(j) {
			j++
		}
		if j < n && levels[perm[j]]%2 == 1 { // the base, in the same run
			slices.Reverse(perm[v : j+1])
		}
		v = j
	}
	return perm, levels
}

// resolveBrackets is rule N0: each pair of brackets (BD16, at most 63
// open at once) takes the embedding direction, L, if it holds strong L
// text; else R if it holds R text (numbers count as R) and R text comes
// before it; else it is left to N1 and N2. A non-spacing mark after a
// bracket follows it.
func resolveBrackets(rs []rune, orig, t []bidi.Class, seq []int) {
	type open struct {
		pos   int // index in seq
		close rune
	}
	var stack []open
	var pairs [][2]int
	for k, i := range seq {
		if t[i] != bidi.ON {
			continue
		}
		p, _ := bidi.LookupRune(rs[i])
		if !p.IsBracket() {
			continue
		}
		if p.IsOpeningBracket() {
			if len(stack) == 63 {
				break
			}
			stack = append(stack, open{k, mirror(rs[i])})
			continue
		}
		for s := len(stack) - 1; s >= 0; s-- {
			if stack[s].close == rs[i] {
				pairs = append(pairs, [2]int{stack[s].pos, k})
				stack = stack[:s]
				break
			}
		}
	}
	slices.SortFunc(pairs, func(a, b [2]int) int { return a[0] - b[0] })
	dir := func(c bidi.Class) (bidi.Class, bool) {
		switch c {
		case bidi.L:
			return bidi.L, true
		case bidi.R, bidi.EN, bidi.AN:
			return bidi.R, true
		}
		return 0, false
	}
	for _, pr := range pairs {
		hasL, hasR := false, false
		for k := pr[0] + 1; k < pr[1]; k++ {
			if d, ok := dir(t[seq[k]]); ok {
				hasL = hasL || d == bidi.L
				hasR = hasR || d == bidi.R
			}
		}
		var c bidi.Class
		switch {
		case hasL:
			c = bidi.L
		case hasR:
			c = bidi.L
			for k := pr[0] - 1; k >= 0; k-- {
				if d, ok := dir(t[seq[k]]); ok {
					c = d
					break
				}
			}
		default:
			continue
		}
		for _, k := range pr {
			t[seq[k]] = c
			for m := k + 1; m < len(seq) && orig[seq[m]] == bidi.NSM; m++ {
				t[seq[m]] = c
			}
		}
	}
}

// mirror is r's mirrored glyph's character (Bidi_Mirroring_Glyph) for the
// brackets x/text knows and the other pairs a name might hold, else r.
func mirror(r rune) rune {
	if p, _ := bidi.LookupRune(r); p.IsBracket() {
		return []rune(bidi.ReverseString(string(r)))[0]
	}
	switch r {
	case '<':
		return '>'
	case '>':
		return '<'
	case '«':
		return '»'
	case '»':
		return '«'
	case '‹':
		return '›'
	case '›':
		return '‹'
	case '≤':
		return '≥'
	case '≥':
		return '≤'
	}
	return r
}
