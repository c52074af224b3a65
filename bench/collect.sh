#!/usr/bin/env bash
# bench/collect.sh: the cost of behaviour recording, measured through a real
# Caddy on this machine and written into docs/benchmarks.md.
#
#   1. the collect endpoint (POST /_katalys/e): requests/s, events/s and p99
#      for one event per request and for a batch of ten; every answer must be
#      204 (the events are committed), and the store must hold at least as
#      many events as were acknowledged;
#   2. page throughput with recording on against recording off, in the same
#      run (ABAB): the 100 KB identity page through `katalys` + `reverse_proxy`
#      with a browser User-Agent (every request is a page view, and a new
#      visitor: wrk keeps no cookies) against the same config with
#      `User-Agent: curl/8` (a bot: served and injected, not recorded).
#
# Usage, from the repository root:
#
#	bench/collect.sh                          # DURATION=10s PAGE_DURATION=30s ROUNDS=2
#	DURATION=5s PAGE_DURATION=10s ROUNDS=1 bench/collect.sh     # quick check
#
# Environment:
#	DURATION   wrk duration of each measured collect run (default 10s)
#	PAGE_DURATION
#	           wrk duration of each measured page run (default 30s): long
#	           enough that a recorded run fills and flushes several of
#	           Badger's memtables, whose cost a short run leaves out
#	ROUNDS     rounds, each runs every configuration once, alternated; medians
#	           are reported (default 2)
#	WARMUP     wrk warm-up before each measured run (default 2s)
#	CONNS      wrk connections (default 16)
#	CADDY_BIN  use this Caddy binary instead of building ./cmd/caddy
#	KEEP=1     keep the temporary directory (binaries, Caddyfiles, logs, stores,
#	           wrk output)
#
# Everything listens on 127.0.0.1 (free ports picked per Caddy). Each measured
# run has a fresh Caddy process with a fresh store directory, and its admin
# endpoint on, to read the katalys metrics (GET /metrics) before it stops. After
# it stops, bench/storecount opens the store and counts the events.
set -euo pipefail

DURATION=${DURATION:-10s}
PAGE_DURATION=${PAGE_DURATION:-30s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-16}
KEEP=${KEEP:-0}
THREADS=1
SITE_ID=KA-7Q2M9X4B1Z
MARKER="_revoffers_track.site_id=\"$SITE_ID\""
BROWSER_UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'
BOT_UA='curl/8'
PAGE=100k
COLLECT_PATH=/_katalys/e
BATCH=10
DOC=docs/benchmarks.md
BEGIN_MARK='<!-- collect.sh:begin -->'
END_MARK='<!-- collect.sh:end -->'
PAGE_BAR=0.95

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

set -o errtrace
trap 'log "FAIL: bench/collect.sh line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR

[[ -f go.mod && -d cmd/caddy && -d bench/upstream && -f bench/collect.lua && -d bench/storecount ]] ||
	die "run from the repository root: bench/collect.sh"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive integer, got '$CONNS'"

CMD=$(command_line bench/collect.sh CONNS 16 PAGE_DURATION "") # PAGE_DURATION always shown: its default changed

# --- tools and a temp dir
need_tools curl go awk
make_workdir katalys-collect

# --- build
build_all storecount
"$CADDY" list-modules | grep -x 'http.handlers.katalys' >/dev/null || die "this Caddy has no http.handlers.katalys module"

machine_facts
FS_TYPE=$(df -PT "$WORK" 2>/dev/null | awk 'NR==2{print $2}' || echo unknown)

# --- upstream
start_upstream

