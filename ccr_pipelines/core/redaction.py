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

PLACEHOLDERS = {
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "card": "[CARD]",
    "iban": "[IBAN]",
    "nir": "[NIR]",
    "person": "[PERSON]",
    "address": "[ADDRESS]",
    "dob": "[DOB]",
    "number": "[NUMBER]",
    "spelled": "[SPELLED]",
}
TYPES = tuple(PLACEHOLDERS)
# Types the pure rules find; "person" needs the NER (core/pii_engine.py) for its full recall.
RULE_TYPES = tuple(t for t in TYPES if t != "person")
MIN_NUMBER_DIGITS = 7  # a longer digit run (customer, contract, account number) is redacted as [NUMBER]

# --- number words ------------------------------------------------------------
_FR_UNITS = {
    "zéro": 0,
    "zero": 0,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
}
_FR_TENS = {"vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60}
_EN_UNITS = {
    "zero": 0,
    "oh": 0,
    "o": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
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
    if len(d) in (10, 11) and d[0] == "0" and d[1] in "123456789":
        return True
    return nanp_ok(d)


def nanp_ok(digits: str) -> bool:
    """North-American number: NPA-NXX-XXXX, area code and exchange starting 2-9, with or without the 1."""
    d = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    return len(d) == 10 and d.isdigit() and d[0] in "23456789" and d[3] in "23456789"


def date_like(digits: str) -> bool:
    """An 8-digit run that reads as a calendar date (YYYYMMDD or DDMMYYYY): a call id, not a person."""
    if len(digits) != 8 or not digits.isdigit():
        return False
    for y, m, d in ((digits[:4], digits[4:6], digits[6:]), (digits[4:], digits[2:4], digits[:2])):
        if 1900 <= int(y) <= 2099 and 1 <= int(m) <= 12 and 1 <= int(d) <= 31:
            return True
    return False


# --- detectors ----------------------------------------------------------------------
_IBAN_WRITTEN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b", re.IGNORECASE)
_NIR_WRITTEN = re.compile(
    r"\b[1-478][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2A|2B)[ .]?\d{3}[ .]?\d{3}[ .]?\d{2}\b", re.IGNORECASE
)
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


def find_rule_entities(text: str) -> list[Entity]:
    """PII spans the rules find in *text* (names from the gazetteer and cues only), overlapping, unsorted."""
    return (
        email_spans(text)
        + number_spans(text)
        + spelled_spans(text)
        + dob_spans(text)
        + address_spans(text)
        + person_rule_spans(text)
    )


def email_spans(text: str) -> list[Entity]:
    """Written and spoken e-mail addresses."""
    return [Entity("email", m.start(), m.end()) for m in _EMAIL_WRITTEN.finditer(text)] + _spoken_emails(text)


def number_spans(text: str) -> list[Entity]:
    """IBANs (mod 97), NIRs (key), cards (Luhn), phones (FR, UK, IE, NANP, international) and other runs of
    7+ digits, written or spoken."""
    found: list[Entity] = []
    for m in _IBAN_WRITTEN.finditer(text):
        if iban_ok(m.group(0)):
            found.append(Entity("iban", m.start(), m.end()))
    for m in _NIR_WRITTEN.finditer(text):
        if nir_ok(re.sub(r"[ .]", "", m.group(0))):
            found.append(Entity("nir", m.start(), m.end()))
    for digits, start, end, spans in _digit_runs(text):
        if cut := _date_prefix(text, spans):  # "20261125-0001", "2026-11-25-01": a date, then an index
            if cut == len(spans):
                continue
            spans = spans[cut:]
            start = spans[0][0]
            digits = "".join(_digits_of(text[s:e]) for s, e in spans)
        kind = _classify_digits(digits)
        if kind:
            found.append(Entity(kind, start, end))
            continue
        if all(len(_digits_of(text[s:e])) == 1 for s, e in spans):
            # read digit by digit ("four four seven one two three nine"): one number, not a phone plus a digit
            if (kind := _classify_run(digits)) is not None:
                found.append(Entity(kind, start, end))
            continue

        # A run can hold a number and its neighbours ("commande 12 appelez le 06…", "06 12 34 56 78
        # (40 s)"): try the run's prefixes, then the suffixes of what is left, longest first. Not
        # interior windows: those carve phone-like digits out of longer numbers (a dossier number).
        # Bounded: a PII number is at most 19 digits, so a window spans at most 24 tokens.
        def window(a: int, b: int, spans=spans) -> str | None:
            return _classify_digits("".join(_digits_of(text[s:e]) for s, e in spans[a:b]))

        n, head = len(spans), 0
        for m in range(min(n, 24), 0, -1):
            if (kind := window(0, m)) is not None:
                found.append(Entity(kind, spans[0][0], spans[m - 1][1]))
                head = m
                break
        tail = n
        for k in range(max(head, n - 24), n):
            if (kind := window(k, n)) is not None:
                found.append(Entity(kind, spans[k][0], end))
                tail = k
                break
        if head == 0 and tail == n and (kind := _classify_run(digits)) is not None:
            found.append(Entity(kind, start, end))
        elif head < tail and (kind := _classify_run("".join(_digits_of(text[s:e]) for s, e in spans[head:tail]))):
            found.append(Entity(kind, spans[head][0], spans[tail - 1][1]))
    found += spelled_spans(text)
    found += dob_spans(text)
    found += address_spans(text)
    found += person_rule_spans(text)
    return found


# Placeholders a previous pass wrote: never PII themselves (the no-PII check re-runs the detector).
_PLACEHOLDER_RE = re.compile(r"\[(?:" + "|".join(p[1:-1] for p in PLACEHOLDERS.values()) + r")\]")
# When two spans overlap, the checked types win over the contextual ones.
_PRIORITY = {
    "email": 0,
    "iban": 1,
    "nir": 2,
    "card": 3,
    "phone": 4,
    "dob": 5,
    "address": 6,
    "number": 7,
    "spelled": 8,
    "person": 9,
}


_SOFT = set(" \t\n.,;:!?")


def resolve(text: str, found: list[Entity]) -> list[Entity]:
    """Non-overlapping spans, leftmost-longest (ties: checked types first); never inside a placeholder."""
    holders = [(m.start(), m.end()) for m in _PLACEHOLDER_RE.finditer(text)]
    kept = []
    for e in found:
        s, t = e.start, e.end
        for hs, he in holders:
            if hs < t and s < he:  # trim the placeholder off the span's ends; drop what is inside one
                if hs <= s:
                    s = he
                if he >= t:
                    t = hs
        while s < t and text[s] in _SOFT:
            s += 1
        while t > s and text[t - 1] in _SOFT:
            t -= 1
        if e.kind == "phone" and s > 0 and text[s - 1] == "(" and text[s].isdigit():
            s -= 1  # "(415) 555-0132": the bracket belongs to the number
        if s < t:
            kept.append(Entity(e.kind, s, t))
    kept.sort(key=lambda e: (e.start, -(e.end - e.start), _PRIORITY[e.kind]))
    result, last_end = [], -1
    for e in kept:
        if e.start >= last_end:
            result.append(e)
            last_end = e.end
    return _join_name_parts(text, result)


# Words that sit between the parts of one person's name: « Cormac Ó Briain », « Gwenaëlle Le Bihan »,
# "Oisín Mac Giolla", « Ben Ali ». Two person spans with only such a word (or a space) between are one name.
_NAME_JOINERS = {
    "o",
    "ó",
    "ní",
    "nic",
    "mac",
    "mc",
    "ua",
    "le",
    "la",
    "de",
    "du",
    "des",
    "van",
    "von",
    "der",
    "den",
    "da",
    "di",
    "del",
    "dos",
    "das",
    "ben",
    "bin",
    "bint",
    "el",
    "al",
    "ibn",
    "ter",
    "ten",
}


def _join_name_parts(text: str, entities: list[Entity]) -> list[Entity]:
    out: list[Entity] = []
    for e in entities:
        if out and out[-1].kind == "person" and e.kind == "person":
            gap = text[out[-1].end : e.start].strip().lower()
            if gap == "" or gap in _NAME_JOINERS:
                out[-1] = Entity("person", out[-1].start, e.end)
                continue
        out.append(e)
    return out


def find_entities(text: str, *, ner: bool = True) -> list[Entity]:
    """All PII spans in *text*, non-overlapping, leftmost-longest, checksums applied.

    With *ner* (the default) names also come from the spaCy model through Presidio
    (core/pii_engine.py, loaded on first use); ``ner=False`` is the pure rules."""
    if ner:
        from .pii_engine import find_entities_batch

        return find_entities_batch([text])[0]
    return resolve(text, find_rule_entities(text))


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


def _date_prefix(text: str, spans) -> int:
    """How many leading tokens of a digit run make a date (an 8-digit token, or 4-2-2 / 2-2-4 groups)."""
    toks = [text[s:e] for s, e in spans[:3]]
    if toks and date_like(toks[0]):
        return 1
    if (
        len(toks) == 3
        and all(t.isdigit() for t in toks)
        and [len(t) for t in toks] in ([4, 2, 2], [2, 2, 4])
        and date_like("".join(toks))
    ):
        return 3
    return 0


def _classify_run(digits: str) -> str | None:
    """A whole run: a checked number type, else [NUMBER] for any run of 7+ digits that is not a date."""
    kind = _classify_digits(digits)
    if kind is None and len(digits.lstrip("+")) >= MIN_NUMBER_DIGITS and not date_like(digits.lstrip("+")):
        return "number"
    return kind


def redact(text: str, *, ner: bool = True) -> tuple[str, dict[str, int]]:
    """Replace every PII span by its placeholder; return the text and per-type counts (no values)."""
    return apply(text, find_entities(text, ner=ner))


def apply(text: str, entities: list[Entity]) -> tuple[str, dict[str, int]]:
    """*text* with each (resolved) entity replaced by its typed placeholder, and per-type counts."""
    counts = {t: 0 for t in TYPES}
    out, pos = [], 0
    for e in entities:
        out.append(text[pos : e.start])
        out.append(PLACEHOLDERS[e.kind])
        counts[e.kind] += 1
        pos = e.end
    out.append(text[pos:])
    return "".join(out), counts


# --- contextual rules: spelled letters, dates of birth, addresses, names -------------------------
_WORDTOK = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+)*|\d+|[^\s\w]", re.UNICODE)


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in _WORDTOK.finditer(text)]


