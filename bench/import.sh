#!/bin/bash
#
# import.sh - benchmark: import a whole city's roster through the API and
# export it back.  Builds nothing; see bench/README.md.
#
#   SANZHANGD=./sanzhangd bench/import.sh [--runs N] [--size small|city]
#
# The city CSV is generated once (bench/gen_roster.py); then every run
# starts a fresh daemon on a fresh state directory, times
# POST /v1/roster?mode=replace over the control socket, reads the daemon's
# peak RSS (VmHWM), times GET /v1/roster.csv, checks that the export holds
# exactly the imported rows, and stops the daemon with SIGTERM.
#
# Environment: SANZHANGD, SANZHANGCTL (default ./sanzhangd, ./sanzhangctl),
# PYTHON3 (default /usr/bin/python3), TMPDIR, BENCH_TIMEOUT (seconds a
# request may take, default 600), BENCH_CONF_EXTRA (lines appended to the
# generated config), BENCH_KEEP=1 (keep the temporary directory).

set -eu -o pipefail

SANZHANGD=${SANZHANGD:-./sanzhangd}
SANZHANGCTL=${SANZHANGCTL:-./sanzhangctl}
PYTHON3=${PYTHON3:-/usr/bin/python3}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}
BENCH_CONF_EXTRA=${BENCH_CONF_EXTRA:-}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)

RUNS=3
SIZE=city
TMP=""
PID=""

usage() {
	echo "usage: $0 [--runs N] [--size small|city]" >&2
	exit 2
}

fail() {
	echo "import.sh: $*" >&2
	exit 1
}

# Stop our daemon (if one runs) and remove the temporary directory.
cleanup() {
	if [ -n "$PID" ]; then
		stop_daemon || true
	fi
	if [ -n "$TMP" ]; then
		if [ "$BENCH_KEEP" = 1 ]; then
			echo "import.sh: kept $TMP" >&2
		else
			rm -rf "$TMP"
		fi
	fi
}

# SIGTERM, then up to 10 s for the daemon to exit, then SIGKILL.
stop_daemon() {
	local i rc=0
	kill -TERM "$PID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PID" 2>/dev/null; then
		echo "import.sh: daemon $PID ignored SIGTERM for 10 s, killing" >&2
		kill -KILL "$PID" 2>/dev/null || true
		rc=1
	fi
	wait "$PID" 2>/dev/null || rc=$?
	PID=""
	return "$rc"
}

free_port() {
	"$PYTHON3" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Seconds between two `date +%s.%N` readings.
elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'
}

# The median of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 }
	    END { if (NR % 2) m = v[(NR + 1) / 2];
		  else m = (v[NR / 2] + v[NR / 2 + 1]) / 2;
		  printf "%.6f\n", m }'
}

# VmHWM of a process in kB.
peak_rss_kb() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

write_config() {
	local dir=$1 port=$2
	cat > "$dir/sanzhangd.conf" <<EOF
# written by bench/import.sh
state_dir = "$dir";
listen = [ "127.0.0.1:$port" ];
control_socket = "$dir/control.sock";
log_level = "warn";
$BENCH_CONF_EXTRA
EOF
}

# Start the daemon and wait (at most 20 s) until /healthz answers.
start_daemon() {
	local dir=$1 port=$2 i
	"$SANZHANGD" -f -c "$dir/sanzhangd.conf" > "$dir/daemon.log" 2>&1 &
	PID=$!
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$PID" 2>/dev/null; then
			wait "$PID" 2>/dev/null || true
			PID=""
			tail -n 20 "$dir/daemon.log" >&2
			fail "sanzhangd exited during start-up (log above)"
		fi
		if curl -s -o /dev/null --max-time 1 \
		    "http://127.0.0.1:$port/healthz" &&
		    [ -S "$dir/control.sock" ]; then
			return 0
		fi
		sleep 0.1
	done
	tail -n 20 "$dir/daemon.log" >&2
	fail "sanzhangd did not answer /healthz within 20 s"
}

# curl over the control socket; prints the HTTP status (000 on failure).
ctl_curl() {
	local sock=$1
	shift
	curl -s --max-time "$BENCH_TIMEOUT" -w '%{http_code}' \
	    --unix-socket "$sock" "$@" || true
}

# Format a number of kB as MB.
mb() {
	awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'
}

