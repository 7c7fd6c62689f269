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

FR_UNITS = [
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
    "dix-sept",
    "dix-huit",
    "dix-neuf",
]
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
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def nir() -> str:
    body = (
        f"{rng.choice('12')}{rng.randrange(40, 99):02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 95):02d}"
        f"{rng.randrange(1, 999):03d}{rng.randrange(1, 999):03d}"
    )
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def fr_mobile() -> str:
    return "0" + rng.choice("67") + "".join(str(rng.randrange(10)) for _ in range(8))


def phone_written(d: str) -> str:
    style = rng.randrange(4)
    if style == 0:
        return " ".join(d[i : i + 2] for i in range(0, 10, 2))
    if style == 1:
        return ".".join(d[i : i + 2] for i in range(0, 10, 2))
    if style == 2:
        return "+33 " + d[1] + " " + " ".join(d[i : i + 2] for i in range(2, 10, 2))
    return d


def phone_spoken_fr(d: str) -> str:
    # French numbers are read in pairs; a pair below ten is read « zéro cinq »
    pair = lambda p: ("zéro " + FR_UNITS[int(p[1])]) if p[0] == "0" else fr_words(int(p))  # noqa: E731
    return " ".join(pair(d[i : i + 2]) for i in range(0, 10, 2))


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
    add(
        "fr",
        rng.choice(
            [
                "Vous pouvez me joindre au {}.",
                "Mon numéro c'est le {}, merci.",
                "Rappelez-moi au {} après dix-huit heures.",
            ]
        ).format(w),
        ("phone", w),
    )
for _ in range(20):
    d = fr_mobile()
    w = phone_spoken_fr(d)
    add(
        "fr",
        rng.choice(["Alors c'est le {}.", "Notez bien, {}, voilà.", "Mon portable c'est {}."]).format(w),
        ("phone", w),
    )
for _ in range(15):
    d = "0" + rng.choice("78") + "".join(str(rng.randrange(10)) for _ in range(9))
    w = phone_spoken_en(d) if rng.random() < 0.5 else d[:5] + " " + d[5:]
    add(
        "en",
        rng.choice(["You can call me back on {}.", "My number is {}, thanks.", "It's {} for the mobile."]).format(w),
        ("phone", w),
    )
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
    w = " ".join(c[i : i + 4] for i in range(0, len(c), 4)) if rng.random() < 0.7 else c
    lang = rng.choice(["fr", "en"])
    add(lang, (f"Ma carte bancaire c'est {w}." if lang == "fr" else f"The card number is {w}."), ("card", w))
for _ in range(20):
    w = iban(rng.choice(["FR", "DE", "BE", "ES"]), rng.choice([23, 18, 12, 20]))
    lang = rng.choice(["fr", "en"])
    add(lang, (f"Mon IBAN est {w}." if lang == "fr" else f"My IBAN is {w}."), ("iban", w))
for _ in range(20):
    w = nir()
    add(
        "fr",
        rng.choice(["Mon numéro de sécurité sociale est {}.", "Le NIR c'est {}.", "Sécu : {}."]).format(w),
        ("nir", w),
    )

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
    (
        "en",
        "Reference {} on the invoice.",
        lambda: "".join(str(rng.randrange(10)) for _ in range(16)),
    ),  # Luhn fails 90 %
    ("fr", "La facture de {} kilowattheures date de 2025.", lambda: str(rng.randrange(100, 9999))),
    ("en", "Meet me at the station at platform {}.", lambda: str(rng.randrange(1, 12))),
    ("fr", "Il y a {} ans que je suis client.", lambda: fr_words(rng.randrange(2, 40))),
]
for i in range(60):
    lang, tpl, val = NEG[i % len(NEG)]
    v = val()
    text = tpl.format(v)
    if "Reference" in text and luhn_valid("".join(ch for ch in text if ch.isdigit())):
        continue  # a valid Luhn number would be a true positive
    # since redaction-3 any run of 7+ digits (customer, order, contract number) is redacted as [NUMBER]
    digits = "".join(ch for ch in v if ch.isdigit())
    add(lang, text, *([("number", v.lstrip("#"))] if len(digits) >= 7 else []))

# mixed sentences: several entities, and entities next to tricky numbers
for _ in range(15):
    d = fr_mobile()
    w1, w2 = phone_written(d), email_written()
    add("fr", f"Commande 48213 : rappelez le {w1} ou écrivez à {w2}.", ("phone", w1), ("email", w2))

