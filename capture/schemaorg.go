package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// This file reads schema.org Order data: JSON-LD blocks (fromJSONLD) and
// microdata (fromMicrodata), including Gmail's order markup profile
// (orders.md §5). Both are turned into the same tree of JSON-like values
// (map[string]any, []any, string, json.Number) and read by schemaOrder.
// The jv* helpers below read such trees; appdata.go uses them as well.

// fromJSONLD reads the first schema.org Order found in the page's
// application/ld+json blocks: at the top level, in an array, in @graph, or
// as the mainEntity of a page. Product, ItemList, WebSite and other
// blocks are ignored.
func fromJSONLD(p *Page) *Order {
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if !strings.HasPrefix(s.Type, "application/ld+json") {
			continue
		}
		// "Order", "http://schema.org/Order", ["Order"]: all end in
		// Order followed by a quote.
		if !bytes.Contains(s.Text, []byte(`Order"`)) {
			continue
		}
		for _, v := range jvDecodeAll(s.Text) {
			m := jsonldFind(v, 0)
			if m == nil {
				continue
			}
			if o := schemaOrder(m); o != nil {
				o.Source = "jsonld"
				return o
			}
		}
	}
	return nil
}

// jsonldFind returns the first object of @type Order in v, looking through
// arrays, @graph and the properties that usually hold the main entity.
func jsonldFind(v any, depth int) map[string]any {
	if depth > 6 {
		return nil
	}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if m := jsonldFind(e, depth+1); m != nil {
				return m
			}
		}
	case map[string]any:
		if jvIsType(t, "Order") {
			return t
		}
		for _, k := range [...]string{"@graph", "mainEntity", "referencesOrder", "partOfOrder"} {
			if e, ok := t[k]; ok {
				if m := jsonldFind(e, depth+1); m != nil {
					return m
				}
			}
		}
	}
	return nil
}

// schemaOrder reads a schema.org Order object (from JSON-LD or microdata).
// It returns nil when the order has no orderNumber (nor confirmationNumber).
func schemaOrder(m map[string]any) *Order {
	id := jvStr(jvKey(m, "orderNumber"))
	if id == "" {
		id = jvStr(jvKey(m, "confirmationNumber"))
	}
	if id == "" {
		return nil
	}
	o := &Order{ID: id, Time: jvStr(jvKey(m, "orderDate"))}
	cur := Currency(jvStr(jvKey(m, "priceCurrency")))

	// The total: price, else totalPaymentDue, else a priceSpecification
	// that is not a delivery or payment charge.
	price := jvKey(m, "price")
	if o.Total = jvMoney(price, cur); o.Total != nil {
		if s, ok := price.(string); ok && cur == "" {
			cur = CurrencyOf(s)
		}
	} else if due := jvKey(m, "totalPaymentDue"); due != nil {
		o.Total, cur = schemaAmount(due, cur)
	}
	if o.Total == nil {
		for _, spec := range jvList(jvKey(m, "priceSpecification")) {
			sm := jvObj(spec)
			if sm == nil || jvIsType(sm, "DeliveryChargeSpecification") || jvIsType(sm, "PaymentChargeSpecification") {
				continue
			}
			if o.Total, cur = schemaAmount(sm, cur); o.Total != nil {
				break
			}
		}
	}
	if cur == "" {
		cur = Currency(jvStr(jvKey(m, "discountCurrency")))
	}

	o.Discounts = schemaDiscounts(m, cur)
	for _, c := range jvList(jvKey(m, "customer")) {
		if e := Email(jvStr(jvKey(jvObj(c), "email"))); e != "" {
			o.Email = e
			break
		}
	}

	// Lines: acceptedOffer (Gmail) or orderedItem (OrderItem or Product).
	itemCur := ""
	for _, off := range jvList(jvKey(m, "acceptedOffer")) {
		if it, c, ok := schemaOfferItem(jvObj(off), 1, cur); ok {
			o.Items = append(o.Items, it)
			itemCur = jvOr(itemCur, c)
		}
	}
	if len(o.Items) == 0 {
		for _, oi := range jvList(jvKey(m, "orderedItem")) {
			if it, c, ok := schemaOrderItem(oi, cur); ok {
				o.Items = append(o.Items, it)
				itemCur = jvOr(itemCur, c)
			}
		}
	}
	o.Currency = jvOr(cur, itemCur)
	return o
}

