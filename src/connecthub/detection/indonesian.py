"""A small Indonesian word list, scored beside the English-only model (docs/detection.md).

The model (alt-profanity-check) was trained on English text and scores Indonesian insults
near zero ("dasar anjing bangsat": 0.04). These lists are common Indonesian profanity and
insults, written for ConnectHub: `STRONG` words are vulgar in any context; `MILD` ones are
insults that also have innocent senses ("anjing" is a dog, "babi" a pig), so one alone
never reaches the default report threshold, two do.
"""

from __future__ import annotations

import re

STRONG = frozenset(
    {
        "bangsat",
        "jancuk",
        "jancok",
        "kontol",
        "memek",
        "ngentot",
        "ngentod",
        "entot",
        "pepek",
        "lonte",
        "pelacur",
        "bajingan",
        "keparat",
        "asu",
        "jembut",
    }
)
MILD = frozenset(
    {
        "anjing",
        "anjir",
        "babi",
        "goblok",
        "goblog",
        "tolol",
        "bego",
        "bodoh",
        "idiot",
        "brengsek",
        "kampret",
        "sialan",
        "tai",
        "taik",
        "setan",
        "monyet",
        "dungu",
        "sinting",
    }
)
STRONG_SCORE = 0.95
MILD_SCORE = 0.6
# Each mild word after the first adds this much: two reach 0.9, the default threshold.
MILD_STEP = 0.3

_WORD = re.compile(r"[a-z0-9]+")
# Letters written as digits to slip past lists ("b4ngs4t").
_DIGITS = str.maketrans("4310157", "aeiolst")
# Letters stretched for emphasis ("anjiiing") are squeezed to one before the lookup.
_REPEATS = re.compile(r"(.)\1+")


def _words(text: str) -> list[str]:
    return [_REPEATS.sub(r"\1", w.translate(_DIGITS)) for w in _WORD.findall(text.lower())]


def score(text: str) -> float:
    """0 without a listed word; STRONG_SCORE with a strong one; mild ones add up."""
    strong = mild = 0
    for word in _words(text):
        if word in STRONG:
            strong += 1
        elif word in MILD:
            mild += 1
    if strong:
        return STRONG_SCORE
    if mild:
        return min(round(MILD_SCORE + MILD_STEP * (mild - 1), 4), 1.0)
    return 0.0
