"""French sentiment lexicon for call-centre speech — the project's own, written for this platform
(no third-party lexicon copied: the ``vadersentiment-fr`` sdist pulls GPL dependencies).

Keys are lower-case words without accents (ASR output often loses them: « probleme », « desole »),
valences on VADER's scale (−4 very negative … +4 very positive). Elided forms are split before
lookup (« l'attente » → « l' », « attente »), so only the bare word is listed. Verb forms a
customer actually says are listed one by one: no stemming.
"""

from __future__ import annotations

_NEGATIVE = {
    # problems and failures
    "probleme": -1.6, "problemes": -1.6, "souci": -1.2, "soucis": -1.2, "panne": -1.6, "pannes": -1.6,
    "bug": -1.4, "erreur": -1.5, "erreurs": -1.5, "defaut": -1.2, "defectueux": -1.8, "casse": -1.6,
    "cassee": -1.6, "coupure": -1.3, "coupe": -0.8, "bloque": -1.3, "bloquee": -1.3, "plante": -1.0,
    "retard": -1.3, "retards": -1.3, "attente": -0.6, "attendre": -0.4, "attends": -0.4,
    "perdu": -1.2, "perdue": -1.2, "faux": -1.3, "fausse": -1.3, "incorrect": -1.4, "incorrecte": -1.4,
    "impossible": -1.6, "difficile": -1.0, "complique": -1.0, "compliquee": -1.0, "rien": -0.3,
    "manque": -1.0, "oublie": -1.0, "oubliee": -1.0, "echec": -1.9, "risque": -0.8,
    # money trouble
    "cher": -1.0, "chere": -1.0, "trop": -0.6, "exorbitant": -2.3, "exorbitante": -2.3, "arnaque": -3.0,
    "arnaques": -3.0, "arnaquer": -3.0, "vol": -2.4, "voleurs": -3.0, "voleur": -3.0, "escroc": -3.2,
    "escrocs": -3.2, "escroquerie": -3.2, "abusif": -2.2, "abusive": -2.2, "scandale": -3.0,
    "scandaleux": -3.0, "scandaleuse": -3.0, "penalite": -1.3, "penalites": -1.3, "dette": -1.2,
    "surfacture": -2.2, "surfacturation": -2.2, "double": -0.2,
    # anger, exasperation
    "colere": -2.7, "furieux": -3.0, "furieuse": -3.0, "enerve": -2.3, "enervee": -2.3, "enervant": -2.2,
    "agace": -1.9, "agacee": -1.9, "marre": -2.5, "ras": -1.0, "bol": -0.6, "honte": -2.5, "honteux": -2.8,
    "honteuse": -2.8, "inadmissible": -3.0, "inacceptable": -2.9, "inadmissibles": -3.0, "intolerable": -2.9,
    "insupportable": -2.8, "lamentable": -2.8, "pitoyable": -2.8, "minable": -2.7, "nul": -2.4,
    "nulle": -2.4, "nuls": -2.4, "nullite": -2.6, "incompetent": -2.7, "incompetente": -2.7,
    "incompetents": -2.7, "incompetence": -2.7, "incapable": -2.4, "incapables": -2.4, "ridicule": -2.2,
    "absurde": -2.0, "n'importe": -0.4, "catastrophe": -2.8, "catastrophique": -2.9, "horrible": -2.8,
    "affreux": -2.6, "degoute": -2.6, "degoutee": -2.6, "decu": -2.0, "decue": -2.0, "decevant": -2.1,
    "deception": -2.1, "mecontent": -2.2, "mecontente": -2.2, "insatisfait": -2.0, "insatisfaite": -2.0,
    "plainte": -1.8, "plaindre": -1.5, "reclamation": -1.2, "resilier": -1.2, "resiliation": -1.2,
    "avocat": -1.0, "tribunal": -1.5, "justice": -0.6, "menace": -1.8, "menacer": -1.8,
    "mepris": -2.4, "impoli": -2.2, "impolie": -2.2, "grossier": -2.3, "grossiere": -2.3,
    "mensonge": -2.6, "mensonges": -2.6, "menti": -2.5, "mentez": -2.5, "mentir": -2.3,
    "fatigue": -1.2, "fatiguee": -1.2, "stress": -1.5, "stresse": -1.5, "inquiet": -1.4, "inquiete": -1.4,
    "inquietude": -1.4, "peur": -1.6, "triste": -1.9, "malheureusement": -1.0, "pire": -2.3, "mal": -1.5,
    "mauvais": -1.9, "mauvaise": -1.9, "mauvaises": -1.9, "terrible": -2.3, "grave": -1.4,
    "desole": -0.4, "desolee": -0.4, "excuse": -0.3, "excuses": -0.3, "regrette": -0.8, "dommage": -1.2,
    "jamais": -0.4, "toujours": 0.0, "encore": -0.2, "merde": -3.0, "putain": -2.8, "bordel": -2.6,
    "foutre": -2.6, "fous": -1.5, "foutez": -2.6, "fichez": -2.2, "debrouillez": -2.0, "dingue": -1.3,
    "fou": -1.2, "folle": -1.2, "idiot": -2.5, "idiots": -2.5, "stupide": -2.5, "con": -2.8, "cons": -2.8,
    "galere": -2.0, "galerer": -2.0, "cauchemar": -2.8, "harcelement": -2.8, "harceler": -2.6,
    "rembourser": 0.0, "jete": -0.6, "raccroche": -1.3, "raccrocher": -1.0, "ignore": -1.5, "ignoree": -1.5,
}

