#!/bin/bash
#
# ack.sh - benchmark: acknowledgements.  Every recipient of one drill
# answers through their own link (POST /a/TOKEN, response=1, distinct
# tokens, 64 in flight), against a bare evhttp handler (bench/sink)
# answering the same requests in the same run.
#
#   make bench && BUILD=$PWD bench/ack.sh [--runs N] [--streets N]
#
# Prints per run: the daemon's rate (each answer durable before its 303),
# the sink's, their ratio, and the answers the daemon counts afterwards
# (which must be all of them), and how many answers shared a group commit
# (GET /healthz db_writes / db_commits).  Then the medians.
#
# Environment: SANZHANGD, BUILD (holds bench/sink, bench/rawpost and
# plugins/.libs), PYTHON3.

set -eu -o pipefail

BUILD=${BUILD:-$(pwd)}
SANZHANGD=${SANZHANGD:-$BUILD/sanzhangd}
PYTHON3=${PYTHON3:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=3
STREETS=5
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--streets) STREETS=$2; shift 2 ;;
	*) echo "usage: $0 [--runs N] [--streets N]" >&2; exit 2 ;;
	esac
done

rate_of() { sed -n 's/.*rate \([0-9]*\) req\/s.*/\1/p'; }

"$PYTHON3" "$HERE/gen_roster.py" --streets "$STREETS" --out "$TMP/roster.csv" 2>/dev/null
"$PYTHON3" - "$TMP/roster.csv" > "$TMP/alert.json" <<'PY'
import csv, json, sys
codes = sorted({r["street_code"] for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))})
print(json.dumps({"kind": "drill", "severity": "yellow", "title": "应答压力测试",
                  "body": "请点击链接回复收到。", "targets": codes,
                  "expires_in": 86400}))
PY
printf 'response=1' > "$TMP/body"

sport=$(free_port)
"$BUILD/bench/sink" -p "$sport" > "$TMP/sink.out" 2>&1 &
PIDS+=($!)
wait_for 5 curl -sf "http://127.0.0.1:$sport/_count"

one_run() {
	local n=$1 dir="$TMP/run$n" port sock pid total lines acked d s ratio
	mkdir -p "$dir"
	port=$(free_port)
	sock="$dir/c.sock"
	start_daemon "$dir" "$port" f \
	    "{ name = \"f\"; plugin = \"file\"; path = \"$dir/messages.log\"; }"
	pid=$DAEMON_PID
	import_roster "$sock" "$TMP/roster.csv"
	total=$(curl -sf -H 'Content-Type: application/json' --data-binary "@$TMP/alert.json" \
	    --unix-socket "$sock" http://localhost/v1/alerts |
	    sed -n 's/.*"recipients":\([0-9]*\).*/\1/p')
	# Every link, once the file channel has written them all.
	for _ in $(seq 1 600); do
		lines=0
		[ -f "$dir/messages.log" ] && lines=$(wc -l < "$dir/messages.log")
		[ "$lines" -ge "$total" ] && break
		sleep 0.1
	done
	sed -n 's/.*"ack_url":"http:\/\/[^/]*\(\/a\/[a-z0-9]*\)".*/\1/p' \
	    "$dir/messages.log" > "$dir/links"

	curl -sf "http://127.0.0.1:$port/healthz" > "$dir/health.before"
	"$BUILD/bench/rawpost" -n "$total" -c 64 -T application/x-www-form-urlencoded \
	    -b "$TMP/body" -u "$dir/links" "http://127.0.0.1:$port" > "$dir/rawpost" || true
	d=$(rate_of < "$dir/rawpost")
	curl -sf "http://127.0.0.1:$port/healthz" > "$dir/health.after"
	per=$("$PYTHON3" - "$dir/health.before" "$dir/health.after" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
w = b["db_writes"] - a["db_writes"]
c = b["db_commits"] - a["db_commits"]
print("%.1f" % (w / c if c else 0))
PY
)
	acked=$(curl -sf --unix-socket "$sock" http://localhost/v1/alerts/1 |
	    "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["counts"]["acked"])')
	kill "$pid"; wait "$pid" 2>/dev/null || true
	curl -s -X POST "http://127.0.0.1:$sport/_reset" >/dev/null
	s=$("$BUILD/bench/rawpost" -n "$total" -c 64 -T application/x-www-form-urlencoded \
	    -b "$TMP/body" -u "$dir/links" "http://127.0.0.1:$sport" | rate_of)
	ratio=$(awk -v a="$d" -v b="$s" 'BEGIN { printf "%.0f", 100 * a / b }')
	printf 'run %d: %d answers; sanzhangd %d/s vs bare evhttp %d/s = %d%%; recorded %d of %d; %s answers per commit (%s)\n' \
	    "$n" "$total" "$d" "$s" "$ratio" "$acked" "$total" "$per" \
	    "$(sed -n 's/.*\(errors [0-9]*\).*/\1/p' "$dir/rawpost")"
	echo "$d $s $ratio" >> "$TMP/results"
}

for n in $(seq 1 "$RUNS"); do one_run "$n"; done
for i in 1 2 3; do eval "m$i=\$(awk '{ print \$$i }' \"\$TMP/results\" | med)"; done
printf 'median of %d: sanzhangd %s answers/s; bare evhttp %s/s; ratio %s%%\n' \
    "$RUNS" "$m1" "$m2" "$m3"