// jvOr returns the first non-empty string of a and b.
func jvOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// schemaAmount reads an amount given as a number or string, a
// PriceSpecification (price, priceCurrency) or a MonetaryAmount (value,
// currency). cur is kept unless it is empty.
func schemaAmount(v any, cur string) (*float64, string) {
	m := jvObj(v)
	if m == nil {
		amt := jvMoney(v, cur)
		if s, ok := v.(string); ok && amt != nil && cur == "" {
			cur = CurrencyOf(s)
		}
		return amt, cur
	}
	own := Currency(jvStr(jvKey(m, "priceCurrency")))
	if own == "" {
		own = Currency(jvStr(jvKey(m, "currency")))
	}
	amt := jvMoney(jvKey(m, "price"), jvOr(own, cur))
	if amt == nil {
		amt = jvMoney(jvKey(m, "value"), jvOr(own, cur))
	}
	if amt != nil && cur == "" {
		cur = own
	}
	return amt, cur
}

// schemaDiscounts reads discountCode (a string, possibly comma-separated,
// or a list) and discount (an amount; percentages are not amounts). The
// amount goes with the code when there is exactly one.
func schemaDiscounts(m map[string]any, cur string) []Discount {
	var ds []Discount
	for _, c := range jvList(jvKey(m, "discountCode")) {
		for code := range strings.SplitSeq(jvStr(c), ",") {
			if code = Text(code); code != "" {
				ds = append(ds, Discount{Code: code})
			}
		}
	}
	dv := jvKey(m, "discount")
	if s, ok := dv.(string); ok && strings.Contains(s, "%") {
		dv = nil
	}
	if amt := jvMoney(dv, jvOr(Currency(jvStr(jvKey(m, "discountCurrency"))), cur)); amt != nil && *amt != 0 {
		*amt = math.Abs(*amt)
		switch len(ds) {
		case 0:
			ds = append(ds, Discount{Amount: amt})
		case 1:
			ds[0].Amount = amt
		}
	}
	return ds
}

// schemaOfferItem reads an Offer line: itemOffered (Product), price (the
// unit price, else the offer's priceSpecification or the product's own
// offers) and eligibleQuantity (a QuantitativeValue, a number or a
// string). qty is the quantity when the offer gives none.
func schemaOfferItem(off map[string]any, qty int, orderCur string) (Item, string, bool) {
	if off == nil {
		return Item{}, "", false
	}
	var prod map[string]any
	name := ""
	if l := jvList(jvKey(off, "itemOffered")); len(l) > 0 {
		if prod = jvObj(l[0]); prod == nil {
			name = jvStr(l[0]) // a bare product name
		}
	}
	it, cur, _ := schemaProduct(prod, orderCur)
	if it.Name == "" {
		it.Name = Text(jvOr(name, jvStr(jvKey(off, "name"))))
	}
	if it.SKU == "" {
		it.SKU = jvStr(jvKey(off, "sku"))
	}
	if p := jvMoney(jvKey(off, "price"), jvOr(Currency(jvStr(jvKey(off, "priceCurrency"))), jvOr(cur, orderCur))); p != nil {
		it.Price = p
		cur = jvOr(Currency(jvStr(jvKey(off, "priceCurrency"))), cur)
	} else if spec := jvObj(jvFirst(jvKey(off, "priceSpecification"))); spec != nil {
		if p, c := schemaAmount(spec, ""); p != nil { // a specification names its own currency
			it.Price, cur = p, jvOr(c, cur)
		}
	}
	it.Quantity = qty
	if q, ok := schemaQuantity(jvKey(off, "eligibleQuantity")); ok {
		it.Quantity = q
	}
	return it, cur, it.Name != "" || it.SKU != ""
}

