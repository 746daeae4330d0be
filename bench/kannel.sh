#!/bin/bash
#
# kannel.sh - benchmark: one drill to N recipients (default 10,000) through
# the sms_kannel plugin into a real Kannel on loopback (bearerbox, smsbox,
# fakesmsc as the phones), in two modes:
#
#   batch   a drill template with no per-recipient placeholder, so every
#           text is the same and one sendsms request carries up to `batch`
#           numbers ("【演练】{title}：{body} 回复1确认");
#   single  the default templates, whose ack link differs per recipient,
#           so one number per request.
#
#   make bench && BUILD=$PWD bench/kannel.sh [--runs N] [--recipients N]
#       [--concurrency K] [--batch N] [--dlr-mask M] [--kannel-log-level L]
#
# Prints per run and mode: the time until the 201 answer, the rate the
# phones saw (recipients divided by the time between the first and the
# last message fakesmsc printed, and from the POST to the last one), the
# sendsms requests the daemon made (delta of "requests" of the channel in
# GET /healthz) and messages per request, the channel's peak in-flight
# requests, and when every delivery report was back.  Then the medians.
# Each run starts a fresh Kannel and a fresh daemon (rate unlimited,
# concurrency 64 by default) on free loopback ports; bench/kannel_bench.py
# does one run and prints JSON.
#
# Environment: SANZHANGD, BUILD (default: the current directory, which
# holds sanzhangd and plugins/.libs), PYTHON3 (default /usr/bin/python3).

set -eu -o pipefail

BUILD=${BUILD:-$(pwd)}
SANZHANGD=${SANZHANGD:-$BUILD/sanzhangd}
PYTHON3=${PYTHON3:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=3
RECIPIENTS=10000
CONCURRENCY=64
BATCH=100
DLR_MASK=31
KANNEL_LOG_LEVEL=0
RUN_TIMEOUT=300		# seconds for one run's messages to reach the phones
TMP=$(mktemp -d)
RUNNING=		# the current run's helper (timeout, then kannel_bench.py)
RUN_DIR=		# and its directory

usage() {
	echo "usage: $0 [--runs N] [--recipients N] [--concurrency K] [--batch N]" \
	    "[--dlr-mask M] [--kannel-log-level L]" >&2
	exit 2
}

# Our own helper first (it stops what it started on SIGTERM), then, as a
# last resort, any daemon or Kannel process of the current run that it
# recorded and left alive (the daemon and both boxes name a file of ours
# on their command line; fakesmsc does not).
cleanup() {
	local p cmd
	if [ -n "$RUNNING" ]; then
		kill -TERM "$RUNNING" 2>/dev/null || true
		for _ in $(seq 1 300); do kill -0 "$RUNNING" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$RUNNING" 2>/dev/null || true
	fi
	if [ -n "$RUN_DIR" ]; then
		while read -r p; do
			cmd=$( { tr '\0' ' ' < "/proc/$p/cmdline"; } 2>/dev/null) || continue
			case $cmd in
			*"$TMP"*|*/fakesmsc\ *) kill -KILL "$p" 2>/dev/null || true ;;
			esac
		done < <(cat "$RUN_DIR/pids" 2>/dev/null)
	fi
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
	--recipients) RECIPIENTS=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
	--concurrency) CONCURRENCY=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
	--batch) BATCH=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
	--dlr-mask) DLR_MASK=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
	--kannel-log-level) KANNEL_LOG_LEVEL=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
	*) usage ;;
	esac
done
for v in "$RUNS" "$RECIPIENTS" "$CONCURRENCY" "$BATCH" "$DLR_MASK" "$KANNEL_LOG_LEVEL"; do
	case $v in ''|*[!0-9]*) usage ;; esac
done
[ "$RUNS" -ge 1 ] && [ "$RECIPIENTS" -ge 1 ] && [ "$CONCURRENCY" -ge 1 ] || usage
[ -x "$SANZHANGD" ] || { echo "$0: no $SANZHANGD (set BUILD or SANZHANGD)" >&2; exit 2; }
[ -x /usr/lib/kannel/test/fakesmsc ] || { echo "$0: kannel-extras not installed" >&2; exit 2; }

