# tests/long/env.sh - sourced by the long runs: the binaries, the plugins
# and the source tree as make check gives them to the black-box tests,
# from the build directory (relative paths made absolute) or from the
# environment.
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
SRCDIR=${SRCDIR:-$srcdir}
long_abs() {
	case $1 in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac
}
SANZHANGD=$(long_abs "${SANZHANGD:-./sanzhangd}")
SANZHANGCTL=$(long_abs "${SANZHANGCTL:-./sanzhangctl}")
SANZHANG_PLUGIN_DIR=$(long_abs "${SANZHANG_PLUGIN_DIR:-./plugins/.libs}")
PYTHONDONTWRITEBYTECODE=1
export SRCDIR SANZHANGD SANZHANGCTL SANZHANG_PLUGIN_DIR PYTHONDONTWRITEBYTECODE
unset SANZHANG_TOKEN SANZHANG_SOCKET