_POSITIVE = {
    "merci": 1.5, "remercie": 1.7, "remercions": 1.7, "remerciements": 1.8, "bien": 1.2, "tres": 0.0,
    "bon": 1.1, "bonne": 1.1, "bonnes": 1.1, "parfait": 2.4, "parfaite": 2.4, "parfaitement": 2.0,
    "super": 2.4, "genial": 2.8, "geniale": 2.8, "excellent": 2.9, "excellente": 2.9, "formidable": 2.8,
    "magnifique": 2.8, "top": 2.0, "impeccable": 2.5, "nickel": 2.0, "efficace": 2.0, "rapide": 1.2,
    "rapidement": 1.0, "aimable": 2.2, "gentil": 2.0, "gentille": 2.0, "sympathique": 2.0, "sympa": 1.9,
    "patient": 1.5, "patiente": 1.2, "patience": 1.4, "agreable": 2.0, "ravi": 2.5, "ravie": 2.5,
    "content": 2.0, "contente": 2.0, "heureux": 2.4, "heureuse": 2.4, "satisfait": 2.1, "satisfaite": 2.1,
    "enchante": 2.0, "enchantee": 2.0, "plaisir": 2.1, "adore": 2.6, "aime": 1.8, "apprecie": 2.0,
    "remarquable": 2.5, "professionnel": 1.6, "professionnelle": 1.6, "serviable": 2.0, "clair": 1.0,
    "claire": 1.0, "claires": 1.0, "utile": 1.5, "aide": 1.1, "aider": 1.0, "aidez": 1.0, "resolu": 1.8,
    "resolue": 1.8, "regle": 1.4, "reglee": 1.4, "solution": 1.2, "fonctionne": 1.0, "marche": 0.8,
    "rassure": 1.8, "rassuree": 1.8, "soulage": 1.9, "soulagee": 1.9, "chance": 1.2, "bravo": 2.4,
    "felicitations": 2.6, "felicite": 2.2, "volontiers": 1.3, "accord": 0.3, "ok": 0.5, "entendu": 0.6,
    "rembourse": 1.2, "remboursee": 1.2, "remboursement": 0.8, "geste": 0.6, "commercial": 0.0,
    "gratuit": 1.4, "gratuite": 1.4, "offert": 1.4, "offerte": 1.4, "avantage": 1.2, "economie": 1.1,
    "economies": 1.1, "merveilleux": 2.8, "extraordinaire": 2.6, "incroyable": 1.5, "facile": 1.4,
    "simple": 0.8, "bienvenue": 1.3, "cordialement": 1.0, "reactif": 1.8, "reactive": 1.8, "ecoute": 0.6,
    "comprends": 0.6, "compris": 0.6, "comprehension": 1.0, "confiance": 1.6, "fidele": 1.2,
    "vrai": 0.3, "juste": 0.2, "correct": 0.8, "correcte": 0.8, "possible": 0.4, "rassurant": 1.8,
}

# Words that name what the call is about rather than how the caller feels: on a utility's or an
# operator's line, « panne », « coupure », « réclamation » are the topic of most calls. They keep
# a small valence (an outage is still bad news) instead of the one they carry in general text.
_TOPIC = {
    "probleme": -0.7, "problemes": -0.7, "souci": -0.5, "soucis": -0.5, "panne": -0.7, "pannes": -0.7,
    "coupure": -0.6, "retard": -0.6, "retards": -0.6, "erreur": -0.7, "erreurs": -0.7, "defaut": -0.5,
    "reclamation": -0.4, "plainte": -0.6, "resilier": -0.3, "resiliation": -0.3, "penalite": -0.6,
    "penalites": -0.6, "dette": -0.6, "defectueux": -0.8, "fuite": -0.6, "risque": -0.4,
}
_MORE_NEGATIVE = {"moquer": -2.0, "moquez": -2.2, "moque": -1.8, "excede": -2.6, "excedee": -2.6,
                  "perds": -1.0, "perdre": -0.8, "exige": -1.0, "exiger": -1.0, "suffit": -1.5}

LEXICON: dict[str, float] = {**_NEGATIVE, **_POSITIVE, **_TOPIC, **_MORE_NEGATIVE}

# A negation word flips (and damps) the valence of the words that follow it (VADER's rule), or —
# French « ne … pas » — of the word just before it when a « ne »/« n' » opens the clause.
NEGATIONS = frozenset({"pas", "jamais", "plus", "aucun", "aucune", "sans", "ni", "rien", "guere", "nullement",
                       "point"})
NE = frozenset({"ne", "n'"})
# Words that strengthen (or soften, negative) the next words: « très content », « vraiment nul ».
BOOSTERS = {"tres": 0.293, "vraiment": 0.293, "trop": 0.293, "tellement": 0.293, "extremement": 0.293,
            "absolument": 0.293, "completement": 0.293, "totalement": 0.293, "franchement": 0.293,
            "super": 0.293, "hyper": 0.293, "si": 0.15, "vachement": 0.293, "particulierement": 0.293,
            "peu": -0.293, "assez": -0.1, "plutot": -0.1, "legerement": -0.293, "presque": -0.15}
# « mais »: what comes after weighs more than what comes before (VADER's "but").
CONTRAST = frozenset({"mais", "cependant", "pourtant", "toutefois"})
