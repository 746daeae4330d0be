# lib.sh - what the loopback benchmarks share; sourced, not run.
#
# Sets TMP (a scratch directory) and PIDS (processes to stop), and on exit
# stops them and removes TMP.  Needs PYTHON3.

TMP=$(mktemp -d)
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
	"$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() {	# wait_for SECONDS COMMAND...: until COMMAND succeeds
	local t=$1; shift
	for _ in $(seq 1 $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

med() {	# the median of the numbers on stdin, one per line
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
