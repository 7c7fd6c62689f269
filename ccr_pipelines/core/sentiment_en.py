"""The project's own additions to VADER's English lexicon for call-centre speech (issue 19).

VADER's lexicon (``vadersentiment``, MIT) was built from social-media text: several words an angry
caller says are missing from it (« unacceptable », « intolerable »), and the words that name what
a support call is about (« problem », « fault », « complaint ») carry the valence they have in a
rant, though on a support line they are the topic of most calls. These entries override it;
keys are lower case without accents, valences on VADER's −4 … +4 scale.
"""

from __future__ import annotations

# the topic of the call, not the caller's mood: a small valence instead of VADER's
TOPIC = {
    "problem": -0.7,
    "problems": -0.7,
    "issue": -0.5,
    "issues": -0.5,
    "fault": -0.6,
    "faulty": -0.7,
    "complaint": -0.5,
    "complaints": -0.5,
    "error": -0.7,
    "errors": -0.7,
    "outage": -0.6,
    "outages": -0.6,
    "leak": -0.6,
    "rejected": -0.6,
    "missed": -0.5,
    "cancellation": -0.3,
    "cancel": -0.3,
    "fee": -0.3,
    "fees": -0.3,
    "penalty": -0.6,
    "debt": -0.6,
    "late": -0.3,
    "broken": -1.2,
    "worry": -0.5,
    "worries": -0.5,
    "risk": -0.4,
    "no": -0.3,
    "please": 0.3,
}
# words an angry caller says that VADER's lexicon lacks (or reads as positive)
ANGER = {
    "unacceptable": -2.7,
    "intolerable": -2.8,
    "absurd": -2.0,
    "unbearable": -2.7,
    "outrageous": -2.7,
    "robbery": -2.6,
    "nightmare": -2.6,
    "disgrace": -2.6,
    "fed": -1.0,
    "kidding": -1.2,
    "demand": -1.0,
    "exasperated": -2.5,
    "incompetence": -2.5,
    "scandal": -2.6,
    "ridiculous": -2.2,
    "useless": -2.3,
    "nonsense": -2.0,
    "wasting": -1.7,
    "rude": -2.1,
    "shameful": -2.6,
    "enough": -0.5,
}
SUPPLEMENT: dict[str, float] = {**TOPIC, **ANGER}
