package module

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/delivery"
	"github.com/storeedge/caddy-katalys/report"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "katalys",
		Usage: "orders|report|status <bucket> … [--address <interface>] [--json]",
		Short: "Shows the orders and attribution of a running Caddy's Katalys buckets",
		Long: `
Reads the orders and attribution that the katalys plugin of a running Caddy
recorded, and reports order statuses, through Caddy's admin API (the
/katalys/ routes). A bucket is named by its Tracking ID or any alias.

  caddy katalys orders <bucket>                    the bucket's orders
  caddy katalys report <bucket>                    totals per publisher and the latest attributions
  caddy katalys deliveries [--retry <id>|all]      the orders waiting to be delivered to Katalys,
                                                   and the dead letters; --retry sends one (or all) again
  caddy katalys status <bucket> <order> <status>   sets an order's status (pending, paid,
                                                   fulfilled, refunded, cancelled, rejected)
                                                   and shows its new attribution

The admin endpoint is the one given by --address, else the one of the
--config file, else the default (localhost:2019), as for 'caddy stop'.
With --json the admin API's JSON is printed as it is.
`,
		CobraFunc: katalysCommand,
	})
}

// katalysCommand builds `caddy katalys` and its subcommands.
func katalysCommand(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringP("config", "c", "", "Configuration file to read the admin address from, if --address is not used")
	pf.StringP("adapter", "a", "", "Name of config adapter to apply (when --config is used)")
	pf.String("address", "", "The address of the admin API endpoint, if not the default")
	pf.Bool("json", false, "Print the admin API's JSON as it is")
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }

	reportCmd := &cobra.Command{
		Use:   "report <bucket>",
		Short: "Prints the totals per publisher and the latest attributions of a bucket",
		Args:  cobra.ExactArgs(1),
	}
	reportCmd.Flags().Int("last", 20, "How many of the latest attributions to list (0: all)")
	deliveriesCmd := &cobra.Command{
		Use:   "deliveries",
		Short: "Prints the orders waiting to be delivered to Katalys, and the dead letters",
		Args:  cobra.NoArgs,
	}
	deliveriesCmd.Flags().String("retry", "", "Send this dead letter (by id) again, or every one with \"all\"")
	reportCmd.Flags().String("html", "", "Write the HTML report page (charts and the latest orders) to this file instead")
	cmd.AddCommand(
		subcommand(&cobra.Command{
			Use:   "orders <bucket>",
			Short: "Prints the orders of a bucket",
			Args:  cobra.ExactArgs(1),
		}, func(c cliCall, args []string) error { return c.orders(args[0]) }),
		subcommand(reportCmd, func(c cliCall, args []string) error {
			if file, _ := reportCmd.Flags().GetString("html"); file != "" {
				return c.reportHTML(args[0], file)
			}
			last, err := reportCmd.Flags().GetInt("last")
			if err != nil {
				return err
			}
			return c.report(args[0], last)
		}),
		subcommand(deliveriesCmd, func(c cliCall, _ []string) error {
			if id, _ := deliveriesCmd.Flags().GetString("retry"); id != "" {
				return c.retryDelivery(id)
			}
			return c.deliveries()
		}),
		subcommand(&cobra.Command{
			Use:   "status <bucket> <order> <status>",
			Short: "Sets the status of an order and prints its new attribution",
			Args:  cobra.ExactArgs(3),
		}, func(c cliCall, args []string) error { return c.status(args[0], args[1], args[2]) }),
	)
}

// subcommand gives cmd a RunE that finds the admin endpoint and runs run,
// with Caddy's handling of exit codes and errors.
func subcommand(cmd *cobra.Command, run func(c cliCall, args []string) error) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
			addr, err := caddycmd.DetermineAdminAPIAddress(fl.String("address"), nil, fl.String("config"), fl.String("adapter"))
			if err != nil {
				return caddy.ExitCodeFailedStartup, fmt.Errorf("couldn't determine admin API address: %v", err)
			}
			c := cliCall{addr: addr, out: cmd.OutOrStdout(), json: fl.Bool("json")}
			if err := run(c, args); err != nil {
				return caddy.ExitCodeFailedStartup, err
			}
			return caddy.ExitCodeSuccess, nil
		})(cmd, args)
	}
	return cmd
}