_SPELL_JOIN = {"comme", "as", "in", "for", "like", "de"}  # « D comme Denis », "D as in David", "B for Bravo"


def spelled_spans(text: str) -> list[Entity]:
    """Names and codes spelled letter by letter: « D U P O N T », "S-M-I-T-H", « D comme Denis U comme… »."""
    toks = _words(text)
    out, i = [], 0
    while i < len(toks):
        j, letters, common, end = i, 0, 0, None
        while j < len(toks):
            tok = toks[j][0]
            parts = tok.split("-")
            if all(len(p) == 1 and p.isalpha() for p in parts):
                letters += len(parts)
                common += sum(1 for p in parts if p in ("a", "y", "à", "i", "o", "I", "A"))
                end = toks[j][2]
                j += 1
                # « D comme Denis », "D as in David": skip the spelling word
                if (
                    j + 1 < len(toks)
                    and toks[j][0].lower() == "comme"
                    and len(toks[j + 1][0]) > 1
                    and toks[j + 1][0][:1].isalpha()
                ):
                    end, j = toks[j + 1][2], j + 2
                elif (
                    j + 2 < len(toks)
                    and toks[j][0].lower() == "as"
                    and toks[j + 1][0].lower() == "in"
                    and len(toks[j + 2][0]) > 1
                    and toks[j + 2][0][:1].isalpha()
                ):
                    end, j = toks[j + 2][2], j + 3
                elif (
                    j + 1 < len(toks)
                    and toks[j][0].lower() == "for"
                    and toks[j + 1][0][:1].isupper()
                    and len(toks[j + 1][0]) > 1
                ):
                    end, j = toks[j + 1][2], j + 2
                continue
            if tok in (".", ",") and letters and j + 1 < len(toks) and len(toks[j + 1][0]) == 1:
                j += 1
                continue
            break
        if letters >= 3 and common * 2 < letters:
            out.append(Entity("spelled", toks[i][1], end))
            i = j
        else:
            i = max(j, i + 1)
    return out


