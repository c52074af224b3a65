package tracking

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestIsBot(t *testing.T) {
	tests := []struct {
		ua  string
		bot bool
	}{
		{"", true},
		{"   ", true},
		{chromeUA, false},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", false},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", false},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", false},
		{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", false},
		{"Mozilla/5.0 (Linux; Android 10; CUBOT KINGKONG 5 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", false},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0]", false},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
		{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", true},
		{"Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", true},
		{"Baiduspider+(+http://www.baidu.com/search/spider.htm)", true},
		{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", true},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", true},
		{"Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", true},
		{"Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", true},
		{"Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", true},
		{"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", true},
		{"WhatsApp/2.23.20.0", true},
		{"ia_archiver", true},
		{"Scrapy/2.11 (+https://scrapy.org)", true},
		{"kube-probe/1.30", true},
		{"curl/8.5.0", true},
		{"Wget/1.21.4", true},
		{"python-requests/2.32.3", true},
		{"Go-http-client/1.1", true},
		{"okhttp/4.12.0", true},
		{"Java/17.0.2", true},
		{"CURL/8.5.0", true},
		{"  Mozilla/5.0 (compatible; AhrefsBOT/7.0)", true},
		{"Mozilla/5.0 (Linux; Android 9; Cubot_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", false},
		// A Cubot phone's "bot" does not count; another marker still does.
		{"Mozilla/5.0 (Linux; Android 10; CUBOT NOTE 20) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", true},
		{"cubot bot", true},
		{"undici", true},
		{"b", false},
	}
	for _, tt := range tests {
		if got := IsBot(tt.ua); got != tt.bot {
			t.Errorf("IsBot(%q) = %v, want %v", tt.ua, got, tt.bot)
		}
	}
}

func TestIsPrefetch(t *testing.T) {
	tests := []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{"Sec-Purpose", "prefetch"}, true},
		{[]string{"Sec-Purpose", "prefetch;prerender"}, true},
		{[]string{"Sec-Purpose", "prefetch; anonymous-client-ip"}, true},
		{[]string{"Purpose", "prefetch"}, true},
		{[]string{"Purpose", "Prefetch"}, true},
		{[]string{"X-Moz", "prefetch"}, true},
		{[]string{"X-Purpose", "preview"}, true},
		{[]string{"Sec-Purpose", "other"}, false},
		{[]string{"Sec-Fetch-Mode", "navigate"}, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		for i := 0; i < len(tt.header); i += 2 {
			h.Set(tt.header[i], tt.header[i+1])
		}
		if got := IsPrefetch(h); got != tt.want {
			t.Errorf("IsPrefetch(%v) = %v, want %v", h, got, tt.want)
		}
	}
}

func TestIsNavigation(t *testing.T) {
	tests := []struct {
		mode, dest string
		want       bool
	}{
		{"", "", true},
		{"navigate", "document", true},
		{"navigate", "iframe", true},
		{"navigate", "frame", true},
		{"Navigate", "Document", true},
		{"nested-navigate", "iframe", true},
		{"navigate", "", true},
		{"", "document", true},
		{"cors", "empty", false},
		{"navigate", "empty", true}, // forwarded by a service worker
		{"", "empty", false},
		{"nested-navigate", "empty", false},
		{"no-cors", "image", false},
		{"same-origin", "", false},
		{"", "script", false},
		{"navigate", "object", false},
		{"websocket", "websocket", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tt.mode != "" {
			r.Header.Set("Sec-Fetch-Mode", tt.mode)
		}
		if tt.dest != "" {
			r.Header.Set("Sec-Fetch-Dest", tt.dest)
		}
		if got := IsNavigation(r); got != tt.want {
			t.Errorf("IsNavigation(mode %q, dest %q) = %v, want %v", tt.mode, tt.dest, got, tt.want)
		}
	}
}

func TestOptedOut(t *testing.T) {
	tests := []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{"Sec-GPC", "1"}, true},
		{[]string{"DNT", "1"}, true},
		{[]string{"DNT", " 1 "}, true},
		{[]string{"Sec-GPC", "0"}, false},
		{[]string{"DNT", "0"}, false},
		{[]string{"Sec-GPC", "yes"}, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		for i := 0; i < len(tt.header); i += 2 {
			h.Set(tt.header[i], tt.header[i+1])
		}
		if got := OptedOut(h); got != tt.want {
			t.Errorf("OptedOut(%v) = %v, want %v", h, got, tt.want)
		}
	}
}

// BenchmarkIsBot classifies a browser's user agent, which is checked
// against every marker: the case of every page view.
func BenchmarkIsBot(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if IsBot(chromeUA) {
			b.Fatal("a browser classified as a bot")
		}
	}
}
