#!/bin/sh
# Black-box tests (make check): start the real sanzhangd on a free loopback
# port with a temporary state dir and drive it over HTTP and with
# sanzhangctl.  The tests are Python (stdlib + pytest) in tests/blackbox.
#
# Environment: SANZHANGD, SANZHANGCTL (default ./sanzhangd, ./sanzhangctl in
# the current = build directory), SRCDIR (default: this script's repository),
# PYTHON3 (default /usr/bin/python3, Debian's, which has python3-pytest),
# SANZHANG_BLACKBOX_JOBS and SANZHANG_BLACKBOX_TESTS (below).
# Extra arguments go to pytest (e.g. -k nodes -x, or -n 0 for one at a time).

here=$(cd "$(dirname "$0")/.." && pwd)
SRCDIR=${SRCDIR:-$here}
case ${PYTHON3:-no} in
no|"") PYTHON3=/usr/bin/python3 ;;
esac
SANZHANGD=${SANZHANGD:-./sanzhangd}
SANZHANGCTL=${SANZHANGCTL:-./sanzhangctl}
case $SANZHANGD in /*) ;; *) SANZHANGD=$(pwd)/$SANZHANGD ;; esac
case $SANZHANGCTL in /*) ;; *) SANZHANGCTL=$(pwd)/$SANZHANGCTL ;; esac
export SRCDIR SANZHANGD SANZHANGCTL

# The source tree may be read-only (make distcheck): write no bytecode.
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
unset SANZHANG_TOKEN SANZHANG_SOCKET

if ! "$PYTHON3" -c 'import pytest' 2>/dev/null; then
	echo "blackbox.sh: $PYTHON3 has no pytest (run contrib/deps.sh, or apt install python3-pytest)" >&2
	# Under CI a missing test tool is a failure, never a silent skip.
	[ -n "${CI:-}" ] && exit 1
	exit 77
fi

# SANZHANG_BLACKBOX_TESTS: some test files only (names in tests/blackbox),
# e.g. for make distcheck once the whole suite has run on the tree.
if [ -n "${SANZHANG_BLACKBOX_TESTS:-}" ]; then
	for t in $SANZHANG_BLACKBOX_TESTS; do
		set -- "$@" "$SRCDIR/tests/blackbox/$t"
	done
else
	set -- "$SRCDIR/tests/blackbox" "$@"
fi

run_pytest() {
	"$PYTHON3" -m pytest -q -p no:cacheprovider "$@"
}

# In parallel: with pytest-xdist (Debian's python3-pytest-xdist), in
# SANZHANG_BLACKBOX_JOBS worker processes; by default 3 per CPU, because
# the tests mostly wait for daemons and gateways (tests/valgrind.sh sets
# its own).  1 runs the tests one at a time, as does a Python without
# xdist.
cpus=$(nproc 2>/dev/null || echo 1)
jobs=${SANZHANG_BLACKBOX_JOBS:-$((3 * cpus))}
case $jobs in
''|*[!0-9]*|0)
	echo "blackbox.sh: SANZHANG_BLACKBOX_JOBS must be a number from 1" >&2
	exit 1 ;;
esac
if [ "$jobs" -gt 1 ] && ! "$PYTHON3" -c 'import xdist' 2>/dev/null; then
	echo "blackbox.sh: $PYTHON3 has no pytest-xdist: one test at a time" \
	    "(apt install python3-pytest-xdist to run $jobs at once)" >&2
	jobs=1
fi

# The tests marked timing bound the daemon's timing by the wall clock, which
# a busy neighbour would break (tests/blackbox/parallel.py): in parallel,
# they run after the others, beside each other only.  A -m of the caller's
# chooses the tests itself: then one run.
split=yes
for a; do
	case $a in -m*) split=no ;; esac
done
if [ "$jobs" -eq 1 ]; then
	run_pytest "$@"
	rc=$?
elif [ "$split" = no ]; then
	run_pytest -n "$jobs" "$@"
	rc=$?
else
	run_pytest -n "$jobs" -m "not timing" "$@"
	rc=$?
	case $rc in
	0|1|5)
		run_pytest -n "$jobs" -m timing "$@"
		rc2=$?
		# Failed if either failed; no test at all only if neither had one.
		if [ "$rc" -ne 1 ] && [ "$rc2" -ne 5 ]; then
			rc=$rc2
		fi ;;
	esac
fi
# 5 = no tests collected: the suite is missing, which is a failure.
if [ "$rc" -eq 5 ]; then
	echo "blackbox.sh: pytest collected no tests" >&2
	rc=1
fi
exit "$rc"