# hand-written, in the shapes Whisper actually produces (mixed digits and words, odd spacing)
HAND = [
    ("fr", "Vous pouvez me rappeler au 06 12 34 56 78.", [("phone", "06 12 34 56 78")]),
    (
        "fr",
        "Vous pouvez me rappeler au zéro six douze trente-quatre cinquante-six soixante-dix-huit.",
        [("phone", "zéro six douze trente-quatre cinquante-six soixante-dix-huit")],
    ),
    ("fr", "C'est le 06, 12, 34, 56, 78.", [("phone", "06, 12, 34, 56, 78")]),
    ("fr", "Mon adresse est jean.dupont arobase exemple.fr", [("email", "jean.dupont arobase exemple.fr")]),
    (
        "fr",
        "Mon adresse est jean point dupont arobase exemple point fr.",
        [("email", "jean point dupont arobase exemple point fr")],
    ),
    ("en", "You can email me at jane dot doe at example dot com.", [("email", "jane dot doe at example dot com")]),
    ("en", "You can email me at jane.doe@example.com.", [("email", "jane.doe@example.com")]),
    (
        "en",
        "My number is oh seven seven double oh nine one two three four five.",
        [("phone", "oh seven seven double oh nine one two three four five")],
    ),
    ("en", "Call me on +353 87 123 4567 please.", [("phone", "+353 87 123 4567")]),
    ("fr", "Le numéro de la carte, 4970 1012 3456 7893, expire en 2027.", [("card", "4970 1012 3456 7893")]),
    ("en", "It's 4111 1111 1111 1111 and the expiry is twelve twenty six.", [("card", "4111 1111 1111 1111")]),
    (
        "fr",
        "Mon RIB, FR76 3000 6000 0112 3456 7890 189, pour le prélèvement.",
        [("iban", "FR76 3000 6000 0112 3456 7890 189")],
    ),
    ("fr", "Votre contrat 2026-00451 démarre le 1er décembre.", [("number", "2026-00451")]),
    ("fr", "Le montant est de 1 234,56 euros TTC.", []),
    ("en", "I have been waiting since 9:30 at the office.", []),
    ("fr", "Le technicien passe entre 8 h et 12 h au 12 rue des Lilas.", [("address", "12 rue des Lilas")]),
    ("en", "The order number is 4000 1234 5678 9010 on the receipt.", [("number", "4000 1234 5678 9010")]),  # not Luhn
    ("fr", "Le numéro de dossier est 1 85 05 78 006 084 99.", [("number", "1 85 05 78 006 084 99")]),  # bad NIR key
    ("en", "My points total is at two thousand dot something.", []),
    ("fr", "Au point où on en est, je préfère résilier.", []),
]
for lang, text, ents in HAND:
    add(lang, text, *ents)

# --- redaction-3 (issue 18): sentences the way ASR writes them --------------------------------------
# No final punctuation, numbers in words, names spelled letter by letter, names that are also common
# words (« Pierre », "Rose", "Mark"), agents saying their own name, North-American numbers, addresses,
# dates of birth and long customer numbers. Written as calls sound, before measuring the detector.
asr = random.Random(18)
FR_FIRST = [
    "Sophie",
    "Julien",
    "Nathalie",
    "Karim",
    "Camille",
    "Thomas",
    "Isabelle",
    "Mehdi",
    "Claire",
    "Antoine",
    "Aurélie",
    "Laurent",
    "Fatou",
    "Céline",
    "Yves",
    "Hélène",
    "Kevin",
    "Inès",
    "Bruno",
    "Élodie",
]
FR_LAST = [
    "Dupont",
    "Lefèvre",
    "Moreau",
    "Nguyen",
    "Girard",
    "Bonnet",
    "Fontaine",
    "Chevalier",
    "Mercier",
    "Rousseau",
    "Garnier",
    "Lambert",
    "Faure",
    "Perrin",
    "Benali",
    "Kowalski",
    "Lemaire",
    "Morel",
]
EN_FIRST = [
    "Sarah",
    "James",
    "Emily",
    "Daniel",
    "Aoife",
    "Michael",
    "Priya",
    "Ryan",
    "Megan",
    "Connor",
    "Olivia",
    "David",
    "Niamh",
    "Thomas",
    "Hannah",
    "Jason",
    "Siobhan",
    "Kevin",
    "Laura",
    "Ahmed",
]
EN_LAST = [
    "Smith",
    "Johnson",
    "O'Brien",
    "Patel",
    "Walsh",
    "Thompson",
    "Murphy",
    "Clarke",
    "Hughes",
    "Byrne",
    "Robinson",
    "Kennedy",
    "Fitzgerald",
    "Campbell",
    "Edwards",
    "Doyle",
    "Turner",
    "Kowalczyk",
]
# Names that are also ordinary words, with the ordinary use for the negatives
AMBIG_FR = ["Pierre", "Rose", "Florence", "Victoire", "Claire", "Marine"]
AMBIG_EN = ["Mark", "Rose", "Will", "Grace", "Frank", "Jack", "Hope"]


def spell(word: str) -> str:
    return " ".join(ch.upper() for ch in word if ch.isalpha())


def en_digits(d: str) -> str:
    return " ".join("oh" if c == "0" and asr.random() < 0.4 else EN[int(c)] for c in d)


def fr_digits(d: str) -> str:
    return " ".join(FR_UNITS[int(c)] for c in d)


def cap(s: str) -> str:
    return s[0].upper() + s[1:] if asr.random() < 0.6 else s  # Whisper capitalises the first word, not always


# agents naming themselves (the agent's own name is personal data too)
for _ in range(30):
    f = asr.choice(FR_FIRST)
    t = asr.choice(
        [
            "bonjour vous êtes bien chez Acme Énergie {f} à l'appareil",
            "bonjour Acme Énergie service client {f} à votre écoute",
            "bonjour je m'appelle {f} je suis conseillère chez Acme Énergie que puis-je faire pour vous",
            "oui bonjour c'est {f} du service client je vous rappelle pour votre dossier",
            "alors moi c'est {f} je vais prendre en charge votre demande",
        ]
    )
    add("fr", cap(t.format(f=f)), ("person", f))
for _ in range(30):
    f = asr.choice(EN_FIRST)
    t = asr.choice(
        [
            "thank you for calling Globex support my name is {f} how can I help you today",
            "hi you're speaking with {f} from Globex how can I help",
            "good morning this is {f} at Globex customer care",
            "hello {f} speaking how can I help",
            "yeah hi it's {f} from the billing team I'm calling you back about your account",
        ]
    )
    add("en", cap(t.format(f=f)), ("person", f))
