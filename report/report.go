// Package report renders a bucket's attribution for a store owner to read:
// one self-contained HTML page (totals, daily orders and revenue, the
// attributed share by publisher, the clicks-to-order lag, the latest orders
// with their decision) and the CSV behind the admin API's format=csv.
//
// It owns the presentation only. The caller (the admin API) reads the
// orders and their attribution results from the store, picks the period
// and hands them in as Data; report decides nothing and reads nothing, and
// knows nothing of Caddy, HTTP or Badger. The page loads nothing from
// anywhere (no scripts, stylesheets, fonts or images by URL, and its
// Content-Security-Policy forbids them) so it works offline and can be
// saved or printed as it is. Everything that came from a store's pages
// (order ids, publisher and click ids, currencies) is escaped by
// html/template, and CSV cells that a spreadsheet would run as a formula
// are defused.
package report

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/capture"
)

// Data is what the page shows: one bucket's orders over a period.
type Data struct {
	Bucket string
	// Generated is when the page was made. When To is zero it is the
	// last day of the daily chart.
	Generated time.Time
	// From and To are the period the orders were read for; zero when
	// open. A To at midnight is taken as exclusive.
	From, To time.Time
	// Location is the time zone of days and times; nil is UTC.
	Location *time.Location
	// Currency is the store's main currency. "" picks the one most orders
	// use. When set, orders without a currency are taken to be in it.
	Currency string
	// Model and Window are the bucket's attribution rules, shown in the
	// header when set.
	Model  attribution.Model
	Window time.Duration
	// Orders holds one row per order, newest first.
	Orders []Row
}

// Row is one order and what attribution decided for it.
type Row struct {
	OrderID  string
	Time     time.Time // when the order was placed
	Total    *float64  // nil when the order has no total
	Currency string    // ISO 4217; "" when unknown (see Data.Currency)

	Status        attribution.Status
	Model         attribution.Model
	PublisherID   string // the affiliate: publisher_id, or a partner link's aff_id
	OfferID       string
	TransactionID string     // the click id
	TouchTime     *time.Time // the credited click
	DaysFromClick *float64
	Credit        float64 // the share of the order credited to PublisherID
	// Shares is every publisher's share when the model splits the credit
	// (linear); nil means PublisherID gets Credit.
	Shares []Share
	// Touches are the clicks that share the credit, each with its
	// share, when more than one does (linear); nil otherwise.
	Touches []attribution.Candidate
	Why     string // the rule that decided
}

// Share is a publisher's part of an order's credit.
type Share struct {
	PublisherID string
	Credit      float64
}

// ResultRow returns the decision fields of a Row from an attribution
// result; the caller adds the order's Time, Total and Currency.
func ResultRow(r attribution.Result) Row {
	return Row{
		OrderID:       r.OrderID,
		Status:        r.Status,
		Model:         r.Model,
		PublisherID:   r.Affiliate(),
		OfferID:       r.OfferID,
		TransactionID: r.TransactionID,
		TouchTime:     r.TouchTime,
		DaysFromClick: r.DaysFromClick,
		Credit:        r.Credit,
		Shares:        chosenShares(r.Why.Candidates),
		Touches:       sharedTouches(r.Why.Candidates),
		Why:           r.Why.Rule,
	}
}

