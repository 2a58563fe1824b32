"""Builds bench/moderation_set.tsv, the labelled set `bench/moderation.py` scores.

Every sentence is generated here from templates written for ConnectHub (none comes from the
model's training data or any other corpus): every template with every target, seeded, so the
file is the same on every run. Rows: label (1 offensive, 0 not), language (en, id), kind
(what the group tests), text.

    .venv/bin/python bench/moderation_set.py   # rewrites bench/moderation_set.tsv
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

OUT = Path(__file__).with_name("moderation_set.tsv")

EN_TARGETS = ["you", "your friend", "that moderator", "this guy", "the whole lot of you"]
EN_INSULTS = [
    "{t} can go fuck yourselves",
    "{t} are a fucking idiot",
    "shut the fuck up, {t}",
    "{t} are a worthless piece of shit",
    "{t} are such a dumb bitch",
    "what an asshole {t} are",
    "{t} are a pathetic loser and a moron",
    "screw {t}, stupid bastard",
    "{t} are full of shit as always",
    "{t} are a retarded clown",
    "nobody cares, {t} dickhead",
    "{t} suck, you cunt",
    "go to hell, {t} piece of crap",
    "{t} are a disgusting pig and a slut",
    "{t} are an ugly fat idiot",
    "damn {t} are stupid as hell",
    "{t} are a motherfucking liar",
    "{t} are trash, kill yourself",
    "eat shit {t}",
    "{t} are a braindead imbecile",
]
# Hostile without a single rude word: the model reads words, not intent.
EN_SUBTLE = [
    "{t} people are vermin and should disappear from this country",
    "everyone would be better off if {t} were never born",
    "{t} do not deserve to breathe the same air as us",
    "I know where {t} live and I will make you regret this",
    "{t} belong in a cage, not on this site",
]
EN_BENIGN = [
    "what a lovely morning for a walk in the park",
    "just finished reading a great book about the history of Java",
    "the new release fixes the bug that crashed the editor",
    "does anyone know a good recipe for banana bread",
    "our team won the match three to one last night",
    "the museum opens a new exhibition on Saturday",
    "I am learning to play the guitar, slowly but surely",
    "the weather forecast says rain all week",
    "thanks everyone for the kind messages yesterday",
    "the train was late again but the view was worth it",
    "please assess the class assignments before Friday",
    "Scunthorpe United played well in the cup tonight",
    "this bug has been killing me all afternoon",
    "that was one hell of a concert",
    "the cocktail bar on Main Street has a new menu",
    "I hate waiting in long queues at the post office",
    "the documentary about sharks was terrifying and brilliant",
    "we adopted a dog from the shelter, her name is Biscuit",
    "the stock market dropped sharply today",
    "voting closes at eight in the evening",
]
EN_BENIGN_ENDINGS = ["", " today", " honestly", " :)", " #life"]

ID_TARGETS = ["kamu", "dia", "kalian", "orang itu", "admin ini"]
ID_INSULTS = [
    "dasar {t} anjing bangsat",
    "{t} goblok banget, tolol",
    "{t} memang bajingan",
    "{t} kontol",
    "diam lu {t}, babi",
    "{t} brengsek dan kampret",
    "{t} bego sekali, dasar idiot",
    "jancuk {t}",
    "{t} itu lonte",
    "{t} sialan, keparat",
]
ID_BENIGN = [
    "selamat pagi semuanya, semoga harimu menyenangkan",
    "anjing saya lucu sekali hari ini",
    "saya sedang belajar memasak rendang",
    "hujan turun sejak pagi di Jakarta",
    "terima kasih atas bantuannya kemarin",
    "pertandingan tadi malam sangat seru",
    "kami pergi ke pantai akhir pekan ini",
    "buku ini bercerita tentang sejarah Indonesia",
    "jangan lupa minum air putih yang cukup",
    "kucing tetangga suka tidur di atap",
]
ID_BENIGN_ENDINGS = ["", " ya", " hehe", " :)", " #santai"]


def rows() -> list[tuple[int, str, str, str]]:
    random.seed(26)
    found: list[tuple[int, str, str, str]] = []
    for template, target in itertools.product(EN_INSULTS, EN_TARGETS):
        found.append((1, "en", "insult", template.format(t=target)))
    for template, target in itertools.product(EN_SUBTLE, EN_TARGETS):
        found.append((1, "en", "subtle", template.format(t=target)))
    for text, ending in itertools.product(EN_BENIGN, EN_BENIGN_ENDINGS):
        found.append((0, "en", "benign", text + ending))
    for template, target in itertools.product(ID_INSULTS, ID_TARGETS):
        found.append((1, "id", "insult", template.format(t=target)))
    for text, ending in itertools.product(ID_BENIGN, ID_BENIGN_ENDINGS):
        found.append((0, "id", "benign", text + ending))
    random.shuffle(found)
    return found


def main() -> None:
    lines = ["label\tlanguage\tkind\ttext"]
    lines += [f"{label}\t{lang}\t{kind}\t{text}" for label, lang, kind, text in rows()]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines) - 1} rows written to {OUT}")


if __name__ == "__main__":
    main()
