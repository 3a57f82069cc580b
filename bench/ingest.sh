#!/usr/bin/env bash
# Ingest benchmark, in one run on N synthetic items (default 100,000, about 300 MB):
#   1. cold `build` into an empty state: wall time, items/s, peak RSS;
#   2. the same `build` again, nothing changed: wall time, blocks written, files touched;
#   3. one more dump of 10 new items: wall time and the files rewritten;
#   4. the anchor: the same rows bulk-inserted into the same schema with the sqlite3 tool;
# and prints the ratios. N=... and BODY=... (bytes per body) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
BODY=${BODY:-2400}
command -v sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release --quiet
bin=$PWD/target/release/govfeeds
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/config/dumps"
cp config/govfeeds.toml "$work/config/"
echo "generating $N items..."
python3 bench/synth_dump.py "$N" 1 "$BODY" > "$work/config/dumps/000_big.txt"
echo "dump: $(du -m "$work/config/dumps/000_big.txt" | cut -f1) MB"

measure() { # label -> prints the summary, sets WALL RSS OUT
    /usr/bin/time -f "%e %M %O" -o "$work/time" "$bin" build --config "$work/config/govfeeds.toml" >"$work/out" 2>"$work/log"
    read -r WALL RSS OUT < "$work/time"
    echo "$1: ${WALL}s, peak RSS $((RSS / 1024)) MB, $OUT blocks written"
    sed 's/^/    /' "$work/out"
}

measure "1. cold build"
cold=$WALL
cold_rss=$RSS
read_items=$(grep -oP 'items: \K[0-9]+' "$work/out")

snapshot() { find "$work/var" -type f ! -name '*-shm' ! -name govfeeds.lock ! -name govfeeds.closed -printf '%p %s %T@\n' | sort; }
snapshot > "$work/before"
measure "2. unchanged build"
unchanged=$WALL
unchanged_out=$OUT
snapshot > "$work/after"
touched=$(diff "$work/before" "$work/after" | grep -c '^>' || true)
echo "    files changed on disk (feeds and database): $touched"

python3 bench/synth_dump.py 10 99 "$BODY" | sed -e 's/(\([0-9]*\))/(extra \1)/' -e 's|details/3\([0-9]*\)|details/8\1|' > "$work/config/dumps/001_extra.txt"
touch "$work/marker"
sleep 0.01
measure "3. ten new items"
extra=$WALL
echo "    rewritten: $(find "$work/var/public" -type f -newer "$work/marker" -printf '%P ' )"

echo "4. anchor: sqlite3 .import of the same rows into the same schema, one transaction"
sqlite3 -csv "$work/var/state/govfeeds.sqlite3" "SELECT * FROM item" > "$work/rows.csv"
for m in src/store/migrations/*.sql; do cat "$m"; echo; done > "$work/schema.sql"
start=$(date +%s.%N)
sqlite3 "$work/anchor.sqlite3" <<SQL
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
.read $work/schema.sql
.import --csv $work/rows.csv item
SQL
anchor=$(echo "$(date +%s.%N) - $start" | bc)
echo "    ${anchor}s for $(sqlite3 "$work/anchor.sqlite3" 'SELECT COUNT(*) FROM item') rows"

echo
printf 'cold build        %8.2f s  %8.0f items/s  peak RSS %d MB\n' "$cold" "$(echo "$read_items / $cold" | bc -l)" "$((cold_rss / 1024))"
printf 'sqlite3 anchor    %8.2f s  -> cold build is %.2fx the storage ceiling (target <= 1.5x)\n' "$anchor" "$(echo "$cold / $anchor" | bc -l)"
printf 'unchanged build   %8.2f s  = %.1f%% of cold (target <= 5%%), %s blocks written, %s files changed\n' "$unchanged" "$(echo "100 * $unchanged / $cold" | bc -l)" "$unchanged_out" "$touched"
printf 'ten new items     %8.3f s  (target <= 0.100 s)\n' "$extra"