# customers giving their full name, sometimes spelled
for _ in range(40):
    f, l = asr.choice(FR_FIRST), asr.choice(FR_LAST)
    t = asr.choice(
        [
            "oui bonjour je m'appelle {f} {l} j'appelle pour ma facture",
            "alors c'est au nom de {f} {l}",
            "je suis {f} {l} je suis cliente chez vous depuis dix ans",
            "le contrat est au nom de mon mari {f} {l}",
            "c'est madame {l} à l'appareil",
            "oui c'est monsieur {l} je vous appelle pour le compteur",
            "bonjour madame {l} je vois votre dossier",
        ]
    )
    text = cap(t.format(f=f, l=l))
    ents = [("person", f"{f} {l}")] if "{f}" in t else [("person", l)]
    if asr.random() < 0.35:
        sp = spell(l)
        text += asr.choice([f" ça s'écrit {sp}", f" {sp}", f" je vous épelle {sp}"])
        ents.append(("spelled", sp))
    add("fr", text, *ents)
for _ in range(40):
    f, l = asr.choice(EN_FIRST), asr.choice(EN_LAST)
    t = asr.choice(
        [
            "hi my name is {f} {l} I'm calling about my bill",
            "the account is under the name {f} {l}",
            "yes it's {f} {l} I called last week",
            "it's Mrs {l} I've been waiting for an engineer",
            "yeah it's Mr {l} calling about the broadband",
            "I spoke to your colleague {f} yesterday and she said it was fixed",
            "could I speak to {f} please she was dealing with my case",
        ]
    )
    text = cap(t.format(f=f, l=l))
    ents = [("person", f"{f} {l}")] if "{f}" in t and "{l}" in t else [("person", f)] if "{f}" in t else [("person", l)]
    if asr.random() < 0.35 and "{l}" in t:
        sp = spell(l)
        text += asr.choice([f" that's {sp}", f" spelled {sp}", f" {sp}"])
        ents.append(("spelled", sp))
    add("en", text, *ents)
# names that are also words: as names...
for _ in range(20):
    f, l = asr.choice(AMBIG_FR), asr.choice(FR_LAST)
    t = asr.choice(
        [
            "oui je m'appelle {f} {l}",
            "c'est {f} {l} qui a signé le contrat",
            "vous pouvez demander {f} à l'accueil",
            "bonjour c'est {f} je vous appelle de la part de mon père",
        ]
    )
    add("fr", cap(t.format(f=f, l=l)), ("person", f"{f} {l}" if "{l}" in t else f))
for _ in range(20):
    f, l = asr.choice(AMBIG_EN), asr.choice(EN_LAST)
    t = asr.choice(
        [
            "hi my name is {f} {l}",
            "yes I spoke to {f} on Monday",
            "it's {f} {l} on the account",
            "my husband {f} set it up for me",
        ]
    )
    add("en", cap(t.format(f=f, l=l)), ("person", f"{f} {l}" if "{l}" in t else f))
# ...and as words
for text in [
    "la pierre de la cheminée est tombée pendant la tempête",
    "j'ai mis une pierre sur le compteur pour la porte",
    "le papier peint est rose dans la chambre",
    "c'est une victoire pour nous ce remboursement",
    "la marine marchande je connais pas",
    "c'est pas très clair votre courrier",
    "il fait clair le matin",
    "mark the date in your diary please",
    "I will call you back tomorrow morning",
    "will it be fixed today",
    "there's a grace period of thirty days",
    "to be frank I'm not happy with the service",
    "I hope it's sorted this week",
    "the rose bush blocks the meter",
    "can you jack up the speed",
    "there's a question mark on the bill",
    "I'll make a mark on the form",
    "we hope to hear from you soon",
    "la rose des vents sur la facture c'est votre logo",
    "il y a une marque de pierre sur le mur",
]:
    add("fr" if any(w in text for w in ("la ", "le ", "c'est", "il ")) else "en", text)
# North-American, UK, Irish and international numbers, written and spoken
for _ in range(30):
    area, ex, line = (
        f"{asr.randrange(2, 10)}{asr.randrange(10)}{asr.randrange(10)}",
        f"{asr.randrange(2, 10)}{asr.randrange(10)}{asr.randrange(10)}",
        f"{asr.randrange(10000):04d}",
    )
    style = asr.randrange(6)
    w = [
        f"{area} {ex} {line}",
        f"({area}) {ex}-{line}",
        f"1-{area}-{ex}-{line}",
        f"+1 {area} {ex} {line}",
        en_digits(area + ex + line),
        f"{area}-{ex}-{line}",
    ][style]
    t = asr.choice(
        [
            "you can reach me at {} any time",
            "my cell is {}",
            "call me back on {} after five",
            "the number on file should be {}",
        ]
    )
    add("en", cap(t.format(w)), ("phone", w))
add("en", "call us toll free at 1-800-555-0199", ("phone", "1-800-555-0199"))
add("en", "my number is 415 555 0132 that's my cell", ("phone", "415 555 0132"))
add("en", "it's (415) 555-0132", ("phone", "(415) 555-0132"))
for _ in range(15):
    d = "07" + "".join(str(asr.randrange(10)) for _ in range(9))
    w = asr.choice([d[:5] + " " + d[5:], "+44 " + d[1:5] + " " + d[5:], en_digits(d)])
    add(
        "en",
        cap(asr.choice(["my mobile is {}", "you can text me on {} thanks", "it's {} for the mobile"]).format(w)),
        ("phone", w),
    )
