#!/usr/bin/env bash
# Catch-up through real processes (README, Performance):
#
#   bench/catch-up.sh                     # 500,000 tweets, three rounds
#   TWEETS=100000 ROUNDS=1 bench/catch-up.sh
#   WORKERS="1 2" bench/catch-up.sh       # carol with 1, then 2 async workers, in turn
#
# Starts three headless sites (separate processes, data in one temp dir, real
# fsync) on loopback, stops carol, decides TWEETS tweets without her
# (`tweettui bench --remote --history`, 64 clients), then, ROUNDS times and for
# each count of WORKERS in turn, starts carol on a fresh copy of her data dir
# (with TOKIO_WORKER_THREADS set to that count; "default" leaves it unset) and
# times how long until her `status` says she has every slot the others have.
# It stops everything it started and removes the temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."

TWEETS=${TWEETS:-500000}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-default}

source bench/lib.sh
build_tweettui
make_work_dir catch-up
write_config

for name in $SITE_NAMES; do start_site "$name"; done
# A new cluster decides once every site has heard from the others (README,
# known limits): one tweet decided with carol up, then she stops.
until "$BIN" ctl --config "$WORK/config.json" carol tweet "before carol stops" >/dev/null 2>&1; do
    sleep 0.1
done
kill -TERM "${SITE_PID[carol]}"
wait "${SITE_PID[carol]}" 2>/dev/null || true
unset 'SITE_PID[carol]'
echo "deciding $TWEETS tweets while carol is down..."
# The others take the load; the bench ends with an error for carol, whom it
# cannot reach, so its own report is not printed: alice's status says what
# was decided.
"$BIN" bench --remote --config "$WORK/config.json" --clients 64 --history "$TWEETS" \
    >"$WORK/bench.out" 2>&1 || true
target=$(applied alice)
if [ "$target" -le 1 ]; then
    echo "nothing was decided without carol:" >&2
    cat "$WORK/bench.out" >&2
    exit 1
fi
echo "decided without carol: $target slots"

for round in $(seq "$ROUNDS"); do
    for workers in $WORKERS; do
        rm -rf "$WORK/carol-copy"
        cp -r "$WORK/carol" "$WORK/carol-copy"
        t0=$(date +%s.%N)
        count=()
        [ "$workers" = default ] || count=("TOKIO_WORKER_THREADS=$workers")
        env "${count[@]}" "$BIN" carol --headless --config "$WORK/config.json" \
            --data-dir "$WORK/carol-copy" 2>>"$WORK/carol-copy.log" &
        SITE_PID[carol]=$!
        while [ "$(applied carol)" -lt "$target" ]; do
            if older_than "$t0" 120; then
                echo "carol did not catch up within 120 s; her log: $WORK/carol-copy.log" >&2
                exit 1
            fi
            sleep 0.05
        done
        python3 -c "import time; print(f'round $round, workers $workers: carol caught up on $target slots in {time.time() - $t0:.2f} s (from her process start; polled every 50 ms, each poll one ctl process)')"
        kill -TERM "${SITE_PID[carol]}"
        wait "${SITE_PID[carol]}" 2>/dev/null || true
        unset 'SITE_PID[carol]'
    done
done
