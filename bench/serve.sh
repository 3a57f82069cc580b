#!/usr/bin/env bash
# Serving benchmark: govfeeds' handler against nginx (gzip_static with precompressed files,
# etag, open_file_cache) on the same output_dir, measured with wrk on loopback:
# 64 connections, 2 threads, DURATION seconds, for plain GET, gzip GET and conditional GET
# (304), alternating the two servers over ROUNDS rounds. Prints medians and ratios.
#
#   bench/serve.sh            # N=20000 items, ROUNDS=3, DURATION=10
#   N=5000 ROUNDS=5 bench/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx

cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/config/dumps"
python3 bench/synth_dump.py "$N" 1 > "$work/config/dumps/big.txt"
port_of() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ours=$(port_of)
theirs=$(port_of)
sed -e "s|^listen = .*|listen = \"127.0.0.1:$ours\"|" \
    -e "s|^base_url = .*|base_url = \"http://127.0.0.1:$ours/\"|" \
    config/govfeeds.toml > "$work/config/govfeeds.toml"

echo "building feeds from $N items..."
/usr/bin/time -f "build: %e s, peak RSS %M KiB" target/release/govfeeds build --config "$work/config/govfeeds.toml" >/dev/null 2>"$work/build.log" || { cat "$work/build.log"; exit 1; }
tail -1 "$work/build.log"
out="$work/var/public"
find "$out" -type f \( -name '*.rss' -o -name '*.atom' -o -name '*.html' \) -exec gzip -k -9 {} \;

target/release/govfeeds serve --config "$work/config/govfeeds.toml" 2>"$work/serve.log" &
echo $! > "$work/govfeeds.pid"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$ours/healthz" >/dev/null && break; sleep 0.2; done

cat > "$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon on;
events { worker_connections 4096; }
http {
    access_log off;
    types { application/rss+xml rss; application/atom+xml atom; text/html html; }
    charset utf-8;
    charset_types application/rss+xml application/atom+xml;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    gzip_static on;
    gzip_vary on;
    etag on;
    client_body_temp_path $work/nginx-body;
    proxy_temp_path $work/nginx-proxy;
    fastcgi_temp_path $work/nginx-fastcgi;
    uwsgi_temp_path $work/nginx-uwsgi;
    scgi_temp_path $work/nginx-scgi;
    server {
        listen 127.0.0.1:$theirs;
        root $out;
    }
}
NGINX
chmod -R a+rX "$work"
nginx -c "$work/nginx.conf"
sleep 0.5

path=/feeds/all.rss
etag_of() { curl -sI "http://127.0.0.1:$1$path" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}'; }
ours_etag=$(etag_of "$ours")
theirs_etag=$(etag_of "$theirs")
size=$(curl -s "http://127.0.0.1:$ours$path" | wc -c)
gz=$(curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$ours$path" | wc -c)
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $theirs_etag" "http://127.0.0.1:$theirs$path")" = 304 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ours_etag" "http://127.0.0.1:$ours$path")" = 304 ]
echo "document: $path, $size bytes ($gz gzip); $ROUNDS rounds of ${DURATION}s per case"

rps() { # port, header...
    local port=$1; shift
    wrk -t2 -c64 -d"${DURATION}s" "$@" "http://127.0.0.1:$port$path" | awk '/Requests\/sec/ {print $2}'
}
declare -A results
for round in $(seq "$ROUNDS"); do
    for case in plain gzip conditional; do
        for server in govfeeds nginx; do
            if [ $server = govfeeds ]; then port=$ours; etag=$ours_etag; else port=$theirs; etag=$theirs_etag; fi
            case $case in
                plain) r=$(rps "$port") ;;
                gzip) r=$(rps "$port" -H 'Accept-Encoding: gzip') ;;
                conditional) r=$(rps "$port" -H "If-None-Match: $etag") ;;
            esac
            results[$server.$case]+="$r "
            echo "round $round $case $server: $r req/s"
        done
    done
done

median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
printf '%-12s %14s %14s %8s\n' case govfeeds nginx ratio
for case in plain gzip conditional; do
    g=$(median "${results[govfeeds.$case]}")
    n=$(median "${results[nginx.$case]}")
    printf '%-12s %14.0f %14.0f %7.2fx\n' "$case" "$g" "$n" "$(awk -v g="$g" -v n="$n" 'BEGIN {print g/n}')"
done
