#!/bin/bash
#
# fanout.sh - benchmark: one alert to a whole generated city through the
# webhook plugin into a loopback sink, against the raw ceiling of a plain
# libcurl-multi client posting as many bodies to the same sink.
#
#   make bench && bench/fanout.sh [--runs N] [--size small|city]
#
# Prints per run: the ceiling (req/s, before and after, averaged), the daemon's fan-out rate from the
# first to the last request the sink saw, their ratio, the time until the
# 201 answer, the daemon's peak RSS, and the p99 latency of GET /healthz
# sampled every 20 ms during the fan-out.  Then the medians.
#
# Environment: SANZHANGD, BUILD (default: the current directory, which
# holds bench/sink, bench/rawpost and plugins/.libs), PYTHON3.

set -eu -o pipefail

BUILD=${BUILD:-$(pwd)}
SANZHANGD=${SANZHANGD:-$BUILD/sanzhangd}
PYTHON3=${PYTHON3:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=3
SIZE=city
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	*) echo "usage: $0 [--runs N] [--size small|city]" >&2; exit 2 ;;
	esac
done

count() { curl -s "http://127.0.0.1:$1/_count" | sed -n 's/.*"requests": *\([0-9]*\).*/\1/p'; }
span() { curl -s "http://127.0.0.1:$1/_count" | "$PYTHON3" -c 'import json,sys; d=json.load(sys.stdin); print(d["last_ts"]-d["first_ts"])'; }

if [ "$SIZE" = small ]; then
	"$PYTHON3" "$HERE/gen_roster.py" --streets 10 --out "$TMP/city.csv" 2>/dev/null
else
	"$PYTHON3" "$HERE/gen_roster.py" --out "$TMP/city.csv" 2>/dev/null
fi
"$PYTHON3" - "$TMP/city.csv" > "$TMP/alert.json" <<'PY'
import csv, json, sys
codes = sorted({r["street_code"] for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))})
print(json.dumps({"kind": "drill", "severity": "yellow", "title": "全市消防疏散演练",
                  "body": "11月30日10:00开展全市消防疏散演练，请各网格长、楼栋长、单元长组织居民参加。",
                  "targets": codes}))
PY

sport=$(free_port)
"$BUILD/bench/sink" -p "$sport" > "$TMP/sink.out" 2>&1 &
PIDS+=($!)
wait_for 5 curl -sf "http://127.0.0.1:$sport/_count"

ceiling() {	# ceiling N: rawpost's rate for N requests to the sink
	curl -s -X POST "http://127.0.0.1:$sport/_reset" >/dev/null
	"$BUILD/bench/rawpost" -n "$1" -c 64 "http://127.0.0.1:$sport/hook" |
	    sed -n 's/.*rate \([0-9]*\) req\/s.*/\1/p'
}
posts=$(($(wc -l < "$TMP/city.csv") - 1))

one_run() {
	local n=$1 dir="$TMP/run$n" port sock pid t0 t1 total ceil ceil1 rate ratio rss p99
	mkdir -p "$dir"
	port=$(free_port)
	sock="$dir/c.sock"
	start_daemon "$dir" "$port" hook "{ name = \"hook\"; plugin = \"webhook\";
	    concurrency = 64; url = \"http://127.0.0.1:$sport/hook\";
	    secret = \"whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g=\"; }"
	pid=$DAEMON_PID
	import_roster "$sock" "$TMP/city.csv"

	# The ceiling just before and just after the daemon's run, averaged:
	# this machine's speed drifts, and the ratio compares like with like.
	ceil1=$(ceiling "$posts")
	curl -s -X POST "http://127.0.0.1:$sport/_reset" >/dev/null
	# The disk quiet first: the previous run's files (its database, 1 GB,
	# checkpointed at its stop) are otherwise still being written back and
	# slow the fsync of this alert's commit.
	sync
	t0=$(date +%s.%N)
	total=$(curl -sf -H 'Content-Type: application/json' --data-binary "@$TMP/alert.json" \
	    --unix-socket "$sock" http://localhost/v1/alerts |
	    sed -n 's/.*"recipients":\([0-9]*\).*/\1/p')
	t1=$(date +%s.%N)
	# /healthz latency while the fan-out runs.
	"$PYTHON3" - "$port" "$sport" "$total" > "$dir/health" <<'PY' &
import http.client, json, sys, time
port, sport, total = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
lat, deadline = [], time.time() + 900
def sent():
    c = http.client.HTTPConnection("127.0.0.1", sport, timeout=5)
    c.request("GET", "/_count"); return json.loads(c.getresponse().read())["requests"]
while time.time() < deadline:
    t = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/healthz"); c.getresponse().read(); c.close()
    lat.append(time.perf_counter() - t)
    if len(lat) % 25 == 0 and sent() >= total:
        break
    time.sleep(0.02)
lat.sort()
print("%.1f" % (1000 * lat[int(0.99 * (len(lat) - 1))]))
PY
	local hp=$!
	wait "$hp"
	p99=$(cat "$dir/health")
	rate=$(awk -v n="$total" -v s="$(span "$sport")" 'BEGIN { printf "%.0f", n / s }')
	rss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
	kill "$pid"; wait "$pid" 2>/dev/null || true

	ceil=$(awk -v a="$ceil1" -v b="$(ceiling "$total")" 'BEGIN { printf "%.0f", (a + b) / 2 }')
	ratio=$(awk -v a="$rate" -v b="$ceil" 'BEGIN { printf "%.0f", 100 * a / b }')
	printf 'run %d: %d recipients; 201 after %.2f s; fan-out %d/s vs raw ceiling %d/s = %d%%; peak RSS %d MB; /healthz p99 %s ms\n' \
	    "$n" "$total" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
	    "$rate" "$ceil" "$ratio" "$rss" "$p99"
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $rate $ceil $ratio $rss $p99" >> "$TMP/results"
}

for n in $(seq 1 "$RUNS"); do one_run "$n"; done
for i in 1 2 3 4 5 6; do eval "m$i=\$(awk '{ print \$$i }' \"\$TMP/results\" | med)"; done
printf 'median of %d: 201 after %.2f s; fan-out %s/s; ceiling %s/s; ratio %s%%; peak RSS %s MB; /healthz p99 %s ms\n' \
    "$RUNS" "$m1" "$m2" "$m3" "$m4" "$m5" "$m6"
