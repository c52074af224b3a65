package capture

// source is one place a page can print its order. find returns the
// partial order it reads, or nil when the page has none there.
type source struct {
	name string
	find func(*Page) *Order
}

// sources are the order sources in order of trust (DESIGN §4.3): the
// Katalys payload first, because it is what Katalys itself consumes, then
// platform objects and analytics payloads, schema.org data, ad pixels, and
// the visible markup last.
var sources = []source{}

// Extract returns the order page confirms; ok is false when it confirms
// none. A page confirms an order when some source gives an order id and
// either a total or items: prices alone (product grids, cross-sells) and
// analytics events other than a purchase never make an order.
func Extract(page []byte) (o Order, ok bool) {
	return NewPage(page).Order()
}

// Order merges what every source finds on p, most trusted first.
func (p *Page) Order() (o Order, ok bool) {
	for _, s := range sources {
		part := s.find(p)
		if part == nil {
			continue
		}
		if part.Source == "" {
			part.Source = s.name
		}
		o.merge(part)
	}
	if o.ID == "" || (o.Total == nil && len(o.Items) == 0) {
		return Order{}, false
	}
	if o.Currency == "" && o.Source == "katalys" {
		o.Currency = "USD" // the Reporting Schema's default
	}
	return o, true
}
