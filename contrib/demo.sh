#!/bin/sh
# Run sanzhangd in the foreground with the demo config and the demo roster.
#
# Uses the binaries of the build tree (BUILD_DIR, default: the source tree)
# and keeps its state in DEMO_STATE (default: ./demo-state).  Ctrl-C stops it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top}
state=${DEMO_STATE:-$top/demo-state}
port=${DEMO_PORT:-8787}
sanzhangd=$build/sanzhangd
sanzhangctl=$build/sanzhangctl

for bin in "$sanzhangd" "$sanzhangctl"; do
	if [ ! -x "$bin" ]; then
		echo "demo.sh: $bin not found: build first (./configure && make)" >&2
		exit 1
	fi
done

mkdir -p "$state"
python3=${PYTHON3:-/usr/bin/python3}
secret=demo-inbound-secret-not-for-production

# The SMS gateway first: the daemon's config needs its address.  Its fake
# SMSC plays the phones (demo-state/kannel/phones.log is what they got).
rm -f "$state/kannel/kannel.env" "$state/kannel/phones.log"
"$python3" "$top/contrib/demo_kannel.py" "$state/kannel" \
    "http://127.0.0.1:$port/v1/inbound/sms/$secret" &
kpid=$!
pid=
stop() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
	kill "$kpid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT
tries=0
until [ -s "$state/kannel/kannel.env" ]; do
	tries=$((tries + 1))
	if [ "$tries" -gt 200 ] || ! kill -0 "$kpid" 2>/dev/null; then
		echo "demo.sh: the demo's Kannel did not start; see the lines above" >&2
		exit 1
	fi
	sleep 0.1
done
. "$state/kannel/kannel.env"

conf=$state/sanzhangd.conf
sed -e "s|@STATE_DIR@|$state|g" -e "s|127.0.0.1:8787|127.0.0.1:$port|g" \
    -e "s|@KANNEL_URL@|$KANNEL_URL|" -e "s|@KANNEL_USER@|$KANNEL_USER|" \
    -e "s|@KANNEL_PASS@|$KANNEL_PASS|" "$top/etc/demo.conf" > "$conf"
# The plugins of this build tree, not an installed copy.
echo "plugin_dir = \"$build/plugins/.libs\";" >> "$conf"
"$sanzhangd" -t -c "$conf"

"$sanzhangd" -f -c "$conf" &
pid=$!

# Wait (at most 10 s) for the control socket to answer.
tries=0
until "$sanzhangctl" --socket "$state/control.sock" health >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "demo.sh: sanzhangd did not come up; see the lines above" >&2
		exit 1
	fi
	sleep 0.1
done

ctl() { "$sanzhangctl" --socket "$state/control.sock" "$@"; }

echo
echo "== importing the demo roster (etc/demo-roster.csv)"
ctl roster import --replace "$top/etc/demo-roster.csv"
echo
echo "== the street and its communities"
ctl roster show 220104001
echo
echo "== one grid"
ctl roster show 220104001001/G01
echo
echo "== public posting (挂牌公示), first lines"
ctl roster export --public | head -n 6
ctl roster export --format html -o "$state/roster.html"
echo
echo "== a drill for grid G01 of 南湖社区 (unit leaders by SMS, the others to $state/messages.log)"
: > "$state/messages.log"
sent=$(ctl alert send --kind drill --severity yellow --title 消防疏散演练 \
    --body "11月30日10:00开展消防疏散演练，请单元长组织本单元居民参加。" \
    --target 220104001001/G01 --response 收到 --response 已通知到户 \
    --response 需要支援)
echo "$sent"
code=$(echo "$sent" | sed -n 's/^alert \(A[0-9A-Z]*\) .*/\1/p')
sleep 1
echo "-- who has it (counts by state):"
ctl alert show "$code" | tail -n 3
echo "-- the first two messages as the file channel wrote them:"
head -n 2 "$state/messages.log"
echo "-- the SMS the unit leaders' phones got (Kannel's fake SMSC):"
tries=0
until [ -s "$state/kannel/phones.log" ] || [ "$tries" -gt 50 ]; do
	tries=$((tries + 1)); sleep 0.1
done
sed 's/^/   /' "$state/kannel/phones.log"

# Each message carries the leader's own link (ack_url).
link() { sed -n "${1}s/.*\"ack_url\":\"\([^\"]*\)\".*/\1/p" "$state/messages.log"; }
phone() { sed -n "${1}s/.*\"phone\":\"\([0-9]*\)\".*/\1/p" "$state/messages.log"; }
echo
echo "== leaders answer"
echo "-- opening a link only shows the notice (a link preview must not answer):"
curl -s "$(link 1)" | sed -n 's/.*<title>\(.*\)<\/title>.*/   page title: \1/p'
ctl alert show "$code" | sed -n 's/^  answers:/   answers after opening:/p'
echo "-- the first leader taps 收到, the second 已通知到户 (POST, like the page's buttons; 303 to the page):"
curl -s -o /dev/null -w '   POST %{http_code}\n' -d response=1 "$(link 1)"
curl -s -o /dev/null -w '   POST %{http_code}\n' -d response=2 "$(link 2)"
echo "-- the third called the community office; the duty officer records it:"
ctl ack "$code" "$(phone 3)" --response 1
sms=$(sed -n '1s/\t.*//p' "$state/kannel/phones.log")
echo "-- a unit leader ($(echo "$sms" | sed 's/^\(...\)....\(....\)$/\1****\2/')) answers the SMS with \"1\":"
before=$(ctl alert show "$code" | grep '^  answers:')
echo "$sms 10690000 1" > "$state/kannel/reply"
tries=0
while [ "$(ctl alert show "$code" | grep '^  answers:')" = "$before" ] &&
    [ "$tries" -lt 100 ]; do
	tries=$((tries + 1)); sleep 0.1
done
echo "-- the drill now:"
ctl alert show "$code" | sed -n '/answers:/,$p'
echo "   (one leader's page: $(link 1))"
echo
echo "== the others stay silent: the chain escalates (叫应; seconds here, minutes in real life)"
sleep 12
echo "-- the steps:"
ctl alert show "$code" | sed -n '/step [0-9]/p'
echo "-- what the leaders above and the duty officer were sent:"
grep -e '叫应提醒' "$state/messages.log" | sed -n 's/.*"name":"\([^"]*\)".*"text":"\([^"]*\)".*/   to \1: \2/p'
echo
echo "== the drill report (per grid, time to answer, who never answered)"
ctl alert report "$code" --format html -o "$state/drill-report.html"
ctl alert report "$code" --format csv
echo "   printable page: $state/drill-report.html"
cat <<EOT

sanzhangd is running (pid $pid), state in $state.
Try, in another terminal:
  $sanzhangctl --socket $state/control.sock roster show 220104001201
  curl -s -H 'Authorization: Bearer demo-viewer-secret' http://127.0.0.1:$port/v1/nodes/220104001001
  curl -s -H 'Authorization: Bearer demo-viewer-secret' http://127.0.0.1:$port/v1/nodes/220105001   # 403: outside its scope
The printable public roster page is $state/roster.html.
Press Ctrl-C to stop.
EOT
wait "$pid"
