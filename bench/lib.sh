# shellcheck shell=bash disable=SC2034 # variables set here are read by the scripts
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

# command_line SCRIPT [VAR DEFAULT]...: the command line the document
# records: DURATION and ROUNDS, WARMUP unless 2s, and each VAR that is not
# at its DEFAULT.
command_line() {
	local cmd=$1
	shift
	if [[ $WARMUP != 2s ]]; then cmd="WARMUP=$WARMUP $cmd"; fi
	while (($# >= 2)); do
		if [[ ${!1} != "$2" ]]; then cmd="$1=${!1} $cmd"; fi
		shift 2
	done
	echo "DURATION=$DURATION ROUNDS=$ROUNDS $cmd"
}

# build_all TOOL...: builds bench/upstream, the named bench/ tools and
# Caddy with the plugin into WORK (or copies CADDY_BIN there), and sets
# CADDY.
build_all() {
	log "building into $WORK"
	go build -o "$WORK/upstream" ./bench/upstream
	local tool
	for tool in "$@"; do
		go build -o "$WORK/$tool" "./bench/$tool"
	done
	if [[ -n ${CADDY_BIN:-} ]]; then
		cp "$CADDY_BIN" "$WORK/caddy"
	else
		go build -o "$WORK/caddy" ./cmd/caddy
	fi
	CADDY="$WORK/caddy"
}

# run_facts [NOTE]: the Command, Machine (NOTE appended) and Versions lines
# of a document section, from CMD and machine_facts.
run_facts() {
	printf -- '- Command: `%s` (from the repository root)\n' "$CMD"
	printf -- '- Machine: %s CPUs (%s), %s; load average %s before, %s after%s\n' \
		"$NPROC" "$CPU_MODEL" "$MEM_TOTAL" "$LOAD_BEFORE" "$LOAD_AFTER" "${1:+; $1}"
	printf -- '- Versions: %s, Caddy %s, %s, caddy-katalys %s\n' "$GO_VERSION" "$CADDY_VERSION" "$WRK_VERSION" "$REV"
}

# machine_facts: the versions, machine and time the document records.
machine_facts() {
	GO_VERSION=$(go version | awk '{print $3, $4}')
	CADDY_VERSION=$("$CADDY" version | awk '{print $1}')
	WRK_VERSION=$(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}' || true)
	REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [[ -n $(git status --porcelain -- . 2>/dev/null | head -n1) ]]; then REV="$REV + uncommitted changes"; fi
	NPROC=$(nproc)
	CPU_MODEL=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)
	MEM_TOTAL=$(awk '/^MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)
	DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
}

# start_upstream: bench/upstream on a free 127.0.0.1 port, in UPSTREAM.
start_upstream() {
	"$WORK/upstream" -addr 127.0.0.1:0 -addr-file "$WORK/upstream.addr" >"$WORK/upstream.log" 2>&1 &
	UPSTREAM_PID=$!
	for _ in $(seq 600); do
		[[ -s $WORK/upstream.addr ]] && break
		kill -0 "$UPSTREAM_PID" 2>/dev/null || die "upstream exited: $(cat "$WORK/upstream.log")"
		sleep 0.1
	done
	[[ -s $WORK/upstream.addr ]] || die "upstream did not start"
	UPSTREAM=$(head -n1 "$WORK/upstream.addr")
	log "upstream on $UPSTREAM"
}

# run_caddy NAME CADDYFILE PROBE_PATH: starts Caddy on CADDYFILE (its output
# appended to CADDY_LOG) and waits until PROBE_PATH answers on
# 127.0.0.1:PORT; sets CADDY_PID.
run_caddy() {
	local name=$1 file=$2 probe=$3
	echo "=== start $(date -u +%T) port $PORT" >>"$CADDY_LOG"
	mkdir -p "$WORK/xdg-data" "$WORK/xdg-config"
	XDG_DATA_HOME="$WORK/xdg-data" XDG_CONFIG_HOME="$WORK/xdg-config" \
		"$CADDY" run --config "$file" --adapter caddyfile >>"$CADDY_LOG" 2>&1 &
	CADDY_PID=$!
	for _ in $(seq 200); do
		if curl -fsS -o /dev/null --max-time 2 -A curl/8 "http://127.0.0.1:$PORT$probe" 2>/dev/null; then
			return 0
		fi
		kill -0 "$CADDY_PID" 2>/dev/null || { CADDY_PID=; die "Caddy ($name) exited at start"; }
		sleep 0.1
	done
	die "Caddy ($name) did not answer on 127.0.0.1:$PORT"
}

# run_rounds: calls measure CONFIG ROUND for every round and every config of
# CONFIGS (alternated), then records LOAD_AFTER and scans the Caddy logs.
run_rounds() {
	local round config
	for round in $(seq "$ROUNDS"); do
		for config in "${CONFIGS[@]}"; do
			measure "$config" "$round"
		done
	done
	LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
	scan_caddy_logs
}

stop_caddy() {
	kill "$CADDY_PID" 2>/dev/null || true
	wait "$CADDY_PID" 2>/dev/null || true
	CADDY_PID=
}

# scan_caddy_logs: error-level lines of every Caddy log of the run, into
# LOG_ERRORS (a file) and LOGLINE (a sentence for the document).
scan_caddy_logs() {
	LOG_ERRORS="$WORK/log-errors.txt"
	: >"$LOG_ERRORS"
	local f
	for f in "$WORK"/caddy-*.log; do
		[[ -e $f ]] || continue
		grep -E '"level":"(error|panic|fatal)"|^panic:|^fatal error:' "$f" | sed "s|^|$(basename "$f" .log): |" >>"$LOG_ERRORS" || true
	done
	LOGLINE="No error-level lines in the Caddy logs."
	if [[ -s $LOG_ERRORS ]]; then
		log "WARNING: $(wc -l <"$LOG_ERRORS") error lines in the Caddy logs; first ones:"
		head -n 5 "$LOG_ERRORS" >&2
		LOGLINE="**$(wc -l <"$LOG_ERRORS") error-level lines in the Caddy logs** (first: \`$(head -n1 "$LOG_ERRORS" | cut -c1-300 | tr '`' "'")\`)."
	fi
}

# busy_line: BUSY, a warning for the document when the machine was loaded
# before the run (empty otherwise).
busy_line() {
	BUSY=
	if awk -v l="${LOAD_BEFORE%% *}" -v n="$NPROC" 'BEGIN{exit !(l >= n / 2)}'; then
		BUSY="**The machine was busy**: load average ${LOAD_BEFORE%% *} on $NPROC CPUs before the run, so other processes competed with the benchmark and the numbers are noisy. Rerun on an idle machine."
		log "WARNING: load average ${LOAD_BEFORE%% *} on $NPROC CPUs before the run: numbers are noisy"
	fi
}

# write_section DOC BEGIN_MARK END_MARK FILE: replaces what stands between
# the two marker lines of DOC with FILE (adding the markers if missing).
write_section() {
	local doc=$1 begin=$2 end=$3 section=$4
	mkdir -p "$(dirname "$doc")"
	if [[ ! -f $doc ]]; then
		printf '# Benchmarks\n\n%s\n%s\n' "$begin" "$end" >"$doc"
	fi
	if ! grep -qF "$begin" "$doc" || ! grep -qF "$end" "$doc"; then
		printf '\n%s\n%s\n' "$begin" "$end" >>"$doc"
	fi
	awk -v f="$section" -v b="$begin" -v e="$end" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$doc" >"$WORK/doc.md"
	cat "$WORK/doc.md" >"$doc"
}
