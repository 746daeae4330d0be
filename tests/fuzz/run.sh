#!/bin/sh
# tests/fuzz/run.sh - build every libFuzzer harness of tests/fuzz with
# clang (-fsanitize=fuzzer,address,undefined) and run each for a bounded
# time on a copy of its seed corpus (tests/fuzz/corpus/<target>).
#
# Needs clang and libFuzzer (contrib/deps.sh installs both) and the
# libraries configure looks for; the source tree is never written to.
# Exits non-zero, naming the input that crashed, if any harness finds a
# crash, a sanitizer error, a leak or a timeout.
#
# Environment:
#   FUZZ_SECONDS   run time of each harness (default 20)
#   FUZZ_JOBS      harnesses built and run at once (default 2)
#   FUZZ_RSS_MB    memory limit of each harness (default 1024)
#   FUZZ_TARGETS   which harnesses (default: all, as listed below)
#   FUZZ_WORKDIR   where to build and run (default: a new temporary
#                  directory, removed when every harness passed)
#   CLANG          the compiler (default clang)
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}
rss=${FUZZ_RSS_MB:-1024}
cc=${CLANG:-clang}
all="roster alert alertmanager kannel aliyun tencent reply template config"
targets=${FUZZ_TARGETS:-$all}

# ---- what each harness links -------------------------------------------
PLUGIN_HOST="tests/unit/fakehost.c tests/fuzz/fuzz_plugin.c plugins/plugutil.c"
ROSTER="daemon/roster.c daemon/roster_check.c daemon/roster_link.c daemon/phone.c"
CONFIG="daemon/config.c daemon/config_check.c daemon/config_secrets.c \
	daemon/quiet.c daemon/log.c \
	daemon/message.c plugins/plugutil.c tests/fuzz/fuzz_util.c $ROSTER"

sources() {
	case $1 in
	roster)		echo "$ROSTER daemon/roster_export.c" ;;
	alert)		echo "daemon/alert_req.c daemon/alert.c $CONFIG" ;;
	alertmanager)	echo "daemon/alertmanager.c daemon/alert_req.c daemon/alert.c $CONFIG" ;;
	kannel)		echo "plugins/sms_kannel.c plugins/sms_kannel_send.c \
			    plugins/sms_kannel_in.c $PLUGIN_HOST" ;;
	aliyun)		echo "plugins/sms_aliyun.c plugins/sms_aliyun_sign.c \
			    plugins/sms_aliyun_send.c plugins/sms_aliyun_in.c $PLUGIN_HOST" ;;
	tencent)	echo "plugins/sms_tencent.c plugins/sms_tencent_params.c \
			    plugins/sms_tencent_send.c plugins/sms_tencent_answer.c \
			    plugins/sms_tencent_in.c plugins/sms_tencent_sign.c $PLUGIN_HOST" ;;
	reply)		echo "daemon/reply.c daemon/alert.c daemon/message.c plugins/plugutil.c" ;;
	template)	echo "daemon/message.c plugins/plugutil.c" ;;
	config)		echo "$CONFIG" ;;
	*)		echo "run.sh: no harness '$1' (known: $all)" >&2; return 1 ;;
	esac
}

for t in $targets; do
	sources "$t" >/dev/null
done
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "run.sh: $cc not found (contrib/deps.sh installs clang)" >&2
	exit 1
fi

