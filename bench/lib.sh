# Shared by the bench scripts (`source bench/lib.sh` from the repo root):
# the release binary, a temp dir that goes away with everything started in
# it, free loopback ports, three headless sites on loopback, and what polls
# them (a site's decided slots, a deadline).

# Builds the release binary; `BIN` is its path.
build_tweettui() {
    cargo build --release --quiet
    BIN=$PWD/target/release/tweettui
}

# `WORK`: a temp dir named after $1. At exit (also on failure or Ctrl-C),
# every process in `PIDS` and `SITE_PID` is stopped and the dir removed.
PIDS=()
declare -A SITE_PID
make_work_dir() {
    WORK=$(mktemp -d -t "tweettui-$1-XXXXXX")
    trap cleanup EXIT INT TERM
}
cleanup() {
    for p in "${PIDS[@]:-}" "${SITE_PID[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

# A free loopback port (the kernel picks one; a race is possible but rare).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# The sites of `$WORK/config.json`, on free loopback ports.
SITE_NAMES="alice bob carol"
write_config() {
    local sites="" name
    for name in $SITE_NAMES; do
        sites+="${sites:+,}{\"name\":\"$name\",\"addr\":\"127.0.0.1\",\"port\":$(free_port),\"control_port\":$(free_port)}"
    done
    echo "{\"sites\":[$sites]}" >"$WORK/config.json"
}

# Starts site $1 headless on its data dir in `$WORK` (its log beside it);
# its pid in `SITE_PID[$1]`.
start_site() {
    "$BIN" "$1" --headless --config "$WORK/config.json" --data-dir "$WORK/$1" \
        2>>"$WORK/$1.log" &
    SITE_PID[$1]=$!
}

# The slots site $1 has decided with no hole before them (its `status`), or
# -1 while it does not answer.
applied() {
    "$BIN" ctl --config "$WORK/config.json" --json "$1" status 2>/dev/null |
        python3 -c 'import json,sys; a=json.load(sys.stdin); print(a.get("body", a)["decided"])' 2>/dev/null ||
        echo -1
}

# Whether more than $2 seconds have passed since $1 (a `date +%s.%N`).
older_than() {
    python3 -c "import sys, time; sys.exit(0 if time.time() - $1 > $2 else 1)"
}
