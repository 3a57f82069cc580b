#!/usr/bin/env bash
# Search benchmark, in one run on N synthetic items (default 1,000,000; N=... to change):
#   1. cold `build` (items and their full-text index): wall time, store size;
#   2. the index alone: the same store with the index dropped, indexed again by the upgrades
#      that bring it (migrations 13-15: search keys, the day index rebuilt, the index in one
#      pass) -> index build cost as a fraction of the build without it; index size (dbstat) as a fraction of the store without it;
#   3. `govfeeds serve` on that store: p50/p95 of the search page and of the Atom query feed,
#      for one-word, two-word, phrase and filtered queries, cold (the first answer of each
#      query) and repeated polls sending the ETag back (304s) — bench/search_client.py;
#   4. the anchor: SQLite FTS5 itself, the same SQL (`govfeeds search --sql`) in the sqlite3
#      shell on the same rows, p50/p95 per class;
# and prints the ratios. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
PORT=${PORT:-18099}
command -v sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release --quiet
bin=$PWD/target/release/govfeeds
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/config/dumps"
sed -e "s#^listen = .*#listen = \"127.0.0.1:$PORT\"#" -e "s#^base_url = .*#base_url = \"http://127.0.0.1:$PORT/\"#" \
    -e 's#^schedule = .*#schedule = "0 0 1 1 *"#' config/govfeeds.toml > "$work/config/govfeeds.toml"
echo "generating $N items..."
python3 bench/synth_dump.py "$N" 1 > "$work/config/dumps/000_big.txt"
db=$work/var/state/govfeeds.sqlite3

/usr/bin/time -f "%e" -o "$work/time" "$bin" build --config "$work/config/govfeeds.toml" > "$work/out" 2>"$work/log"
cold=$(cat "$work/time")
echo "1. cold build with the index: ${cold}s"; sed 's/^/    /' "$work/out"

mib() { sqlite3 "$db" "SELECT printf('%.1f', coalesce(sum(pgsize), 0) / 1048576.0) FROM dbstat $1"; }
index_mib=$(mib "WHERE name LIKE 'item_search%'")
store_mib=$(mib "")
sqlite3 "$db" "DROP TABLE item_search; DROP TABLE search_term; DROP INDEX item_search_key; ALTER TABLE item DROP COLUMN search_key; PRAGMA user_version = 12;"
/usr/bin/time -f "%e" -o "$work/time" "$bin" build --config "$work/config/govfeeds.toml" > /dev/null 2>"$work/log"
reindex=$(cat "$work/time")
echo "2. the index alone, built again over the same store: ${reindex}s; index ${index_mib} MiB of a ${store_mib} MiB store"

echo "3. serving: govfeeds serve on that store"
"$bin" serve --config "$work/config/govfeeds.toml" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 600); do
    [ "$(curl -s "http://127.0.0.1:$PORT/healthz" || true)" = "ok" ] && break
    sleep 0.5
done
python3 bench/search_client.py "127.0.0.1:$PORT" "$work/client.json"

echo "4. anchor: the same SQL in the sqlite3 shell (SQLite FTS5 alone)"
python3 - "$bin" "$work/config/govfeeds.toml" "$db" "$work/client.json" <<'PY'
import json, re, subprocess, sys
sys.path.insert(0, "bench")
from search_client import CLASSES, percentile
bin_, config, db, client = sys.argv[1:]
ours = json.load(open(client))
print(f"{'query class':<12} {'sqlite3 p50':>11} {'p95':>8}   {'our feed p50':>12} {'p95':>8}   ratio p50")
for name, queries in CLASSES.items():
    times = []
    for q in queries:
        sql = subprocess.run([bin_, "search", "--config", config, "--sql", q],
                             capture_output=True, text=True, check=True).stdout
        out = subprocess.run(["sqlite3", db], input=f".timer on\n.output /dev/null\n{sql}\n",
                             capture_output=True, text=True).stdout
        real = re.findall(r"Run Time: real ([0-9.]+)", out)
        if real:
            times.append(float(real[-1]) * 1000)
    a50, a95 = percentile(times, 50), percentile(times, 95)
    o50, o95 = ours[name]["Atom feed"]["cold"]
    print(f"{name:<12} {a50:9.1f}ms {a95:6.1f}ms   {o50:10.1f}ms {o95:6.1f}ms   {o50 / max(a50, 0.01):6.2f}x")
PY

echo
without=$(echo "$cold - $reindex" | bc -l)
printf 'index build      %8.2f s = %.0f%% of a build without it (%.2f s) (goal <= 40%%)\n' "$reindex" "$(echo "100 * $reindex / $without" | bc -l)" "$without"
printf 'index size       %8.1f MiB = %.0f%% of the store without it (%.1f MiB)\n' "$index_mib" "$(echo "100 * $index_mib / ($store_mib - $index_mib)" | bc -l)" "$(echo "$store_mib - $index_mib" | bc -l)"
echo "goals: p95 <= 50 ms cold, <= 1 ms for a repeated poll (304): see the table in step 3"