_MONTHS = {
    "janvier",
    "février",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "decembre",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
}
_ORDINALS = {
    "premier",
    "1er",
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
    "thirtieth",
    "thirty-first",
    "st",
    "nd",
    "rd",
    "th",
}
_DATE_GLUE = {"le", "the", "of", "mille", "cent", "cents", "hundred", "thousand", "and", "et", "/", "-", ".", ","}
_DOB_CUES = (
    ("né", "le"),
    ("née", "le"),
    ("né", "en"),
    ("née", "en"),
    ("date", "de", "naissance"),
    ("date", "of", "birth"),
    ("born", "on"),
    ("born", "the"),
    ("born", "in"),
    ("birthday", "is"),
    ("dob",),
    ("d", "o", "b"),
    ("birth", "date"),
    ("naissance",),
    ("born",),
    ("né",),
    ("née",),
)


_DOB_FIRST = {c[0] for c in _DOB_CUES}


def _date_token(tok: str) -> bool:
    low = tok.lower()
    if low in _MONTHS or low in _ORDINALS or tok.isdigit():
        return True
    if re.fullmatch(r"(?:twenty|thirty)-(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)", low):
        return True
    return _word_digits(low) is not None and low != "o"


def dob_spans(text: str) -> list[Entity]:
    """A date after a birth cue: « née le douze mars mille neuf cent quatre-vingt-cinq », "DOB 12/03/1985"."""
    toks = _words(text)
    lows = [t[0].lower() for t in toks]
    out = []
    for i in range(len(toks)):
        if lows[i] not in _DOB_FIRST:
            continue
        for cue in _DOB_CUES:
            if tuple(lows[i : i + len(cue)]) != cue:
                continue
            j = i + len(cue)
            while j < len(toks) and lows[j] in ("est", "is", "c'est", "it's", ":", "le", "the", "on", "en", "in"):
                j += 1
            k, last, dateish, month = j, None, 0, False
            while k < len(toks) and k - j < 14 and (_date_token(toks[k][0]) or lows[k] in _DATE_GLUE):
                if _date_token(toks[k][0]):
                    last, dateish = k, dateish + 1
                    month = month or lows[k] in _MONTHS
                k += 1
            if last is not None and (month or dateish >= 3 or (dateish >= 1 and re.fullmatch(r"\d{4}", toks[last][0]))):
                out.append(Entity("dob", toks[j][1], toks[last][2]))
            break
    return out