// schemaOrderItem reads an orderedItem: an OrderItem (orderQuantity and a
// nested orderedItem Product or Offer), or a bare Product or Offer.
func schemaOrderItem(v any, orderCur string) (Item, string, bool) {
	m := jvObj(v)
	if m == nil {
		if name := Text(jvStr(v)); name != "" {
			return Item{Name: name, Quantity: 1}, "", true
		}
		return Item{}, "", false
	}
	if jvIsType(m, "Offer") {
		return schemaOfferItem(m, 1, orderCur)
	}
	if !jvIsType(m, "OrderItem") {
		it, cur, ok := schemaProduct(m, orderCur)
		it.Quantity = 1
		return it, cur, ok
	}
	qty := 1
	if q, ok := schemaQuantity(jvKey(m, "orderQuantity")); ok {
		qty = q
	}
	inner := jvFirst(jvKey(m, "orderedItem"))
	var it Item
	var cur string
	var ok bool
	if im := jvObj(inner); im != nil && jvIsType(im, "Offer") {
		it, cur, ok = schemaOfferItem(im, qty, orderCur)
	} else if im != nil {
		it, cur, ok = schemaProduct(im, orderCur)
	} else if name := Text(jvStr(inner)); name != "" {
		it, ok = Item{Name: name}, true
	}
	if it.Price == nil {
		// Not in schema.org, but printed by some templates.
		it.Price = jvMoney(jvKey(m, "price"), jvOr(cur, orderCur))
	}
	it.Quantity = qty
	return it, cur, ok
}

// schemaProduct reads a Product: name, sku (or productID) and the price of
// its (first) offer.
func schemaProduct(m map[string]any, orderCur string) (Item, string, bool) {
	if m == nil {
		return Item{}, "", false
	}
	it := Item{
		Name: Text(jvStr(jvKey(m, "name"))),
		SKU:  jvStr(jvKey(m, "sku")),
	}
	if it.SKU == "" {
		it.SKU = jvStr(jvKey(m, "productID"))
	}
	cur := ""
	if off := jvObj(jvFirst(jvKey(m, "offers"))); off != nil {
		cur = Currency(jvStr(jvKey(off, "priceCurrency")))
		it.Price = jvMoney(jvKey(off, "price"), jvOr(cur, orderCur))
		if it.Price == nil {
			if spec := jvObj(jvFirst(jvKey(off, "priceSpecification"))); spec != nil {
				it.Price, cur = schemaAmount(spec, cur)
			}
		}
	}
	return it, cur, it.Name != "" || it.SKU != ""
}

// schemaQuantity reads a quantity: a number, a string or a
// QuantitativeValue with a value.
func schemaQuantity(v any) (int, bool) {
	if m := jvObj(v); m != nil {
		v = jvKey(m, "value")
	}
	q, ok := jvInt(v)
	return q, ok && q > 0
}

// fromMicrodata reads the first element with itemscope and an itemtype of
// schema.org/Order. The page is searched for the itemtype text; only that
// element's subtree is tokenized.
func fromMicrodata(p *Page) *Order {
	raw := p.Raw
	// The search is for "Order", whose capital O is rare in a page, and
	// then for the "schema.org/" before it: a search for the whole
	// itemtype would run at a fraction of the speed.
	const prefix = "schema.org/"
	for off := 0; off < len(raw); {
		i := bytes.Index(raw[off:], []byte("Order"))
		if i < 0 {
			return nil
		}
		i += off
		off = i + len("Order")
		if i < len(prefix) || string(raw[i-len(prefix):i]) != prefix {
			continue
		}
		if off < len(raw) && !mdTypeEnd(raw[off]) {
			continue // schema.org/OrderItem, /OrderProcessing, …
		}
		start := mdTagStart(raw, i)
		if start < 0 {
			continue
		}
		item, n := mdParse(raw[start:])
		if item == nil {
			continue
		}
		if o := schemaOrder(item); o != nil {
			o.Source = "microdata"
			return o
		}
		off = max(off, start+n)
	}
	return nil
}

// mdTypeEnd reports whether c may follow the last type of an itemtype.
func mdTypeEnd(c byte) bool {
	switch c {
	case '"', '\'', ' ', '\t', '\n', '\r', '\f', '>', '/':
		return true
	}
	return false
}