work=${FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/sanzhang-fuzz.XXXXXX")}
mkdir -p "$work/obj" "$work/bin" "$work/corpus" "$work/artifacts" "$work/logs"
echo "run.sh: building in $work"

PKGS="libevent jansson libconfig libcrypto"
CFLAGS_ALL="-std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-Wall -Wextra -Wno-unused-parameter \
	-I$srcdir/include -I$srcdir/daemon -I$srcdir/plugins \
	-I$srcdir/tests/unit -I$srcdir/tests/fuzz \
	-DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\" -DRUNSTATEDIR=\"/run\" \
	-DPLUGINDIR=\"/usr/lib/sanzhang\" $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -ldl -lpthread"
# The harnesses are held to the project's warnings (clang's reading of
# -Wformat=2 differs from gcc's, so not the project's sources).
HARNESS_WARN="-Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Werror"
export cc CFLAGS_ALL HARNESS_WARN srcdir work

# Every source once (instrumented for coverage), two or more at a time.
for t in $targets; do
	sources "$t"
	echo "tests/fuzz/fuzz_$t.c"
done | tr ' \t' '\n\n' | sed '/^$/d' | sort -u |
    xargs -P "$jobs" -n 1 sh -c '
	o="$work/obj/$(echo "$1" | tr / _ | sed "s/\.c$/.o/")"
	case $1 in tests/fuzz/*) w=$HARNESS_WARN ;; *) w= ;; esac
	$cc $CFLAGS_ALL $w -fsanitize=fuzzer-no-link -c "$srcdir/$1" -o "$o" ||
	    { echo "run.sh: cannot compile $1" >&2; exit 255; }' sh

for t in $targets; do
	objs=""
	for s in tests/fuzz/fuzz_$t.c $(sources "$t"); do
		objs="$objs $work/obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
	done
	# shellcheck disable=SC2086
	$cc $CFLAGS_ALL -fsanitize=fuzzer $objs $LIBS -o "$work/bin/fuzz_$t"
done

# ---- running ------------------------------------------------------------
# Libconfig 1.5 leaks on many syntax errors (tests/fuzz/lsan.supp), and a
# leak check after each such input (suppressed or not) costs more than the
# input: the config harness fuzzes without one, then checks every input it
# kept, each once, with leak detection on.
leaks_after() {
	[ "$1" = config ]
}

fuzz() {
	(cd "$work" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    LSAN_OPTIONS=suppressions="$srcdir/tests/fuzz/lsan.supp":print_suppressions=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    TMPDIR="$work" "$work/bin/fuzz_$t" -rss_limit_mb="$rss" -timeout=10 \
	    -artifact_prefix="$work/artifacts/$t/" "$@" "$work/corpus/$t")
}

run_one() {
	t=$1
	rm -rf "$work/corpus/$t" "$work/artifacts/$t"
	mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
	cp "$srcdir/tests/fuzz/corpus/$t"/* "$work/corpus/$t/"
	rc=0
	if leaks_after "$t"; then
		fuzz -max_total_time="$seconds" -print_final_stats=1 \
		    -detect_leaks=0 >"$work/logs/$t.log" 2>&1 || rc=$?
		[ "$rc" -ne 0 ] || fuzz -runs=0 >"$work/logs/$t.leaks.log" 2>&1 ||
		    { rc=$?; cat "$work/logs/$t.leaks.log" >>"$work/logs/$t.log"; }
	else
		fuzz -max_total_time="$seconds" -print_final_stats=1 \
		    >"$work/logs/$t.log" 2>&1 || rc=$?
	fi
	echo "$rc" >"$work/logs/$t.rc"
}

# One summary line: executions, edges covered, features, corpus size.
summary() {
	t=$1
	log="$work/logs/$t.log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
	seeds=$(ls "$srcdir/tests/fuzz/corpus/$t" | wc -l)
	printf '%-13s %s  execs %-9s cov %-5s ft %-6s corpus %s -> %s\n' "$t" \
	    "$2" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$seeds" "${corp:-?}"
}

echo "run.sh: each harness for ${seconds}s, $jobs at a time"
set -- $targets
while [ $# -gt 0 ]; do
	pids=""
	n=0
	while [ $# -gt 0 ] && [ "$n" -lt "$jobs" ]; do
		run_one "$1" &
		pids="$pids $!"
		n=$((n + 1))
		shift
	done
	for p in $pids; do
		wait "$p"
	done
done

failed=0
for t in $targets; do
	rc=$(cat "$work/logs/$t.rc")
	if [ "$rc" = 0 ]; then
		summary "$t" ok
		continue
	fi
	failed=1
	summary "$t" FAILED
	echo "---- $t (exit $rc): the end of $work/logs/$t.log"
	tail -n 40 "$work/logs/$t.log"
	for a in "$work/artifacts/$t"/*; do
		[ -f "$a" ] && echo "run.sh: $t: input kept in $a"
	done
done
if [ "$failed" -ne 0 ]; then
	echo "run.sh: FAILED; reproduce with: $work/bin/fuzz_<target> <input>"
	exit 1
fi
[ -n "${FUZZ_WORKDIR:-}" ] || rm -rf "$work"
echo "run.sh: every harness passed"
