#!/usr/bin/env bash
# Crash safety: run `build` (and then `serve`) on a large dump and kill -9 it at random
# moments, ROUNDS times (default 100), restarting each time. After every kill the database
# passes PRAGMA integrity_check, every feed file parses, and no file is torn; after a final
# clean run the item count is the expected one (nothing lost, nothing duplicated).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-100}
N=${N:-20000}
command -v sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release --quiet
bin=$PWD/target/release/govfeeds
work=$(mktemp -d)
trap 'kill %1 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/config/dumps"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|^listen = .*|listen = \"127.0.0.1:$port\"|" config/govfeeds.toml > "$work/config/govfeeds.toml"
cp config/dumps/*.txt "$work/config/dumps/"
"$bin" build --config "$work/config/govfeeds.toml" >/dev/null 2>&1   # a first good state
python3 bench/synth_dump.py "$N" 3 > "$work/config/dumps/001_big.txt"

check() {
    local db=$work/var/state/govfeeds.sqlite3
    [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || { echo "round $1: integrity_check failed"; exit 1; }
    python3 - "$work"/var/public/feeds/*.rss "$work"/var/public/feeds/*.atom <<'PY' \
        || { echo "round $1: a feed file does not parse"; exit 1; }
import sys, xml.dom.minidom as m
for path in sys.argv[1:]:
    try:
        m.parse(path)
    except Exception as e:
        sys.exit(f"{path}: {e}")
PY
}

kills=0
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 0 ]; then command=serve; else command=build; fi
    "$bin" "$command" --config "$work/config/govfeeds.toml" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 1500)))" 2>/dev/null || sleep 1
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null || true
    check "$round"
done
"$bin" build --config "$work/config/govfeeds.toml" >/dev/null 2>&1
check final
count=$(sqlite3 "$work/var/state/govfeeds.sqlite3" 'SELECT COUNT(*) FROM item')
# The synthetic dump repeats about 2% of its items: count distinct ones.
expected=$(( 20 + $(python3 - "$work/config/dumps/001_big.txt" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")[4:]
print(len({(lines[i], lines[i + 1]) for i in range(0, len(lines) - 1, 2)}))
PY
) ))
echo "$ROUNDS rounds, $kills kills at random moments: integrity ok and every feed parsed after each"
echo "items: $count in store, $expected expected"
[ "$count" = "$expected" ]