// mdTagStart returns the index of the '<' of the start tag that contains
// raw[i], or -1 when raw[i] is not inside a tag (script text, a comment,
// an attribute-less text mention).
func mdTagStart(raw []byte, i int) int {
	for j := i - 1; j >= 0 && j >= i-4096; j-- {
		switch raw[j] {
		case '>':
			return -1
		case '<':
			if j+1 < len(raw) && isASCIILetter(raw[j+1]) {
				return j
			}
			return -1
		}
	}
	return -1
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// mdTagName returns the lower-case name of the raw start or end tag b,
// without allocating for the names HTML knows.
func mdTagName(b []byte) string {
	i := 1 // past '<'
	if i < len(b) && b[i] == '/' {
		i++
	}
	j := i
	for j < len(b) && !isTagEnd(b[j]) {
		j++
	}
	var buf [24]byte
	n := b[i:j]
	if len(n) <= len(buf) {
		for k, c := range n {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[k] = c
		}
		n = buf[:len(n)]
		if a := atom.Lookup(n); a != 0 {
			return a.String()
		}
	}
	return strings.ToLower(string(n))
}

// mdImplied returns the open elements a start tag name implicitly closes,
// and the elements that bound the search for them (a simplified form of
// the HTML parsing algorithm's implied end tags).
func mdImplied(name string) (closes, scope []string) {
	switch name {
	case "li":
		return []string{"li"}, []string{"ul", "ol", "menu"}
	case "dt", "dd":
		return []string{"dt", "dd"}, []string{"dl"}
	case "tr":
		return []string{"tr", "td", "th"}, []string{"table", "tbody", "thead", "tfoot"}
	case "td", "th":
		return []string{"td", "th"}, []string{"tr", "table"}
	case "option":
		return []string{"option"}, []string{"select", "datalist"}
	case "p", "div", "ul", "ol", "dl", "table", "h1", "h2", "h3", "h4", "h5", "h6",
		"section", "article", "header", "footer", "form", "blockquote", "pre", "hr":
		return []string{"p"}, []string{"div", "section", "article", "td", "th", "li",
			"table", "form", "header", "footer", "main", "aside", "nav", "button", "dd"}
	}
	return nil, nil
}

// mdVoid lists the elements that have no end tag.
func mdVoid(name string) bool {
	switch name {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link",
		"meta", "source", "track", "wbr", "param", "keygen":
		return true
	}
	return false
}

// mdOpen is an element open in mdParse.
type mdOpen struct {
	name    string
	item    map[string]any // the item this element scopes, if any
	props   []string       // properties whose value is this element's text
	target  map[string]any // the item those properties belong to
	text    []byte
	collect bool
}

// mdParse tokenizes the element that starts b, which must carry an
// itemtype of schema.org/Order, and returns its item as a JSON-like tree
// (property names as printed, values strings or nested items, repeated
// properties as []any) and the number of bytes read.
func mdParse(b []byte) (map[string]any, int) {
	z := html.NewTokenizer(bytes.NewReader(b))
	var stack []mdOpen
	var root map[string]any
	n := 0
	for {
		tt := z.Next()
		n += len(z.Raw())
		switch tt {
		case html.ErrorToken:
			mdClose(stack)
			return root, n
		case html.TextToken:
			txt := z.Text()
			for k := range stack {
				if stack[k].collect {
					stack[k].text = append(stack[k].text, txt...)
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			// The name is read from the raw tag, and the attributes
			// only of tags that have item* attributes: the
			// tokenizer's TagName and TagAttr copy what they return.
			rawTag := z.Raw()
			name := mdTagName(rawTag)
			var a mdAttrs
			if bytes.Contains(rawTag, []byte("item")) {
				for more := true; more; {
					var k, v []byte
					k, v, more = z.TagAttr()
					if k == nil {
						break
					}
					a.set(k, v)
				}
			}
			if root == nil {
				if !mdIsOrderType(a.itemtype) {
					return nil, n
				}
				root = map[string]any{"@type": mdTypeName(a.itemtype)}
				stack = append(stack, mdOpen{name: name, item: root})
				if tt == html.SelfClosingTagToken || mdVoid(name) {
					return root, n
				}
				continue
			}
			// An unclosed <li>, <td>, <p>, … ends where the next one
			// starts, as an HTML parser decides.
			if closes, scope := mdImplied(name); closes != nil {
				for k := len(stack) - 1; k > 0; k-- {
					if slices.Contains(scope, stack[k].name) {
						break
					}
					if slices.Contains(closes, stack[k].name) {
						mdClose(stack[k:])
						stack = stack[:k]
						break
					}
				}
			}
			cur := root
			for k := len(stack) - 1; k >= 0; k-- {
				if stack[k].item != nil {
					cur = stack[k].item
					break
				}
			}
			e := mdOpen{name: name}
			props := strings.Fields(a.itemprop)
			switch {
			case a.itemscope:
				e.item = map[string]any{"@type": mdTypeName(a.itemtype)}
				for _, pr := range props {
					mdAdd(cur, pr, e.item)
				}
			case len(props) > 0:
				if v, ok := a.value(name); ok {
					for _, pr := range props {
						mdAdd(cur, pr, v)
					}
				} else {
					e.props, e.target, e.collect = props, cur, true
				}
			}
			if tt == html.SelfClosingTagToken || mdVoid(name) {
				for _, pr := range e.props {
					mdAdd(cur, pr, "")
				}
				continue
			}
			stack = append(stack, e)
		case html.EndTagToken:
			name := mdTagName(z.Raw())
			k := len(stack) - 1
			for ; k >= 0 && stack[k].name != name; k-- {
			}
			if k < 0 {
				continue // a stray end tag
			}
			mdClose(stack[k:])
			stack = stack[:k]
			if k == 0 {
				return root, n
			}
		}
	}
}

// mdClose gives the text-valued properties of the closing elements their
// values, innermost first.
func mdClose(open []mdOpen) {
	for k := len(open) - 1; k >= 0; k-- {
		e := &open[k]
		for _, pr := range e.props {
			mdAdd(e.target, pr, Text(string(e.text)))
		}
	}
}

// mdAdd adds value v to property name of item m. A property given as an
// absolute URL ("http://schema.org/price") is named by its last segment.
func mdAdd(m map[string]any, name string, v any) {
	if i := strings.LastIndexAny(name, "/#"); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		return
	}
	switch old := m[name].(type) {
	case nil:
		m[name] = v
	case []any:
		m[name] = append(old, v)
	default:
		m[name] = []any{old, v}
	}
}

func mdIsOrderType(itemtype string) bool {
	for t := range strings.FieldsSeq(itemtype) {
		if strings.HasSuffix(t, "schema.org/Order") {
			return true
		}
	}
	return false
}

// mdTypeName is the schema.org type name of an itemtype ("Order" for
// "https://schema.org/Order").
func mdTypeName(itemtype string) string {
	t, _, _ := strings.Cut(strings.TrimSpace(itemtype), " ")
	if i := strings.LastIndexByte(t, '/'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

// mdAttrs are the attributes microdata reads.
type mdAttrs struct {
	itemprop, itemtype string
	itemscope          bool
	content, href, src string
	hasContent         bool
	datetime, val      string
	data               string
}

func (a *mdAttrs) set(k, v []byte) {
	switch string(k) {
	case "itemprop":
		a.itemprop = string(v)
	case "itemtype":
		a.itemtype = string(v)
	case "itemscope":
		a.itemscope = true
	case "content":
		a.content, a.hasContent = string(v), true
	case "href":
		a.href = string(v)
	case "src":
		a.src = string(v)
	case "datetime":
		a.datetime = string(v)
	case "value":
		a.val = string(v)
	case "data":
		a.data = string(v)
	}
}

// value is the value of an itemprop element without itemscope that its
// attributes give (a content attribute on any element, as Google reads
// it; meta content; link/a href; img src; time datetime; data value), or
// false when the value is the element's text.
func (a *mdAttrs) value(name string) (string, bool) {
	if a.hasContent {
		return strings.TrimSpace(a.content), true
	}
	switch name {
	case "meta":
		return "", true
	case "link", "a", "area":
		return strings.TrimSpace(a.href), true
	case "img", "audio", "video", "source", "embed", "iframe", "track":
		return strings.TrimSpace(a.src), true
	case "object":
		return strings.TrimSpace(a.data), true
	case "data", "meter":
		return strings.TrimSpace(a.val), true
	case "time":
		if a.datetime != "" {
			return strings.TrimSpace(a.datetime), true
		}
	}
	return "", false
}

// JSON-like trees: map[string]any, []any, string, json.Number, bool, nil.

// jvDecodeAll decodes the JSON values in b (a JSON-LD block may hold
// several, or be wrapped in an HTML comment or CDATA markers). A block
// that encoding/json refuses is repaired once (raw control characters in
// strings, trailing commas) and decoded again.
func jvDecodeAll(b []byte) []any {
	b = jvUnwrap(b)
	vs, ok := jvDecodeValues(b)
	if !ok {
		if r := jvRepair(b); r != nil {
			if more, ok := jvDecodeValues(r); len(more) > len(vs) || ok {
				vs = more
			}
		}
	}
	return vs
}

func jvDecodeValues(b []byte) ([]any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var vs []any
	for {
		var v any
		if err := d.Decode(&v); err != nil {
			return vs, errors.Is(err, io.EOF)
		}
		vs = append(vs, v)
	}
}

// jvDecode decodes one JSON value with numbers kept as json.Number.
func jvDecode(b []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// jvUnwrap strips what templates put around a JSON block: white space,
// <!-- -->, //<![CDATA[ //]]>, a trailing semicolon.
func jvUnwrap(b []byte) []byte {
	b = bytes.TrimSpace(b)
	for _, pre := range []string{"<!--", "//<![CDATA[", "<![CDATA["} {
		if bytes.HasPrefix(b, []byte(pre)) {
			b = bytes.TrimSpace(b[len(pre):])
		}
	}
	for _, suf := range []string{"-->", "//]]>", "]]>", ";"} {
		if bytes.HasSuffix(b, []byte(suf)) {
			b = bytes.TrimSpace(b[:len(b)-len(suf)])
		}
	}
	return b
}

// jvRepair returns a copy of b with raw control characters inside strings
// replaced by spaces and commas before a closing bracket dropped, or nil
// when there was nothing to repair.
func jvRepair(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inStr, esc, changed := false, false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			case c < 0x20:
				c, changed = ' ', true
			}
			out = append(out, c)
			continue
		}
		switch c {
		case '"':
			inStr = true
		case ',':
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j < len(b) && (b[j] == '}' || b[j] == ']') {
				changed = true
				continue
			}
		}
		out = append(out, c)
	}
	if !changed {
		return nil
	}
	return out
}

// jvObj returns v as an object, or nil.
func jvObj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// jvList returns v as a list: an array as is, any other value as a list
// of one, nil as nil.
func jvList(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	}
	return []any{v}
}

// jvFirst is the first element of v when v is an array, else v.
func jvFirst(v any) any {
	if l, ok := v.([]any); ok {
		if len(l) == 0 {
			return nil
		}
		return l[0]
	}
	return v
}

// jvKey returns property k of m, matching the name exactly or else
// without regard to case (microdata printed in lower case).
func jvKey(m map[string]any, k string) any {
	if m == nil {
		return nil
	}
	if v, ok := m[k]; ok {
		return v
	}
	for mk, v := range m {
		if len(mk) == len(k) && strings.EqualFold(mk, k) {
			return v
		}
	}
	return nil
}

// jvPath follows keys from v through nested objects.
func jvPath(v any, keys ...string) any {
	for _, k := range keys {
		m := jvObj(v)
		if m == nil {
			return nil
		}
		v = m[k]
	}
	return v
}

// jvStr returns a string or number as its text, trimmed; "" for anything
// else. Numbers keep their printed digits (json.Number).
func jvStr(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case json.Number:
		return t.String()
	}
	return ""
}

// jvMoney reads an amount of an order in currency ("" when unknown) given
// as a JSON number or as a printed string ("1,937.80", "£51.45", "45.500"
// in KWD); nil when v holds none.
func jvMoney(v any, currency string) *float64 {
	switch t := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(t.String(), 64)
		if err != nil {
			return nil
		}
		return Money(f)
	case string:
		if f, ok := DataMoney(t, currency); ok {
			return Money(f)
		}
	case float64:
		return Money(t)
	}
	return nil
}

// jvInt reads a count given as a number ("2", 2, 2.0) or a string.
func jvInt(v any) (int, bool) {
	s := jvStr(v)
	if s == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return 0, false
	}
	return int(f), true
}

// jvIsType reports whether the @type of m (a string or a list) names the
// schema.org type t, written bare, prefixed ("schema:Order") or as a URL.
func jvIsType(m map[string]any, t string) bool {
	for _, v := range jvList(m["@type"]) {
		s := jvStr(v)
		if i := strings.LastIndexAny(s, "/:#"); i >= 0 {
			s = s[i+1:]
		}
		if strings.EqualFold(s, t) {
			return true
		}
	}
	return false
}
