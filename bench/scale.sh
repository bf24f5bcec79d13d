#!/usr/bin/env bash
# Scale figures of issue 14, measured on real processes:
#
#   bench/scale.sh                 # 1,000,000 tweets, 64 clients
#   TWEETS=200000 bench/scale.sh   # a shorter run
#
# Starts three headless sites (separate processes, data in one temp dir,
# real fsync) on loopback, grows their log to TWEETS decided tweets with
# `tweettui bench --remote --history` (which prints the commit latency per
# tenth of the history), then reports each site's resident memory (VmRSS)
# and data-dir size, stops one site, starts it again on its data dir and
# times how long until it answers `status` with the whole log applied
# (start-up: what it reads before it serves). Last, it asks her for her
# whole timeline (`view` with no page: one answer line of every tweet) and
# reports how long that took and her peak RSS meanwhile; then the same for
# her whole log (`log` with no limit). It stops everything it started and
# removes the temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."

TWEETS=${TWEETS:-1000000}
CLIENTS=${CLIENTS:-64}
SIZE=${SIZE:-100}

source bench/lib.sh
build_tweettui
make_work_dir scale
write_config

rss_mb() {
    awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"
}
for name in $SITE_NAMES; do start_site "$name"; done
echo "growing the log to $TWEETS tweets ($CLIENTS clients, $SIZE characters)..."
"$BIN" bench --remote --config "$WORK/config.json" --clients "$CLIENTS" --size "$SIZE" \
    --history "$TWEETS"

echo
printf "%-6s %9s %12s %10s\n" site "RSS MB" "data dir MB" decided
for name in $SITE_NAMES; do
    printf "%-6s %9s %12s %10s\n" "$name" "$(rss_mb "${SITE_PID[$name]}")" \
        "$(du -sm "$WORK/$name" | cut -f1)" "$(applied "$name")"
done

# Start-up: stop carol, start her again, time until she has the whole log again.
target=$(applied alice)
kill -TERM "${SITE_PID[carol]}"
wait "${SITE_PID[carol]}" 2>/dev/null || true
t0=$(date +%s.%N)
start_site carol
first=""
while true; do
    got=$(applied carol)
    now=$(date +%s.%N)
    [ -z "$first" ] && [ "$got" -ge 0 ] && first=$now
    [ "$got" -ge "$target" ] && break
    if older_than "$t0" 120; then
        echo "carol did not come back within 120 s; her log: $WORK/carol.log" >&2
        exit 1
    fi
done
echo
python3 -c "print(f'start-up of carol, {$target} slots decided: first answer to status after {($first - $t0) * 1000:.0f} ms, the whole log after {($now - $t0) * 1000:.0f} ms (from the process start; each poll is one ctl process)')"
echo "carol's RSS after start-up: $(rss_mb "${SITE_PID[carol]}") MB"

# The whole timeline and the whole log, each in one answer: its time, its
# size, and carol's peak RSS while she sends it (VmHWM, reset first).
port=$(python3 -c "import json; print(json.load(open('$WORK/config.json'))['sites'][2]['control_port'])")
whole_answer() {
    echo 5 >"/proc/${SITE_PID[carol]}/clear_refs"
    python3 - "$port" "$1" "$2" <<'PY'
import socket, sys, time
port, head, what = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.time()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b'{"head":"%s","body":null}\n' % head.encode())
size = rows = 0
first = tail = b""
while not tail.endswith(b"\n"):
    part = s.recv(1 << 20)
    if not part:
        sys.exit("the connection closed before the answer's end")
    if not first:
        first = part[:20]
    # One "slot": key a row (a text's quotes are escaped); a boundary may
    # split one: the 6 bytes before a part may hold its start.
    rows += (tail[-6:] + part).count(b'"slot":')
    size += len(part)
    tail = part
print(f"whole {what} of carol: {rows} rows, {size / 1e6:.0f} MB in one line "
      f"({first.decode(errors='replace')}...), {time.time() - t0:.2f} s")
PY
    echo "carol's peak RSS while she sent it: $(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/${SITE_PID[carol]}/status") MB"
}
whole_answer view timeline
whole_answer log log
