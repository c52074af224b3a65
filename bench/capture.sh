#!/usr/bin/env bash
# bench/capture.sh: the cost of reading orders out of thank-you pages,
# measured through a real Caddy on this machine and written into
# docs/benchmarks.md.
#
# One 200 KiB WooCommerce order-received page (bench/upstream's ty200k: the
# order overview and details, a cross-sell grid, the GA4 purchase push) is
# fetched with wrk through three configurations, alternated round by round:
#
#   thankyou  katalys + reverse_proxy, at /checkout/order-received/…: the
#             page is read for its order on every view (the order is stored
#             on the first and found stored on the others) and gets the
#             convert call;
#   other     katalys + reverse_proxy, the same page at /journal/…: not a
#             thank-you path, so only injection and page-view recording;
#   baseline  plain reverse_proxy, for scale.
#
# The bar of the issue: thankyou keeps at least 0.8 of other's throughput.
#
# Usage, from the repository root:
#
#	bench/capture.sh                          # DURATION=10s ROUNDS=2
#	DURATION=5s ROUNDS=1 bench/capture.sh     # quick check
#
# Environment: DURATION, ROUNDS, WARMUP (default 2s), CONNS (default 16),
# CADDY_BIN (use this Caddy binary), KEEP=1 (keep the temporary directory).
# Everything listens on 127.0.0.1; each run has a fresh Caddy and store.
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-16}
KEEP=${KEEP:-0}
THREADS=1
SITE_ID=KA-7Q2M9X4B1Z
MARKER="_revoffers_track.site_id=\"$SITE_ID\""
CONVERT='<script type="application/json" id="katalys-convert">'
ORDER_ID=NW-40917
BROWSER_UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'
PAGE=ty200k
CONFIGS=(thankyou other baseline)
DOC=docs/benchmarks.md
BEGIN_MARK='<!-- capture.sh:begin -->'
END_MARK='<!-- capture.sh:end -->'
BAR=0.8

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

set -o errtrace
trap 'log "FAIL: bench/capture.sh line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR

[[ -f go.mod && -d cmd/caddy && -d bench/upstream && -d bench/storecount ]] ||
	die "run from the repository root"

CMD=$(command_line bench/capture.sh)

need_tools curl go awk
make_workdir katalys-capture
build_all storecount
machine_facts
start_upstream

# url_path CONFIG: the page's path for CONFIG. /plain/ keeps the upstream
# from compressing, so no configuration decodes anything.
url_path() {
	case $1 in
	thankyou) echo "/checkout/order-received/plain/$PAGE" ;;
	*) echo "/journal/plain/$PAGE" ;;
	esac
}

# start_caddy CONFIG ROUND: a fresh Caddy (and store) for CONFIG; sets
# CADDY_PID, PORT, CADDY_LOG, STORE.
start_caddy() {
	local config=$1 round=$2
	PORT=$("$WORK/upstream" -free-ports 1)
	CADDY_LOG="$WORK/caddy-$config.log"
	STORE="$WORK/store-$config-$round"
	{
		printf '{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n\tpersist_config off\n'
		printf '\tlog {\n\t\tlevel WARN\n\t}\n'
		[[ $config != baseline ]] && printf '\tkatalys {\n\t\tstorage %s\n\t\tdeliver off\n\t}\n' "$STORE"
		printf '}\n\nhttp://:%s {\n\tencode gzip\n' "$PORT"
		[[ $config != baseline ]] && printf '\tkatalys %s\n' "$SITE_ID"
		printf '\treverse_proxy %s\n}\n' "$UPSTREAM"
	} >"$WORK/$config.Caddyfile"
	run_caddy "$config" "$WORK/$config.Caddyfile" /journal/plain/10k
}

# check CONFIG: one request, checked: the baseline serves the page
# unchanged; katalys inserts the snippet once before </body>; on the
# thank-you path with the convert call of the order, elsewhere without.
check() {
	local config=$1 body="$WORK/check.body" want=1 n
	[[ $config == baseline ]] && want=0
	curl -fsS --max-time 30 -A "$BROWSER_UA" -o "$body" "http://127.0.0.1:$PORT$(url_path "$config")" ||
		die "$config: request failed"
	"$WORK/upstream" -verify "$PAGE" -body "$body" -want "$want" -marker "$MARKER" || die "$config: body check failed"
	n=$({ grep -o -F "$CONVERT" "$body" || true; } | wc -l)
	if [[ $config == thankyou ]]; then
		[[ $n -eq 1 ]] || die "thankyou: $n convert calls, want 1"
		grep -q -F "\"order_id\":\"$ORDER_ID\"" "$body" || die "thankyou: the convert call does not carry order $ORDER_ID"
	else
		[[ $n -eq 0 ]] || die "$config: $n convert calls, want none"
	fi
}