# --- Caddy
# start_caddy NAME: a fresh Caddy with a fresh store in $WORK/store-NAME; sets
# CADDY_PID, PORT, ADMIN, STORE, CADDY_LOG.
start_caddy() {
	local name=$1 ports
	ports=$("$WORK/upstream" -free-ports 2)
	PORT=$(sed -n 1p <<<"$ports")
	ADMIN=$(sed -n 2p <<<"$ports")
	STORE="$WORK/store-$name"
	CADDY_LOG="$WORK/caddy-$name.log"
	rm -rf "$STORE"
	mkdir -p "$WORK/xdg-data" "$WORK/xdg-config"
	cat >"$WORK/$name.Caddyfile" <<-EOF
		{
			admin 127.0.0.1:$ADMIN
			auto_https off
			default_bind 127.0.0.1
			persist_config off
			log {
				level WARN
			}
			katalys {
				storage $STORE
				bucket $SITE_ID
			}
		}

		http://:$PORT {
			encode gzip
			katalys $SITE_ID
			reverse_proxy $UPSTREAM
		}
	EOF
	echo "=== start $(date -u +%T) port $PORT admin $ADMIN" >>"$CADDY_LOG"
	XDG_DATA_HOME="$WORK/xdg-data" XDG_CONFIG_HOME="$WORK/xdg-config" \
		"$CADDY" run --config "$WORK/$name.Caddyfile" --adapter caddyfile >>"$CADDY_LOG" 2>&1 &
	CADDY_PID=$!
	for _ in $(seq 200); do
		if curl -fsS -o /dev/null --max-time 2 -A "$BOT_UA" "http://127.0.0.1:$PORT/plain/10k" 2>/dev/null &&
			curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$ADMIN/metrics" 2>/dev/null; then
			return 0
		fi
		kill -0 "$CADDY_PID" 2>/dev/null || { CADDY_PID=; die "Caddy ($name) exited at start"; }
		sleep 0.1
	done
	die "Caddy ($name) did not answer on 127.0.0.1:$PORT (admin $ADMIN)"
}


# cpu_ticks: user + system CPU time of the running Caddy, in clock ticks.
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$CADDY_PID/stat"; }
# cpu_us TICKS REQUESTS: Caddy CPU microseconds per request
cpu_us() { awk -v t="$1" -v n="$2" -v h="$CLK_TCK" 'BEGIN{ if (n > 0) printf "%.0f", t / h * 1e6 / n; else print 0 }'; }

# metric NAME [LABELS]: the sum of the samples of NAME whose labels hold
# LABELS (e.g. 'type="pageview"'), from the running Caddy's admin /metrics.
metric() {
	curl -fsS --max-time 5 "http://127.0.0.1:$ADMIN/metrics" |
		awk -v n="$1" -v l="${2:-}" '
			$1 == n || index($1, n "{") == 1 { if (l == "" || index($1, l) > 0) s += $NF; found = 1 }
			END { printf "%d\n", s }'
}

# stored TYPE: events of TYPE (or "total") in the stopped Caddy's store.
stored() {
	"$WORK/storecount" -dir "$STORE" -bucket "$SITE_ID" >"$WORK/count.txt" || die "storecount failed on $STORE"
	awk -v t="$1" '$1 == t {n = $2} END {print n + 0}' "$WORK/count.txt"
}


