// Package inject inserts the Katalys Tracking Script into HTML pages as they
// stream past.
//
// It owns the snippet (the two script tags the official Katalys plugins
// print), the streaming Writer that places it before the page's real closing
// </body> tag, the detection of pages that already load the Katalys script,
// and the Content-Security-Policy edits that let the snippet run.
//
// It does not decide which responses are pages (status, method, content type
// and encoding are the caller's business), it knows nothing of Caddy, HTTP
// headers other than the CSP value it is handed, or buckets.
package inject
