// Command upstream is the origin server for bench/inject.sh: a storefront
// that is light on CPU. It builds its pages once, in memory, and serves them
// as they are, so that a benchmark through Caddy measures Caddy.
//
// Pages (all text/html; charset=utf-8, with Content-Length):
//
//	/10k /100k /1m /50m   product-listing pages of 10 KiB, 100 KiB, 1 MiB, 50 MiB
//	/ty200k               a WooCommerce order-received page of 200 KiB (bench/capture.sh)
//	POST /…/_tr_offline   a stand-in for Katalys' delivery endpoint: 204, counted (bench/deliver.sh)
//
// A page is named by the last segment of the path, so the same page is
// served at /checkout/order-received/ty200k (a thank-you path) and at
// /journal/ty200k (not one); a path with a /plain/ segment is never
// compressed.
//
// A request whose Accept-Encoding lists gzip gets the page's pre-gzipped copy
// (Content-Encoding: gzip); any other request gets it uncompressed. /stats
// returns, as JSON, how many responses of each kind were sent.
//
// Usage:
//
//	upstream -addr 127.0.0.1:0 -addr-file FILE   serve; write the bound address to FILE
//	upstream -free-ports N                        print N free 127.0.0.1 TCP ports
//	upstream -dump PAGE                           write page PAGE (e.g. 100k) to stdout
//	upstream -verify PAGE -body FILE -want N -marker STR
//	    check that FILE (an uncompressed body) is page PAGE unchanged (N=0), or
//	    page PAGE with one inserted block holding STR, right before its
//	    </body> (N=1)
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
)

// sizes are the pages served, by path name.
var sizes = []struct {
	name string
	n    int
}{
	{"10k", 10 << 10},
	{"100k", 100 << 10},
	{"1m", 1 << 20},
	{"50m", 50 << 20},
}

func sizeOf(name string) (int, bool) {
	for _, s := range sizes {
		if s.name == name {
			return s.n, true
		}
	}
	return 0, false
}

// thankYouSize is the size of the thank-you page, /ty200k.
const thankYouSize = 200 << 10

// pageFor returns the page of a name: a listing of sizes, or ty200k.
func pageFor(name string) ([]byte, bool) {
	if name == "ty200k" {
		return ThankYouPage(thankYouSize), true
	}
	n, ok := sizeOf(name)
	if !ok {
		return nil, false
	}
	return Page(n), true
}

