#!/usr/bin/env python3
"""Search latency client for bench/search.sh: search_client.py HOST:PORT [RESULTS.json]

For each class of query (one word, two words, a phrase, filtered), asks the search page and
the Atom query feed of several distinct queries over one keep-alive connection and prints the
p50/p95 latency of the first (cold) answer and of a repeated poll that sends the ETag back (a
304). Loopback only; at most a few hundred requests.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse

CLASSES = {
    "one word": ["energy", "cooperation", "Вакцинация", "reforms", "agriculture", "Tokayev",
                 "кори", "этика", "Italy", "constitution"],
    "two words": ["energy Spain", "cooperation Italy", "кори вакцинация", "trade agriculture",
                  "reforms Tokayev", "medical constitution", "служащий этика", "fire safety",
                  "sustainable transition", "priority policy"],
    "phrase": ['"energy sector"', '"energy transition"', '"state policy"', '"fire and gas"',
               '"heating season"', '"draft Constitution"', '"cultural cooperation"',
               '"current state"', '"medical profession"', '"priority areas"'],
    "filtered": ["energy feed:mfa", "cooperation lang:en after:2026-01-01", "кори lang:ru",
                 "energy entity:mfa-city1*", "reforms before:2025-01-01", "trade feed:mti",
                 "safety after:2026-06-01", "этика feed:other", "Italy entity:region1*",
                 "constitution lang:en before:2025-06-01"],
}


def percentile(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def main() -> None:
    host, port = sys.argv[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def get(path, etag=None):
        headers = {"If-None-Match": etag} if etag else {}
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        return time.perf_counter() - start, response.status, response.getheader("ETag"), body

    print(f"{'query class':<12} {'answer':<14} {'cold p50':>9} {'cold p95':>9} {'poll p50':>9} {'poll p95':>9}  matches")
    results = {}
    for name, queries in CLASSES.items():
        for kind, path in [("search page", "/search?q="), ("Atom feed", "/search.atom?q=")]:
            cold, poll, matches = [], [], []
            for q in queries:
                url = path + urllib.parse.quote_plus(q)
                took, status, etag, body = get(url)
                if status != 200:
                    print(f"  {q!r}: HTTP {status}: {body[:200]!r}")
                    continue
                cold.append(took * 1000)
                matches.append(body.count(b"<entry>") if kind == "Atom feed" else body.count(b"<li><a href"))
                for _ in range(5):
                    took, status, _, _ = get(url, etag)
                    assert status == 304, (q, status)
                    poll.append(took * 1000)
            if cold:
                results.setdefault(name, {})[kind] = {
                    "cold": [percentile(cold, 50), percentile(cold, 95)],
                    "poll": [percentile(poll, 50), percentile(poll, 95)],
                }
                print(f"{name:<12} {kind:<14} {percentile(cold, 50):8.1f}ms {percentile(cold, 95):8.1f}ms "
                      f"{percentile(poll, 50):8.2f}ms {percentile(poll, 95):8.2f}ms  {statistics.mean(matches):.0f} shown")
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as out:
            json.dump(results, out)


if __name__ == "__main__":
    main()
