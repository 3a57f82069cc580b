#!/usr/bin/env bash
# Crash safety: run `build` (and, every other round, `serve`) on a large dump and kill -9 it at a
# random moment of the run (ingest, commit, rendering, publishing), ROUNDS times (default 100),
# restarting each time. Every round has work to do: the dump alternates between two versions
# that differ in the title of every item with a source URL, so a run that gets through updates
# those items and renders every feed again. After every kill the database passes PRAGMA
# integrity_check, the batch is all or nothing (no item has one version while another has the
# other), and every feed file parses (none is torn); after a final clean run the item count is
# the expected one (nothing lost, nothing duplicated).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-100}
N=${N:-20000}
command -v sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release --quiet
bin=$PWD/target/release/govfeeds
work=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/config/dumps"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|^listen = .*|listen = \"127.0.0.1:$port\"|" config/govfeeds.toml > "$work/config/govfeeds.toml"
cp config/dumps/*.txt "$work/config/dumps/"
config=$work/config/govfeeds.toml
db=$work/var/state/govfeeds.sqlite3
dump=$work/config/dumps/001_big.txt

python3 bench/synth_dump.py "$N" 3 > "$work/original.txt"
python3 - "$work/original.txt" > "$work/retitled.txt" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
for i in range(4, len(lines) - 1, 2):
    if "Source : https://" in lines[i + 1]:
        lines[i] = "Updated: " + lines[i]
sys.stdout.write("\n".join(lines))
PY

retitled() { sqlite3 "$db" "SELECT COUNT(*) FROM item WHERE title LIKE 'Updated: %'"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# A first good state, then one uninterrupted run of the work every round does, to time it.
cp "$work/original.txt" "$dump"
"$bin" build --config "$config" >/dev/null 2>&1
cp "$work/retitled.txt" "$dump"
start=$(now_ms)
"$bin" build --config "$config" >/dev/null 2>&1
run_ms=$(($(now_ms) - start))
all_retitled=$(retitled)
seen=$all_retitled
echo "an uninterrupted run of the round's work: ${run_ms} ms, $all_retitled items retitled"

check() { # round -> sets `seen`, the items now retitled
    [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || { echo "round $1: integrity_check failed"; exit 1; }
    seen=$(retitled)
    [ "$seen" = 0 ] || [ "$seen" = "$all_retitled" ] ||
        { echo "round $1: $seen of $all_retitled items retitled: a torn batch"; exit 1; }
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

finished=0 committed=0
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 0 ]; then command=serve; else command=build; fi
    before=$seen
    if [ "$before" = 0 ]; then cp "$work/retitled.txt" "$dump"; else cp "$work/original.txt" "$dump"; fi
    "$bin" "$command" --config "$config" >/dev/null 2>&1 &
    pid=$!
    # A moment anywhere in the run, or a little after it.
    delay=$((((RANDOM << 15) | RANDOM) % (run_ms * 5 / 4 + 1)))
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    kill -9 "$pid" 2>/dev/null || finished=$((finished + 1))
    wait "$pid" 2>/dev/null || true
    pid=
    check "$round"
    if [ "$seen" != "$before" ]; then committed=$((committed + 1)); fi
done
"$bin" build --config "$config" >/dev/null 2>&1
check final
count=$(sqlite3 "$db" 'SELECT COUNT(*) FROM item')
# The synthetic dump repeats about 2% of its items: count distinct ones.
expected=$(( 20 + $(python3 - "$work/original.txt" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")[4:]
print(len({(lines[i], lines[i + 1]) for i in range(0, len(lines) - 1, 2)}))
PY
) ))
echo "$ROUNDS rounds, each killed at a random moment of up to $((run_ms * 5 / 4)) ms:"
echo "  $((ROUNDS - committed)) killed before the commit of the new version of the dump"
echo "  $((committed - finished)) killed after it (rendering, publishing or, for serve, serving)"
echo "  $finished finished first"
echo "after each: integrity ok, the batch all or nothing, every feed parsed"
echo "items: $count in store, $expected expected"
[ "$count" = "$expected" ]
