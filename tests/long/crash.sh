#!/bin/sh
# tests/long/crash.sh - the crash test of make check (tests/blackbox/
# test_crash.py) at length: 50 SIGKILLs per part (fan-out, roster
# imports, acknowledgements) and a roster of 10,000 people (imports of
# 100,000 rows).  Not part of make check: it takes minutes.
#
# Run from the build directory (or set SANZHANGD, SANZHANGCTL and
# SANZHANG_PLUGIN_DIR).  Extra arguments go to pytest (e.g. -k roster).
#
# Environment:
#   SANZHANG_CRASH_KILLS   kills per part (default 50)
#   SANZHANG_CRASH_UNITS   people in the roster (default 10000)
#   SANZHANG_CRASH_SEED    replay the random choices of an earlier run
#                          (each part prints the seed it used)
#   PYTHON3                default /usr/bin/python3 (Debian's, with pytest)
set -eu

. "$(dirname "$0")/env.sh"
SANZHANG_CRASH_KILLS=${SANZHANG_CRASH_KILLS:-50}
SANZHANG_CRASH_UNITS=${SANZHANG_CRASH_UNITS:-10000}
export SANZHANG_CRASH_KILLS SANZHANG_CRASH_UNITS

# -s: each part prints its seed and figures (kills, duplicates, times).
exec "${PYTHON3:-/usr/bin/python3}" -m pytest -q -s -p no:cacheprovider \
	"$SRCDIR/tests/blackbox/test_crash.py" "$@"
