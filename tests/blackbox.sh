#!/bin/sh
# Black-box tests (make check): start the real sanzhangd on a free loopback
# port with a temporary state dir and drive it over HTTP and with
# sanzhangctl.  The tests are Python (stdlib + pytest) in tests/blackbox.
#
# Environment: SANZHANGD, SANZHANGCTL (default ./sanzhangd, ./sanzhangctl in
# the current = build directory), SRCDIR (default: this script's repository),
# PYTHON3 (default /usr/bin/python3, Debian's, which has python3-pytest).
# Extra arguments go to pytest (e.g. -k nodes -x).

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
	"$PYTHON3" -m pytest -q -p no:cacheprovider "$@"
else
	"$PYTHON3" -m pytest -q -p no:cacheprovider "$SRCDIR/tests/blackbox" "$@"
fi
rc=$?
# 5 = no tests collected: the suite is missing, which is a failure.
if [ "$rc" -eq 5 ]; then
	echo "blackbox.sh: pytest collected no tests" >&2
	rc=1
fi
exit "$rc"