# One run: prints its line and appends "IMPORT_S RSS_KB EXPORT_S" to the
# results file.  Runs in the main shell, so that the EXIT trap knows $PID.
one_run() {
	local n=$1 dir port sock t0 t1 code imp exp re rss rss_end rows rate
	dir="$TMP/run$n"
	mkdir "$dir"
	port=$(free_port)
	sock="$dir/control.sock"
	write_config "$dir" "$port"
	start_daemon "$dir" "$port"

	t0=$(date +%s.%N)
	# "Expect:" stops curl waiting for a 100 Continue on a large body.
	code=$(ctl_curl "$sock" -o "$dir/import.out" \
	    --data-binary "@$TMP/city.csv" \
	    -H 'Content-Type: text/csv' -H 'Expect:' \
	    'http://localhost/v1/roster?mode=replace')
	t1=$(date +%s.%N)
	imp=$(elapsed "$t0" "$t1")
	if [ "$code" != 200 ]; then
		head -c 2000 "$dir/import.out" >&2 || true
		echo >&2
		fail "run $n: import answered HTTP $code after $imp s"
	fi
	rss=$(peak_rss_kb "$PID")

	t0=$(date +%s.%N)
	code=$(ctl_curl "$sock" -o "$dir/export.csv" \
	    'http://localhost/v1/roster.csv')
	t1=$(date +%s.%N)
	exp=$(elapsed "$t0" "$t1")
	[ "$code" = 200 ] || fail "run $n: export answered HTTP $code"

	tail -n +2 "$dir/export.csv" | tr -d '\r' | LC_ALL=C sort \
	    > "$dir/export.sorted"
	if ! cmp -s "$TMP/expected.sorted" "$dir/export.sorted"; then
		# The data is synthetic, but phones are masked all the same.
		diff "$TMP/expected.sorted" "$dir/export.sorted" | head -n 20 |
		    sed -E 's/(1[3-9][0-9])[0-9]{4}([0-9]{4})/\1****\2/g' >&2 ||
		    true
		fail "run $n: the export differs from the input (diff above)"
	fi
	rows=$(wc -l < "$dir/export.sorted")

	# The same file again onto the full roster: the periodic refresh,
	# where every row is looked up and nothing changes.
	t0=$(date +%s.%N)
	code=$(ctl_curl "$sock" -o "$dir/reimport.out" \
	    --data-binary "@$TMP/city.csv" \
	    -H 'Content-Type: text/csv' -H 'Expect:' \
	    'http://localhost/v1/roster?mode=replace')
	t1=$(date +%s.%N)
	re=$(elapsed "$t0" "$t1")
	[ "$code" = 200 ] || fail "run $n: re-import answered HTTP $code"
	rss_end=$(peak_rss_kb "$PID")

	stop_daemon ||
	    echo "import.sh: run $n: sanzhangd did not exit cleanly" >&2
	[ "$BENCH_KEEP" = 1 ] || rm -rf "$dir"

	rate=$(awk -v r="$rows" -v t="$imp" 'BEGIN { printf "%.0f", r / t }')
	printf 'run %d: import %.2f s (%s posts/s), peak RSS %s MB; ' \
	    "$n" "$imp" "$rate" "$(mb "$rss")"
	printf 'export %.2f s, %d rows equal to the input; ' "$exp" "$rows"
	printf 're-import %.2f s; peak RSS at the end %s MB\n' \
	    "$re" "$(mb "$rss_end")"
	echo "$imp $rss $exp $re $rss_end" >> "$TMP/results"
}

main() {
	local gen_args=() n
	while [ $# -gt 0 ]; do
		case $1 in
		--runs) [ $# -ge 2 ] || usage; RUNS=$2; shift 2 ;;
		--size) [ $# -ge 2 ] || usage; SIZE=$2; shift 2 ;;
		-h|--help) usage ;;
		*) usage ;;
		esac
	done
	case $RUNS in
	''|*[!0-9]*|0) fail "--runs wants a positive integer" ;;
	esac
	case $SIZE in
	city) gen_args=() ;;
	# ~10,000 posts: 3 streets (one a town of villages), 30 communities.
	small) gen_args=(--streets 3 --communities-per-street 10
	    --villages-fraction 0.2) ;;
	*) usage ;;
	esac

	[ -x "$SANZHANGD" ] || fail "no sanzhangd at $SANZHANGD (set SANZHANGD)"
	[ -x "$SANZHANGCTL" ] ||
	    echo "import.sh: note: no sanzhangctl at $SANZHANGCTL (not needed: curl is the client)" >&2
	command -v curl > /dev/null || fail "curl is needed"
	[ -x "$PYTHON3" ] || fail "no python3 at $PYTHON3 (set PYTHON3)"

	TMP=$(mktemp -d "${TMPDIR:-/tmp}/sanzhang-bench.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	"$PYTHON3" "$BENCH_DIR/gen_roster.py" "${gen_args[@]}" \
	    --out "$TMP/city.csv" 2> "$TMP/gen.log" ||
	    { cat "$TMP/gen.log" >&2; fail "gen_roster.py failed"; }
	sed 's/^/import.sh: /' "$TMP/gen.log" >&2
	tail -n +2 "$TMP/city.csv" | LC_ALL=C sort > "$TMP/expected.sorted"

	: > "$TMP/results"
	for ((n = 1; n <= RUNS; n++)); do
		one_run "$n"
	done

	printf 'import: median %.2f s over %d runs, peak RSS median %s MB; export: median %.2f s\n' \
	    "$(awk '{ print $1 }' "$TMP/results" | median)" "$RUNS" \
	    "$(mb "$(awk '{ print $2 }' "$TMP/results" | median)")" \
	    "$(awk '{ print $3 }' "$TMP/results" | median)"
	printf 're-import onto the full roster: median %.2f s; peak RSS over all three median %s MB\n' \
	    "$(awk '{ print $4 }' "$TMP/results" | median)" \
	    "$(mb "$(awk '{ print $5 }' "$TMP/results" | median)")"
}

main "$@"