// cliCall is one run of a `caddy katalys` subcommand: the admin endpoint
// to ask, where to print, and whether to print the JSON as it is.
type cliCall struct {
	addr string
	out  io.Writer
	json bool
}

// request sends a request to the admin API and returns the response body;
// an error response becomes an error with the API's message.
func (c cliCall) request(method, uri string, body io.Reader) ([]byte, error) {
	res, err := caddycmd.AdminAPIRequest(c.addr, method, uri, nil, body)
	if err != nil {
		return nil, apiMessage(c.addr, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %v", c.addr, err)
	}
	return b, nil
}

// apiErrorText finds the status and JSON body in an AdminAPIRequest error.
var apiErrorText = regexp.MustCompile(`(?s)HTTP (\d{3}): (\{.*\})\s*$`)

// apiMessage turns an AdminAPIRequest error into one that a person reads:
// "HTTP 404: unknown bucket …" rather than the JSON it came in.
func apiMessage(addr string, err error) error {
	m := apiErrorText.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("asking the admin API at %s (is Caddy running?): %v", addr, err)
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(m[2]), &e) != nil || e.Error == "" {
		return err
	}
	return fmt.Errorf("HTTP %s: %s", m[1], e.Error)
}

// bucketPath is the admin path of a bucket: its name as one path segment.
func bucketPath(bucket string) string {
	return "/katalys/buckets/" + pathSegment(bucket)
}

// pathSegment escapes s as one segment; "." and ".." are escaped too, or
// Caddy's admin endpoint would clean them away.
func pathSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

// cliOrder is an order of GET …/orders as the command reads it.
type cliOrder struct {
	Bucket   string         `json:"bucket"` // the Tracking ID, whatever name the command was given
	OrderID  string         `json:"order_id"`
	Total    *float64       `json:"total"`
	Currency *string        `json:"currency"`
	Items    []capturedItem `json:"items"`
	Status   *string        `json:"status"`
	Time     time.Time      `json:"time"`
	Source   *string        `json:"source"`
	Email    *string        `json:"email"`
}

type capturedItem struct {
	Quantity int `json:"quantity"`
}

// getOrders reads the orders of bucket, oldest first, and the raw JSON.
func (c cliCall) getOrders(bucket string) ([]cliOrder, []byte, error) {
	body, err := c.request(http.MethodGet, bucketPath(bucket)+"/orders", nil)
	if err != nil {
		return nil, nil, err
	}
	var v struct {
		Orders []cliOrder `json:"orders"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, nil, fmt.Errorf("reading the orders of %s: %v", bucket, err)
	}
	slices.SortStableFunc(v.Orders, func(a, b cliOrder) int { return a.Time.Compare(b.Time) })
	return v.Orders, body, nil
}

// orders prints the orders of bucket as a table, oldest first.
func (c cliCall) orders(bucket string) error {
	orders, body, err := c.getOrders(bucket)
	if err != nil || c.json {
		return c.raw(body, err)
	}
	tw := newTable(c.out, "TIME", "ORDER", "TOTAL", "STATUS", "UNITS", "SOURCE", "EMAIL")
	for _, o := range orders {
		items := 0
		for _, it := range o.Items {
			items += it.Quantity
		}
		tw.row(when(o.Time), o.OrderID, money(o.Total, deref(o.Currency)), orDash(deref(o.Status)),
			strconv.Itoa(items), orDash(deref(o.Source)), orDash(deref(o.Email)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(orders) > 0 && orders[0].Bucket != "" {
		bucket = orders[0].Bucket // an alias names its Tracking ID
	}
	_, err = fmt.Fprintf(c.out, "%s in %s\n", plural(len(orders), "order"), bucket)
	return err
}

// deliveries prints the outbox and the dead letters.
func (c cliCall) deliveries() error {
	body, err := c.request(http.MethodGet, "/katalys/deliveries", nil)
	if err != nil || c.json {
		return c.raw(body, err)
	}
	var v struct {
		Deliver string                `json:"deliver"`
		Pending []delivery.Entry      `json:"pending"`
		Dead    []delivery.DeadLetter `json:"dead"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("reading the deliveries: %v", err)
	}
	if v.Deliver == DeliverOff {
		fmt.Fprintf(c.out, "Delivery is off: %d waiting, %s\n\n", len(v.Pending), plural(len(v.Dead), "dead letter"))
	} else {
		fmt.Fprintf(c.out, "Delivering to %s: %d waiting, %s\n\n", v.Deliver, len(v.Pending), plural(len(v.Dead), "dead letter"))
	}
	tw := newTable(c.out, "ID", "BUCKET", "ORDER", "KIND", "ATTEMPTS", "NEXT TRY", "WAITS FOR", "LAST ERROR")
	now := time.Now()
	hold := loopHold(v.Pending, now)
	for i, e := range v.Pending {
		tw.row(e.ID, e.Bucket, e.OrderID, e.Kind, strconv.Itoa(e.Attempts), when(e.NextTry),
			waitsFor(e, v.Pending[:i], v.Dead, hold, now), orDash(e.LastErr))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.Dead) == 0 {
		return nil
	}
	fmt.Fprintln(c.out, "\nDead letters (retry one with --retry <id>, all with --retry all):")
	tw = newTable(c.out, "ID", "BUCKET", "ORDER", "KIND", "HTTP", "ANSWER", "DIED")
	for _, d := range v.Dead {
		tw.row(d.ID, d.Bucket, d.OrderID, d.Kind, strconv.Itoa(d.HTTPStatus), orDash(d.Body), when(d.Died))
	}
	return tw.Flush()
}

