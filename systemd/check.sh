#!/usr/bin/env bash
# Checks systemd/govfeeds.service: `systemd-analyze verify` clean, and an exposure of at most
# 1.5 in `systemd-analyze security --offline=yes`. Usage: systemd/check.sh [path/to/govfeeds]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:-target/debug/govfeeds}")
unit=systemd/govfeeds.service

# verify wants ExecStart to exist: check a copy that points at the built binary.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/bin/govfeeds|$binary|" "$unit" > "$tmp/govfeeds.service"
systemd-analyze verify "$tmp/govfeeds.service"

report=$(systemd-analyze security --offline=yes "$unit")
exposure=$(printf '%s\n' "$report" | grep -oP 'Overall exposure level for [^:]+: \K[0-9.]+')
echo "systemd unit: verify clean, exposure $exposure (limit 1.5)"
awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }' || {
    printf '%s\n' "$report"
    echo "exposure $exposure is above 1.5" >&2
    exit 1
}
