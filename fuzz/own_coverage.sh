#!/usr/bin/env bash
# Edges and functions of our own code (src/) that a target's corpus covers, optionally as the
# corpus stood at a given time (by file mtime), to tell whether fuzzing still reaches new code
# of ours. Usage: ./own_coverage.sh TARGET [SEED_DIR] [UNTIL]   e.g.
#   ./own_coverage.sh feed_mapping ../tests/fixtures/feeds "2026-11-26 03:00"
# Build first: RUSTC_BOOTSTRAP=1 cargo fuzz build
set -euo pipefail
cd "$(dirname "$0")"
target=$1 seeds=${2:-} until=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
find "corpus/$target" -type f ${until:+! -newermt "$until"} -exec cp -l -t "$work" {} +
if [ -n "$seeds" ]; then
    cp -t "$work" "$seeds"/*
fi
src=$(cd .. && pwd)/src/
"target/x86_64-unknown-linux-gnu/release/$target" "$work" -runs=0 -print_coverage=1 2>&1 |
    grep -E "^(UN)?COVERED_FUNC: .* $src" |
    sed -E "s#^(UN)?COVERED_FUNC: hits: [0-9]+ edges: ([0-9]+)/([0-9]+) (.*) $src(.*)#\2 \3 \5 \4#" |
    sort -k3 | awk -v n="$(ls "$work" | wc -l)" '
        {
            name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
            printf "%5d/%-5d %-22s %s\n", $1, $2, $3, name; c += $1; t += $2; f += ($1 > 0)
        }
        END { printf "%d inputs: %d of %d edges, %d of %d functions of src/ covered\n", n, c, t, f, NR }'