// waitsFor says why pending entry e is not on its way: an earlier entry
// of its order (they go one at a time, in order), its conversion in the
// dead letters, Katalys' Retry-After (its own, or hold: the pause one
// answered for every delivery), or its backoff. "-" means it is due.
func waitsFor(e delivery.Entry, before []delivery.Entry, dead []delivery.DeadLetter, hold, now time.Time) string {
	for _, p := range before {
		if p.Bucket == e.Bucket && p.OrderID == e.OrderID {
			return "entry " + p.ID + " of its order"
		}
	}
	for _, d := range dead {
		if d.Kind == delivery.KindOrder && d.Bucket == e.Bucket && d.OrderID == e.OrderID {
			return "its dead conversion " + d.ID
		}
	}
	until := e.NotBefore
	if hold.After(until) {
		until = hold
	}
	switch {
	case until.After(now) && !e.NextTry.After(until):
		return "Retry-After until " + when(until)
	case e.NextTry.After(now):
		return "its next try"
	}
	return "-"
}

// loopHold is when the pause Katalys asked of every delivery (a
// Retry-After, kept on the entry it answered) ends; zero when none holds
// at now. The loop sends nothing before it, whatever an entry's NextTry.
func loopHold(pending []delivery.Entry, now time.Time) time.Time {
	var hold time.Time
	for _, e := range pending {
		if e.HoldUntil.After(now) && e.HoldUntil.After(hold) {
			hold = e.HoldUntil
		}
	}
	return hold
}