RESULTS="$WORK/results.tsv" # config round rps p99_ms orders
: >"$RESULTS"

measure() {
	local config=$1 round=$2 out="$WORK/wrk-$1-$2.txt" url
	start_caddy "$config" "$round"
	check "$config"
	url="http://127.0.0.1:$PORT$(url_path "$config")"
	wrk -t"$THREADS" -c"$CONNS" --latency -H "User-Agent: $BROWSER_UA" -d"$WARMUP" "$url" >/dev/null
	wrk -t"$THREADS" -c"$CONNS" --latency -H "User-Agent: $BROWSER_UA" -d"$DURATION" "$url" >"$out" ||
		die "wrk failed: $(cat "$out")"
	stop_caddy
	local rps p99 non2xx orders=-
	rps=$(awk '/^Requests\/sec:/{print $2}' "$out")
	p99=$(to_ms "$(awk '$1=="99%"{print $2}' "$out")")
	non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$out")
	[[ -z $non2xx ]] || die "$config: $non2xx responses were not 2xx/3xx"
	if [[ $config != baseline ]]; then
		orders=$("$WORK/storecount" -dir "$STORE" -bucket "$SITE_ID" | awk '$1=="orders"{print $2}')
		local want=0
		[[ $config == thankyou ]] && want=1
		[[ $orders -eq $want ]] || die "$config: $orders orders stored after every view of the page, want $want"
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$config" "$round" "$rps" "$p99" "$orders" >>"$RESULTS"
	log "$(printf '  round %d  %-8s %9.0f req/s  p99 %8.2f ms  orders stored: %s' "$round" "$config" "$rps" "$p99" "$orders")"
}

log "measuring: wrk -t$THREADS -c$CONNS -d$DURATION --latency, warm-up $WARMUP, $ROUNDS round(s)"
run_rounds

col() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c {print $f}' "$RESULTS" | median; }
ty=$(col thankyou 3)
other=$(col other 3)
base=$(col baseline 3)
r_ty=$(ratio "$ty" "$other")
busy_line

SECTION="$WORK/section.md"
cat >"$SECTION" <<EOF
## Order capture: a thank-you page against the same page elsewhere

Written by \`bench/capture.sh\` on $DATE. Do not edit by hand: rerun the script.

$(run_facts)
- Load: \`wrk -t$THREADS -c$CONNS -d$DURATION --latency\` with a browser User-Agent (every view is a page view of a new visitor), after a $WARMUP warm-up; a fresh Caddy and store per run; configurations alternated, $ROUNDS round(s), medians shown.
- Page: \`bench/upstream\`'s \`$PAGE\`, a 200 KiB WooCommerce order-received page (order overview and details table, a cross-sell grid with prices, the GA4 purchase push), identity from the upstream; identity client.
- Checked: before each run the response (snippet once before \`</body>\`; on the thank-you path, one convert call with order $ORDER_ID; elsewhere none; the baseline unchanged); after each katalys run the store holds exactly one order (thank-you path) or none.
${BUSY:+
$BUSY
}
Bar from the issue: the thank-you page keeps **≥ $BAR** of the throughput of the same page on a path that is not a thank-you path (here: **$r_ty**, $(bar "$r_ty" "$BAR")).

| configuration | path | req/s | p99 | ratio to \`other\` | ratio to plain \`reverse_proxy\` |
|---|---|---:|---:|---:|---:|
| thankyou (\`katalys\`, order read, stored, convert call added) | \`$(url_path thankyou)\` | $(printf '%.0f' "$ty") | $(printf '%.2f' "$(col thankyou 4)") ms | $r_ty | $(ratio "$ty" "$base") |
| other (\`katalys\`, not a thank-you path) | \`$(url_path other)\` | $(printf '%.0f' "$other") | $(printf '%.2f' "$(col other 4)") ms | 1.00 | $(ratio "$other" "$base") |
| baseline (plain \`reverse_proxy\`) | \`$(url_path baseline)\` | $(printf '%.0f' "$base") | $(printf '%.2f' "$(col baseline 4)") ms | $(ratio "$base" "$other") | 1.00 |

$LOGLINE

<details><summary>Every run</summary>

| round | config | req/s | p99 | orders stored |
|---:|---|---:|---:|---:|
$(awk -F'\t' '{printf "| %s | %s | %.0f | %.2f ms | %s |\n", $2, $1, $3, $4, $5}' "$RESULTS")

</details>
EOF
write_section "$DOC" "$BEGIN_MARK" "$END_MARK" "$SECTION"
log ""
log "thank-you / other: $r_ty (bar >= $BAR: $(bar "$r_ty" "$BAR")); other / plain reverse_proxy: $(ratio "$other" "$base")"
log "$LOGLINE"
log "wrote the section into $DOC"
