#!/usr/bin/env bash
# tweettui and etcd side by side, with the same load generator in the same run
# (README, Performance). Installs etcd from Debian's packages when absent,
# starts 3 etcd members and then 3 headless tweettui sites on loopback with
# their data in a temp dir, runs `tweettui bench` against each (closed-loop
# clients, one connection each, the same value size and duration), prints
# one table, and stops everything it started, also on failure or Ctrl-C.
#
#   bench/etcd-compare.sh                  # clients 1 16 64, 10 s each, 100 bytes
#   CLIENTS="1 64" SECONDS_EACH=5 SIZE=200 bench/etcd-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-"1 16 64"}
SECONDS_EACH=${SECONDS_EACH:-10}
SIZE=${SIZE:-100}

if ! command -v etcd >/dev/null 2>&1; then
    echo "etcd is not installed: apt-get install -y etcd-server etcd-client" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get update && apt-get install -y etcd-server etcd-client
    else
        sudo apt-get update && sudo apt-get install -y etcd-server etcd-client
    fi
fi
source bench/lib.sh
build_tweettui
make_work_dir etcd-compare

# --- etcd: three members ---------------------------------------------------
declare -a CPORT PPORT
CLUSTER=""
for i in 0 1 2; do
    CPORT[$i]=$(free_port)
    PPORT[$i]=$(free_port)
    CLUSTER+="${CLUSTER:+,}e$i=http://127.0.0.1:${PPORT[$i]}"
done
ENDPOINTS=""
for i in 0 1 2; do
    etcd --name "e$i" --data-dir "$WORK/etcd-$i" \
        --listen-client-urls "http://127.0.0.1:${CPORT[$i]}" \
        --advertise-client-urls "http://127.0.0.1:${CPORT[$i]}" \
        --listen-peer-urls "http://127.0.0.1:${PPORT[$i]}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${PPORT[$i]}" \
        --initial-cluster "$CLUSTER" --initial-cluster-state new \
        --initial-cluster-token tweettui-compare >"$WORK/etcd-$i.log" 2>&1 &
    PIDS+=($!)
    ENDPOINTS+="${ENDPOINTS:+,}http://127.0.0.1:${CPORT[$i]}"
done

# --- tweettui: three headless sites ----------------------------------------
write_config
for name in $SITE_NAMES; do start_site "$name"; done

# --- the same load against each ---------------------------------------------
# `tweettui bench` prints e.g.
#   3 sites, 16 clients, 10.0 s: 24210 tweets decided (2421/s), 0 answered 503, 0 other errors
#   latency ms: p50 6.21  p90 9.80  p99 14.02  max 40.11
parse() {
    local out=$1
    local ops p50 p99
    ops=$(sed -n 's/.*(\([0-9]*\)\/s).*/\1/p' <<<"$out" | head -1)
    p50=$(sed -n 's/.*p50 \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    p99=$(sed -n 's/.*p99 \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    echo "$ops $p50 $p99"
}

printf "%-9s %7s %9s %9s %9s %7s\n" system clients "ops/s" "p50 ms" "p99 ms" ratio
for c in $CLIENTS; do
    e=$("$BIN" bench --target etcd --endpoints "$ENDPOINTS" --clients "$c" \
        --seconds "$SECONDS_EACH" --size "$SIZE")
    t=$("$BIN" bench --remote --config "$WORK/config.json" --clients "$c" \
        --seconds "$SECONDS_EACH" --size "$SIZE")
    read -r eops ep50 ep99 <<<"$(parse "$e")"
    read -r tops tp50 tp99 <<<"$(parse "$t")"
    ratio=$(python3 -c "print(f'{$tops / max($eops, 1):.2f}x')")
    printf "%-9s %7s %9s %9s %9s %7s\n" etcd "$c" "$eops" "$ep50" "$ep99" ""
    printf "%-9s %7s %9s %9s %9s %7s\n" tweettui "$c" "$tops" "$tp50" "$tp99" "$ratio"
done