// sharedTouches returns the chosen candidates when more than one shares
// the credit, or nil.
func sharedTouches(cands []attribution.Candidate) []attribution.Candidate {
	var out []attribution.Candidate
	for _, c := range cands {
		if c.Chosen {
			out = append(out, c)
		}
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// chosenShares sums the credit of the chosen candidates per publisher, or
// returns nil when a single publisher got it all.
func chosenShares(cands []attribution.Candidate) []Share {
	var out []Share
	for _, c := range cands {
		if !c.Chosen {
			continue
		}
		i := slices.IndexFunc(out, func(s Share) bool { return s.PublisherID == c.Affiliate() })
		if i < 0 {
			out = append(out, Share{PublisherID: c.Affiliate()})
			i = len(out) - 1
		}
		out[i].Credit += c.Credit
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// Render writes the HTML report page of d to w.
func Render(w io.Writer, d Data) error {
	if err := pageTemplate.Execute(w, build(d)); err != nil {
		return fmt.Errorf("report: rendering bucket %q: %w", d.Bucket, err)
	}
	return nil
}

// csvHeader is the header of CSV: the fields of an attribution in the
// admin API's JSON, without subs, then the order's time, total and
// currency, so that a commission is credit × total without a second file.
var csvHeader = []string{"order_id", "status", "model", "publisher_id", "offer_id",
	"transaction_id", "touch_time", "days_from_click", "credit", "why",
	"order_time", "total", "currency"}

// CSV writes rows as CSV with a header line: one line per order, except
// that an order whose credit several clicks share (linear) has one line
// per click, each with its publisher, click and share, so that summing
// the credit column per publisher gives what each one earned. Absent
// values are empty, touch_time is RFC 3339, and a text cell that starts
// with = + - @ or a control character gets a leading ' so that a
// spreadsheet shows it instead of running it.
func CSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("report: writing CSV header: %w", err)
	}
	for _, r := range rows {
		for _, rec := range csvRecords(r) {
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("report: writing CSV row of order %q: %w", r.OrderID, err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: writing CSV: %w", err)
	}
	return nil
}

// csvRecords are the CSV lines of r: one, or one per shared touch.
func csvRecords(r Row) [][]string {
	if len(r.Touches) < 2 {
		return [][]string{csvRecord(r)}
	}
	recs := make([][]string, 0, len(r.Touches))
	for _, c := range r.Touches {
		line := r
		line.PublisherID, line.OfferID, line.TransactionID = c.Affiliate(), c.OfferID, c.TransactionID
		touch := c.Time
		line.TouchTime, line.DaysFromClick, line.Credit = &touch, nil, c.Credit
		if !r.Time.IsZero() {
			days := r.Time.Sub(touch).Hours() / 24
			line.DaysFromClick = &days
		}
		recs = append(recs, csvRecord(line))
	}
	return recs
}

func csvRecord(r Row) []string {
	touch, days := "", ""
	if r.TouchTime != nil {
		touch = r.TouchTime.Format(time.RFC3339Nano)
	}
	if r.DaysFromClick != nil {
		days = decimal(*r.DaysFromClick, 4)
	}
	placed, total := "", ""
	if !r.Time.IsZero() {
		placed = r.Time.UTC().Format(time.RFC3339Nano)
	}
	if r.Total != nil && !math.IsNaN(*r.Total) && !math.IsInf(*r.Total, 0) {
		total = decimal(*r.Total, 6)
	}
	return []string{cell(r.OrderID), cell(string(r.Status)), cell(string(r.Model)),
		cell(r.PublisherID), cell(r.OfferID), cell(r.TransactionID), touch, days,
		decimal(r.Credit, 4), cell(r.Why), placed, total, cell(r.Currency)}
}

// cell defuses a text that a spreadsheet would take for a formula.
func cell(s string) string {
	if s != "" && (strings.ContainsRune("=+-@", rune(s[0])) || s[0] < ' ') {
		return "'" + s
	}
	return s
}

// Money formats an amount in a currency for people: grouped thousands,
// the currency's minor digits, and the ISO code after it ("1,234.50 USD",
// "5,000 JPY"); without a currency, the number alone with two decimals.
func Money(v float64, currency string) string {
	s := grouped(v, capture.CurrencyDigits(currency))
	if currency == "" {
		return s
	}
	return s + " " + currency
}

// grouped formats v with digits decimals and commas between thousands.
func grouped(v float64, digits int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', digits, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

// decimal formats v with at most digits decimals and no trailing zeros.
func decimal(v float64, digits int) string {
	p := math.Pow10(digits)
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
}

// percent formats a fraction as a percentage with one decimal ("42.5%"),
// whole when it is ("100%").
func percent(f float64) string {
	return decimal(f*100, 1) + "%"
}

// Attribution statuses as the page groups them: approved and pending
// orders are credited to a click (attributed); rejected ones were, until
// a refund or cancellation; any other status counts as organic.
func attributed(s attribution.Status) bool {
	return s == attribution.Approved || s == attribution.Pending
}

func statusClass(s attribution.Status) string {
	switch s {
	case attribution.Approved, attribution.Pending, attribution.Rejected, attribution.Organic:
		return string(s)
	}
	return "other"
}

// order is a Row as the page needs it: its currency settled, its time in
// the page's location, its total in the main currency (0 when it has none
// or is in another currency).
type order struct {
	*Row
	currency string
	time     time.Time
	main     float64 // total when in the main currency
	inMain   bool    // has a total in the main currency
}

// prepare settles each row's currency and picks the main currency.
func prepare(d Data, loc *time.Location) ([]order, string) {
	def := capture.Currency(d.Currency)
	orders := make([]order, len(d.Orders))
	count := map[string]int{}
	for i := range d.Orders {
		r := &d.Orders[i]
		cur := capture.Currency(r.Currency)
		if cur == "" {
			cur = def
		}
		orders[i] = order{Row: r, currency: cur, time: r.Time.In(loc)}
		count[cur]++
	}
	main := def
	if main == "" {
		main = mostUsed(count)
	}
	for i := range orders {
		o := &orders[i]
		if o.Total != nil && o.currency == main {
			o.main, o.inMain = *o.Total, true
		}
	}
	return orders, main
}

// mostUsed returns the key with the highest count, the smallest key on a tie.
func mostUsed(count map[string]int) string {
	best, n := "", -1
	for k, c := range count {
		if c > n || c == n && k < best {
			best, n = k, c
		}
	}
	return best
}

// page is the view the template renders.
type page struct {
	Bucket    string
	Generated string
	Period    string
	Bounded   bool // the period has a start or an end
	Rules     string
	Empty     bool
	Cards     []card
	Notes     []string
	Daily     daily
	Share     share
	Lag       lag
	Latest    []tableRow
	Hidden    int // orders not in the table
}

type card struct {
	ID, Label, Value, Sub string
}

const latestRows = 50

func build(d Data) page {
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	p := page{
		Bucket:  d.Bucket,
		Period:  period(d.From, d.To, loc),
		Bounded: !d.From.IsZero() || !d.To.IsZero(),
		Rules:   rules(d.Model, d.Window),
		Empty:   len(d.Orders) == 0,
	}
	if !d.Generated.IsZero() {
		p.Generated = d.Generated.In(loc).Format("2006-01-02 15:04 MST")
	}
	if p.Empty {
		return p
	}
	orders, main := prepare(d, loc)
	t := summarise(orders, main)
	p.Cards = t.cards()
	p.Notes = t.notes()
	var outside int
	p.Daily, outside = buildDaily(orders, main, chartDays(d, orders, loc))
	if outside > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%s outside the %d days of the daily chart.",
			plural(outside, "order falls", "orders fall"), p.Daily.Days))
	}
	p.Share = buildShare(orders, main, t.revenue > 0)
	p.Lag = buildLag(orders)
	p.Latest, p.Hidden = latest(orders)
	return p
}

func period(from, to time.Time, loc *time.Location) string {
	to = inclusive(from, to, loc)
	switch {
	case from.IsZero() && to.IsZero():
		return "All stored orders"
	case to.IsZero():
		return "Orders since " + day(from, loc)
	case from.IsZero():
		return "Orders until " + day(to, loc)
	}
	return "Orders from " + day(from, loc) + " to " + day(to, loc)
}

// inclusive turns an exclusive end of a period at midnight into the last
// instant of the day before, which is the period's last day.
func inclusive(from, to time.Time, loc *time.Location) time.Time {
	if !to.IsZero() && midnight(to.In(loc)).Equal(to) && (from.IsZero() || to.After(from)) {
		return to.Add(-time.Nanosecond)
	}
	return to
}

// day formats t as a date, with the time of day unless it is the
// first or the last instant of the day.
func day(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if m := midnight(t); t.Equal(m) || t.Equal(m.AddDate(0, 0, 1).Add(-time.Nanosecond)) {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04")
}

func rules(m attribution.Model, window time.Duration) string {
	var parts []string
	if m != "" {
		parts = append(parts, "model "+string(m))
	}
	if window > 0 {
		parts = append(parts, "window "+duration(window))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Attribution: " + strings.Join(parts, ", ")
}

// duration writes whole days as "30 days", anything else as Go does.
func duration(d time.Duration) string {
	const dayLen = 24 * time.Hour
	if d%dayLen == 0 {
		return plural(int(d/dayLen), "day", "days")
	}
	return d.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// totals are the figures of the cards.
type totals struct {
	main                string
	orders, noTotal     int
	byStatus            map[attribution.Status]int
	revenue, attributed float64 // in the main currency
	attributedOrders    int
	others              map[string]*currencySum
}

type currencySum struct {
	orders int
	total  float64
}

func summarise(orders []order, main string) totals {
	t := totals{main: main, orders: len(orders), byStatus: map[attribution.Status]int{},
		others: map[string]*currencySum{}}
	for _, o := range orders {
		t.byStatus[o.Status]++
		if attributed(o.Status) {
			t.attributedOrders++
		}
		switch {
		case o.Total == nil:
			t.noTotal++
		case o.inMain:
			t.revenue += o.main
			if attributed(o.Status) {
				t.attributed += o.main
			}
		default:
			s := t.others[o.currency]
			if s == nil {
				s = &currencySum{}
				t.others[o.currency] = s
			}
			s.orders++
			s.total += *o.Total
		}
	}
	return t
}

func (t totals) cards() []card {
	share, of := "–", ""
	switch {
	case t.revenue > 0:
		share, of = percent(t.attributed/t.revenue), "of revenue in "+t.currencyName()
	case t.orders > 0:
		share, of = percent(float64(t.attributedOrders)/float64(t.orders)), "of orders (no revenue to compare)"
	}
	revSub := "no orders without a total"
	if t.noTotal > 0 {
		revSub = plural(t.noTotal, "order", "orders") + " without a total"
	}
	return []card{
		{"total-orders", "Orders", strconv.Itoa(t.orders), t.statusLine()},
		{"total-revenue", "Revenue", Money(t.revenue, t.main), revSub},
		{"total-attributed", "Attributed revenue", Money(t.attributed, t.main),
			plural(t.attributedOrders, "order", "orders") + " credited to a click (approved or pending)"},
		{"total-share", "Share attributed", share, of},
	}
}

func (t totals) currencyName() string {
	if t.main == "" {
		return "the main currency"
	}
	return t.main
}

func (t totals) statusLine() string {
	var parts []string
	for _, s := range []attribution.Status{attribution.Approved, attribution.Pending,
		attribution.Rejected, attribution.Organic} {
		parts = append(parts, strconv.Itoa(t.byStatus[s])+" "+string(s))
	}
	other := 0
	for s, n := range t.byStatus {
		if statusClass(s) == "other" {
			other += n
		}
	}
	if other > 0 {
		parts = append(parts, strconv.Itoa(other)+" other")
	}
	return strings.Join(parts, " · ")
}

// notes says what the revenue figures leave out: other currencies.
func (t totals) notes() []string {
	if len(t.others) == 0 {
		return nil
	}
	curs := make([]string, 0, len(t.others))
	for c := range t.others {
		curs = append(curs, c)
	}
	slices.SortFunc(curs, func(a, b string) int {
		return cmp.Or(cmp.Compare(t.others[b].orders, t.others[a].orders), cmp.Compare(a, b))
	})
	parts := make([]string, len(curs))
	for i, c := range curs {
		name := Money(t.others[c].total, c)
		if c == "" {
			name += " without a currency"
		}
		parts[i] = name + " in " + plural(t.others[c].orders, "order", "orders")
	}
	return []string{"Also " + strings.Join(parts, ", ") + ". Revenue figures and charts count " +
		t.currencyName() + " only; order counts include every currency."}
}

// tableRow is a line of the latest orders.
type tableRow struct {
	Time, OrderID, Total        string
	Status, StatusClass         string
	Publisher, Offer, Click     string
	Days, Credit, Model, Why    string
	HasTotal, HasDays, Multiple bool
}

func latest(orders []order) ([]tableRow, int) {
	newest := func(a, b order) int { return b.time.Compare(a.time) }
	if !slices.IsSortedFunc(orders, newest) {
		orders = slices.Clone(orders)
		slices.SortStableFunc(orders, newest)
	}
	n := min(len(orders), latestRows)
	rows := make([]tableRow, n)
	for i, o := range orders[:n] {
		rows[i] = tableLine(o)
	}
	return rows, len(orders) - n
}

func tableLine(o order) tableRow {
	r := tableRow{
		OrderID: o.OrderID, Status: string(o.Status), StatusClass: statusClass(o.Status),
		Publisher: o.PublisherID, Offer: o.OfferID, Click: o.TransactionID,
		Model: string(o.Model), Why: o.Why, Total: "–", Days: "–",
	}
	if r.Status == "" {
		r.Status = "unknown"
	}
	if !o.time.IsZero() {
		r.Time = o.time.Format("2006-01-02 15:04")
	}
	if o.Total != nil {
		r.Total, r.HasTotal = Money(*o.Total, o.currency), true
	}
	if o.DaysFromClick != nil {
		r.Days, r.HasDays = decimal(*o.DaysFromClick, 1), true
	}
	if o.Status != attribution.Organic && (o.Credit > 0 || len(o.Shares) > 0) {
		r.Credit = percent(o.Credit)
		r.Multiple = len(o.Shares) > 1
	}
	return r
}

// The charts. Coordinates are in each SVG's viewBox and written with one
// decimal so that the page (and its golden file) is stable.

func f1(v float64) string { return decimal(v, 1) }

// niceStep returns the smallest 1, 2 or 5 × 10^k that is at least v.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5} {
		if m*p >= v*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// compact writes an axis value short: 950, 1.5k, 2M.
func compact(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return decimal(v/1e6, 2) + "M"
	case a >= 1e3:
		return decimal(v/1e3, 2) + "k"
	}
	return decimal(v, 2)
}

// gridLine is a horizontal line of a chart with its axis label.
type gridLine struct{ Y, Label string }

// axis returns the grid of a value axis from 0 to at least peak, drawn
// between the pixel rows bottom and top, and the value at the top.
func axis(peak float64, ticks int, integer bool, bottom, top float64) ([]gridLine, float64) {
	step := niceStep(peak / float64(ticks))
	if integer {
		step = math.Max(1, math.Ceil(step))
	}
	n := max(1, int(math.Ceil(peak/step-1e-9)))
	high := step * float64(n)
	lines := make([]gridLine, n+1)
	for i := range lines {
		v := step * float64(i)
		lines[i] = gridLine{Y: f1(bottom - (bottom-top)*v/high), Label: compact(v)}
	}
	return lines, high
}

// daily is the chart of orders and revenue per day.
type daily struct {
	Days      int
	Currency  string
	Grid      []gridLine // revenue
	OrderGrid []gridLine
	Bars      []dayBar
	Labels    []axisLabel
	Desc      string
}

type dayBar struct {
	Title                  string
	X, W                   string
	RevY, RevH, AttY, AttH string
	OrdY, OrdH             string
	HasRev, HasAtt         bool
}

type axisLabel struct{ X, Text string }

type dayTotal struct {
	date                time.Time
	orders              int
	revenue, attributed float64
}

// Geometry of the daily chart's viewBox (960 × 320).
const (
	dailyLeft, dailyRight = 64.0, 952.0
	revTop, revBottom     = 24.0, 200.0
	ordTop, ordBottom     = 232.0, 292.0
	maxChartDays          = 366
)

// chartDays returns the days of the daily chart: the period's days when
// it has a start, else the 30 days up to To, Generated or the newest order;
// at most the last maxChartDays.
func chartDays(d Data, orders []order, loc *time.Location) []dayTotal {
	end := inclusive(d.From, d.To, loc)
	if end.IsZero() {
		end = d.Generated
	}
	if end.IsZero() {
		end = slices.MaxFunc(orders, func(a, b order) int { return a.time.Compare(b.time) }).time
	}
	last := midnight(end.In(loc))
	first := last.AddDate(0, 0, -29)
	if !d.From.IsZero() {
		first = midnight(d.From.In(loc))
	}
	if first.After(last) {
		first = last
	}
	if limit := last.AddDate(0, 0, 1-maxChartDays); first.Before(limit) {
		first = limit
	}
	var days []dayTotal
	for t := first; !t.After(last); t = t.AddDate(0, 0, 1) {
		days = append(days, dayTotal{date: t})
	}
	return days
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// buildDaily sums the orders per day and draws them; it also returns how
// many orders fall outside the chart's days.
func buildDaily(orders []order, main string, days []dayTotal) (daily, int) {
	index := make(map[time.Time]int, len(days))
	for i, d := range days {
		index[d.date] = i
	}
	outside := 0
	for _, o := range orders {
		i, ok := index[midnight(o.time)]
		if !ok {
			outside++
			continue
		}
		days[i].orders++
		days[i].revenue += o.main
		if attributed(o.Status) {
			days[i].attributed += o.main
		}
	}
	return drawDaily(days, main), outside
}

func drawDaily(days []dayTotal, main string) daily {
	var maxRev float64
	maxOrd := 0
	for _, d := range days {
		maxRev, maxOrd = math.Max(maxRev, d.revenue), max(maxOrd, d.orders)
	}
	c := daily{Days: len(days), Currency: main}
	var revHigh, ordHigh float64
	c.Grid, revHigh = axis(maxRev, 4, false, revBottom, revTop)
	c.OrderGrid, ordHigh = axis(float64(maxOrd), 2, true, ordBottom, ordTop)
	step := (dailyRight - dailyLeft) / float64(len(days))
	every := max(1, (len(days)+9)/10)
	for i, d := range days {
		x := dailyLeft + float64(i)*step
		if i%every == 0 {
			c.Labels = append(c.Labels, axisLabel{X: f1(x + step/2), Text: d.date.Format("Jan 2")})
		}
		if d.orders > 0 {
			c.Bars = append(c.Bars, drawDay(d, main, x, step, revHigh, ordHigh))
		}
	}
	c.Desc = dailyDesc(days, main)
	return c
}

func drawDay(d dayTotal, main string, x, step, revHigh, ordHigh float64) dayBar {
	gap := step * 0.2
	rev := (revBottom - revTop) * d.revenue / revHigh
	att := (revBottom - revTop) * d.attributed / revHigh
	ord := (ordBottom - ordTop) * float64(d.orders) / ordHigh
	return dayBar{
		Title: fmt.Sprintf("%s: %s, %s revenue, %s attributed", d.date.Format("Mon 2 Jan 2006"),
			plural(d.orders, "order", "orders"), Money(d.revenue, main), Money(d.attributed, main)),
		X: f1(x + gap/2), W: f1(math.Max(step-gap, 0.5)),
		RevY: f1(revBottom - rev), RevH: f1(rev), HasRev: d.revenue > 0,
		AttY: f1(revBottom - att), AttH: f1(att), HasAtt: d.attributed > 0,
		OrdY: f1(ordBottom - ord), OrdH: f1(ord),
	}
}

func dailyDesc(days []dayTotal, main string) string {
	var n int
	var rev float64
	busiest := days[0]
	for _, d := range days {
		n += d.orders
		rev += d.revenue
		if d.revenue > busiest.revenue || d.revenue == busiest.revenue && d.orders > busiest.orders {
			busiest = d
		}
	}
	s := fmt.Sprintf("%s and %s revenue over %d days from %s to %s.",
		plural(n, "order", "orders"), Money(rev, main), len(days),
		days[0].date.Format("2006-01-02"), days[len(days)-1].date.Format("2006-01-02"))
	if n > 0 {
		s += fmt.Sprintf(" Busiest day: %s with %s and %s.", busiest.date.Format("2006-01-02"),
			plural(busiest.orders, "order", "orders"), Money(busiest.revenue, main))
	}
	return s
}

// share is the donut of attributed revenue (or orders) by publisher.
type share struct {
	Basis  string // what the shares are of
	Note   string // the orders counted but not in the revenue, if any
	Center string
	Slices []slice
	Desc   string
}

type slice struct {
	Label, Color        string
	Dash, Offset        string
	Value, Percent      string
	Orders              int
	Publisher, Drawable bool
}

// A publisher's or another group's part of the share chart.
type part struct {
	key    string // publisher id, or one of the group keys
	kind   string // "publisher", "others", "rejected", "organic"
	weight float64
	orders int
}

const maxPublishers = 7

var palette = []string{"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#8c6d31", "#6a4c93"}

var groupColor = map[string]string{"others": "#7b8794", "rejected": "#b42318", "organic": "#cbd2d9"}

// Geometry of the donut (viewBox 220 × 220).
const donutR = 80.0

func buildShare(orders []order, main string, byRevenue bool) share {
	pubs := map[string]*part{}
	groups := map[string]*part{"others": {kind: "others"}, "rejected": {kind: "rejected"},
		"organic": {kind: "organic"}}
	var total float64
	var left leftOut
	for _, o := range orders {
		w := 1.0
		if byRevenue {
			// Every order counts in the Orders column, as everywhere on
			// the page; only totals in the main currency weigh in the
			// revenue and the shares (o.main is 0 for the others).
			w = o.main
			left.add(o)
		}
		total += w
		addOrder(o, w, pubs, groups)
	}
	parts := rankParts(pubs, groups)
	s := share{Basis: "orders", Slices: drawSlices(parts, total, byRevenue, main)}
	if byRevenue {
		s.Basis = "revenue in " + cmp.Or(main, "the main currency")
		s.Note = left.note()
	}
	var att float64
	for _, p := range parts {
		if p.kind == "publisher" || p.kind == "others" {
			att += p.weight
		}
	}
	s.Center = "–"
	if total > 0 {
		s.Center = percent(att / total)
	}
	s.Desc = shareDesc(s)
	return s
}

// leftOut counts the orders the share chart's Orders column counts but
// its revenue leaves out: per currency ("" for none), and those without a
// total.
type leftOut struct {
	byCurrency map[string]int
	noTotal    int
}

func (l *leftOut) add(o order) {
	switch {
	case o.inMain:
	case o.Total == nil:
		l.noTotal++
	default:
		if l.byCurrency == nil {
			l.byCurrency = map[string]int{}
		}
		l.byCurrency[o.currency]++
	}
}

// note says which orders the Orders column counts beyond the revenue, or
// is "" when there are none.
func (l leftOut) note() string {
	curs := slices.Collect(maps.Keys(l.byCurrency))
	slices.SortFunc(curs, func(a, b string) int {
		return cmp.Or(cmp.Compare(l.byCurrency[b], l.byCurrency[a]), cmp.Compare(a, b))
	})
	var parts []string
	for _, c := range curs {
		if c == "" {
			parts = append(parts, plural(l.byCurrency[c], "order", "orders")+" without a currency")
		} else {
			parts = append(parts, plural(l.byCurrency[c], "order", "orders")+" in "+c)
		}
	}
	if l.noTotal > 0 {
		parts = append(parts, plural(l.noTotal, "order", "orders")+" without a total")
	}
	if len(parts) == 0 {
		return ""
	}
	list := parts[len(parts)-1]
	if len(parts) > 1 {
		list = strings.Join(parts[:len(parts)-1], ", ") + " and " + list
	}
	return "The Orders column counts every order, including " + list +
		", which the revenue and shares leave out."
}

// addOrder adds an order of weight w to its publishers' parts, or to the
// rejected or organic group.
func addOrder(o order, w float64, pubs, groups map[string]*part) {
	switch {
	case o.Status == attribution.Rejected:
		groups["rejected"].add(w)
		return
	case !attributed(o.Status):
		groups["organic"].add(w)
		return
	}
	shares := o.Shares
	if len(shares) == 0 {
		shares = []Share{{o.PublisherID, o.Credit}}
	}
	left := 1.0
	for _, s := range shares {
		c := math.Min(math.Max(s.Credit, 0), left)
		left -= c
		p := pubs[s.PublisherID]
		if p == nil {
			p = &part{key: s.PublisherID, kind: "publisher"}
			pubs[s.PublisherID] = p
		}
		p.weight += w * c
		p.orders++
	}
	if left > 1e-9 { // credit that no publisher in the row accounts for
		groups["others"].weight += w * left
	}
}

func (p *part) add(w float64) {
	p.weight += w
	p.orders++
}

// rankParts orders the publishers by weight, folds those past
// maxPublishers into "others", and appends the groups that are not empty.
func rankParts(pubs, groups map[string]*part) []*part {
	ranked := make([]*part, 0, len(pubs))
	for _, p := range pubs {
		ranked = append(ranked, p)
	}
	slices.SortFunc(ranked, func(a, b *part) int {
		return cmp.Or(cmp.Compare(b.weight, a.weight), cmp.Compare(b.orders, a.orders), cmp.Compare(a.key, b.key))
	})
	if len(ranked) > maxPublishers {
		for _, p := range ranked[maxPublishers:] {
			groups["others"].weight += p.weight
			groups["others"].orders += p.orders
		}
		ranked = ranked[:maxPublishers]
	}
	for _, k := range []string{"others", "rejected", "organic"} {
		if g := groups[k]; g.weight > 0 || g.orders > 0 {
			ranked = append(ranked, g)
		}
	}
	return ranked
}

var groupLabel = map[string]string{
	"others":   "Other publishers",
	"rejected": "Rejected",
	"organic":  "Organic",
}

func drawSlices(parts []*part, total float64, byRevenue bool, main string) []slice {
	circ := 2 * math.Pi * donutR
	var at float64
	out := make([]slice, len(parts))
	for i, p := range parts {
		frac := 0.0
		if total > 0 {
			frac = p.weight / total
		}
		s := slice{Orders: p.orders, Percent: percent(frac),
			Dash:   f1(frac*circ) + " " + f1(circ),
			Offset: f1(-at * circ), Drawable: frac > 0,
			Value: decimal(p.weight, 2),
		}
		if byRevenue {
			s.Value = Money(p.weight, main)
		}
		s.Label, s.Color, s.Publisher = sliceName(p, i)
		at += frac
		out[i] = s
	}
	return out
}

func sliceName(p *part, i int) (label, color string, publisher bool) {
	if p.kind != "publisher" {
		return groupLabel[p.kind], groupColor[p.kind], false
	}
	label = p.key
	if label == "" {
		label = "(no publisher id)"
	}
	return label, palette[i%len(palette)], true
}

func shareDesc(s share) string {
	parts := make([]string, len(s.Slices))
	for i, sl := range s.Slices {
		parts[i] = sl.Label + " " + sl.Percent
	}
	if len(parts) == 0 {
		return "No " + s.Basis + " to share."
	}
	return "Share of " + s.Basis + ": " + strings.Join(parts, "; ") + "."
}

// lag is the histogram of days from the credited click to the order.
type lag struct {
	Bars  []lagBar
	Total int
	Desc  string
}

type lagBar struct {
	Label, Title          string
	X, Y, W, H, MidX, TxY string
	Count                 int
}

// lagBins are the histogram's bins: their labels and what they mean.
var lagBins = []struct{ label, long string }{
	{"same day", "less than a day"}, {"1 day", "1 day"}, {"2–3", "2 to 3 days"},
	{"4–7", "4 to 7 days"}, {"8–14", "8 to 14 days"}, {"15–30", "15 to 30 days"},
	{">30", "more than 30 days"},
}

// lagBin puts a lag in days into a bin of lagBins by whole days elapsed.
func lagBin(days float64) int {
	switch d := math.Floor(days); {
	case d < 1:
		return 0
	case d < 2:
		return 1
	case d < 4:
		return 2
	case d < 8:
		return 3
	case d < 15:
		return 4
	case d <= 30:
		return 5
	}
	return 6
}

// Geometry of the lag histogram (viewBox 420 × 240).
const (
	lagLeft, lagRight   = 12.0, 408.0
	lagTop, lagBottom   = 28.0, 200.0
	lagLabelY, lagCount = 220.0, 6.0
)

func buildLag(orders []order) lag {
	counts := make([]int, len(lagBins))
	total := 0
	for _, o := range orders {
		if o.DaysFromClick != nil && o.Status != attribution.Organic {
			counts[lagBin(*o.DaysFromClick)]++
			total++
		}
	}
	high := max(1, slices.Max(counts))
	step := (lagRight - lagLeft) / float64(len(lagBins))
	l := lag{Total: total}
	for i, n := range counts {
		h := (lagBottom - lagTop) * float64(n) / float64(high)
		x := lagLeft + float64(i)*step
		l.Bars = append(l.Bars, lagBar{
			Label: lagBins[i].label, Count: n,
			Title: lagBins[i].long + ": " + plural(n, "order", "orders"),
			X:     f1(x + step*0.15), W: f1(step * 0.7), Y: f1(lagBottom - h), H: f1(h),
			MidX: f1(x + step/2), TxY: f1(lagBottom - h - lagCount),
		})
	}
	l.Desc = lagDesc(l)
	return l
}

func lagDesc(l lag) string {
	if l.Total == 0 {
		return "No order came from an affiliate click."
	}
	parts := make([]string, len(l.Bars))
	for i, b := range l.Bars {
		parts[i] = b.Title
	}
	return "Days from the credited click to the order, over " +
		plural(l.Total, "order", "orders") + ": " + strings.Join(parts, "; ") + "."
}

var pageTemplate = template.Must(template.New("report").Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Katalys report – {{.Bucket}}</title>
<style>
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f5f7fa;color:#1f2933;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1140px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:0 0 12px}
.meta{color:#52606d;margin:0}
.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
section,.card{background:#fff;border:1px solid #dde3ea;border-radius:8px}
section{padding:16px 20px;margin-top:16px;break-inside:avoid}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin-top:16px}
.card{padding:12px 16px}
.card .label{color:#52606d;font-size:13px}
.card .value{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums;margin:2px 0}
.card .sub{color:#616e7c;font-size:12px}
.notes{margin:12px 0 0;padding-left:20px;color:#7b4a00}
.two{display:grid;grid-template-columns:3fr 2fr;gap:16px}
.two section{margin-top:16px}
svg{display:block;width:100%;height:auto}
svg text{fill:#3e4c59;font-size:12px}
.axis line{stroke:#e4e7eb;stroke-width:1}
.axis text{text-anchor:end}
.xlabels text{text-anchor:middle}
.rev{fill:#a9c7e4}.att{fill:#0072b2}.ord{fill:#7b8794}.lagbar{fill:#0072b2}
.count{text-anchor:middle;font-weight:600}
.center{text-anchor:middle}
.center .big{font-size:26px;font-weight:600;fill:#1f2933}
.keys{display:flex;gap:16px;font-size:12px;color:#52606d;margin-top:8px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.donut{display:grid;grid-template-columns:170px 1fr;gap:16px;align-items:center}
.donut svg{max-width:200px;margin:0 auto}
#chart-lag{max-width:560px}
.legend td:first-child{overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{color:#52606d;font-weight:600;font-size:12px}
th.num{text-align:right}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.time{white-space:nowrap}
td.why{color:#52606d;max-width:320px}
.status{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;background:#e4e7eb;color:#323f4b}
.status.approved{background:#d3f9d8;color:#1e5631}
.status.pending{background:#fff3c4;color:#8d2b0b}
.status.rejected{background:#ffe3e3;color:#8a1c1c}
.status.organic{background:#e4e7eb;color:#3e4c59}
.small{color:#616e7c;font-size:.86em}
.empty{padding:32px 20px}
.empty p{max-width:680px}
@media (max-width:820px){.two,.donut{grid-template-columns:1fr}}
@media print{
body{background:#fff;font-size:11px}
main{max-width:none;padding:0}
section,.card{border-color:#c4cdd5}
.cards{grid-template-columns:repeat(4,1fr)}
.card .value{font-size:16px}
#chart-lag{max-width:380px}
.two{grid-template-columns:1fr}
.donut{grid-template-columns:170px 1fr}
table{font-size:10px}
tr{break-inside:avoid}
.latest{break-inside:auto}
}
</style>
</head>
<body>
<main>
<header>
<h1>Katalys attribution report</h1>
<p class="meta">Bucket <span class="id">{{.Bucket}}</span> · {{.Period}}{{if .Generated}} · generated {{.Generated}}{{end}}</p>
{{- if .Rules}}
<p class="meta">{{.Rules}}</p>
{{- end}}
</header>
{{- if .Empty}}
<section class="empty" id="empty">
<h2>No orders yet</h2>
<p>This bucket has no orders for this period, so there is nothing to attribute yet.</p>
<p>Orders appear here as soon as a customer reaches the store's thank-you page through Caddy: each one is attributed at once to the affiliate click that led to it, or counted as organic. If you expected orders, check that the <span class="id">katalys</span> directive serves this store with this Tracking ID{{if .Bounded}}, or widen the period{{end}}.</p>
</section>
{{- else}}
<div class="cards" id="totals">
{{- range .Cards}}
<div class="card" id="{{.ID}}"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div><div class="sub">{{.Sub}}</div></div>
{{- end}}
</div>
{{- if .Notes}}
<ul class="notes">
{{- range .Notes}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
{{with .Daily}}
<section>
<h2>Daily orders and revenue</h2>
<svg id="chart-daily" role="img" aria-labelledby="chart-daily-title chart-daily-desc" viewBox="0 0 960 320">
<title id="chart-daily-title">Daily orders and revenue</title>
<desc id="chart-daily-desc">{{.Desc}}</desc>
<text x="0" y="14">Revenue{{if .Currency}} ({{.Currency}}){{end}}</text>
<g class="axis">
{{- range .Grid}}
<line x1="64" x2="952" y1="{{.Y}}" y2="{{.Y}}"/><text x="58" y="{{.Y}}" dy="4">{{.Label}}</text>
{{- end}}
</g>
<text x="0" y="224">Orders</text>
<g class="axis">
{{- range .OrderGrid}}
<line x1="64" x2="952" y1="{{.Y}}" y2="{{.Y}}"/><text x="58" y="{{.Y}}" dy="4">{{.Label}}</text>
{{- end}}
</g>
<g class="bars">
{{- range .Bars}}
<g><title>{{.Title}}</title>
{{- if .HasRev}}<rect class="rev" x="{{.X}}" y="{{.RevY}}" width="{{.W}}" height="{{.RevH}}"/>{{end}}
{{- if .HasAtt}}<rect class="att" x="{{.X}}" y="{{.AttY}}" width="{{.W}}" height="{{.AttH}}"/>{{end -}}
<rect class="ord" x="{{.X}}" y="{{.OrdY}}" width="{{.W}}" height="{{.OrdH}}"/></g>
{{- end}}
</g>
<g class="xlabels">
{{- range .Labels}}
<text x="{{.X}}" y="312">{{.Text}}</text>
{{- end}}
</g>
</svg>
<div class="keys"><span><span class="sw" style="background:#0072b2"></span>attributed revenue</span><span><span class="sw" style="background:#a9c7e4"></span>other revenue</span><span><span class="sw" style="background:#7b8794"></span>orders (all currencies)</span></div>
</section>
{{- end}}
<div class="two">
{{- with .Share}}
<section>
<h2>Attributed share by publisher</h2>
<div class="donut">
<svg id="chart-share" role="img" aria-labelledby="chart-share-title chart-share-desc" viewBox="0 0 220 220">
<title id="chart-share-title">Attributed share by publisher</title>
<desc id="chart-share-desc">{{.Desc}}</desc>
<circle cx="110" cy="110" r="80" fill="none" stroke="#f0f2f5" stroke-width="36"/>
<g transform="rotate(-90 110 110)">
{{- range .Slices}}{{if .Drawable}}
<circle cx="110" cy="110" r="80" fill="none" stroke="{{.Color}}" stroke-width="36" stroke-dasharray="{{.Dash}}" stroke-dashoffset="{{.Offset}}"><title>{{.Label}}: {{.Percent}}</title></circle>
{{- end}}{{end}}
</g>
<g class="center"><text class="big" x="110" y="112">{{.Center}}</text><text x="110" y="132">attributed</text></g>
</svg>
<table class="legend" id="legend-share">
<thead><tr><th>Source</th><th class="num">{{if eq .Basis "orders"}}Weight{{else}}Revenue{{end}}</th><th class="num">Share</th><th class="num">Orders</th></tr></thead>
<tbody>
{{- range .Slices}}
<tr><td><span class="sw" style="background:{{.Color}}"></span>{{if .Publisher}}<span class="id">{{.Label}}</span>{{else}}{{.Label}}{{end}}</td><td class="num">{{.Value}}</td><td class="num">{{.Percent}}</td><td class="num">{{.Orders}}</td></tr>
{{- end}}
</tbody>
</table>
</div>
<p class="small">Share of {{.Basis}}.{{if .Note}} {{.Note}}{{end}} Approved and pending orders count for the publisher credited, and a split credit (linear) is shared among its publishers. Rejected: credited to a click, then refunded or cancelled. Organic: no affiliate click.</p>
</section>
{{- end}}
{{- with .Lag}}
<section>
<h2>Clicks to order</h2>
<svg id="chart-lag" role="img" aria-labelledby="chart-lag-title chart-lag-desc" viewBox="0 0 420 240">
<title id="chart-lag-title">Days from click to order</title>
<desc id="chart-lag-desc">{{.Desc}}</desc>
<line x1="12" x2="408" y1="200" y2="200" stroke="#9aa5b1"/>
{{- range .Bars}}
<g><title>{{.Title}}</title>{{if .Count}}<rect class="lagbar" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"/>{{end}}<text class="count" x="{{.MidX}}" y="{{.TxY}}">{{.Count}}</text><text class="count" x="{{.MidX}}" y="220">{{.Label}}</text></g>
{{- end}}
</svg>
<p class="small">Days from the credited click to the order, for {{.Total}} attributed or rejected {{if eq .Total 1}}order{{else}}orders{{end}}.</p>
</section>
{{- end}}
</div>
<section class="latest">
<h2>Latest orders</h2>
<table id="latest-orders">
<thead><tr><th>Time</th><th>Order</th><th class="num">Total</th><th>Status</th><th>Publisher</th><th>Click id</th><th class="num">Days from click</th><th>Why</th></tr></thead>
<tbody>
{{- range .Latest}}
<tr><td class="time">{{.Time}}</td><td class="id">{{.OrderID}}</td><td class="num">{{.Total}}</td><td><span class="status {{.StatusClass}}">{{.Status}}</span>{{if .Credit}}<div class="small">{{.Credit}}{{if .Multiple}} (split){{end}}{{if .Model}} · {{.Model}}{{end}}</div>{{end}}</td><td class="id">{{.Publisher}}{{if .Offer}}<div class="small">offer {{.Offer}}</div>{{end}}</td><td class="id">{{.Click}}</td><td class="num">{{.Days}}</td><td class="why">{{.Why}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .Hidden}}
<p class="small">The {{len .Latest}} newest orders; {{.Hidden}} older {{if eq .Hidden 1}}order is{{else}}orders are{{end}} in the CSV export (format=csv).</p>
{{- end}}
</section>
{{- end}}
</main>
</body>
</html>
`