_FR_STREETS = {
    "rue",
    "avenue",
    "av",
    "boulevard",
    "bd",
    "allée",
    "allee",
    "impasse",
    "chemin",
    "place",
    "quai",
    "route",
    "cours",
    "square",
    "passage",
    "résidence",
    "residence",
    "lotissement",
    "hameau",
    "voie",
    "sentier",
    "faubourg",
    "cité",
    "cite",
    "villa",
    "rond-point",
}
_EN_STREETS = {
    "street",
    "st",
    "road",
    "rd",
    "avenue",
    "ave",
    "lane",
    "ln",
    "drive",
    "dr",
    "close",
    "way",
    "court",
    "crescent",
    "place",
    "terrace",
    "boulevard",
    "blvd",
    "gardens",
    "grove",
    "park",
    "square",
    "row",
    "mews",
    "parade",
    "walk",
    "hill",
}
_FR_ARTICLES = {"de", "du", "des", "la", "le", "les", "l", "d", "de la", "saint", "sainte", "st", "ste"}
_ADDR_STOP = {
    "à",
    "a",
    "et",
    "dans",
    "pour",
    "au",
    "en",
    "sur",
    "avec",
    "mais",
    "donc",
    "in",
    "and",
    "at",
    "on",
    "please",
    "s'il",
    "merci",
    "voilà",
    "voila",
    "euh",
    "uh",
    "um",
    "c'est",
    "it's",
    "je",
    "i",
    "vous",
    "you",
    "qui",
    "that",
    "which",
    "près",
    "near",
    "apartment",
    "appartement",
    "bâtiment",
    "étage",
    "flat",
    "code",
    "postal",
    "postcode",
    "zip",
    "since",
    "depuis",
    "for",
    "then",
    "puis",
    "ok",
    "oui",
    "yes",
    "non",
    "no",
    "alors",
    "so",
    "is",
    "est",
    "was",
    "ou",
    "or",
    "the",
    "by",
    "to",
}
_POSTCODE_UK = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|[A-Z]{1,2}\d{1,2}) ?\d[A-Z]{2}\b")
_EIRCODE = re.compile(r"\b[AC-FHKNPRTV-Y]\d{2}\s?[AC-FHKNPRTV-Y0-9]{4}\b")


def _house_number(toks, j: int) -> int | None:
    """Index where a house number ending just before *j* starts ('12', 'douze', 'forty two', '12 bis')."""
    k = j - 1
    if k >= 0 and toks[k][0].lower() in ("bis", "ter", ","):
        k -= 1
    start = None
    while (
        k >= 0
        and (
            toks[k][0].isdigit()
            or (_word_digits(toks[k][0].lower()) is not None and toks[k][0].lower() not in ("o", "un", "une", "a"))
        )
        and j - k <= 4
    ):
        start, k = k, k - 1
    return start