// The order markup of ThankYouPage, as WooCommerce's classic
// checkout/thankyou.php and order/order-details.php print it.
const (
	orderHead = `<h1 class="entry-title">Order received</h1>
<div class="woocommerce"><div class="woocommerce-order">
<p class="woocommerce-notice woocommerce-notice--success woocommerce-thankyou-order-received">Thank you. Your order has been received.</p>
<ul class="woocommerce-order-overview woocommerce-thankyou-order-details order_details">
<li class="woocommerce-order-overview__order order">Order number: <strong>NW-40917</strong></li>
<li class="woocommerce-order-overview__date date">Date: <strong>November 24, 2026</strong></li>
<li class="woocommerce-order-overview__email email">Email: <strong>sam.okafor@example.com</strong></li>
<li class="woocommerce-order-overview__total total">Total: <strong><span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&#36;</span>187.40</bdi></span></strong></li>
<li class="woocommerce-order-overview__payment-method method">Payment method: <strong>Credit card</strong></li>
</ul>
<section class="woocommerce-order-details">
<h2 class="woocommerce-order-details__title">Order details</h2>
<table class="woocommerce-table woocommerce-table--order-details shop_table order_details">
<thead><tr><th class="woocommerce-table__product-name product-name">Product</th><th class="woocommerce-table__product-table product-total">Total</th></tr></thead>
<tbody>
<tr class="woocommerce-table__line-item order_item"><td class="woocommerce-table__product-name product-name"><a href="/product/merino-sweater-navy/">Merino sweater &ndash; navy</a> <strong class="product-quantity">&times;&nbsp;1</strong></td><td class="woocommerce-table__product-total product-total"><span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&#36;</span>98.00</bdi></span></td></tr>
<tr class="woocommerce-table__line-item order_item"><td class="woocommerce-table__product-name product-name"><a href="/product/cotton-socks-sand/">Cotton socks &ndash; sand</a> <strong class="product-quantity">&times;&nbsp;3</strong></td><td class="woocommerce-table__product-total product-total"><span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&#36;</span>36.00</bdi></span></td></tr>
<tr class="woocommerce-table__line-item order_item"><td class="woocommerce-table__product-name product-name"><a href="/product/leather-belt-rust/">Leather belt &ndash; rust</a> <strong class="product-quantity">&times;&nbsp;1</strong></td><td class="woocommerce-table__product-total product-total"><span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&#36;</span>48.00</bdi></span></td></tr>
</tbody>
<tfoot>
<tr><th scope="row">Subtotal:</th><td><span class="woocommerce-Price-amount amount"><span class="woocommerce-Price-currencySymbol">&#36;</span>182.00</span></td></tr>
<tr><th scope="row">Shipping:</th><td><span class="woocommerce-Price-amount amount"><span class="woocommerce-Price-currencySymbol">&#36;</span>5.40</span>&nbsp;<small class="shipped_via">via Flat rate</small></td></tr>
<tr><th scope="row">Total:</th><td><span class="woocommerce-Price-amount amount"><span class="woocommerce-Price-currencySymbol">&#36;</span>187.40</span></td></tr>
</tfoot>
</table>
</section>
<section class="woocommerce-customer-details"><h2 class="woocommerce-column__title">Billing address</h2><address>Sam Okafor<br>12 Harbour Road<br>Portland, OR 97205<p class="woocommerce-customer-details--email">sam.okafor@example.com</p></address></section>
</div></div>
<h2 class="cross-sells-title">You may also like&hellip;</h2>
<ul class="products columns-4">
`
	orderPush = `<script>
window.dataLayer = window.dataLayer || [];
dataLayer.push({ ecommerce: null });
dataLayer.push({
  event: "purchase",
  ecommerce: {
    transaction_id: "NW-40917",
    value: 187.40,
    tax: 0,
    shipping: 5.40,
    currency: "USD",
    items: [
      { item_id: "NW-01001", item_name: "Merino sweater", item_variant: "navy", price: 98.00, quantity: 1 },
      { item_id: "NW-01002", item_name: "Cotton socks", item_variant: "sand", price: 12.00, quantity: 3 },
      { item_id: "NW-01003", item_name: "Leather belt", item_variant: "rust", price: 48.00, quantity: 1 },
    ],
  },
});
</script>
`
)

// ThankYouPage returns a WooCommerce order-received page of exactly n
// bytes: the listing page's theme (head, header, footer) around the order
// overview, the order details table and the customer's details, a grid of
// cross-sell product cards with their prices (decoys, and most of the
// bytes), and the GA4 purchase push before </body>.
func ThankYouPage(n int) []byte {
	listing := Page(n - len(orderHead) - len(orderPush) + len(listingHead))
	page := bytes.Replace(listing, []byte(listingHead), []byte(orderHead), 1)
	k := bytes.LastIndex(page, []byte("</body>"))
	return append(page[:k:k], append([]byte(orderPush), page[k:]...)...)
}

// listingHead is what ThankYouPage replaces with the order.
const listingHead = `<h1 class="woocommerce-products-header__title page-title">Men</h1>
<ul class="products columns-4">
`

var (
	products = []string{"Linen shirt", "Wool scarf", "Leather belt", "Canvas tote", "Merino sweater",
		"Denim jacket", "Silk tie", "Cotton socks", "Rain coat", "Suede boots", "Straw hat", "Chino trousers"}
	adjectives = []string{"Classic", "Slim-fit", "Organic", "Vintage", "Everyday", "Premium", "Relaxed",
		"Lightweight", "Heritage", "Recycled"}
	colours = []string{"navy", "sand", "olive", "charcoal", "rust", "ivory", "forest", "sky"}
	badges  = []string{"", "", "", "New", "Sale", "Bestseller", "Low stock"}
)

