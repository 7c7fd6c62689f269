"""Writes redaction_corpus.jsonl: labelled FR/EN sentences for the redaction metrics (P21).

Deterministic (seeded). Each line: {"lang", "text", "entities": [{"type", "text"}]}.
Values are fake but valid where a checksum applies (Luhn cards, mod-97 IBANs, NIR
keys) and deliberately *invalid* in the tricky negatives. Run from the repo root:

    .venv/bin/python ccr_pipelines_tests/data/make_redaction_corpus.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("redaction_corpus.jsonl")
rng = random.Random(21)

FR_UNITS = ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
            "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf"]
FR_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}
EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def fr_words(n: int) -> str:
    if n < 20:
        return FR_UNITS[n]
    if n < 70:
        t, u = divmod(n, 10)
        return FR_TENS[t] + ("" if u == 0 else "-et-un" if u == 1 else "-" + FR_UNITS[u])
    if n < 80:
        return "soixante-" + ("et-onze" if n == 71 else FR_UNITS[n - 60])
    if n == 80:
        return "quatre-vingts"
    return "quatre-vingt-" + FR_UNITS[n - 80]


def luhn_valid(digits: str) -> bool:
    # written here, not imported from the redactor: the corpus must not be built by the code it judges
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch) * (2 if alt else 1)
        total += d - 9 if d > 9 else d
        alt = not alt
    return total % 10 == 0


def luhn_complete(prefix: str, length: int) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return next(body + c for c in "0123456789" if luhn_valid(body + c))


def iban(country: str, bban_len: int) -> str:
    bban = "".join(str(rng.randrange(10)) for _ in range(bban_len))
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    check = 98 - num % 97
    raw = f"{country}{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def nir() -> str:
    body = f"{rng.choice('12')}{rng.randrange(40, 99):02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 95):02d}" \
           f"{rng.randrange(1, 999):03d}{rng.randrange(1, 999):03d}"
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def fr_mobile() -> str:
    return "0" + rng.choice("67") + "".join(str(rng.randrange(10)) for _ in range(8))


def phone_written(d: str) -> str:
    style = rng.randrange(4)
    if style == 0:
        return " ".join(d[i:i + 2] for i in range(0, 10, 2))
    if style == 1:
        return ".".join(d[i:i + 2] for i in range(0, 10, 2))
    if style == 2:
        return "+33 " + d[1] + " " + " ".join(d[i:i + 2] for i in range(2, 10, 2))
    return d


def phone_spoken_fr(d: str) -> str:
    # French numbers are read in pairs; a pair below ten is read « zéro cinq »
    pair = lambda p: ("zéro " + FR_UNITS[int(p[1])]) if p[0] == "0" else fr_words(int(p))  # noqa: E731
    return " ".join(pair(d[i:i + 2]) for i in range(0, 10, 2))


def phone_spoken_en(d: str) -> str:
    return " ".join("oh" if c == "0" and rng.random() < 0.5 else EN[int(c)] for c in d)


FIRST = ["jean", "marie", "paul", "lea", "sam", "jane", "alex", "nina", "omar", "chloe"]
LAST = ["dupont", "martin", "durand", "smith", "doe", "bernard", "petit", "moreau"]
DOMAINS = [("exemple", "fr"), ("example", "com"), ("mail", "org"), ("societe", "fr"), ("webmail", "net")]


def email_written() -> str:
    d, tld = rng.choice(DOMAINS)
    return f"{rng.choice(FIRST)}.{rng.choice(LAST)}@{d}.{tld}"


def email_spoken(lang: str) -> str:
    d, tld = rng.choice(DOMAINS)
    dot, at = ("point", "arobase") if lang == "fr" else ("dot", "at")
    return f"{rng.choice(FIRST)} {dot} {rng.choice(LAST)} {at} {d} {dot} {tld}"


rows = []


def add(lang, text, *entities):
    rows.append({"lang": lang, "text": text, "entities": [{"type": t, "text": v} for t, v in entities]})


for _ in range(25):
    d = fr_mobile()
    w = phone_written(d)
    add("fr", rng.choice(["Vous pouvez me joindre au {}.", "Mon numéro c'est le {}, merci.",
                          "Rappelez-moi au {} après dix-huit heures."]).format(w), ("phone", w))
for _ in range(20):
    d = fr_mobile()
    w = phone_spoken_fr(d)
    add("fr", rng.choice(["Alors c'est le {}.", "Notez bien, {}, voilà.", "Mon portable c'est {}."]).format(w), ("phone", w))
for _ in range(15):
    d = "0" + rng.choice("78") + "".join(str(rng.randrange(10)) for _ in range(9))
    w = phone_spoken_en(d) if rng.random() < 0.5 else d[:5] + " " + d[5:]
    add("en", rng.choice(["You can call me back on {}.", "My number is {}, thanks.", "It's {} for the mobile."]).format(w), ("phone", w))
for _ in range(20):
    w = email_written()
    lang = rng.choice(["fr", "en"])
    add(lang, (f"Mon adresse est {w}." if lang == "fr" else f"My email is {w}, please use it."), ("email", w))
for _ in range(20):
    lang = rng.choice(["fr", "en"])
    w = email_spoken(lang)
    add(lang, (f"Alors c'est {w}, voilà." if lang == "fr" else f"Sure, it's {w}."), ("email", w))
for _ in range(20):
    c = luhn_complete(rng.choice(["4", "51", "52", "37", "60"]), 16 if rng.random() < 0.8 else 15)
    w = " ".join(c[i:i + 4] for i in range(0, len(c), 4)) if rng.random() < 0.7 else c
    lang = rng.choice(["fr", "en"])
    add(lang, (f"Ma carte bancaire c'est {w}." if lang == "fr" else f"The card number is {w}."), ("card", w))
for _ in range(20):
    w = iban(rng.choice(["FR", "DE", "BE", "ES"]), rng.choice([23, 18, 12, 20]))
    lang = rng.choice(["fr", "en"])
    add(lang, (f"Mon IBAN est {w}." if lang == "fr" else f"My IBAN is {w}."), ("iban", w))
for _ in range(20):
    w = nir()
    add("fr", rng.choice(["Mon numéro de sécurité sociale est {}.", "Le NIR c'est {}.", "Sécu : {}."]).format(w), ("nir", w))

# tricky negatives: order numbers, dates, prices, times, invalid checksums, "at"/"point" in prose
NEG = [
    ("fr", "Votre commande numéro {} a bien été expédiée.", lambda: str(rng.randrange(100000, 9999999))),
    ("fr", "Le rendez-vous est fixé au {} mars 2026 à quatorze heures.", lambda: str(rng.randrange(1, 29))),
    ("fr", "Cela vous coûtera {} euros par mois.", lambda: f"{rng.randrange(10, 200)},{rng.randrange(10, 99)}"),
    ("en", "Your order {} was shipped yesterday.", lambda: f"#{rng.randrange(100000, 9999999)}"),
    ("en", "The bill was {} pounds in October.", lambda: f"{rng.randrange(20, 400)}.{rng.randrange(10, 99)}"),
    ("en", "I'll be at home at {} tomorrow.", lambda: rng.choice(["five", "six thirty", "noon"])),
    ("fr", "De mon point de vue, le contrat {} est clair.", lambda: rng.choice(["A12", "B7", "premium"])),
    ("fr", "Le code postal est le {}.", lambda: str(rng.randrange(10000, 95999))),
    ("en", "Reference {} on the invoice.", lambda: "".join(str(rng.randrange(10)) for _ in range(16))),  # Luhn fails 90 %
    ("fr", "La facture de {} kilowattheures date de 2025.", lambda: str(rng.randrange(100, 9999))),
    ("en", "Meet me at the station at platform {}.", lambda: str(rng.randrange(1, 12))),
    ("fr", "Il y a {} ans que je suis client.", lambda: fr_words(rng.randrange(2, 40))),
]
for i in range(60):
    lang, tpl, val = NEG[i % len(NEG)]
    text = tpl.format(val())
    if "Reference" in text and luhn_valid("".join(ch for ch in text if ch.isdigit())):
        continue  # a valid Luhn number would be a true positive
    add(lang, text)

# mixed sentences: several entities, and entities next to tricky numbers
for _ in range(15):
    d = fr_mobile()
    w1, w2 = phone_written(d), email_written()
    add("fr", f"Commande 48213 : rappelez le {w1} ou écrivez à {w2}.", ("phone", w1), ("email", w2))

# hand-written, in the shapes Whisper actually produces (mixed digits and words, odd spacing)
HAND = [
    ("fr", "Vous pouvez me rappeler au 06 12 34 56 78.", [("phone", "06 12 34 56 78")]),
    ("fr", "Vous pouvez me rappeler au zéro six douze trente-quatre cinquante-six soixante-dix-huit.",
     [("phone", "zéro six douze trente-quatre cinquante-six soixante-dix-huit")]),
    ("fr", "C'est le 06, 12, 34, 56, 78.", [("phone", "06, 12, 34, 56, 78")]),
    ("fr", "Mon adresse est jean.dupont arobase exemple.fr", [("email", "jean.dupont arobase exemple.fr")]),
    ("fr", "Mon adresse est jean point dupont arobase exemple point fr.",
     [("email", "jean point dupont arobase exemple point fr")]),
    ("en", "You can email me at jane dot doe at example dot com.", [("email", "jane dot doe at example dot com")]),
    ("en", "You can email me at jane.doe@example.com.", [("email", "jane.doe@example.com")]),
    ("en", "My number is oh seven seven double oh nine one two three four five.",
     [("phone", "oh seven seven double oh nine one two three four five")]),
    ("en", "Call me on +353 87 123 4567 please.", [("phone", "+353 87 123 4567")]),
    ("fr", "Le numéro de la carte, 4970 1012 3456 7893, expire en 2027.", [("card", "4970 1012 3456 7893")]),
    ("en", "It's 4111 1111 1111 1111 and the expiry is twelve twenty six.", [("card", "4111 1111 1111 1111")]),
    ("fr", "Mon RIB, FR76 3000 6000 0112 3456 7890 189, pour le prélèvement.", [("iban", "FR76 3000 6000 0112 3456 7890 189")]),
    ("fr", "Votre contrat 2026-00451 démarre le 1er décembre.", []),
    ("fr", "Le montant est de 1 234,56 euros TTC.", []),
    ("en", "I have been waiting since 9:30 at the office.", []),
    ("fr", "Le technicien passe entre 8 h et 12 h au 12 rue des Lilas.", []),
    ("en", "The order number is 4000 1234 5678 9010 on the receipt.", []),  # fails Luhn
    ("fr", "Le numéro de dossier est 1 85 05 78 006 084 99.", []),  # NIR with a wrong key
    ("en", "My points total is at two thousand dot something.", []),
    ("fr", "Au point où on en est, je préfère résilier.", []),
]
for lang, text, ents in HAND:
    add(lang, text, *ents)

with OUT.open("w", encoding="utf-8") as fh:
    for r in rows:
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
print(f"{len(rows)} sentences -> {OUT}")