def address_spans(text: str) -> list[Entity]:
    """Street addresses: « 12 rue des Lilas », « au douze bis avenue Victor Hugo », "42 Baker Street",
    "twelve Elm Road", a UK postcode or an Eircode."""
    toks = _words(text)
    lows = [t[0].lower() for t in toks]
    out = []
    for i, low in enumerate(lows):
        if low in _FR_STREETS:
            # name of the street after the type: articles then 1..4 words
            k = i + 1
            while k < len(toks) and (lows[k] in _FR_ARTICLES or lows[k] in ("'", "’")):
                k += 1
            names = 0
            while (
                k < len(toks)
                and names < 4
                and toks[k][0][:1].isalpha()
                and len(toks[k][0]) > 1
                and lows[k] not in _ADDR_STOP
                and lows[k] not in _FR_STREETS
            ):
                names, k = names + 1, k + 1
                while k < len(toks) and lows[k] in _FR_ARTICLES and names < 4:
                    k += 1
            while k - 1 > i and lows[k - 1] in _FR_ARTICLES:
                k -= 1
            num = _house_number(toks, i)
            capital = any(toks[x][0][:1].isupper() for x in range(i + 1, k))
            if names and (num is not None or capital or low in ("rue", "avenue", "boulevard", "impasse", "allée")):
                out.append(Entity("address", toks[num if num is not None else i][1], toks[k - 1][2]))
        if low in _EN_STREETS and i > 0:
            k = i - 1
            names = 0
            while (
                k >= 0
                and names < 3
                and toks[k][0][:1].isalpha()
                and len(toks[k][0]) > 1
                and lows[k] not in _ADDR_STOP
                and _word_digits(lows[k]) is None
            ):
                names, k = names + 1, k - 1
            if names == 0:
                continue
            first = k + 1
            num = _house_number(toks, first)
            capital = all(toks[x][0][:1].isupper() for x in range(first, i + 1))
            if num is None and not capital:
                continue
            if num is None and low in ("dr", "st", "way", "close", "park", "hill", "walk", "row", "place", "court"):
                continue  # "Dr Smith", "St Patrick", "Hyde Park": too often not an address without a number
            out.append(Entity("address", toks[num if num is not None else first][1], toks[i][2]))
    out += [Entity("address", m.start(), m.end()) for m in _POSTCODE_UK.finditer(text)]
    out += [
        Entity("address", m.start(), m.end())
        for m in _EIRCODE.finditer(text)
        if any(c.isalpha() for c in m.group(0)[3:])
    ]
    return out


from .names import AMBIGUOUS, AMBIGUOUS_SURNAMES, FIRST_NAMES, SURNAMES  # noqa: E402