// Page returns a product-listing page of exactly n bytes (n ≥ 4 KiB), built
// like a typical storefront theme: a head with styles, preloads, JSON-LD and
// an inline data layer; a header with navigation; a grid of product cards
// with comments, srcsets, data attributes and inline JSON; a footer; deferred
// scripts; and one </body> near the end. The same n gives the same page.
func Page(n int) []byte {
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	var b bytes.Buffer
	b.Grow(n)
	b.WriteString(`<!DOCTYPE html>
<html lang="en-US" class="no-js">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Men&#8217;s Clothing &amp; Accessories &ndash; Northwind Outfitters</title>
<meta name="description" content="Shop shirts, knitwear, outerwear and accessories. Free shipping over $75.">
<link rel="canonical" href="https://shop.example.com/collections/men/">
<link rel="preconnect" href="https://cdn.example.com" crossorigin>
<link rel="preload" href="https://cdn.example.com/fonts/inter-var.woff2" as="font" type="font/woff2" crossorigin>
<link rel="stylesheet" id="theme-css" href="https://cdn.example.com/themes/northwind/style.min.css?ver=6.4.2" media="all">
<link rel="stylesheet" id="woocommerce-layout-css" href="https://cdn.example.com/plugins/woocommerce/assets/css/woocommerce-layout.css?ver=8.5.1" media="all">
<style id="critical-css">
:root{--brand:#1d3557;--accent:#e63946;--bg:#f1faee;--radius:6px}
body{margin:0;font-family:Inter,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;background:var(--bg)}
.site-header{display:flex;align-items:center;justify-content:space-between;padding:12px 24px;background:#fff;border-bottom:1px solid #e5e5e5}
.products{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:24px;list-style:none;padding:0}
.product .price ins{text-decoration:none;color:var(--accent)}.onsale{position:absolute;top:8px;left:8px}
</style>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Organization","name":"Northwind Outfitters","url":"https://shop.example.com/","logo":"https://cdn.example.com/logo.svg","sameAs":["https://www.instagram.com/northwind","https://www.facebook.com/northwind"]}</script>
<script>
window.dataLayer = window.dataLayer || [];
function gtag(){dataLayer.push(arguments);}
gtag('js', new Date());
gtag('config', 'G-XXXXXXX', {'send_page_view': true});
document.documentElement.className = document.documentElement.className.replace('no-js', 'js');
var wc_add_to_cart_params = {"ajax_url":"\/wp-admin\/admin-ajax.php","wc_ajax_url":"\/?wc-ajax=%%endpoint%%","i18n_view_cart":"View cart","cart_url":"https:\/\/shop.example.com\/cart\/","is_cart":"","cart_redirect_after_add":"no"};
</script>
</head>
<body class="archive tax-product_cat term-men woocommerce woocommerce-page theme-northwind">
<a class="skip-link screen-reader-text" href="#main">Skip to content</a>
<!-- header -->
<header class="site-header" role="banner">
<a class="logo" href="/"><img src="https://cdn.example.com/logo.svg" alt="Northwind Outfitters" width="160" height="40"></a>
<nav class="main-navigation" aria-label="Primary"><ul class="menu">
<li class="menu-item current-menu-item"><a href="/collections/men/" aria-current="page">Men</a></li>
<li class="menu-item"><a href="/collections/women/">Women</a></li>
<li class="menu-item"><a href="/collections/accessories/">Accessories</a></li>
<li class="menu-item"><a href="/collections/sale/">Sale</a></li>
<li class="menu-item"><a href="/journal/">Journal</a></li>
</ul></nav>
<form role="search" method="get" class="search-form" action="/"><label><span class="screen-reader-text">Search for:</span><input type="search" class="search-field" placeholder="Search products&hellip;" value="" name="s"></label><input type="hidden" name="post_type" value="product"></form>
<a class="cart-contents" href="/cart/" title="View your shopping cart"><span class="amount">$0.00</span> <span class="count">0 items</span></a>
</header>
<main id="main" class="site-main" role="main">
<nav class="woocommerce-breadcrumb" aria-label="Breadcrumb"><a href="/">Home</a>&nbsp;&#47;&nbsp;Men</nav>
<h1 class="woocommerce-products-header__title page-title">Men</h1>
<ul class="products columns-4">
`)
	footer := `</ul>
<nav class="woocommerce-pagination" aria-label="Product Pagination"><ul class="page-numbers"><li><span aria-current="page" class="page-numbers current">1</span></li><li><a class="page-numbers" href="/collections/men/page/2/">2</a></li><li><a class="next page-numbers" href="/collections/men/page/2/">&rarr;</a></li></ul></nav>
</main>
<!-- footer -->
<footer class="site-footer" role="contentinfo">
<div class="footer-widgets"><section class="widget"><h2 class="widget-title">Customer care</h2><ul><li><a href="/shipping/">Shipping &amp; returns</a></li><li><a href="/size-guide/">Size guide</a></li><li><a href="/contact/">Contact us</a></li></ul></section>
<section class="widget"><h2 class="widget-title">Newsletter</h2><form class="newsletter" action="/subscribe" method="post"><input type="email" name="email" placeholder="you@example.com" required><button type="submit">Subscribe</button></form></section></div>
<p class="site-info">&copy; 2024 Northwind Outfitters. All rights reserved.</p>
</footer>
<script type="text/template" id="tmpl-variation-template"><div class="woocommerce-variation-price">{{{ data.variation.price_html }}}</div></script>
<script src="https://cdn.example.com/wp-includes/js/jquery/jquery.min.js?ver=3.7.1" id="jquery-core-js"></script>
<script src="https://cdn.example.com/plugins/woocommerce/assets/js/frontend/add-to-cart.min.js?ver=8.5.1" id="wc-add-to-cart-js" defer></script>
<script src="https://cdn.example.com/themes/northwind/js/navigation.min.js?ver=6.4.2" id="theme-navigation-js" defer></script>
<script>
(function(){var c=document.body.className;c=c.replace(/woocommerce-no-js/,'woocommerce-js');document.body.className=c;})();
</script>
</body>
</html>
`
	if n < b.Len()+len(footer)+64 {
		panic(fmt.Sprintf("page size %d too small", n))
	}
	for id := 1001; ; id++ {
		card := card(rng, id)
		if b.Len()+len(card)+len(footer) > n {
			break
		}
		b.WriteString(card)
	}
	// Pad to exactly n bytes with newlines, as templates leave them.
	b.WriteString(strings.Repeat("\n", n-b.Len()-len(footer)))
	b.WriteString(footer)
	return b.Bytes()
}