# wrk_parse FILE: prints "rps p99_ms requests sock_errors"
wrk_parse() {
	local out=$1 rps p99 reqs sock
	rps=$(awk '/^Requests\/sec:/{print $2}' "$out")
	p99=$(awk '$1=="99%"{print $2}' "$out")
	reqs=$(awk '/ requests in /{print $1}' "$out")
	[[ -n $rps && -n $p99 && -n $reqs ]] || die "cannot parse wrk output: $(cat "$out")"
	sock=$(awk '/Socket errors:/{gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
	echo "$rps $(to_ms "$p99") $reqs ${sock:-0}"
}

# status_count FILE CODE: responses with CODE, from bench/collect.lua's lines
status_count() { awk -v c="$2" '$1 == "status" && $2 == c {n += $3} END {print n + 0}' "$1"; }
status_other() { awk -v c="$2" '$1 == "status" && $2 != c {n += $3} END {print n + 0}' "$1"; }
status_list() { awk '$1 == "status" {printf "%s%s: %s", sep, $2, $3; sep = ", "}' "$1"; }

COLLECT="$WORK/collect.tsv" # variant round events_per_req rps p99 requests n204 non204 sock stored metric_recorded metric_204 store_kb acked cpu_us
PAGES="$WORK/pages.tsv"     # config round rps p99 requests non2xx sock stored metric_recorded dropped not_recorded_bot store_kb cpu_us
: >"$COLLECT"
: >"$PAGES"

# --- 1. collect endpoint
# collect_run VARIANT ROUND, VARIANT one (1 event a request) or batch ($BATCH)
collect_run() {
	local variant=$1 round=$2 n=1
	[[ $variant == batch ]] && n=$BATCH
	start_caddy "collect-$variant-$round"
	local url="http://127.0.0.1:$PORT$COLLECT_PATH" code
	# check: one POST, a browser, 204 with no body
	code=$(curl -sS --max-time 10 -o "$WORK/check.body" -w '%{http_code}' -A "$BROWSER_UA" \
		-H 'Content-Type: application/json' --data '{"action":"addtocart","sku":"SKU-1","value":"19.90"}' "$url") ||
		die "collect check: request failed"
	[[ $code == 204 && ! -s $WORK/check.body ]] || die "collect check: status $code, body '$(head -c 300 "$WORK/check.body")', want 204 and no body"
	local wrk_args=(-t"$THREADS" -c"$CONNS" --latency -s bench/collect.lua)
	local warm="$WORK/wrk-collect-$variant-$round-warmup.txt" out="$WORK/wrk-collect-$variant-$round.txt"
	EVENTS=$n UA="$BROWSER_UA" wrk "${wrk_args[@]}" -d"$WARMUP" "$url" >"$warm" || die "wrk failed: $(cat "$warm")"
	local c0 c1
	c0=$(cpu_ticks)
	EVENTS=$n UA="$BROWSER_UA" wrk "${wrk_args[@]}" -d"$DURATION" "$url" >"$out" || die "wrk failed: $(cat "$out")"
	c1=$(cpu_ticks)
	local m_rec m_204
	m_rec=$(metric caddy_katalys_events_recorded_total 'type="custom"')
	m_204=$(metric caddy_katalys_collect_responses_total 'status="204"')
	stop_caddy
	local st kb
	st=$(stored addtocart) && [[ -n $st ]] || die "collect $variant: cannot count the store"
	kb=$(du -sk "$STORE" | awk '{print $1}')
	local rps p99 reqs sock n204 non204 w204 wnon
	read -r rps p99 reqs sock < <(wrk_parse "$out")
	[[ -n $rps && -n $sock ]] || die "collect $variant: cannot parse $out"
	n204=$(status_count "$out" 204)
	non204=$(status_other "$out" 204)
	w204=$(status_count "$warm" 204)
	wnon=$(status_other "$warm" 204)
	[[ $n204 -gt 0 ]] || die "collect $variant: no 204 at all ($(status_list "$out"))"
	[[ $non204 -eq 0 && $wnon -eq 0 ]] ||
		die "collect $variant: responses other than 204: measured $(status_list "$out"); warm-up $(status_list "$warm")"
	# every acknowledged event is in the store (the check POST, the warm-up
	# and the measured run; requests cut off when wrk stopped may add more)
	local acked=$(((1 + w204 * n) + n204 * n))
	[[ $st -ge $acked ]] || die "collect $variant: the store holds $st addtocart events, fewer than the $acked acknowledged with 204"
	[[ $m_204 -ge $((1 + w204 + n204)) ]] || die "collect $variant: caddy_katalys_collect_responses_total{status=\"204\"} is $m_204, wrk saw $((1 + w204 + n204))"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$variant" "$round" "$n" "$rps" "$p99" "$reqs" "$n204" "$non204" "$sock" "$st" "$m_rec" "$m_204" "$kb" "$acked" \
		"$(cpu_us $((c1 - c0)) "$reqs")" >>"$COLLECT"
	local warn=
	[[ $sock -gt 0 ]] && warn="  WARNING: $sock socket errors"
	log "$(printf '  round %d  collect %-5s  %8.0f req/s  %8.0f events/s  p99 %8.2f ms  204s %d, other 0; stored %d (acknowledged %d)%s' \
		"$round" "$variant" "$rps" "$(awk -v r="$rps" -v n="$n" 'BEGIN{print r * n}')" "$p99" "$n204" "$st" "$acked" "$warn")"
}

# --- 2. pages, recorded or not
# page_check UA WANT_COOKIE: the 100 KB identity page, once: 200, no
# Content-Encoding, the snippet once (the page otherwise unchanged); a visitor
# cookie when recorded, none when not.
page_check() {
	local ua=$1 want_cookie=$2 hdr="$WORK/check.hdr" body="$WORK/check.body"
	curl -sS --max-time 30 -D "$hdr" -o "$body" -A "$ua" "http://127.0.0.1:$PORT/plain/$PAGE" || die "page check ($ua): request failed"
	head -n1 "$hdr" | grep ' 200' >/dev/null || die "page check ($ua): status $(head -n1 "$hdr")"
	! tr -d '\r' <"$hdr" | grep -i '^content-encoding:' >/dev/null || die "page check ($ua): Content-Encoding for an identity client"
	"$WORK/upstream" -verify "$PAGE" -body "$body" -want 1 -marker "$MARKER" || die "page check ($ua): body check failed"
	local cookies
	cookies=$({ tr -d '\r' <"$hdr" | grep -ci '^set-cookie: *_katalys_vid=' || true; })
	[[ $cookies -eq $want_cookie ]] || die "page check ($ua): $cookies visitor cookies, want $want_cookie"
}

# page_run CONFIG ROUND, CONFIG recorded (browser UA) or unrecorded (curl/8)
page_run() {
	local config=$1 round=$2 ua=$BROWSER_UA cookie=1
	[[ $config == unrecorded ]] && { ua=$BOT_UA; cookie=0; }
	start_caddy "page-$config-$round"
	page_check "$ua" "$cookie"
	local url="http://127.0.0.1:$PORT/plain/$PAGE" out="$WORK/wrk-page-$config-$round.txt"
	local wrk_args=(-t"$THREADS" -c"$CONNS" --latency -H "User-Agent: $ua")
	wrk "${wrk_args[@]}" -d"$WARMUP" "$url" >/dev/null
	local c0 c1
	c0=$(cpu_ticks)
	wrk "${wrk_args[@]}" -d"$PAGE_DURATION" "$url" >"$out" || die "wrk failed: $(cat "$out")"
	c1=$(cpu_ticks)
	local m_rec m_drop m_bot
	m_rec=$(metric caddy_katalys_events_recorded_total 'type="pageview"')
	m_drop=$(metric caddy_katalys_events_dropped_total)
	m_bot=$(metric caddy_katalys_pages_not_recorded_total 'reason="bot"')
	stop_caddy
	local st kb
	st=$(stored pageview) && [[ -n $st ]] || die "page $config: cannot count the store"
	kb=$(du -sk "$STORE" | awk '{print $1}')
	# tables Badger wrote: memtables flushed, and what compaction made of them
	local sst
	sst=$(find "$STORE" -name '*.sst' | wc -l)
	local rps p99 reqs sock non2xx
	read -r rps p99 reqs sock < <(wrk_parse "$out")
	[[ -n $rps && -n $sock ]] || die "page $config: cannot parse $out"
	non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$out")
	non2xx=${non2xx:-0}
	[[ $non2xx -eq 0 ]] || die "page $config: $non2xx responses were not 2xx/3xx"
	if [[ $config == recorded ]]; then
		# every queued page view is committed when Caddy stops (Close drains)
		[[ $st -eq $m_rec ]] || die "page $config: the store holds $st page views, the metric says $m_rec were queued"
		[[ $st -ge $reqs ]] ||
			log "  WARNING: $st page views stored for $reqs measured requests ($m_drop dropped)"
	else
		[[ $st -eq 0 && $m_rec -eq 0 ]] || die "page $config: $st page views stored ($m_rec queued) with a bot User-Agent, want none"
		[[ $m_bot -ge $reqs ]] || die "page $config: pages_not_recorded_total{reason=\"bot\"} is $m_bot for $reqs requests"
	fi
	local cpu
	cpu=$(cpu_us $((c1 - c0)) "$reqs")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$config" "$round" "$rps" "$p99" "$reqs" "$non2xx" "$sock" "$st" "$m_rec" "$m_drop" "$m_bot" "$kb" "$cpu" "$sst" >>"$PAGES"
	local warn=
	[[ $sock -gt 0 ]] && warn="  WARNING: $sock socket errors"
	log "$(printf '  round %d  page %-10s  %8.0f req/s  p99 %8.2f ms  Caddy CPU %s us/request  page views stored %d, dropped %d%s' \
		"$round" "$config" "$rps" "$p99" "$cpu" "$st" "$m_drop" "$warn")"
}

log "measuring: wrk -t$THREADS -c$CONNS --latency, -d$DURATION (collect) and -d$PAGE_DURATION (pages), warm-up $WARMUP, $ROUNDS round(s)"
for round in $(seq "$ROUNDS"); do
	collect_run one "$round"
	collect_run batch "$round"
	page_run recorded "$round"
	page_run unrecorded "$round"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Caddy logs: anything at error level or worse
scan_caddy_logs

# --- summary
ccol() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c {print $f}' "$COLLECT" | median; }
pcol() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c {print $f}' "$PAGES" | median; }
csum() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c {s += $f} END {print s + 0}' "$COLLECT"; }
psum() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c {s += $f} END {print s + 0}' "$PAGES"; }

CTABLE="$WORK/collect.md"
{
	echo "| body | events/request | req/s | events/s | p99 | Caddy CPU/request | 204 responses (measured) | other responses | events in the store / acknowledged with 204 (check + warm-up + measured) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
	for v in one batch; do
		n=$(ccol "$v" 3)
		rps=$(ccol "$v" 4)
		label='one event (object)'
		[[ $v == batch ]] && label="array of $BATCH events"
		printf '| %s | %d | %.0f | %.0f | %.2f ms | %s µs | %d | %d | %d / %d |\n' "$label" "$n" "$rps" \
			"$(awk -v r="$rps" -v n="$n" 'BEGIN{print r * n}')" "$(ccol "$v" 5)" "$(ccol "$v" 15)" "$(csum "$v" 7)" "$(csum "$v" 8)" \
			"$(csum "$v" 10)" "$(csum "$v" 14)"
	done
} >"$CTABLE"

rec_rps=$(pcol recorded 3)
unrec_rps=$(pcol unrecorded 3)
rec_p99=$(pcol recorded 4)
unrec_p99=$(pcol unrecorded 4)
rec_cpu=$(pcol recorded 13)
unrec_cpu=$(pcol unrecorded 13)
PRATIO=$(ratio "$rec_rps" "$unrec_rps")
# the ratio within each round (its two runs back to back), beside the ratio
# of the medians above: the machine's speed drifts between rounds
ROUND_RATIOS=$(awk -F'\t' '{rps[$2 "," $1] = $3; r[$2] = 1} END {for (k in r) if (rps[k ",unrecorded"] > 0) printf "%d %.2f\n", k, rps[k ",recorded"] / rps[k ",unrecorded"]}' "$PAGES" | sort -n | awk '{print $2}')
ROUND_LINE="Recorded / not recorded within each round: $(echo $ROUND_RATIOS | sed 's/ /, /g') (median $(echo "$ROUND_RATIOS" | median))."
PTABLE="$WORK/pages.md"
{
	echo "| 100 KB identity page | req/s | p99 | Caddy CPU/request | page views stored | events dropped | pages not recorded (bot) |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	printf '| recorded (browser User-Agent) | %.0f | %.2f ms | %s µs | %d | %d | %d |\n' "$rec_rps" "$rec_p99" "$rec_cpu" \
		"$(psum recorded 8)" "$(psum recorded 10)" "$(psum recorded 11)"
	printf '| not recorded (`User-Agent: %s`) | %.0f | %.2f ms | %s µs | %d | %d | %d |\n' "$BOT_UA" "$unrec_rps" "$unrec_p99" "$unrec_cpu" \
		"$(psum unrecorded 8)" "$(psum unrecorded 10)" "$(psum unrecorded 11)"
	printf '| **ratio recorded / not recorded** | **%s** | %s | %s | | | |\n' "$PRATIO" "$(ratio "$rec_p99" "$unrec_p99")" "$(ratio "$rec_cpu" "$unrec_cpu")"
} >"$PTABLE"

RAW="$WORK/raw.md"
{
	echo "| round | run | req/s | p99 | Caddy CPU/request | requests (measured) | events stored | store size | store tables (.sst) | socket errors |"
	echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' -v b="$BATCH" '{l = ($1 == "one") ? "collect, 1 event" : "collect, " b " events"
		printf "| %s | %s | %.0f | %.2f ms | %s µs | %d | %d | %.1f MiB | | %d |\n", $2, l, $4, $5, $15, $6, $10, $13 / 1024, $9}' "$COLLECT"
	awk -F'\t' '{printf "| %s | page, %s | %.0f | %.2f ms | %s µs | %d | %d | %.1f MiB | %d | %d |\n", $2, $1, $3, $4, $13, $5, $8, $12 / 1024, $14, $7}' "$PAGES"
} >"$RAW"

DROPS=$(psum recorded 10)
DROPLINE="No page view was dropped (\`caddy_katalys_events_dropped_total\` 0): every page view queued was in the store after Caddy stopped."
[[ $DROPS -gt 0 ]] && DROPLINE="**$DROPS page views were dropped** (\`caddy_katalys_events_dropped_total\`, the store's queue was full): the page was served, its view lost."

busy_line

SECTION="$WORK/section.md"
cat >"$SECTION" <<EOF
## Behaviour recording: the collect endpoint, and pages recorded or not

Written by \`bench/collect.sh\` on $DATE. Do not edit by hand: rerun the script: \`bench/collect.sh\` (10 s per collect run, 30 s per page run, 2 rounds: about 4 minutes) or \`DURATION=5s PAGE_DURATION=10s ROUNDS=1 bench/collect.sh\` (about 1 minute), from the repository root, with Go, curl and wrk. Other variables: \`WARMUP\` (default \`2s\`), \`CONNS\` (default 16), \`KEEP=1\` (keep the temporary directory: Caddyfiles, logs, stores, wrk output), \`CADDY_BIN\`. It exits non-zero when a check fails.

$(run_facts "stores on $FS_TYPE (a 204 means the events were synced to disk; page views are committed without a sync)")
- Load: \`wrk -t$THREADS -c$CONNS --latency\`, \`-d$DURATION\` for collect runs and \`-d$PAGE_DURATION\` for page runs, after a $WARMUP warm-up. Each run has a fresh Caddy process and a fresh store directory to itself; $ROUNDS round(s), each running the four configurations in turn (collect one, collect batch, page recorded, page not recorded), medians shown.
- Site: \`encode gzip\` + \`katalys $SITE_ID\` + \`reverse_proxy\` to \`bench/upstream\`, the global option \`katalys { storage <temp dir>; bucket $SITE_ID }\`, and the admin endpoint on 127.0.0.1 to read the katalys metrics at \`/metrics\` before Caddy stops. After it stops, \`bench/storecount\` opens the store (\`storage.Open\`) and counts the bucket's events (\`Events\`).
- Every request sends a browser User-Agent (\`$BROWSER_UA\`) except the "not recorded" page runs.
${BUSY:+
$BUSY
}
### Collect endpoint: \`POST $COLLECT_PATH\`

\`wrk -s bench/collect.lua\` posts \`{"action":"addtocart","sku":"SKU-1","value":"19.90"}\` (\`EVENTS=1\`) or an array of $BATCH of them (\`EVENTS=$BATCH\`), \`Content-Type: application/json\`, and counts the responses by status. The endpoint answers 204 only once the events are committed. Checked: every response, warm-up included, was 204 (any other status fails the script), and the store held at least as many \`addtocart\` events as were acknowledged with a 204 (the store may hold a few more: requests wrk cut off when it stopped were still committed). Caddy CPU/request is the process's user + system time during the measured run over the requests wrk completed.

$(cat "$CTABLE")

### Pages: recording on vs off

The 100 KB identity page (\`/plain/100k\`, never compressed) through the site above, with a browser User-Agent (recorded: each request is a page view, and, since wrk keeps no cookies, a new visitor and a new session with two \`Set-Cookie\` headers) and with \`User-Agent: $BOT_UA\` (a bot: injected the same way, not recorded, no cookies). Checked before each run: the snippet once before \`</body>\`, the page otherwise unchanged, a visitor cookie only when recorded. After each run: the recorded store holds exactly the page views \`caddy_katalys_events_recorded_total{type="pageview"}\` counted (Caddy's shutdown drains the queue), the not-recorded store none.

$(cat "$PTABLE")

Bar from the issue: recording keeps **≥ $PAGE_BAR** of the throughput without it (here: **$PRATIO**, $(bar "$PRATIO" "$PAGE_BAR")).

$ROUND_LINE

$DROPLINE

$LOGLINE

How to read it: page views are queued without waiting (\`Store.Enqueue\`) and written by one goroutine in group commits, so the page's own latency carries only the visit's classification, two cookies and a channel send; but the writes themselves (Badger's memtable, value log and WAL sync, in the Caddy process, so counted in its CPU/request) take CPU from the same $NPROC CPUs that wrk, Caddy and the upstream share, and with every CPU busy, requests/s follow CPU per request. Page runs last $PAGE_DURATION so that a recorded run fills several of Badger's 16 MiB memtables: each is flushed to a table on disk, and tables are later compacted, work that a run too short to fill one would leave out ("store tables" in the runs below). Collect requests wait for their commit: each connection has one request waiting at a time, so requests/s are bound by the commit latency and the number of connections (\`CONNS\`), which sets how many requests one group commit can gather.

<details><summary>Every run</summary>

$(cat "$RAW")

</details>
EOF

# --- write docs/benchmarks.md: replace the section between the markers
write_section "$DOC" "$BEGIN_MARK" "$END_MARK" "$SECTION"

# --- report
log ""
log "$(cat "$CTABLE")"
log ""
log "$(cat "$PTABLE")"
log ""
log "recorded/not recorded ratio $PRATIO (bar >= $PAGE_BAR: $(bar "$PRATIO" "$PAGE_BAR"))"
log "$ROUND_LINE"
log "$DROPLINE"
log "$LOGLINE"
log "wrote the section into $DOC"