_TITLES = {
    "monsieur",
    "madame",
    "mademoiselle",
    "mme",
    "mlle",
    "mr",
    "mrs",
    "ms",
    "miss",
    "mister",
    "dr",
    "docteur",
    "doctor",
    "maître",
    "maitre",
    "sir",
    "m",
}
# Titles that are always followed by a name (not "miss" or "sir", which are also a verb and a form of address)
_NAME_TITLES = {
    "monsieur",
    "madame",
    "mademoiselle",
    "mme",
    "mlle",
    "mr",
    "mrs",
    "ms",
    "mister",
    "docteur",
    "dr",
    "maître",
    "maitre",
}
_STRONG_CUES = (
    ("je", "m'appelle"),
    ("m'appelle",),
    ("my", "name", "is"),
    ("name's",),
    ("names",),
    ("mon", "nom", "est"),
    ("mon", "nom", "c'est"),
    ("au", "nom", "de"),
    ("under", "the", "name"),
    ("nom", "de", "famille"),
    ("surname", "is"),
    ("last", "name", "is"),
    ("first", "name", "is"),
    ("mon", "prénom", "c'est"),
    ("mon", "prénom", "est"),
    ("moi", "c'est"),
    ("vous", "parlez", "avec"),
    ("speaking", "with"),
    ("speak", "to"),
    ("ask", "for"),
    ("appelez-moi",),
    ("call", "me"),
    ("ici",),
    ("this", "is"),
    ("c'est",),
    ("i'm",),
    ("i", "am"),
    ("je", "suis"),
    ("it's",),
    ("it", "is"),
    ("am", "i", "speaking", "to"),
)
_STRONG_FIRST = {c[0] for c in _STRONG_CUES}
# Words after which a capitalised word is a person rather than a place or a brand.
_PERSON_CUES = frozenset(
    """avec bonjour hello hi merci thanks dear cher chère appelé appelée nommé nommée called
named collègue colleague conseiller conseillère mari femme fille fils père mère frère sœur soeur husband wife
daughter son mother father brother sister mum mom dad boyfriend girlfriend partner neighbour voisin voisine
technicien technician engineer grand-mère grand-père grand-mere grand-pere grandmère grandpère oncle tante cousin
cousine beau-frère belle-sœur belle-soeur beau-père belle-mère neveu nièce grandmother grandfather grandma grandpa
granny nan uncle aunt auntie nephew niece landlord landlady propriétaire locataire tenant titulaire holder
signataire""".split()
)
_PERSON_CUE_PAIRS = (
    ("speak", "to"),
    ("speaking", "to"),
    ("talk", "to"),
    ("talking", "to"),
    ("through", "to"),
    ("spoke", "to"),
    ("parlé", "à"),
    ("parler", "à"),
    ("spoke", "with"),
    ("talked", "to"),
    ("ask", "for"),
    ("asked", "for"),
    ("demander",),
    ("passe",),
    ("passer",),
    # « j'ai eu Bastien au téléphone », "trying to reach Ignatius", "the name Siddharth"
    ("j'ai", "eu"),
    ("avez", "eu"),
    ("reach",),
    ("reached",),
    ("name",),
    ("nom",),
)
_MONTH_NAMES = {"april", "may", "june", "august", "avril", "mai", "juin", "août"}
_MONTH_LEAD = {
    "in",
    "en",
    "of",
    "since",
    "until",
    "till",
    "last",
    "next",
    "this",
    "early",
    "late",
    "mid",
    "de",
    "d'",
    "fin",
    "début",
    "depuis",
    "by",
    "before",
    "after",
    "avant",
    "après",
    "from",
}
_FILLERS = {"euh", "heu", "uh", "um", "erm", "ben", "bah", "alors", "so", "well", "oui", "yes", "yeah", "ok"}
_NOT_NAMES = {
    "bonjour",
    "bonsoir",
    "salut",
    "oui",
    "non",
    "merci",
    "alors",
    "euh",
    "donc",
    "mais",
    "et",
    "je",
    "j'ai",
    "vous",
    "nous",
    "il",
    "elle",
    "on",
    "c'est",
    "d'accord",
    "voilà",
    "voila",
    "ok",
    "okay",
    "hello",
    "hi",
    "yes",
    "no",
    "yeah",
    "thanks",
    "thank",
    "well",
    "so",
    "and",
    "but",
    "the",
    "i",
    "i'm",
    "i'll",
    "i've",
    "i'd",
    "you",
    "we",
    "it",
    "it's",
    "please",
    "sure",
    "right",
    "sorry",
    "pardon",
    "excusez",
    "madame",
    "monsieur",
    "mademoiselle",
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "sir",
    "service",
    "client",
    "clients",
    "support",
    "acme",
    "énergie",
    "energie",
    "globex",
    "visa",
    "mastercard",
    "edf",
    "orange",
    "free",
    "sfr",
    "bouygues",
    "amazon",
    "google",
    "paypal",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "janvier",
    "février",
    "mars",
    "avril",
    "juillet",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "january",
    "february",
    "march",
    "july",
    "september",
    "october",
    "november",
    "december",
    "iban",
    "rib",
    "nir",
    "sécu",
    "ah",
    "oh",
    "hum",
    "bien",
    "très",
    "tres",
    "un",
    "une",
    "le",
    "la",
    "les",
    "de",
    "du",
    "des",
    "a",
    "an",
    "is",
    "of",
    "to",
    "in",
    "for",
    "my",
    "your",
    "our",
    "this",
    "that",
    "there",
    "here",
    "what",
    "how",
    "can",
    "could",
    "would",
    "just",
    "tu",
    "mon",
    "ma",
    "mes",
    "votre",
    "vos",
    "notre",
    "ce",
    "cette",
    "ça",
    "qui",
    "que",
    "quoi",
    "comment",
    "est",
    "suis",
    "ai",
    "avez",
    "avait",
    "j'appelle",
    "appelle",
    "calling",
    "call",
    "speaking",
    "parlez",
    "parle",
    "comme",
    "france",
    "paris",
    "lyon",
    "london",
    "dublin",
    "marseille",
    "bordeaux",
    "ireland",
    "england",
    "euro",
    "euros",
    "pounds",
    "ici",
    "actually",
    "also",
    "aussi",
    "encore",
    "again",
    "because",
    "parce",
    "then",
    "puis",
    "ensuite",
    "good",
    "morning",
    "afternoon",
    "evening",
    "bonne",
    "journée",
    "soirée",
    "fine",
    "great",
    "perfect",
    "parfait",
    "super",
    "exactly",
    "exactement",
    "absolutely",
    "absolument",
    "let",
    "me",
    "moi",
    "one",
    "moment",
    "instant",
    "hold",
    "en",
    "rue",
    "street",
    "road",
    "avenue",
    "uh",
    "um",
    "erm",
    "heu",
    "ben",
    "bah",
    "hmm",
    "mhm",
    "ouais",
    "nope",
    "yep",
    "allo",
    "allô",
    "customer",
    "agent",
    "conseiller",
    "conseillère",
    "manager",
    "responsable",
    "team",
    "équipe",
}


