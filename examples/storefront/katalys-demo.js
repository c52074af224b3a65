/*
 * katalys-demo.js: an offline stand-in for the real Katalys Tracking Script
 * (https://db.revoffers.com/js/<site_id>.js), for the caddy-katalys demo only.
 *
 * It does not track anything. It reads the site_id that the injected snippet
 * set in window._revoffers_track and shows a small badge, so you can see the
 * injection work without a network connection or a Katalys account. To load
 * the real script instead, remove the `script_src` line from
 * examples/Caddyfile.
 */
(function () {
	"use strict";

	var track = window._revoffers_track = window._revoffers_track || {};
	var siteId = typeof track.site_id === "string" && track.site_id ? track.site_id : "(not set)";

	// The real script provides _revoffers_track.push(); the stand-in logs the
	// events pages push so that a page calling it does not throw.
	var queued = Array.isArray(track) ? track.slice() : [];
	var convert = "";
	if (typeof track.push !== "function" || Array.isArray(track)) {
		track.push = function (event) {
			console.info("[katalys-demo] event", event);
			if (event && event.action === "convert") {
				// The convert call caddy-katalys adds to thank-you pages.
				convert = "order " + event.order_id + " converted" +
					(event.sale_amount ? " (" + event.sale_amount + " " + (event.currency || "USD") + ")" : "");
				var badge = document.getElementById("katalys-demo-badge");
				if (badge) {
					badge.textContent += " \u2014 " + convert;
				}
			}
		};
	}
	queued.forEach(function (event) { track.push(event); });

	function showBadge() {
		if (document.getElementById("katalys-demo-badge")) {
			return;
		}
		var badge = document.createElement("div");
		badge.id = "katalys-demo-badge";
		badge.setAttribute("role", "status");
		badge.textContent = "Katalys script loaded \u2014 site_id " + siteId + (convert ? " \u2014 " + convert : "");
		badge.style.cssText = [
			"position:fixed", "right:16px", "bottom:16px", "z-index:2147483647",
			"padding:8px 12px", "border-radius:8px", "background:#1b1f3b", "color:#fff",
			"font:600 13px/1.3 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif",
			"box-shadow:0 4px 14px rgba(0,0,0,.25)"
		].join(";");
		document.body.appendChild(badge);
	}

	console.info("[katalys-demo] Katalys script loaded, site_id " + siteId);
	if (document.body) {
		showBadge();
	} else {
		document.addEventListener("DOMContentLoaded", showBadge);
	}
})();
