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

# start_daemon DIR PORT CHANNEL CHANNELS: sanzhangd (SANZHANGD, plugins of
# BUILD) on 127.0.0.1:PORT, state and control socket (DIR/c.sock) in DIR,
# the channel groups CHANNELS, every role routed to CHANNEL; once it
# answers, its pid in DAEMON_PID.
start_daemon() {
	local dir=$1 port=$2 ch=$3 chans=$4
	cat > "$dir/d.conf" <<CONF
state_dir = "$dir"; listen = [ "127.0.0.1:$port" ]; control_socket = "$dir/c.sock";
public_url = "http://127.0.0.1:$port"; log_level = "warn";
plugin_dir = "$BUILD/plugins/.libs";
channels = ( $chans );
routing = { grid_leader = [ "$ch" ]; building_leader = [ "$ch" ]; unit_leader = [ "$ch" ];
  villager_rep = [ "$ch" ]; duty_officer = [ "$ch" ]; };
CONF
	"$SANZHANGD" -f -c "$dir/d.conf" 2>"$dir/log" &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	wait_for 20 curl -sf "http://127.0.0.1:$port/healthz"
}

import_roster() {	# import_roster SOCKET CSV: replace the daemon's roster
	curl -sf -o /dev/null -H 'Expect:' -H 'Content-Type: text/csv' \
	    --data-binary "@$2" --unix-socket "$1" \
	    'http://localhost/v1/roster?mode=replace'
}