def _is_cap(tok: str) -> bool:
    return tok[:1].isupper() and len(tok) > 1 and tok[:1].isalpha()


def _namelike(tok: str) -> bool:
    return tok[:1].isalpha() and len(tok) > 1 and tok.lower() not in _NOT_NAMES


def _lower_name(low: str) -> bool:
    """A lower-case word that is a name on its own: an unambiguous gazetteer first name of 4+ letters."""
    return (
        len(low) > 3
        and all(p in FIRST_NAMES and p not in AMBIGUOUS for p in low.split("-"))
        and low not in _NOT_NAMES
        and low not in _COMMON_LOWER
    )


def _is_known(low: str) -> bool:
    return low in FIRST_NAMES or low in SURNAMES or low in AMBIGUOUS


def person_rule_spans(text: str) -> list[Entity]:
    """Names found without a model: a gazetteer name with a capital, a word after a title or a cue
    (« je m'appelle », "my name is", "Mr", « madame »), a name-like word before « à l'appareil »."""
    toks = _words(text)
    n = len(toks)
    lows = [t[0].lower() for t in toks]
    initial = [i == 0 or toks[i - 1][0] in (".", "?", "!") for i in range(n)]
    hit = [False] * n

    def known_name(i: int) -> bool:
        tok, low = toks[i][0], lows[i]
        if not _is_cap(tok) or low in _NOT_NAMES:
            return False
        parts = low.split("-")
        if all(p in FIRST_NAMES and p not in AMBIGUOUS for p in parts):  # "Jean-Pierre" is unambiguous
            return True
        if low in SURNAMES and low not in AMBIGUOUS_SURNAMES and low not in AMBIGUOUS:
            return True
        if (low in AMBIGUOUS or low in AMBIGUOUS_SURNAMES or low in FIRST_NAMES) and not initial[i]:
            return True
        return False

    for i in range(n):
        if known_name(i) and not (
            lows[i] in _MONTH_NAMES
            and i
            and (lows[i - 1] in _MONTH_LEAD or toks[i - 1][0].isdigit() or _word_digits(lows[i - 1]) is not None)
        ):
            hit[i] = True
    # after a person cue: « avec Loïc », "my wife Deirdre", "put me through to Lakshmi"
    for i in range(n):
        j = None
        if lows[i] in _PERSON_CUES:
            j = i + 1
        else:
            for pair in _PERSON_CUE_PAIRS:
                if tuple(lows[i : i + len(pair)]) == pair:
                    j = i + len(pair)
                    break
        if (
            j is not None
            and j < n
            and _namelike(toks[j][0])
            and lows[j] not in _TITLES
            and (_is_cap(toks[j][0]) or _lower_name(lows[j]))
        ):
            hit[j] = True
    # lower-case ASR: a gazetteer first name followed by a gazetteer surname (« jean dupont »)
    for i in range(n - 1):
        if _lower_name(lows[i]) and lows[i + 1] in SURNAMES and lows[i + 1] not in _NOT_NAMES:
            hit[i] = hit[i + 1] = True
    # after a title: the next capitalised word (or gazetteer word), and a second one
    for i in range(n):
        if lows[i] in _TITLES and (lows[i] != "m" or (i + 1 < n and toks[i + 1][0] == ".")):
            j = i + 1
            while j < n and toks[j][0] == ".":
                j += 1
            taken = 0
            while (
                j < n
                and taken < 2
                and _namelike(toks[j][0])
                and (
                    _is_cap(toks[j][0])
                    or _is_known(lows[j])
                    # lower-case ASR: after an unambiguous title (« madame benali », "mr clarke") any
                    # word that is not a common one; "miss", "sir", "doctor" are verbs or forms of address
                    or (
                        lows[i] in _NAME_TITLES
                        and len(lows[j]) > 2
                        and lows[j] not in _COMMON_LOWER
                        and lows[j] not in _TITLES
                    )
                )
            ):
                hit[j], j, taken = True, j + 1, taken + 1
    # after a cue: « je m'appelle Anne Martin », "my name is dana scully", "this is Sarah"
    for i in range(n):
        if lows[i] not in _STRONG_FIRST:
            continue
        for cue in _STRONG_CUES:
            if tuple(lows[i : i + len(cue)]) != cue:
                continue
            j = i + len(cue)
            while j < n and (lows[j] in _FILLERS or toks[j][0] == ","):
                j += 1
            weak = cue in (
                ("this", "is"),
                ("c'est",),
                ("i'm",),
                ("i", "am"),
                ("je", "suis"),
                ("ici",),
                ("call", "me"),
                ("ask", "for"),
                ("speak", "to"),
                ("it's",),
                ("it", "is"),
            )
            taken = 0
            while j < n and taken < 3 and (_namelike(toks[j][0]) or lows[j] in _PARTICLES):
                if (
                    taken
                    and lows[j] in _PARTICLES
                    and j + 1 < n
                    and _namelike(toks[j + 1][0])
                    and lows[j + 1] not in _COMMON_LOWER
                    and (not weak or _is_cap(toks[j + 1][0]))
                ):
                    hit[j], j = True, j + 1  # « yannick le goff », "Ludwig van Beethoven"
                    continue
                if lows[j] in _PARTICLES and not _namelike(toks[j][0]):
                    break
                name_like = _is_cap(toks[j][0]) or (_is_known(lows[j]) and not (weak and lows[j] in AMBIGUOUS))
                if not name_like and (weak or taken >= 2 or len(lows[j]) < 3 or lows[j] in _COMMON_LOWER):
                    break  # a strong cue also takes lower-case words (ASR lower-cases names), two at most
                hit[j], j, taken = True, j + 1, taken + 1
            break
    # « Sophie à l'appareil », "Sarah speaking"
    for i in range(1, n):
        if (lows[i] == "à" and i + 1 < n and lows[i + 1] in ("l'appareil", "l’appareil")) or lows[i] == "speaking":
            if _namelike(toks[i - 1][0]) and (_is_cap(toks[i - 1][0]) or _is_known(lows[i - 1])):
                hit[i - 1] = True
    # extend: a surname or capitalised word right after a name, a known first name right before it
    for i in range(n - 1):
        if (
            hit[i]
            and not hit[i + 1]
            and _namelike(toks[i + 1][0])
            and (_is_cap(toks[i + 1][0]) or lows[i + 1] in SURNAMES)
            and lows[i + 1] not in _TITLES
        ):
            hit[i + 1] = True
    for i in range(n - 1, 0, -1):
        if hit[i] and not hit[i - 1] and _is_cap(toks[i - 1][0]) and lows[i - 1] in FIRST_NAMES:
            hit[i - 1] = True
    out, i = [], 0
    while i < n:
        if hit[i]:
            j = i
            while j + 1 < n and hit[j + 1]:
                j += 1
            out.append(Entity("person", toks[i][1], toks[j][2]))
            i = j + 1
        else:
            i += 1
    return out


