#!/usr/bin/env bash
# bench/deliver.sh: delivery to Katalys while pages are served, measured
# through a real Caddy on this machine and written into docs/benchmarks.md.
#
# bench/outboxfill stores BACKLOG captured orders (default 100,000) in a
# store's delivery outbox, once. Then, alternated round by round:
#
#   draining  Caddy with katalys on a copy of that store, delivering the
#             backlog to bench/upstream's stand-in for Katalys' endpoint
#             while wrk fetches the 100 KB page through it;
#   idle      the same Caddy on an empty store: nothing to deliver.
#
# The bar of the issue: draining a backlog costs page throughput no more
# than 10 % (draining / idle >= 0.9). The deliveries per second while pages
# are served come from the stand-in's counter.
#
# Usage, from the repository root:
#
#	bench/deliver.sh                      # DURATION=10s ROUNDS=2 BACKLOG=100000
#	DURATION=5s ROUNDS=1 bench/deliver.sh
#
# Environment: DURATION, ROUNDS, WARMUP (default 2s), CONNS (default 16),
# BACKLOG, CADDY_BIN, KEEP=1. Everything listens on 127.0.0.1.
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-16}
BACKLOG=${BACKLOG:-100000}
KEEP=${KEEP:-0}
THREADS=1
SITE_ID=KA-7Q2M9X4B1Z
BROWSER_UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'
CONFIGS=(draining idle)
DOC=docs/benchmarks.md
BEGIN_MARK='<!-- deliver.sh:begin -->'
END_MARK='<!-- deliver.sh:end -->'
BAR=0.9

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

set -o errtrace
trap 'log "FAIL: bench/deliver.sh line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR

[[ -f go.mod && -d cmd/caddy && -d bench/upstream && -d bench/outboxfill ]] || die "run from the repository root"

CMD=$(command_line bench/deliver.sh BACKLOG 100000)

need_tools curl go awk
make_workdir katalys-deliver
build_all outboxfill
machine_facts
start_upstream

log "filling a store with $BACKLOG orders waiting for delivery (once)"
FILL_LINE=$("$WORK/outboxfill" -dir "$WORK/backlog" -bucket "$SITE_ID" -n "$BACKLOG")
log "  $FILL_LINE"

collected() { curl -fsS --max-time 5 "http://$UPSTREAM/stats" | sed -E 's/.*"collected":([0-9]+).*/\1/'; }

# start_caddy CONFIG ROUND: a fresh Caddy on a fresh store (a copy of the
# backlog for draining); sets CADDY_PID, PORT, CADDY_LOG.
start_caddy() {
	local config=$1 round=$2 store="$WORK/store-$1-$2"
	rm -rf "$store"
	if [[ $config == draining ]]; then cp -r "$WORK/backlog" "$store"; fi
	PORT=$("$WORK/upstream" -free-ports 1)
	CADDY_LOG="$WORK/caddy-$config.log"
	cat >"$WORK/$config.Caddyfile" <<EOF
{
	admin off
	auto_https off
	default_bind 127.0.0.1
	persist_config off
	log {
		level ERROR
	}
	katalys {
		storage $store
		deliver http://$UPSTREAM/v2/_tr_offline
	}
}

http://:$PORT {
	encode gzip
	katalys $SITE_ID
	reverse_proxy $UPSTREAM
}
EOF
	run_caddy "$config" "$WORK/$config.Caddyfile" /plain/10k
}

RESULTS="$WORK/results.tsv" # config round rps p99_ms delivered_during_run
: >"$RESULTS"