# A copy of the daemon and the plugins: a rebuild during the runs (the tree
# may be shared) must not change what is measured half-way.
mkdir -p "$TMP/bin" "$TMP/plugins"
cp "$SANZHANGD" "$TMP/bin/sanzhangd"
cp "$BUILD"/plugins/.libs/*.so "$TMP/plugins/"

"$PYTHON3" "$HERE/kannel_bench.py" roster --recipients "$RECIPIENTS" --out "$TMP/roster.csv"

one_run() {	# one_run N MODE: prints the run's line, appends its figures to $TMP/MODE
	local n=$1 mode=$2 dir="$TMP/run$n-$2" rc
	mkdir -p "$dir"
	timeout -k 30 $((RUN_TIMEOUT + 120)) "$PYTHON3" "$HERE/kannel_bench.py" run \
	    --sanzhangd "$TMP/bin/sanzhangd" --plugin-dir "$TMP/plugins" \
	    --roster "$TMP/roster.csv" --recipients "$RECIPIENTS" --mode "$mode" \
	    --workdir "$dir" --pidfile "$dir/pids" --timeout "$RUN_TIMEOUT" \
	    --concurrency "$CONCURRENCY" --batch "$BATCH" --dlr-mask "$DLR_MASK" \
	    --kannel-log-level "$KANNEL_LOG_LEVEL" > "$dir/out.json" &
	RUNNING=$! RUN_DIR=$dir
	rc=0; wait "$RUNNING" || rc=$?
	RUNNING=
	if [ "$rc" -ne 0 ]; then
		echo "run $n $mode: failed (exit $rc)" >&2
		return 1
	fi
	RUN_DIR=
	"$PYTHON3" - "$n" "$dir/out.json" "$TMP/$mode" <<'PY'
import json, sys
n, r = sys.argv[1], json.load(open(sys.argv[2]))
CPU = ("sanzhangd", "bearerbox", "smsbox", "fakesmsc", "others")
extra = r["messages"] - r["recipients"]
if not r["dlr_mask"] & 1:
    dlr = "no delivery reports asked"
elif r["dlr_span"] is not None:
    dlr = "all delivered %.2f s after the POST" % r["dlr_span"]
else:
    dlr = "%d delivered" % r["delivered"]
trouble = ""
if extra or r["received"] != r["distinct"]:
    trouble += "; DUPLICATES: %d extra sends, %d extra messages at the phones" % (
        extra, r["received"] - r["distinct"])
if r["retried"] or r["failed"]:
    trouble += "; retried %d, failed %d" % (r["retried"], r["failed"])
print("run %s %s %d recipients x %d part(s); 201 after %.3f s; phones %.0f msgs/s "
      "first to last (%.2f s), %.0f msgs/s from the POST (%.2f s); %d requests, "
      "%.1f msgs/request; in flight max %s; %s; CPU (cores) %s%s" % (
          n, r["mode"] + ":", r["recipients"], r["sms_parts"], r["t201"],
          r["rate"], r["span"], r["post_rate"], r["post_span"], r["requests"],
          r["per_request"], r["inflight_max"], dlr,
          " ".join("%s %.2f" % (k, r["cpu"].get(k) or 0) for k in CPU), trouble),
      flush=True)
# For the medians: 201, rate, rate from the POST, requests, msgs/request,
# SMS parts/s, delivery reports (-1: not all in time), then CPU as above.
with open(sys.argv[3], "a") as f:
    print(r["t201"], r["rate"], r["post_rate"], r["requests"], r["per_request"],
          r["lines_rate"], r["dlr_span"] if r["dlr_span"] is not None else -1,
          *[r["cpu"].get(k) or 0 for k in CPU], file=f)
PY
}

for n in $(seq 1 "$RUNS"); do
	one_run "$n" batch
	one_run "$n" single
done

med() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for mode in batch single; do
	for i in $(seq 1 12); do eval "m$i=\$(awk '{ print \$$i }' \"\$TMP/\$mode\" | med)"; done
	if [ $((DLR_MASK & 1)) -eq 0 ]; then
		dlr="none asked (dlr-mask $DLR_MASK)"
	else
		dlr=$(awk -v v="$m7" 'BEGIN { if (v < 0) print "not all back in time"; else printf "all back after %.2f s", v }')
	fi
	printf 'median of %d, %s: 201 after %.3f s; phones %.0f msgs/s first to last, %.0f msgs/s from the POST (%.0f SMS parts/s); %.0f requests, %.1f msgs/request; delivery reports %s; CPU (cores) sanzhangd %.2f bearerbox %.2f smsbox %.2f fakesmsc %.2f others %.2f\n' \
	    "$RUNS" "$mode" "$m1" "$m2" "$m3" "$m6" "$m4" "$m5" "$dlr" "$m8" "$m9" "$m10" "$m11" "$m12"
done
