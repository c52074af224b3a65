# bench/lib.sh: what the benchmark scripts share. Sourced, never run.
# Expects KEEP, and sets WORK, CADDY_PID, UPSTREAM_PID and CADDY_LOG for the
# scripts to fill in.

log() { printf '%s\n' "$*" >&2; }
die() {
	log "FAIL: $*"
	if [[ -n ${CADDY_LOG:-} && -s ${CADDY_LOG:-} ]]; then
		log "--- last lines of $CADDY_LOG"
		tail -n 20 "$CADDY_LOG" >&2 || true
	fi
	exit 1
}

# need_tools TOOL...: installs Debian's wrk when it is missing, and checks
# that the other tools are there.
need_tools() {
	if ! command -v wrk >/dev/null; then
		log "installing wrk"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq wrk >/dev/null
	fi
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || die "$t is needed"
	done
}

# make_workdir NAME: a temporary directory in WORK, removed on exit (kept
# with KEEP=1) after Caddy and the upstream are stopped.
make_workdir() {
	WORK=$(mktemp -d -t "$1.XXXXXX")
	UPSTREAM_PID=
	CADDY_PID=
	CADDY_LOG=
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

cleanup() {
	local rc=$?
	[[ -n $CADDY_PID ]] && { kill "$CADDY_PID" 2>/dev/null || true; wait "$CADDY_PID" 2>/dev/null || true; }
	[[ -n $UPSTREAM_PID ]] && { kill "$UPSTREAM_PID" 2>/dev/null || true; wait "$UPSTREAM_PID" 2>/dev/null || true; }
	if [[ $KEEP == 1 ]]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}

# to_ms LATENCY: a wrk latency ("812.00us", "3.21ms", "1.02s", "1.10m") in ms.
to_ms() {
	awk -v v="$1" 'BEGIN{
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000
		printf "%.3f", n }'
}

median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
bar() { awk -v r="$1" -v b="$2" 'BEGIN{ if (r == "n/a") print "n/a"; else if (r + 0 >= b) print "met"; else print "**not met**" }'; }