for _ in range(15):
    d = "08" + asr.choice("3579") + "".join(str(asr.randrange(10)) for _ in range(7))
    w = asr.choice([d[:3] + " " + d[3:6] + " " + d[6:], "+353 " + d[1:3] + " " + d[3:6] + " " + d[6:], en_digits(d)])
    add("en", cap(asr.choice(["my number is {}", "ring me on {} so", "it's {} my mobile"]).format(w)), ("phone", w))
for _ in range(15):
    w = asr.choice(
        [
            "+49 30 " + "".join(str(asr.randrange(10)) for _ in range(7)),
            "+32 2 "
            + "".join(str(asr.randrange(10)) for _ in range(3))
            + " "
            + "".join(str(asr.randrange(10)) for _ in range(4)),
            "+41 22 " + "".join(str(asr.randrange(10)) for _ in range(7)),
            "plus trente-deux " + fr_digits("".join(str(asr.randrange(10)) for _ in range(9))),
        ]
    )
    add(
        "fr",
        cap(
            asr.choice(
                ["mon numéro en Belgique c'est le {}", "je suis joignable au {}", "vous pouvez m'appeler au {}"]
            ).format(w)
        ),
        ("phone", w),
    )
for _ in range(20):
    d = fr_mobile()
    w = phone_spoken_fr(d) if asr.random() < 0.7 else phone_written(d)
    add(
        "fr",
        cap(
            asr.choice(
                [
                    "ouais alors mon portable c'est le {} voilà",
                    "vous pouvez me rappeler au {} merci",
                    "le numéro c'est {} c'est celui de mon fils",
                ]
            ).format(w)
        ),
        ("phone", w),
    )
# spoken customer, contract and order numbers (7+ digits), as in the real call
for _ in range(30):
    d = "".join(str(asr.randrange(10)) for _ in range(asr.choice([7, 8, 9, 10, 12])))
    if d[0] == "0" or len(d) == 10 and d[0] in "23456789" and d[3] in "23456789":
        d = "1" + d[1:]  # not a phone: the label must be [NUMBER]
    if asr.random() < 0.5:
        w = fr_digits(d) if asr.random() < 0.5 else d
        add(
            "fr",
            cap(
                asr.choice(
                    [
                        "mon numéro client c'est le {}",
                        "le numéro de contrat c'est {}",
                        "attendez je regarde c'est le {} sur la facture",
                    ]
                ).format(w)
            ),
            ("number", w),
        )
    else:
        w = en_digits(d) if asr.random() < 0.6 else d
        add(
            "en",
            cap(
                asr.choice(
                    ["my account number is {}", "the reference is {}", "my customer number is {} I think"]
                ).format(w)
            ),
            ("number", w),
        )
# dates of birth
FR_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
EN_ORD = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
]
for _ in range(20):
    day, month, year = asr.randrange(1, 29), asr.randrange(12), asr.randrange(1940, 2000)
    w = asr.choice(
        [
            f"{fr_words(day)} {FR_MONTHS[month]} mille neuf cent {fr_words(year - 1900)}",
            f"{day} {FR_MONTHS[month]} {year}",
            f"{day:02d}/{month + 1:02d}/{year}",
        ]
    )
    add(
        "fr",
        cap(
            asr.choice(
                ["je suis née le {} voilà", "ma date de naissance c'est le {}", "il est né le {} si ça peut aider"]
            ).format(w)
        ),
        ("dob", w),
    )