// retryDelivery sends a dead letter again, or every one for id "all".
func (c cliCall) retryDelivery(id string) error {
	body, err := c.request(http.MethodPost, "/katalys/deliveries/"+url.PathEscape(id)+"/retry", nil)
	if err != nil || c.json {
		return c.raw(body, err)
	}
	if id == "all" {
		var v struct {
			Retried []string `json:"retried"`
			Resumed int      `json:"resumed"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("reading the answer: %v", err)
		}
		_, err = fmt.Fprintf(c.out, "%s back in the outbox; %d deliveries waiting for a retry due now\n",
			plural(len(v.Retried), "dead letter"), v.Resumed)
		return err
	}
	_, err = fmt.Fprintf(c.out, "dead letter %s is back in the outbox\n", id)
	return err
}

// raw prints a response body as it is.
func (c cliCall) raw(body []byte, err error) error {
	if err != nil {
		return err
	}
	_, err = c.out.Write(body)
	return err
}

// reportHTML saves the bucket's report page to file. Browsers cannot open
// the admin endpoint themselves (Caddy refuses requests that carry a
// browser's Sec-Fetch or Origin headers from origins it does not know, to
// stop cross-site requests), and the page needs nothing but itself, so it
// is opened as a file.
func (c cliCall) reportHTML(bucket, file string) error {
	body, err := c.request(http.MethodGet, bucketPath(bucket)+"/report", nil)
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, body, 0o644); err != nil {
		return fmt.Errorf("writing the report page: %v", err)
	}
	fmt.Fprintf(c.out, "wrote the report of %s to %s (%d bytes); open it in a browser\n", bucket, file, len(body))
	return nil
}

// report prints the totals per publisher of every attributed order of
// bucket and a table of its last attributions (all when last is 0).
func (c cliCall) report(bucket string, last int) error {
	body, err := c.request(http.MethodGet, bucketPath(bucket)+"/attribution", nil)
	if err != nil || c.json {
		return c.raw(body, err)
	}
	var v struct {
		Attributions []attribution.Result `json:"attributions"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("reading the attribution of %s: %v", bucket, err)
	}
	orders, _, err := c.getOrders(bucket)
	if err != nil {
		return err
	}
	lines := joinOrders(orders, v.Attributions)
	if err := printTotals(c.out, publisherTotals(lines)); err != nil {
		return err
	}
	fmt.Fprintln(c.out)
	return printAttributions(c.out, lines, last)
}

// reportLine is an order and its attribution (nil when not decided yet).
type reportLine struct {
	order cliOrder
	res   *attribution.Result
}

// joinOrders pairs orders with their attribution, oldest first.
func joinOrders(orders []cliOrder, results []attribution.Result) []reportLine {
	byID := make(map[string]*attribution.Result, len(results))
	for i := range results {
		byID[results[i].OrderID] = &results[i]
	}
	lines := make([]reportLine, len(orders))
	for i, o := range orders {
		lines[i] = reportLine{order: o, res: byID[o.OrderID]}
	}
	return lines
}

// Rows of the totals that are not a publisher.
const (
	rowOrganic       = "(organic)"
	rowNotAttributed = "(not attributed yet)"
)

// publisherTotal is a row of the totals: the orders credited to one
// publisher (or organic, or not attributed yet) by attribution status, and
// the revenue credited to it per currency, approved and pending orders
// only.
type publisherTotal struct {
	name     string
	orders   int
	byStatus map[attribution.Status]int
	revenue  map[string]float64
}

// publisherTotals sums lines per publisher. A linear attribution credits
// each publisher of its chosen clicks with its share.
func publisherTotals(lines []reportLine) []*publisherTotal {
	rows := make(map[string]*publisherTotal)
	add := func(name string, l reportLine, credit float64) {
		t := rows[name]
		if t == nil {
			t = &publisherTotal{name: name, byStatus: map[attribution.Status]int{}, revenue: map[string]float64{}}
			rows[name] = t
		}
		t.orders++
		status := attribution.Status("")
		if l.res != nil {
			status = l.res.Status
		}
		t.byStatus[status]++
		if l.order.Total != nil && status != attribution.Rejected {
			t.revenue[deref(l.order.Currency)] += *l.order.Total * credit
		}
	}
	for _, l := range lines {
		switch {
		case l.res == nil:
			add(rowNotAttributed, l, 1)
		case l.res.Status == attribution.Organic:
			add(rowOrganic, l, 1)
		default:
			for pub, credit := range shares(*l.res) {
				add(orDash(pub), l, credit)
			}
		}
	}
	list := slices.Collect(maps.Values(rows))
	slices.SortFunc(list, func(a, b *publisherTotal) int {
		return cmp.Or(cmp.Compare(isPseudo(a.name), isPseudo(b.name)), cmp.Compare(b.orders, a.orders), strings.Compare(a.name, b.name))
	})
	return list
}

func isPseudo(name string) int {
	if strings.HasPrefix(name, "(") {
		return 1
	}
	return 0
}

// shares is the credit of each publisher of an attributed order: the
// chosen candidates', or the result's publisher's when there are none.
func shares(r attribution.Result) map[string]float64 {
	out := make(map[string]float64)
	for _, c := range r.Why.Candidates {
		if c.Chosen {
			out[c.Affiliate()] += c.Credit
		}
	}
	if len(out) == 0 {
		out[r.Affiliate()] = r.Credit
	}
	return out
}

func printTotals(w io.Writer, totals []*publisherTotal) error {
	tw := newTable(w, "PUBLISHER", "ORDERS", "APPROVED", "PENDING", "REJECTED", "CREDITED REVENUE")
	for _, t := range totals {
		revenue := "-"
		if len(t.revenue) > 0 {
			var parts []string
			for _, cur := range slices.Sorted(maps.Keys(t.revenue)) {
				parts = append(parts, report.Money(t.revenue[cur], cur))
			}
			revenue = strings.Join(parts, ", ")
		}
		tw.row(t.name, strconv.Itoa(t.orders), count(t, attribution.Approved), count(t, attribution.Pending),
			count(t, attribution.Rejected), revenue)
	}
	return tw.Flush()
}

// count is a status column of the totals: "-" for the rows where the
// status cannot occur.
func count(t *publisherTotal, s attribution.Status) string {
	if isPseudo(t.name) == 1 {
		return "-"
	}
	return strconv.Itoa(t.byStatus[s])
}

// printAttributions prints the last lines (all when last is 0), newest
// last.
func printAttributions(w io.Writer, lines []reportLine, last int) error {
	shown := lines
	if last > 0 && len(shown) > last {
		shown = shown[len(shown)-last:]
	}
	tw := newTable(w, "TIME", "ORDER", "TOTAL", "ATTRIBUTION", "PUBLISHER", "OFFER", "CLICK", "DAYS", "CREDIT", "MODEL")
	for _, l := range shown {
		o, r := l.order, l.res
		if r == nil {
			tw.row(when(o.Time), o.OrderID, money(o.Total, deref(o.Currency)), "-", "-", "-", "-", "-", "-", "-")
			continue
		}
		days := "-"
		if r.DaysFromClick != nil {
			days = strconv.FormatFloat(*r.DaysFromClick, 'f', 1, 64)
		}
		credit := "-"
		if r.Status != attribution.Organic {
			credit = strconv.FormatFloat(math.Round(r.Credit*1e4)/1e4, 'f', -1, 64)
		}
		tw.row(when(o.Time), o.OrderID, money(o.Total, deref(o.Currency)), string(r.Status), orDash(r.Affiliate()),
			orDash(r.OfferID), orDash(r.TransactionID), days, credit, string(r.Model))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(shown) < len(lines) {
		_, err := fmt.Fprintf(w, "the last %d of %s; --last 0 lists all\n", len(shown), plural(len(lines), "order"))
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n", plural(len(lines), "order"))
	return err
}

// status sets the status of an order and prints the order's new
// attribution.
func (c cliCall) status(bucket, order, status string) error {
	req, err := json.Marshal(map[string]string{"status": status})
	if err != nil {
		return err
	}
	body, err := c.request(http.MethodPost, bucketPath(bucket)+"/orders/"+pathSegment(order)+"/status", bytes.NewReader(req))
	if err != nil || c.json {
		return c.raw(body, err)
	}
	var v struct {
		Order       cliOrder           `json:"order"`
		Attribution attribution.Result `json:"attribution"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("reading the answer: %v", err)
	}
	r := v.Attribution
	tw := newTable(c.out)
	if v.Order.Bucket != "" {
		bucket = v.Order.Bucket // an alias names its Tracking ID
	}
	tw.row("Order:", fmt.Sprintf("%s of %s, %s", v.Order.OrderID, bucket, money(v.Order.Total, deref(v.Order.Currency))))
	tw.row("Status:", deref(v.Order.Status))
	tw.row("Attribution:", string(r.Status))
	if r.Status != attribution.Organic {
		tw.row("Publisher:", fmt.Sprintf("%s (offer %s, click %s)", orDash(r.Affiliate()), orDash(r.OfferID), orDash(r.TransactionID)))
	}
	tw.row("Why:", r.Why.Rule)
	return tw.Flush()
}

// table is a tabwriter for the command's tables.
type table struct{ *tabwriter.Writer }

// newTable starts a table with a header (none when header is empty).
func newTable(w io.Writer, header ...string) table {
	t := table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.Map(tableRune, c)
	}
	fmt.Fprintln(t, strings.Join(cells, "\t"))
}

// tableRune keeps a cell on its line and in its column: tabs, newlines
// and other control characters (which came from shop pages) become spaces.
func tableRune(r rune) rune {
	if r < ' ' || r == 0x7f {
		return ' '
	}
	return r
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func money(v *float64, currency string) string {
	if v == nil {
		return "-"
	}
	return report.Money(*v, currency)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