// card returns one product card.
func card(rng *rand.Rand, id int) string {
	name := adjectives[rng.IntN(len(adjectives))] + " " + strings.ToLower(products[rng.IntN(len(products))])
	colour := colours[rng.IntN(len(colours))]
	cents := 1500 + rng.IntN(25000)
	price := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	badge := badges[rng.IntN(len(badges))]
	slug := strings.ReplaceAll(strings.ToLower(name), " ", "-") + "-" + colour
	var b strings.Builder
	fmt.Fprintf(&b, "<li class=\"product type-product post-%d status-publish instock product_cat-men has-post-thumbnail shipping-taxable purchasable\">\n", id)
	fmt.Fprintf(&b, "<!-- product %d -->\n", id)
	fmt.Fprintf(&b, "<a href=\"/product/%s/\" class=\"woocommerce-LoopProduct-link woocommerce-loop-product__link\">", slug)
	if badge != "" {
		fmt.Fprintf(&b, "<span class=\"onsale\">%s</span>", badge)
	}
	fmt.Fprintf(&b, "<img width=\"300\" height=\"300\" src=\"https://cdn.example.com/uploads/2024/%02d/%d-300x300.jpg\" "+
		"class=\"attachment-woocommerce_thumbnail size-woocommerce_thumbnail\" alt=\"%s in %s\" decoding=\"async\" loading=\"lazy\" "+
		"srcset=\"https://cdn.example.com/uploads/2024/%02d/%d-300x300.jpg 300w, https://cdn.example.com/uploads/2024/%02d/%d-600x600.jpg 600w, https://cdn.example.com/uploads/2024/%02d/%d-150x150.jpg 150w\" "+
		"sizes=\"(max-width: 300px) 100vw, 300px\">",
		1+id%12, id, name, colour, 1+id%12, id, 1+id%12, id, 1+id%12, id)
	fmt.Fprintf(&b, "<h2 class=\"woocommerce-loop-product__title\">%s &ndash; %s</h2>\n", name, colour)
	fmt.Fprintf(&b, "<div class=\"star-rating\" role=\"img\" aria-label=\"Rated %d.%d out of 5\"><span style=\"width:%d%%\">Rated <strong class=\"rating\">%d.%d</strong> out of 5</span></div>\n",
		3+rng.IntN(2), rng.IntN(10), 60+rng.IntN(40), 3+rng.IntN(2), rng.IntN(10))
	fmt.Fprintf(&b, "<span class=\"price\"><span class=\"woocommerce-Price-amount amount\"><bdi><span class=\"woocommerce-Price-currencySymbol\">&#36;</span>%s</bdi></span></span></a>\n", price)
	fmt.Fprintf(&b, "<a href=\"?add-to-cart=%d\" data-quantity=\"1\" class=\"button product_type_simple add_to_cart_button ajax_add_to_cart\" data-product_id=\"%d\" data-product_sku=\"NW-%05d\" "+
		"aria-label=\"Add &ldquo;%s&rdquo; to your cart\" aria-describedby=\"\" rel=\"nofollow\">Add to cart</a>\n", id, id, id, name)
	fmt.Fprintf(&b, "<script type=\"application/json\" class=\"gtm4wp_productdata\">{\"internal_id\":%d,\"item_id\":\"NW-%05d\",\"item_name\":\"%s\",\"sku\":\"NW-%05d\",\"price\":%s,\"stocklevel\":%d,\"item_brand\":\"Northwind\",\"item_category\":\"Men\",\"item_variant\":\"%s\"}</script>\n",
		id, id, name, id, price, rng.IntN(200), colour)
	b.WriteString("</li>\n")
	return b.String()
}