measure() {
	local config=$1 round=$2 out="$WORK/wrk-$1-$2.txt" url c0 c1
	start_caddy "$config" "$round"
	url="http://127.0.0.1:$PORT/plain/100k"
	wrk -t"$THREADS" -c"$CONNS" -H "User-Agent: $BROWSER_UA" -d"$WARMUP" "$url" >/dev/null
	c0=$(collected)
	wrk -t"$THREADS" -c"$CONNS" --latency -H "User-Agent: $BROWSER_UA" -d"$DURATION" "$url" >"$out" ||
		die "wrk failed: $(cat "$out")"
	c1=$(collected)
	stop_caddy
	local rps p99 non2xx delivered=$((c1 - c0))
	rps=$(awk '/^Requests\/sec:/{print $2}' "$out")
	p99=$(to_ms "$(awk '$1=="99%"{print $2}' "$out")")
	non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$out")
	[[ -z $non2xx ]] || die "$config: $non2xx responses were not 2xx/3xx"
	if [[ $config == draining ]]; then
		[[ $delivered -gt 0 ]] || die "draining: no delivery reached the collector during the run"
	else
		[[ $delivered -eq 0 ]] || die "idle: $delivered deliveries with nothing to deliver"
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$config" "$round" "$rps" "$p99" "$delivered" >>"$RESULTS"
	log "$(printf '  round %d  %-8s %9.0f req/s  p99 %8.2f ms  deliveries during the run: %d' "$round" "$config" "$rps" "$p99" "$delivered")"
}

log "measuring: wrk -t$THREADS -c$CONNS -d$DURATION --latency on the 100 KB page, warm-up $WARMUP, $ROUNDS round(s)"
run_rounds

col() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c {print $f}' "$RESULTS" | median; }
drain=$(col draining 3)
idle=$(col idle 3)
r=$(ratio "$drain" "$idle")
secs=$(awk -v d="$DURATION" 'BEGIN{ n = d + 0; if (d ~ /m$/) n *= 60; print n }')
dps=$(awk -v n="$(col draining 5)" -v s="$secs" 'BEGIN{ printf "%.0f", n / s }')
busy_line

SECTION="$WORK/section.md"
cat >"$SECTION" <<EOF
## Delivery: page throughput while a backlog of orders drains

Written by \`bench/deliver.sh\` on $DATE. Do not edit by hand: rerun the script.

$(run_facts)
- Backlog: $BACKLOG orders waiting in the outbox, stored with \`bench/outboxfill\` ($FILL_LINE); each draining run starts on a fresh copy.
- Load: \`wrk -t$THREADS -c$CONNS -d$DURATION --latency\` on the 100 KB identity page with a browser User-Agent, after a $WARMUP warm-up; configurations alternated, $ROUNDS round(s), medians shown. Deliveries go to \`bench/upstream\`'s stand-in for Katalys' endpoint (204), at the defaults (concurrency 1, at most 100 a second), on the same CPUs as Caddy, the upstream and wrk: the stand-in's own work counts against the pages here, where a real Katalys endpoint runs elsewhere.
${BUSY:+
$BUSY
}
Bar from the issue: draining a backlog reduces page throughput by no more than 10 % (draining / idle **≥ $BAR**; here: **$r**, $(bar "$r" "$BAR")).

| configuration | req/s | p99 | deliveries during the run |
|---|---:|---:|---:|
| idle (nothing to deliver) | $(printf '%.0f' "$idle") | $(printf '%.2f' "$(col idle 4)") ms | 0 |
| draining ($BACKLOG waiting) | $(printf '%.0f' "$drain") | $(printf '%.2f' "$(col draining 4)") ms | $(col draining 5) (about $dps per second) |

$LOGLINE

<details><summary>Every run</summary>

| round | config | req/s | p99 | deliveries |
|---:|---|---:|---:|---:|
$(awk -F'\t' '{printf "| %s | %s | %.0f | %.2f ms | %s |\n", $2, $1, $3, $4, $5}' "$RESULTS")

</details>
EOF
write_section "$DOC" "$BEGIN_MARK" "$END_MARK" "$SECTION"
log ""
log "draining / idle: $r (bar >= $BAR: $(bar "$r" "$BAR")); about $dps deliveries per second while serving pages"
log "$LOGLINE"
log "wrote the section into $DOC"
