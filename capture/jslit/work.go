package jslit

// Work accounting. Each call of Parse, Calls or Assignments counts the
// basic steps it takes in its parser (per call, never shared): the bytes
// its scanners examine and the turns of its loops, rescans included. The
// count is what the tests bound (work <= K*len+C: deterministic, unlike a
// clock), and it is capped: past budget(len) a call stops and returns what
// it has read, so its time is bounded on any input by construction.
//
// Read whole, the fixture pages cost under 2 units a byte, and the worst
// inputs the fuzzer and TestPathological know about 6 (calls nested in
// calls re-read their arguments, up to 4 times the script in all). The
// tests allow 16; the cap is 4 times that, so that only a regression (a
// rescan gone quadratic) or input nobody has thought of reaches it, and
// such input still costs no more than some 64 linear passes.

// budget is the work a call may do on n bytes of input.
func budget(n int) int { return 64*n + 4096 }

// over reports whether the call has spent its budget.
func (p *parser) over() bool { return p.work > p.limit }

// Metered scanners: the lexical helpers of lex.go, charged to p.work.

func (p *parser) space(i int) int {
	j, _ := spaceNL(p.s, i)
	p.work += j - i + 1
	return j
}

func (p *parser) spaceNL(i int) (int, bool) {
	j, nl := spaceNL(p.s, i)
	p.work += j - i + 1
	return j, nl
}

func (p *parser) identEnd(i int) int {
	j := identEnd(p.s, i)
	p.work += j - i + 1
	return j
}

func (p *parser) numberEnd(i int) int {
	j := numberEnd(p.s, i)
	p.work += j - i + 1
	return j
}

func (p *parser) skipQuoted(i int) int {
	j := skipQuoted(p.s, i)
	p.work += j - i + 1
	return j
}

// Test hooks: the work of one call with the usual budget.

func parseWork(src string) int {
	_, _, w, _ := parse(src, budget(len(src)))
	return w
}

func callsWork(src string, callees ...string) int {
	_, w := calls(src, callees, budget(len(src)))
	return w
}

func assignmentsWork(src string, roots ...string) int {
	_, w := assignments(src, roots, budget(len(src)))
	return w
}