_PARTICLES = {"le", "la", "de", "du", "des", "van", "von", "da", "di", "del", "mac", "ben", "el", "al"}
# Lower-case words that follow « je m'appelle » / "my name is" without being a name.
_COMMON_LOWER = frozenset(
    """pas not calling going really about from with avec depuis chez pour from here
there what how why when where which who because since very just still also only been being having have has
had was were are the and for que qui est sont était avais avait suis vais veux voudrais peux pourrais dois
sur dans par chez comme plus moins bien très trop tout tous toute toutes rien personne quelque chose
thing something someone nothing anyone calling phoning ringing""".split()
)


def name_in_identifier(identifier: str) -> bool:
    """An id such as ``customer-john-smith`` holds a person's name (P4: keys hold no personal data).
    Gazetteer only (no model: the ingest sensor must stay light): an unambiguous first name, or a
    first name next to a surname; ambiguous names ("mark", "will") only beside a surname."""
    parts = [p for p in re.split(r"[^a-zà-ÿ']+", identifier.lower()) if p]
    for i, p in enumerate(parts):
        nxt = parts[i + 1] if i + 1 < len(parts) else ""
        prev = parts[i - 1] if i else ""
        if p in FIRST_NAMES and p not in AMBIGUOUS and len(p) > 2:
            return True
        if (p in FIRST_NAMES or p in AMBIGUOUS) and (nxt in SURNAMES or prev in SURNAMES):
            return True
    return False
