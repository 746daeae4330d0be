#!/bin/sh
# tests/long/powercut.sh - the power-cut test of make check (tests/blackbox/
# test_power_loss.py) at length: 50 cuts at random moments, with alerts
# being created and answered, and a roster of 3,000 people.  Not part of
# make check: it takes minutes.
#
# Run from the build directory after make check (which builds the shim,
# tests/powercut/.libs/powercut.so), or set SANZHANGD, SANZHANGCTL,
# SANZHANG_PLUGIN_DIR and SANZHANG_POWERCUT.  Extra arguments go to pytest.
#
# Environment:
#   SANZHANG_POWER_CUTS    cuts at random moments (default 50)
#   SANZHANG_POWER_UNITS   people in the roster (default 3000)
#   SANZHANG_POWER_SEED    replay the random choices of an earlier run
#                          (the test prints the seed it used)
#   PYTHON3                default /usr/bin/python3 (Debian's, with pytest)
set -eu

. "$(dirname "$0")/env.sh"
SANZHANG_POWERCUT=$(long_abs \
    "${SANZHANG_POWERCUT:-./tests/powercut/.libs/powercut.so}")
SANZHANG_POWER_CUTS=${SANZHANG_POWER_CUTS:-50}
SANZHANG_POWER_UNITS=${SANZHANG_POWER_UNITS:-3000}
export SANZHANG_POWERCUT SANZHANG_POWER_CUTS SANZHANG_POWER_UNITS

if [ ! -f "$SANZHANG_POWERCUT" ]; then
	echo "powercut.sh: no shim $SANZHANG_POWERCUT (run make check first)" >&2
	exit 1
fi
# -s: the test prints its seed and figures (cuts, requests sent again).
exec "${PYTHON3:-/usr/bin/python3}" -m pytest -q -s -p no:cacheprovider \
	"$SRCDIR/tests/blackbox/test_power_loss.py" "$@"
