"""PII redaction of transcript text, French and English (P21).

Finds phone numbers (French and international, written or spoken as words:
« zéro six douze trente-quatre… », "oh seven seven…"), e-mail addresses (also
spoken: « jean point dupont arobase exemple point fr », "jane dot doe at example
dot com"), payment card numbers (Luhn-checked), IBANs (ISO 13616 mod-97) and
French social-security numbers (NIR, with their 97-complement key), and
replaces each with a typed placeholder. Only per-type counts leave this module.

Numbers are found on a *digit stream*: every token that is a digit run or a
number word becomes digits, so "06 12 34 56 78", "0612345678" and « zéro six
douze trente-quatre cinquante-six soixante-dix-huit » are the same candidate.
Checksums (Luhn, mod 97, NIR key) keep order numbers, dates and prices out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDERS = {"phone": "[PHONE]", "email": "[EMAIL]", "card": "[CARD]", "iban": "[IBAN]", "nir": "[NIR]"}
TYPES = tuple(PLACEHOLDERS)

# --- number words ------------------------------------------------------------
_FR_UNITS = {"zéro": 0, "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
             "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
             "quinze": 15, "seize": 16}
_FR_TENS = {"vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60}
_EN_UNITS = {"zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
             "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
             "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
            "ninety": 90}
_REPEAT = {"double": 2, "triple": 3}


def _fr_number(word: str) -> str | None:
    """« trente-quatre » -> '34', « soixante-dix-huit » -> '78', « quatre-vingt-douze » -> '92'."""
    parts = [p for p in re.split(r"[-\s]+", word) if p and p != "et"]
    if not parts:
        return None
    total, i = 0, 0
    if parts[:2] == ["quatre", "vingt"] or parts[:2] == ["quatre", "vingts"]:
        total, i = 80, 2
    elif parts[0] in _FR_TENS:
        total, i = _FR_TENS[parts[0]], 1
    rest = parts[i:]
    if not rest:
        return str(total) if total else None
    if rest == ["dix"] and total in (60, 80):
        return str(total + 10)
    if len(rest) == 2 and rest[0] == "dix" and rest[1] in _FR_UNITS and total in (60, 80):
        return str(total + 10 + _FR_UNITS[rest[1]])
    if len(rest) == 1 and rest[0] in _FR_UNITS:
        return str(total + _FR_UNITS[rest[0]])
    if len(rest) == 2 and rest[0] == "dix" and rest[1] in ("sept", "huit", "neuf") and total == 0:
        return str(10 + _FR_UNITS[rest[1]])
    return None


def _en_number(word: str) -> str | None:
    parts = [p for p in re.split(r"[-\s]+", word) if p]
    if len(parts) == 1 and parts[0] in _EN_UNITS:
        return str(_EN_UNITS[parts[0]])
    if len(parts) == 1 and parts[0] in _EN_TENS:
        return str(_EN_TENS[parts[0]])
    if len(parts) == 2 and parts[0] in _EN_TENS and parts[1] in _EN_UNITS and _EN_UNITS[parts[1]] < 10:
        return str(_EN_TENS[parts[0]] + _EN_UNITS[parts[1]])
    return None


def _word_digits(word: str) -> str | None:
    w = word.lower()
    if w in ("o",):  # a bare "o" is too ambiguous alone; handled only inside a digit run
        return "0"
    return _fr_number(w) or _en_number(w)


# --- tokens and digit runs ------------------------------------------------------
_TOKEN = re.compile(r"\+?\d+|[^\W\d_]+(?:-[^\W\d_]+)*|[^\s]", re.UNICODE)
# Separators allowed inside a spoken or written number
_JOINERS = {".", "-", "/", ",", "(", ")"}


@dataclass(frozen=True)
class Entity:
    kind: str
    start: int
    end: int


def _digit_runs(text: str):
    """Yield (digits, start, end, token spans) for maximal runs of number tokens."""
    tokens = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    i = 0
    while i < len(tokens):
        run, spans, j, pending_repeat = [], [], i, 0
        while j < len(tokens):
            tok, s, e = tokens[j]
            low = tok.lower()
            if tok[0] == "+" and tok[1:].isdigit() and not run:
                run.append(tok)
                spans.append((s, e))
            elif tok.isdigit():
                run.append(tok * pending_repeat if pending_repeat else tok)
                pending_repeat = 0
                spans.append((s, e))
            elif low in _REPEAT and j + 1 < len(tokens):
                pending_repeat = _REPEAT[low]
                spans.append((s, e))
            elif (d := _word_digits(tok)) is not None and (low != "o" or run):
                run.append(d * pending_repeat if pending_repeat else d)
                pending_repeat = 0
                spans.append((s, e))
            elif tok in _JOINERS and run and j + 1 < len(tokens):
                pass  # keep the run going across separators
            elif low in ("plus",) and not run and j + 1 < len(tokens) and tokens[j + 1][0][:1].isalnum():
                run.append("+")
                spans.append((s, e))
            else:
                break
            j += 1
        if run and any(ch.isdigit() for ch in "".join(run)):
            yield "".join(run), spans[0][0], spans[-1][1], spans
            i = j
        else:
            i = max(j, i + 1)


# --- checksums --------------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


def nir_ok(nir: str) -> bool:
    """15 characters: sex, year, month, department (2A/2B for Corsica), commune, order, key."""
    n = nir.upper()
    if len(n) != 15 or n[0] not in "1234578":
        return False
    body, key = n[:13], n[13:]
    if not key.isdigit():
        return False
    body = body.replace("2A", "19").replace("2B", "18")
    if not body.isdigit():
        return False
    month = int(body[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    return 97 - int(body) % 97 == int(key)


def iban_ok(iban: str) -> bool:
    s = re.sub(r"\s", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def phone_ok(digits: str) -> bool:
    d = digits
    if d.startswith("+"):
        rest = d[1:]
        if rest.startswith("33"):
            return len(rest) == 11 and rest[2] in "123456789"
        return 8 <= len(rest) <= 15
    if d.startswith("0033"):
        return len(d) == 13
    if d.startswith("00"):
        return 10 <= len(d) <= 17
    # National numbers: France and Ireland 10 digits, the UK 11, all starting with 0X (X ≠ 0)
    return len(d) in (10, 11) and d[0] == "0" and d[1] in "123456789"


# --- detectors ----------------------------------------------------------------------
_IBAN_WRITTEN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b", re.IGNORECASE)
_NIR_WRITTEN = re.compile(r"\b[1-478][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2A|2B)[ .]?\d{3}[ .]?\d{3}[ .]?\d{2}\b", re.IGNORECASE)
_EMAIL_WRITTEN = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
_TLDS = {"fr", "com", "org", "net", "eu", "io", "co", "uk", "de", "be", "ch", "es", "it", "info", "biz", "gouv"}
_AT = {"arobase", "at", "arrobase", "@"}
_DOT = {"point", "dot", "."}
_WORD = re.compile(r"[\w'-]+|@|\.", re.UNICODE)


def _spoken_emails(text: str) -> list[Entity]:
    """« jean point dupont arobase exemple point fr » / "jane dot doe at example dot com"."""
    toks = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]
    out = []
    for i, (tok, _s, _e) in enumerate(toks):
        if tok.lower() not in _AT or i == 0:
            continue
        # domain: word (dot word)* ending in a known TLD
        j, seen_dot, end = i + 1, False, None
        if j >= len(toks) or not toks[j][0][0].isalnum():
            continue
        j += 1
        while j + 1 < len(toks) and toks[j][0].lower() in _DOT and toks[j + 1][0][0].isalnum():
            seen_dot = True
            end = toks[j + 1][2]
            last = toks[j + 1][0].lower()
            j += 2
        if not seen_dot or last not in _TLDS:
            continue
        # local part: word (dot word)* going backwards
        k, start = i - 1, toks[i - 1][1]
        while k - 2 >= 0 and toks[k - 1][0].lower() in _DOT and toks[k - 2][0][0].isalnum():
            start = toks[k - 2][1]
            k -= 2
        out.append(Entity("email", start, end))
    return out


def find_entities(text: str) -> list[Entity]:
    """All PII spans in *text*, non-overlapping, leftmost-longest, checksums applied."""
    found: list[Entity] = []
    for m in _EMAIL_WRITTEN.finditer(text):
        found.append(Entity("email", m.start(), m.end()))
    found += _spoken_emails(text)
    for m in _IBAN_WRITTEN.finditer(text):
        if iban_ok(m.group(0)):
            found.append(Entity("iban", m.start(), m.end()))
    for m in _NIR_WRITTEN.finditer(text):
        if nir_ok(re.sub(r"[ .]", "", m.group(0))):
            found.append(Entity("nir", m.start(), m.end()))
    for digits, start, end, spans in _digit_runs(text):
        kind = _classify_digits(digits)
        if kind:
            found.append(Entity(kind, start, end))
        else:
            # A run can hold a number and its neighbours ("commande 12 appelez le 06…", "06 12 34 56 78
            # (40 s)"): try the run's prefixes, then the suffixes of what is left, longest first. Not
            # interior windows: those carve phone-like digits out of longer numbers (a dossier number).
            # Bounded: a PII number is at most 19 digits, so a window spans at most 24 tokens.
            def window(a: int, b: int) -> str | None:
                return _classify_digits("".join(_digits_of(text[s:e]) for s, e in spans[a:b]))

            n, head = len(spans), 0
            for m in range(min(n, 24), 0, -1):
                if (kind := window(0, m)) is not None:
                    found.append(Entity(kind, spans[0][0], spans[m - 1][1]))
                    head = m
                    break
            for k in range(max(head, n - 24), n):
                if (kind := window(k, n)) is not None:
                    found.append(Entity(kind, spans[k][0], end))
                    break
    found.sort(key=lambda e: (e.start, -(e.end - e.start)))
    result, last_end = [], -1
    for e in found:
        if e.start >= last_end:
            result.append(e)
            last_end = e.end
    return result


def _digits_of(token_text: str) -> str:
    t = token_text.strip()
    if t.lstrip("+").isdigit():
        return t
    if t.lower() in _REPEAT:
        return ""
    return _word_digits(t) or ""


def _classify_digits(digits: str) -> str | None:
    plain = digits.lstrip("+")
    if not plain.isdigit():
        return None
    if len(plain) == 15 and not digits.startswith("+") and nir_ok(plain):
        return "nir"
    if 13 <= len(plain) <= 19 and not digits.startswith("+") and not plain.startswith("0") and luhn_ok(plain):
        return "card"
    if phone_ok(digits):
        return "phone"
    return None


def redact(text: str) -> tuple[str, dict[str, int]]:
    """Replace every PII span by its placeholder; return the text and per-type counts (no values)."""
    counts = {t: 0 for t in TYPES}
    out, pos = [], 0
    for e in find_entities(text):
        out.append(text[pos:e.start])
        out.append(PLACEHOLDERS[e.kind])
        counts[e.kind] += 1
        pos = e.end
    out.append(text[pos:])
    return "".join(out), counts