for _ in range(20):
    day, month, year = asr.randrange(1, 21), asr.randrange(12), asr.randrange(1940, 2000)
    tens = {4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}[year // 10 % 10]
    spoken_year = f"nineteen {tens}" + ("" if year % 10 == 0 else f" {EN[year % 10]}")
    w = asr.choice(
        [
            f"{EN_ORD[day - 1]} of {EN_MONTHS[month]} {spoken_year}",
            f"{EN_MONTHS[month]} {day} {year}",
            f"{day:02d}/{month + 1:02d}/{year}",
            f"the {EN_ORD[day - 1]} of {EN_MONTHS[month]} {year}",
        ]
    )
    add(
        "en",
        cap(asr.choice(["my date of birth is {}", "I was born on {}", "date of birth {} yeah"]).format(w)),
        ("dob", w),
    )
# addresses
FR_STREETS = [
    ("rue", "des Lilas"),
    ("avenue", "Victor Hugo"),
    ("boulevard", "Voltaire"),
    ("rue", "de la République"),
    ("impasse", "des Tilleuls"),
    ("chemin", "du Moulin"),
    ("allée", "des Peupliers"),
    ("place", "Bellecour"),
]
EN_STREETS = [
    "Baker Street",
    "Elm Road",
    "Church Lane",
    "Park Avenue",
    "Station Road",
    "Maple Drive",
    "Victoria Street",
    "Oak Close",
]
for _ in range(25):
    n = asr.randrange(1, 120)
    typ, name = asr.choice(FR_STREETS)
    num = str(n) if asr.random() < 0.5 else fr_words(n) if n < 100 else str(n)
    w = f"{num} {typ} {name}" if asr.random() < 0.8 else f"{num} bis {typ} {name}"
    add(
        "fr",
        cap(
            asr.choice(
                ["j'habite au {} à Lyon", "l'adresse c'est {} deuxième étage", "le compteur est au {} dans le garage"]
            ).format(w)
        ),
        ("address", w),
    )
for _ in range(25):
    n = asr.randrange(1, 99)
    w = f"{n if asr.random() < 0.5 else ' '.join([EN[int(c)] for c in str(n)]) if n < 10 else n} {asr.choice(EN_STREETS)}"
    t = asr.choice(["I live at {} in Leeds", "the address is {} flat two", "it's {} the house with the green door"])
    ents = [("address", w)]
    text = t.format(w)
    if asr.random() < 0.3:
        pc = asr.choice(["LS1 4AP", "SW1A 1AA", "M4 5JD", "D02 X285", "T12 K8AF"])
        text += f" postcode {pc}"
        ents.append(("address", pc))
    add("en", cap(text), *ents)
# e-mails the way ASR writes them
for _ in range(20):
    f, l = asr.choice(FR_FIRST).lower(), asr.choice(FR_LAST).lower()
    d, tld = asr.choice([("gmail", "com"), ("orange", "fr"), ("free", "fr"), ("hotmail", "fr"), ("yahoo", "com")])
    if asr.random() < 0.5:
        w = f"{f} point {l} arobase {d} point {tld}"
        add("fr", cap(f"mon mail c'est {w} tout attaché"), ("email", w))
    else:
        w = f"{f} dot {l} at {d} dot {tld}"
        add("en", cap(f"my email is {w} all lower case"), ("email", w))
# cards, IBANs and NIRs read out
for _ in range(10):
    c = luhn_complete(asr.choice(["4", "51", "53"]), 16)
    w = " ".join(c[i : i + 4] for i in range(0, 16, 4)) if asr.random() < 0.5 else en_digits(c)
    add("en", cap(f"okay the long number on the card is {w}"), ("card", w))
for _ in range(10):
    w = iban("FR", 23)
    add("fr", cap(f"alors mon IBAN c'est {w} voilà"), ("iban", w))
for _ in range(10):
    w = nir()
    add("fr", cap(f"mon numéro de sécu c'est le {w}"), ("nir", w))
# ASR-style negatives: brands, places, weekdays, prices, times, dates, durations, ids
NEG_ASR = [
    "oui d'accord je comprends merci beaucoup",
    "alors votre facture de novembre est de quatre-vingt-neuf euros",
    "le technicien passe jeudi entre huit heures et midi",
    "je vous mets en attente un petit instant",
    "ok so the bill for October is sixty two pounds fifty",
    "I've been with Globex for about six years now",
    "can you check if the engineer is coming on Tuesday",
    "the router keeps dropping every evening around nine",
    "j'ai déménagé à Bordeaux en mars",
    "je voudrais passer à l'offre Acme Énergie verte",
    "votre prochaine échéance est le vingt-cinq novembre deux mille vingt-six",
    "the order was placed on the twenty fifth of November",
    "ça fait trois mois que j'attends",
    "is that the one with the Orange box or the other one",
    "I paid by direct debit on the first of the month",
    "la référence de l'appel c'est call-20261125-0001",
    "the ticket id is c-2026-11-25-01",
    "bonne journée au revoir",
    "thank you very much have a lovely day",
    "euh je sais pas trop",
    "vous êtes toujours là allô",
    "can you hear me now yes",
    "le code postal c'est soixante-neuf mille trois",
    "it went up by twelve percent in two thousand and twenty four",
    "je paie cent vingt euros par mois",
    "my contract ends in March twenty twenty seven",
    "Paris Lyon Marseille c'est partout pareil",
    "I was in Dublin last week so I missed the call",
    "vous avez reçu le courrier du dix-huit",
    "the meter reading is four five six two",
    "je suis au chômage depuis janvier",
    "could you send it by post instead",
    "je suis chez vous depuis deux mille douze",
    "Monday or Wednesday works for me",
    "la box Orange ne marche plus depuis samedi",
    "so that's forty nine ninety nine a month",
    "I'm calling from work so I have to be quick",
    "c'est le bon numéro de téléphone",
    "what's the best number to reach you on",
    "vous pouvez m'envoyer un mail",
    "je vous épelle le nom de la rue",
]
for text in NEG_ASR:
    lang = (
        "en"
        if any(
            w in f" {text} "
            for w in (
                " the ",
                " I ",
                " I'm ",
                " I've ",
                " you ",
                " is ",
                " so ",
                " can ",
                " my ",
                " or ",
                " for ",
                " thank ",
                " could ",
                " what's ",
                " works ",
                " it ",
            )
        )
        else "fr"
    )
    add(lang, text)
# the real 277 s call, in its shapes (customer's full name spelled, agent's first name, a 7-digit number)
REAL = [
    ("en", "thank you for calling this is Dave how can I help", [("person", "Dave")]),
    ("en", "hi Dave yeah my name is Martha Kowalczyk", [("person", "Dave"), ("person", "Martha Kowalczyk")]),
    ("en", "that's K O W A L C Z Y K", [("spelled", "K O W A L C Z Y K")]),
    (
        "en",
        "and the account number is four four seven one two three nine",
        [("number", "four four seven one two three nine")],
    ),
    ("en", "okay Martha let me pull that up", [("person", "Martha")]),
    ("fr", "merci Sophie c'est gentil", [("person", "Sophie")]),
    ("fr", "alors c'est Pierre Moreau M O R E A U", [("person", "Pierre Moreau"), ("spelled", "M O R E A U")]),
    ("fr", "D comme Denis U comme Ursule P comme Paul", [("spelled", "D comme Denis U comme Ursule P comme Paul")]),
    ("en", "Rose Walsh that's W A L S H", [("person", "Rose Walsh"), ("spelled", "W A L S H")]),
    ("en", "Mark speaking", [("person", "Mark")]),
]
for lang, text, ents in REAL:
    add(lang, text, *ents)

# Hand-written, not from templates: names the gazetteer does not know, lower-cased names, names in the
# middle of a sentence, hyphenated names, several people in one turn (written before measuring).
HAND_ASR = [
    (
        "fr",
        "oui bonjour c'est Thibault Vasseur je vous appelle parce que ma facture a doublé",
        [("person", "Thibault Vasseur")],
    ),
    ("fr", "ma voisine madame Lebrun m'a dit que vous aviez coupé le courant", [("person", "Lebrun")]),
    ("fr", "j'ai eu un de vos collègues Grégoire hier il m'a dit de rappeler", [("person", "Grégoire")]),
    ("fr", "c'est ma fille Anaïs qui s'occupe des papiers normalement", [("person", "Anaïs")]),
    ("fr", "le contrat est au nom de Jean-Baptiste Carpentier", [("person", "Jean-Baptiste Carpentier")]),
    ("fr", "alors Kowalski avec un K et un i à la fin", [("person", "Kowalski")]),
    ("fr", "je m'appelle yannick le goff", [("person", "yannick le goff")]),
    ("fr", "vous pouvez noter Ousmane Diallo c'est mon beau-frère", [("person", "Ousmane Diallo")]),
    ("fr", "oui c'est bien Mathilde au téléphone", [("person", "Mathilde")]),
    ("fr", "mon conseiller c'était un certain Fabrice je crois", [("person", "Fabrice")]),
    ("fr", "madame Pierre je vous mets en relation avec le service technique", [("person", "Pierre")]),
    ("fr", "bonjour monsieur Rose vous m'entendez", [("person", "Rose")]),
    ("fr", "je vous passe ma collègue Victoire elle connaît bien le dossier", [("person", "Victoire")]),
    (
        "fr",
        "ça s'écrit G comme Gérard A comme Anatole R comme Robert",
        [("spelled", "G comme Gérard A comme Anatole R comme Robert")],
    ),
    ("fr", "c'est Nguyen N G U Y E N", [("person", "Nguyen"), ("spelled", "N G U Y E N")]),
    ("fr", "bonjour Sandrine je vous écoute", [("person", "Sandrine")]),
    ("fr", "vous avez parlé avec Loïc ou avec Romane la dernière fois", [("person", "Loïc"), ("person", "Romane")]),
    ("fr", "j'habite au quarante-sept rue Jean Jaurès à Villeurbanne", [("address", "quarante-sept rue Jean Jaurès")]),
    ("fr", "l'adresse de facturation c'est le 3 impasse des Acacias", [("address", "3 impasse des Acacias")]),
    (
        "fr",
        "je suis né le premier avril mille neuf cent soixante-dix",
        [("dob", "premier avril mille neuf cent soixante-dix")],
    ),
    (
        "fr",
        "mon numéro d'abonné c'est le sept huit quatre deux neuf un zéro trois",
        [("number", "sept huit quatre deux neuf un zéro trois")],
    ),
    (
        "fr",
        "vous pouvez rappeler mon mari au zéro six quarante-deux dix-sept quatre-vingt-huit trente et un",
        [("phone", "zéro six quarante-deux dix-sept quatre-vingt-huit trente et un")],
    ),
    ("en", "hi it's Oluwaseun Adeyemi I've got a problem with my router", [("person", "Oluwaseun Adeyemi")]),
    ("en", "my name's Grzegorz Nowak", [("person", "Grzegorz Nowak")]),
    ("en", "yeah so my wife Deirdre usually handles the bills", [("person", "Deirdre")]),
    ("en", "I was talking to a guy called Brendan last week", [("person", "Brendan")]),
    ("en", "can you put me through to Lakshmi in billing", [("person", "Lakshmi")]),
    ("en", "the account holder is my mother Margaret Sullivan", [("person", "Margaret Sullivan")]),
    ("en", "my name is tom harrington", [("person", "tom harrington")]),
    ("en", "it's Mark with a k Mark Devlin", [("person", "Mark"), ("person", "Mark Devlin")]),
    ("en", "thanks Grace I appreciate it", [("person", "Grace")]),
    ("en", "is Frank still working there he sorted it last time", [("person", "Frank")]),
    ("en", "Hope O'Connor speaking", [("person", "Hope O'Connor")]),
    ("en", "hello am I speaking to Mr Okafor", [("person", "Okafor")]),
    (
        "en",
        "surname is Featherstonehaugh F E A T H E R S T O N E H A U G H",
        [("person", "Featherstonehaugh"), ("spelled", "F E A T H E R S T O N E H A U G H")],
    ),
    (
        "en",
        "that's B as in bravo R as in romeo O as in oscar W as in whiskey N as in november",
        [("spelled", "B as in bravo R as in romeo O as in oscar W as in whiskey N as in november")],
    ),
    ("en", "I live at fourteen Willow Crescent in Swindon", [("address", "fourteen Willow Crescent")]),
    ("en", "send it to 221 Harbour View Road please", [("address", "221 Harbour View Road")]),
    (
        "en",
        "my date of birth is the ninth of June nineteen seventy four",
        [("dob", "ninth of June nineteen seventy four")],
    ),
    (
        "en",
        "the number's six one seven five five five oh one nine nine",
        [("phone", "six one seven five five five oh one nine nine")],
    ),
    ("en", "my membership number is 88412093", [("number", "88412093")]),
    ("en", "you can reach me at +1 (646) 555 0187", [("phone", "+1 (646) 555 0187")]),
    # negatives with capitalised words and names of things that are not people
    ("fr", "Je voudrais résilier mon abonnement Freebox", []),
    ("fr", "Le technicien d'Enedis est passé mardi", []),
    ("fr", "On m'a dit d'aller à l'agence de Saint-Étienne", []),
    ("fr", "J'ai reçu un texto de La Poste", []),
    ("fr", "Vous êtes chez Acme Énergie bonjour", []),
    ("fr", "Noël approche donc je voudrais régler ça avant", []),
    ("en", "I bought it at Tesco on Saturday", []),
    ("en", "Is this the Globex support line", []),
    ("en", "Happy Christmas to you too", []),
    ("en", "It says Windows update failed on the screen", []),
    ("en", "I'm on the Unlimited Plus plan", []),
    ("en", "We moved from Manchester in August", []),
    ("en", "So the Netflix bundle isn't working", []),
    ("fr", "Le forfait Sérénité coûte combien", []),
    ("fr", "Avec la carte Visa ou la Mastercard ça marche pareil", []),
    ("en", "will you send me the email confirmation", []),
    ("en", "I'll mark it as urgent", []),
    ("fr", "c'est une pierre qui a cassé la fenêtre", []),
]
for lang, text, ents in HAND_ASR:
    add(lang, text, *ents)

# Held-out names (issue 18): people whose names are in no list the detector carries — written before
# measuring, from many origins, as Whisper writes them (capitals, little punctuation), in the middle
# of sentences as well as after cues. test_redaction measures recall on them apart.
HELD_OUT = [
    ("fr", "bonjour je suis Amandine Rouxel je vous appelle pour mon compteur", [("person", "Amandine Rouxel")]),
    ("fr", "mon propriétaire monsieur Vandenberghe ne répond plus", [("person", "Vandenberghe")]),
    ("fr", "c'est Solène qui a fait la demande pas moi", [("person", "Solène")]),
    ("fr", "vous pouvez envoyer le courrier à Ghislaine Pouchard", [("person", "Ghislaine Pouchard")]),
    ("fr", "j'ai eu Bastien Lefloch au téléphone la semaine dernière", [("person", "Bastien Lefloch")]),
    ("fr", "le titulaire c'est mon oncle Firmin Dubreuil", [("person", "Firmin Dubreuil")]),
    ("fr", "alors mon nom c'est Tchakounté avec un accent sur le e", [("person", "Tchakounté")]),
    ("fr", "Maëlys Kerbrat à l'appareil bonjour", [("person", "Maëlys Kerbrat")]),
    ("fr", "je vous passe Honorine elle s'occupe des résiliations", [("person", "Honorine")]),
    ("fr", "oui Ludivine Stroobants c'est bien ça", [("person", "Ludivine Stroobants")]),
    ("fr", "il faut voir avec Aurèle Mbappé Ngassa pour le dossier", [("person", "Aurèle Mbappé Ngassa")]),
    ("fr", "madame Haddad-Benkirane voulait changer de forfait", [("person", "Haddad-Benkirane")]),
    ("fr", "je m'appelle Quitterie Desforges", [("person", "Quitterie Desforges")]),
    ("fr", "mon conseiller habituel c'est Evariste il est en congé", [("person", "Evariste")]),
    ("fr", "d'accord donc je note que Gwenaëlle Le Bihan rappellera demain", [("person", "Gwenaëlle Le Bihan")]),
    ("fr", "bonjour Apolline c'est encore moi pour le remboursement", [("person", "Apolline")]),
    ("fr", "mon ex-mari Corentin Jaffrezic a gardé le contrat à son nom", [("person", "Corentin Jaffrezic")]),
    ("fr", "la technicienne Ysaline est venue ce matin", [("person", "Ysaline")]),
    ("fr", "vous parlez avec Anatole Brézillon du service client", [("person", "Anatole Brézillon")]),
    ("fr", "c'est au nom de Perpétue Nzeyimana", [("person", "Perpétue Nzeyimana")]),
    ("fr", "j'appelle de la part de ma grand-mère Eugénie Troadec", [("person", "Eugénie Troadec")]),
    ("fr", "vous avez bien noté Wassim Belkacemi", [("person", "Wassim Belkacemi")]),
    (
        "fr",
        "euh c'est Clothilde Vanhoutte v a n h o u t t e",
        [("person", "Clothilde Vanhoutte"), ("spelled", "v a n h o u t t e")],
    ),
    ("fr", "le monsieur qui est venu s'appelait Hippolyte", [("person", "Hippolyte")]),
    ("fr", "mon fils Timéo Grosjean-Mallet a ouvert le compte", [("person", "Timéo Grosjean-Mallet")]),
    ("en", "hi this is Thaddeus Blackwood calling about my bill", [("person", "Thaddeus Blackwood")]),
    ("en", "my landlord Mr Abernathy set up the account", [("person", "Abernathy")]),
    ("en", "yeah it was Ingrid Halvorsen who called me yesterday", [("person", "Ingrid Halvorsen")]),
    ("en", "could you note that Cormac Ó Briain is the second holder", [("person", "Cormac Ó Briain")]),
    ("en", "I spoke with Temperance at your Leeds office", [("person", "Temperance")]),
    ("en", "the engineer Bartholomew Quigley never showed up", [("person", "Bartholomew Quigley")]),
    ("en", "my name is Anjali Raghunathan", [("person", "Anjali Raghunathan")]),
    ("en", "it's Zebediah with a z", [("person", "Zebediah")]),
    ("en", "so Philippa Worthington is my daughter she pays the bill", [("person", "Philippa Worthington")]),
    ("en", "I've been trying to reach Ignatius for two weeks", [("person", "Ignatius")]),
    ("en", "you're speaking with Evander from the support team", [("person", "Evander")]),
    ("en", "put it under Marguerite Fairweather please", [("person", "Marguerite Fairweather")]),
    ("en", "Oisín Mac Giolla Phádraig speaking how can I help", [("person", "Oisín Mac Giolla Phádraig")]),
    ("en", "my husband Leopold Vasquez-Thornton handles that", [("person", "Leopold Vasquez-Thornton")]),
    ("en", "the last agent Seraphina told me it was fixed", [("person", "Seraphina")]),
    ("en", "yes Mrs Oyelaran-Whitfield that's all sorted", [("person", "Oyelaran-Whitfield")]),
    ("en", "account holder Barnaby Tsang", [("person", "Barnaby Tsang")]),
    ("en", "I'm calling for my neighbour Winifred Ashdown", [("person", "Winifred Ashdown")]),
    ("en", "ok Ptolemy I've reset the line now", [("person", "Ptolemy")]),
    ("en", "it was Kwabena Mensah-Bonsu who signed for the parcel", [("person", "Kwabena Mensah-Bonsu")]),
    ("en", "thanks Rosalind that's really helpful", [("person", "Rosalind")]),
    ("en", "my name's Dmitri Volkonsky", [("person", "Dmitri Volkonsky")]),
    ("en", "we had a technician called Eustace come round", [("person", "Eustace")]),
    ("en", "can I speak to Gwendolyn Pryce please", [("person", "Gwendolyn Pryce")]),
    ("en", "it's under my partner's name Siddharth Venkataraman", [("person", "Siddharth Venkataraman")]),
]
for lang, text, ents in HELD_OUT:
    add(lang, text, *ents)

# A second held-out batch, written after the first one had been measured and the detector changed
# for it (name particles, kinship and role cues): this one was measured once, as written.
HELD_OUT_2 = [
    ("fr", "bonjour j'appelle pour Léontine Chauvireau qui est hospitalisée", [("person", "Léontine Chauvireau")]),
    ("fr", "c'est Séverin Lacombe-Vidal je suis le gérant", [("person", "Séverin Lacombe-Vidal")]),
    ("fr", "votre collègue Blandine m'a promis un geste commercial", [("person", "Blandine")]),
    ("fr", "il faut que Maximilien Orsoni signe aussi", [("person", "Maximilien Orsoni")]),
    ("fr", "je voudrais parler à madame Feuillâtre s'il vous plaît", [("person", "Feuillâtre")]),
    ("fr", "ma belle-fille Nolwenn Guéguen gère tout ça", [("person", "Nolwenn Guéguen")]),
    ("fr", "le dossier est suivi par Athénaïs Roquebrune", [("person", "Athénaïs Roquebrune")]),
    ("fr", "oui donc Barthélémy Ozanne né en soixante-deux", [("person", "Barthélémy Ozanne")]),
    ("fr", "je suis la tutrice de monsieur Kerangal", [("person", "Kerangal")]),
    ("fr", "c'est Domitille qui m'a donné votre numéro", [("person", "Domitille")]),
    ("fr", "mon associé Ferdinand Abgrall est d'accord", [("person", "Ferdinand Abgrall")]),
    ("fr", "appelez plutôt Rosalie Tamboura en fin de journée", [("person", "Rosalie Tamboura")]),
    ("fr", "l'ancien occupant s'appelait Cyprien Mougenot", [("person", "Cyprien Mougenot")]),
    ("fr", "bonjour monsieur Achterberg vous êtes bien chez Acme", [("person", "Achterberg")]),
    ("fr", "je vous mets en relation avec Octavie du service litiges", [("person", "Octavie")]),
    ("en", "hello I'm ringing on behalf of Cornelius Whitlock", [("person", "Cornelius Whitlock")]),
    ("en", "my flatmate Saoirse Breathnach moved out in March", [("person", "Saoirse Breathnach")]),
    ("en", "the bill is addressed to Percival Hargreaves", [("person", "Percival Hargreaves")]),
    ("en", "yes this is Obadiah Fennimore", [("person", "Obadiah Fennimore")]),
    ("en", "Araminta from your billing team said she'd call back", [("person", "Araminta")]),
    ("en", "could you ask Florian Ratzinger to email me", [("person", "Florian Ratzinger")]),
    ("en", "my son Caspian Leigh-Osborne is on the contract too", [("person", "Caspian Leigh-Osborne")]),
    ("en", "I already explained all this to Tobias Lindqvist", [("person", "Tobias Lindqvist")]),
    ("en", "Mrs Fotheringay next door has the same problem", [("person", "Fotheringay")]),
    ("en", "hi Desmond it's about the refund again", [("person", "Desmond")]),
    ("en", "the contract was signed by Ebenezer Achebe", [("person", "Ebenezer Achebe")]),
    ("en", "you'll be talking to Marisol Etxeberria today", [("person", "Marisol Etxeberria")]),
    ("en", "my carer Lucinda Pemberton helps me with calls", [("person", "Lucinda Pemberton")]),
    ("en", "I think Horatio on the phone last time was very rude", [("person", "Horatio")]),
    (
        "en",
        "this is regarding the account of the late Augustina Delacroix-Byrne",
        [("person", "Augustina Delacroix-Byrne")],
    ),
]
for lang, text, ents in HELD_OUT_2:
    add(lang, text, *ents)


with OUT.open("w", encoding="utf-8") as fh:
    for r in rows:
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
print(f"{len(rows)} sentences -> {OUT}")
