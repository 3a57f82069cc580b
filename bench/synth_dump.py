#!/usr/bin/env python3
"""Writes a deterministic synthetic dump in the seed's format: synth_dump.py N SEED [BODY] > dump.txt

Items are the seed's entries perturbed: spread over ~200 entity slugs and two years of dates,
unique source URLs, ~2.5 KB bodies (or BODY bytes), 10% without a source URL, and 2% repeats
of earlier items (which must not become new items).
"""
import random
import sys
from datetime import date, timedelta

SEED_TITLES = [
    "Kazakhstan and Spain discussed current issues of cooperation in the energy sector",
    "Cultural cooperation with Italy was discussed in Almaty",
    "Representatives of the medical profession expressed support for the new draft Constitution",
    "Вакцинация — ключевая мера профилактики и защиты населения против кори",
    "Служебная этика: что должен знать каждый государственный служащий",
    "Results of work to strengthen fire and gas safety during the heating season summarized",
]
SENTENCES = [
    "The parties discussed the current state and prospects for the development of cooperation.",
    "Particular emphasis was placed on sustainable development and the energy transition.",
    "The Ambassador presented the priority areas of Kazakhstan's state policy.",
    "Корь остаётся одним из наиболее заразных вирусных инфекционных заболеваний.",
    "Growth in trade reached 26%, and in agriculture 5.9%.",
    "President K. K. Tokayev noted the importance of the reforms.",
]


def main() -> None:
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    body_size = int(sys.argv[3]) if len(sys.argv) > 3 else 2400
    slugs = [f"mfa-city{i}" for i in range(60)] + ["mti", "minfin", "dsm", "edu", "enbek", "emer", "adilet"]
    slugs += [f"region{i}-akimat" for i in range(133)]
    start = date(2024, 11, 1)
    out = sys.stdout
    out.write("Enbekshi QazaQ\n\nWorld\n\n")
    written = []
    for i in range(n):
        if written and rng.random() < 0.02:
            out.write(rng.choice(written))  # a repeat: same title, date, body and source
            continue
        day = start + timedelta(days=rng.randrange(730))
        title = f"{rng.choice(SEED_TITLES)} ({i})"
        body = []
        while sum(len(s) for s in body) < body_size:
            body.append(rng.choice(SENTENCES))
        text = "".join(body)  # glued sentences, as in the dumps
        if rng.random() < 0.9:
            text += f"Source : https://www.gov.kz/memleket/entities/{rng.choice(slugs)}/press/news/details/{3_000_000 + i}?lang=kk"
        entry = f"{title} {day:%d.%m.%Y}\n{text}\n"
        if len(written) < 1000:
            written.append(entry)
        out.write(entry)


if __name__ == "__main__":
    main()