func gzipped(p []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
	zw.Write(p)
	zw.Close()
	return b.Bytes()
}

// acceptsGzip reports whether an Accept-Encoding header lists gzip with a
// non-zero q-value.
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.TrimSpace(coding) != "*" {
			continue
		}
		params = strings.ReplaceAll(strings.ToLower(params), " ", "")
		if q, ok := strings.CutPrefix(params, "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		return true
	}
	return false
}

type page struct {
	plain, gz []byte
	etag      string
}

type server struct {
	pages         map[string]page
	gzip, ident   atomic.Int64
	other         atomic.Int64
	collected     atomic.Int64 // deliveries received at /…/_tr_offline
	gzipBytes     atomic.Int64
	identityBytes atomic.Int64
}

func newServer() *server {
	s := &server{pages: map[string]page{}}
	for _, sz := range sizes {
		p := Page(sz.n)
		s.pages[sz.name] = page{plain: p, gz: gzipped(p), etag: fmt.Sprintf(`"nw-%s"`, sz.name)}
	}
	ty, _ := pageFor("ty200k")
	s.pages["ty200k"] = page{plain: ty, gz: gzipped(ty), etag: `"nw-ty200k"`}
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/stats" {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"gzip":%d,"identity":%d,"other":%d,"gzip_bytes":%d,"identity_bytes":%d,"collected":%d}`+"\n",
			s.gzip.Load(), s.ident.Load(), s.other.Load(), s.gzipBytes.Load(), s.identityBytes.Load(), s.collected.Load())
		return
	}
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_tr_offline") {
		// A stand-in for Katalys' server-to-server endpoint (bench/deliver.sh).
		_, _ = io.Copy(io.Discard, r.Body)
		s.collected.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// A /plain/ segment makes an identity upstream: it never compresses,
	// so the baseline's transport has nothing to decode either.
	plain := strings.Contains(r.URL.Path, "/plain/")
	p, ok := s.pages[path.Base(r.URL.Path)]
	if !ok {
		s.other.Add(1)
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", "no-cache, must-revalidate, max-age=0")
	body := p.plain
	if !plain && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = p.gz
		h.Set("Content-Encoding", "gzip")
		s.gzip.Add(1)
		s.gzipBytes.Add(int64(len(body)))
	} else {
		s.ident.Add(1)
		s.identityBytes.Add(int64(len(body)))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// verify checks body against page name: unchanged when want is 0; when want
// is 1, the page with one block inserted right before its </body>, the block
// holding marker exactly once.
func verify(name string, body []byte, want int, marker string) error {
	orig, ok := pageFor(name)
	if !ok {
		return fmt.Errorf("unknown page %q", name)
	}
	got := bytes.Count(body, []byte(marker))
	if got != want {
		return fmt.Errorf("page %s: marker %q found %d times, want %d", name, marker, got, want)
	}
	if want == 0 {
		if !bytes.Equal(body, orig) {
			return fmt.Errorf("page %s: body (%d bytes) differs from the upstream page (%d bytes)", name, len(body), len(orig))
		}
		return nil
	}
	k := bytes.LastIndex(orig, []byte("</body>"))
	tail := orig[k:]
	if len(body) < len(orig) || !bytes.Equal(body[:k], orig[:k]) || !bytes.HasSuffix(body, tail) {
		return fmt.Errorf("page %s: body (%d bytes) is not the upstream page (%d bytes) with a block inserted before </body>", name, len(body), len(orig))
	}
	block := body[k : len(body)-len(tail)]
	if !bytes.Contains(block, []byte(marker)) {
		return fmt.Errorf("page %s: the marker is not in the block inserted before </body> (%q)", name, block)
	}
	return nil
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (127.0.0.1 only)")
	addrFile := flag.String("addr-file", "", "write the bound address to this file once listening")
	nFree := flag.Int("free-ports", 0, "print this many free 127.0.0.1 ports, one a line, and exit")
	dump := flag.String("dump", "", "write this page (10k, 100k, 1m, 50m, ty200k) to stdout and exit")
	verifyPage := flag.String("verify", "", "check -body against this page and exit")
	bodyFile := flag.String("body", "", "with -verify: the uncompressed body to check")
	want := flag.Int("want", 0, "with -verify: 0 (unchanged) or 1 (snippet inserted)")
	marker := flag.String("marker", "", "with -verify: the string that identifies the snippet")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("upstream: ")

	switch {
	case *nFree > 0:
		ports, err := freePorts(*nFree)
		if err != nil {
			log.Fatal(err)
		}
		for _, p := range ports {
			fmt.Println(p)
		}
		return
	case *dump != "":
		p, ok := pageFor(*dump)
		if !ok {
			log.Fatalf("unknown page %q", *dump)
		}
		os.Stdout.Write(p)
		return
	case *verifyPage != "":
		if *marker == "" || (*want != 0 && *want != 1) {
			log.Fatal("-verify needs -marker and -want 0 or 1")
		}
		body, err := os.ReadFile(*bodyFile)
		if err != nil {
			log.Fatal(err)
		}
		if err := verify(*verifyPage, body, *want, *marker); err != nil {
			log.Fatal(err)
		}
		return
	}

	host, _, err := net.SplitHostPort(*addr)
	if err != nil || host != "127.0.0.1" {
		log.Fatalf("-addr %q: only 127.0.0.1 addresses", *addr)
	}
	s := newServer()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(l.Addr().String()+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if err := http.Serve(l, s); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
