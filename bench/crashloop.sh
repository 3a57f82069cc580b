#!/usr/bin/env bash
# Crash safety and convergence.
#
# 1. Kills: run `build` (and, every other round, `serve`) on a large dump and kill -9 it at a
#    random moment of the run (ingest, checkpoint, rendering, publishing), ROUNDS times
#    (default 100), restarting each time. Every round has work to do: round r retitles every
#    item that has a source URL ("v<r>: ..."), so a run that gets through updates them all and
#    renders every feed again. After every kill the database passes PRAGMA integrity_check,
#    what changed is a prefix of the dump (the ingest commits every 5 s of work: the items at
#    version r come first, all the others are as they were) and every feed file parses.
# 2. A full disk (root only: a tmpfs on output_dir): a new version arrives while the disk
#    holding the feeds has 64 KiB left; `build` exits 1 saying what is not published, the
#    daemon says "not converged" on /healthz and serves the new feeds from memory; once space
#    returns the daemon converges by itself (no new change), /healthz says ok, and the files
#    are byte for byte what a fresh render of the store gives.
# At the end the item count is the expected one (nothing lost, nothing duplicated).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-100}
N=${N:-20000}
command -v sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release --quiet
bin=$PWD/target/release/govfeeds
work=$(mktemp -d)
pid=
mounted=
cleanup() {
    [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
    [ -z "$mounted" ] || umount -l "$mounted" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/config/dumps"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|^listen = .*|listen = \"127.0.0.1:$port\"|" config/govfeeds.toml > "$work/config/govfeeds.toml"
cp config/dumps/*.txt "$work/config/dumps/"
config=$work/config/govfeeds.toml
db=$work/var/state/govfeeds.sqlite3
public=$work/var/public
dump=$work/config/dumps/001_big.txt

python3 bench/synth_dump.py "$N" 3 > "$work/original.txt"
version() { # version number -> the dump, every item with a source URL retitled "v<n>: ..."
    python3 - "$work/original.txt" "$1" > "$dump" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
for i in range(4, len(lines) - 1, 2):
    if "Source : https://" in lines[i + 1]:
        lines[i] = f"v{sys.argv[2]}: " + lines[i]
sys.stdout.write("\n".join(lines))
PY
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The version of each item with a source URL, in the order the dump first names them.
cat > "$work/versions.py" <<'PY'
import re, sqlite3, sys
db, original = sys.argv[1], sys.argv[2]
lines = open(original, encoding="utf-8").read().split("\n")[4:]
order, seen = [], set()
for i in range(0, len(lines) - 1, 2):
    m = re.search(r"Source : (https://\S+?)\?lang=", lines[i + 1])
    if m and m.group(1) not in seen:
        seen.add(m.group(1))
        order.append(m.group(1))
conn = sqlite3.connect(db)
titles = dict(conn.execute("SELECT key, title FROM item"))
for key in order:
    m = re.match(r"v(\d+): ", titles.get(key, ""))
    print(m.group(1) if m else ("-" if key in titles else "missing"))
PY
versions() { python3 "$work/versions.py" "$db" "$work/original.txt"; }

parse_feeds() { # label
    python3 - "$public"/feeds/*.rss "$public"/feeds/*.atom <<'PY' || { echo "$1: a feed file does not parse"; exit 1; }
import sys, xml.dom.minidom as m
for path in sys.argv[1:]:
    try:
        m.parse(path)
    except Exception as e:
        sys.exit(f"{path}: {e}")
PY
}

check() { # round version before-file
    [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || { echo "round $1: integrity_check failed"; exit 1; }
    versions > "$work/after"
    python3 - "$work/after" "$3" "$2" <<'PY' || { echo "round $1: not a prefix of the dump"; exit 1; }
import sys
after = open(sys.argv[1]).read().split()
before = open(sys.argv[2]).read().split()
v = sys.argv[3]
k = next((i for i, x in enumerate(after) if x != v), len(after))
assert "missing" not in after, "an item went missing"
assert after[k:] == before[k:], f"items after the first {k} changed"
PY
    parse_feeds "round $1"
}

# The store a fresh render of it would publish: moves the files aside, builds into the emptied
# folder, compares.
assert_converged() { # label
    rm -rf "$work/published"
    cp -a "$public" "$work/published"
    find "$public" -mindepth 1 -delete
    "$bin" build --config "$config" >/dev/null 2>&1 || { echo "$1: the fresh build failed"; exit 1; }
    diff -r "$work/published" "$public" >/dev/null || { echo "$1: published files differ from a fresh render"; diff -rq "$work/published" "$public" | head; exit 1; }
}

# A first good state, then one uninterrupted run of the work every round does, to time it.
version 0
"$bin" build --config "$config" >/dev/null 2>&1
version 1
start=$(now_ms)
"$bin" build --config "$config" >/dev/null 2>&1
run_ms=$(($(now_ms) - start))
echo "an uninterrupted run of the round's work: ${run_ms} ms"

finished=0 none=0 partial=0 whole=0
for round in $(seq 2 $((ROUNDS + 1))); do
    if [ $((round % 2)) = 0 ]; then command=serve; else command=build; fi
    versions > "$work/before"
    version "$round"
    "$bin" "$command" --config "$config" >/dev/null 2>&1 &
    pid=$!
    # A moment anywhere in the run, or a little after it.
    delay=$((((RANDOM << 15) | RANDOM) % (run_ms * 5 / 4 + 1)))
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    kill -9 "$pid" 2>/dev/null || finished=$((finished + 1))
    wait "$pid" 2>/dev/null || true
    pid=
    check "$round" "$round" "$work/before"
    at=$(grep -cx "$round" "$work/after" || true)
    total=$(wc -l < "$work/after")
    if [ "$at" = 0 ]; then none=$((none + 1)); elif [ "$at" = "$total" ]; then whole=$((whole + 1)); else partial=$((partial + 1)); fi
done
last=$((ROUNDS + 1))
"$bin" build --config "$config" >/dev/null 2>&1
versions > "$work/after"
[ "$(grep -cvx "$last" "$work/after" || true)" = 0 ] || { echo "final: not every item at version $last"; exit 1; }
assert_converged "after the kills"
echo "$ROUNDS rounds, each killed at a random moment of up to $((run_ms * 5 / 4)) ms:"
echo "  $none killed before the first checkpoint of the new version"
echo "  $partial killed between two checkpoints (a prefix of the dump stored)"
echo "  $((whole - finished)) killed after the last one (rendering, publishing or serving)"
echo "  $finished finished first"
echo "after each: integrity ok, a prefix of the dump changed, every feed parsed;"
echo "after a clean build: every item at the last version, the files equal a fresh render"

if [ "$(id -u)" = 0 ] && command -v mount >/dev/null; then
    rm -rf "$work/saved" && cp -a "$public" "$work/saved"
    size_kib=$(( $(du -sk "$public" | cut -f1) + 4096 ))
    mount -t tmpfs -o "size=${size_kib}k" tmpfs "$public"
    mounted=$public
    cp -a "$work/saved/." "$public/"
    fill() { dd if=/dev/zero of="$public/filler" bs=64k 2>/dev/null || true; truncate -s "-64K" "$public/filler"; }
    # build on a full disk: exit 1, says what is behind, keeps the last good files.
    fill
    version $((last + 1))
    if "$bin" build --config "$config" > "$work/full.txt" 2>&1; then echo "disk full: build exited 0"; exit 1; fi
    grep -q "not published yet" "$work/full.txt" || { echo "disk full: build did not say what is behind"; cat "$work/full.txt"; exit 1; }
    parse_feeds "disk full (build)"
    # serve on a full disk: not converged, then converged once space returns, with no new change.
    version $((last + 2))
    "$bin" serve --config "$config" > "$work/serve.log" 2>&1 &
    pid=$!
    healthz() { curl -s -o "$work/healthz" -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true; }
    for _ in $(seq 600); do [ "$(healthz)" = 503 ] && grep -q "not converged" "$work/healthz" && break; sleep 0.1; done
    grep -q "not converged" "$work/healthz" || { echo "disk full: /healthz did not say so"; cat "$work/healthz"; exit 1; }
    echo "disk full: /healthz said: $(head -1 "$work/healthz")"
    rm -f "$public/filler"
    freed=$(now_ms)
    for _ in $(seq 1200); do [ "$(healthz)" = 200 ] && break; sleep 0.1; done
    [ "$(healthz)" = 200 ] || { echo "disk full: not converged after space returned"; cat "$work/healthz"; exit 1; }
    echo "disk full: converged $(( $(now_ms) - freed )) ms after space returned"
    kill -TERM "$pid"; wait "$pid" || true; pid=
    versions > "$work/after"
    [ "$(grep -cvx $((last + 2)) "$work/after" || true)" = 0 ] || { echo "disk full: items lost or stale"; exit 1; }
    assert_converged "after the full disk"
    echo "after the full disk: every item at the last version, the files equal a fresh render"
else
    echo "not root: the full-disk phase is skipped"
fi

count=$(sqlite3 "$db" 'SELECT COUNT(*) FROM item')
# The synthetic dump repeats about 2% of its items: count distinct ones.
expected=$(( 20 + $(python3 - "$work/original.txt" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")[4:]
print(len({(lines[i], lines[i + 1]) for i in range(0, len(lines) - 1, 2)}))
PY
) ))
echo "items: $count in store, $expected expected"
[ "$count" = "$expected" ]
