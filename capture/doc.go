// Package capture reads the order out of an order-confirmation ("thank-you")
// page.
//
// Given the bytes of a page it returns the one order the page confirms, or
// reports that there is none. Storefronts print orders in many ways at once:
// the Katalys _revoffers_track payload, Google Analytics dataLayer and gtag
// calls, schema.org Order data, Shopify.checkout, the Meta pixel and the
// visible markup of each platform. Every source that finds the order yields a
// partial Order; Extract merges them field by field in order of trust
// (DESIGN §4.3), so a field the most trusted source lacks is filled from the
// next one that has it.
//
// Script payloads are read with a tolerant reader of JavaScript literals
// (package jslit), not with regular expressions over script text. Money is
// normalised from every shape storefronts print (strings with thousands
// separators, locale decimals, minor units, floating noise); ids are kept
// exactly as printed.
//
// It knows nothing of Caddy, HTTP, buckets or storage: deciding which pages
// are thank-you pages, buffering their bytes and storing the order is the
// caller's business.
package capture
