"""Flattened ruby / pinyin annotations (issue #4, seed 004), used by `mojibake.repair`.

Not a pipeline step of its own: `cleaners.mojibake` calls `find_edits` for each suspect line.

A page that showed pinyin above its characters (HTML ``<ruby>``) and was flattened to plain text
reads "廣東省發(fā)布數(shù)字政府" (seed 004: 269 characters each followed by its reading).
An annotation is removed only when pypinyin confirms that the reading in parentheses is a
reading of the character right before it, so "(2023-2025年)", "(IPV4)" or an English word in
parentheses can never match. Two places in seed 004 lost the character itself and the opening
parenthesis ("政府?dāng)?shù)據(jù)"): the character is restored only when the reading and the
next or previous character make it certain (shù before 據: 數據 is the only word), otherwise the
lost character becomes a visible marker (〓, the typographic mark for a missing character) and
the reading goes into the trail.

pypinyin (a dependency) supplies both tables: ``pinyin_dict`` (code point → readings, both
scripts) and ``phrases_dict`` (about 47,000 Simplified words with their readings). OpenCC maps
Traditional context to Simplified for the word look-up and the restored character back.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cleaners.textutil import convert

log = logging.getLogger(__name__)

# Letters a Hanyu Pinyin syllable is written with (tone marks included; "ü" with its tones).
PINYIN_LETTERS = "a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜńňǹḿ"
# Hanzi that can carry an annotation: the CJK unified blocks, compatibility ideographs, ext B+.
HANZI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
# Longest Hanyu Pinyin syllable is 6 letters ("zhuang", "shuang"); 7 leaves room for "ḿ"-style
# combining forms written as two code points.
MAX_SYLLABLE = 7

ANNOTATED = re.compile(
    rf"(?P<base>[{HANZI}])(?P<open>[(（])(?P<reading>[{PINYIN_LETTERS}]{{1,{MAX_SYLLABLE}}})[)）]")
# A lost character: "?" (or U+FFFD) where the character and often its "(" were, then the reading.
LOST = re.compile(
    rf"(?P<base>[?？\ufffd])(?P<open>[(（]?)(?P<reading>[{PINYIN_LETTERS}]{{1,{MAX_SYLLABLE}}})[)）]")


@dataclass(frozen=True, slots=True)
class RubyEdit:
    """One change to a line: replace line[start:end] by `after` (what/why for the trail)."""

    start: int
    end: int
    after: str
    action: str  # "remove" | "restore" | "mark"
    what: str
    why: str
    lossy: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@functools.cache
def _readings() -> dict[str, frozenset[str]]:
    """Character → its readings with tone marks (pypinyin's pinyin_dict, loaded once)."""
    from pypinyin.pinyin_dict import pinyin_dict

    return {chr(cp): frozenset(value.split(",")) for cp, value in pinyin_dict.items()}


@functools.cache
def _chars_by_reading() -> dict[str, frozenset[str]]:
    """Reading → every character that has it (the reverse of `_readings`)."""
    index: dict[str, set[str]] = defaultdict(set)
    for char, readings in _readings().items():
        for reading in readings:
            index[reading].add(char)
    return {reading: frozenset(chars) for reading, chars in index.items()}


@functools.cache
def _phrases() -> dict[str, list[list[str]]]:
    """pypinyin's Simplified word list with readings (loaded once, only when a character was lost)."""
    from pypinyin.phrases_dict import phrases_dict

    return phrases_dict


def _norm(reading: str) -> str:
    return unicodedata.normalize("NFC", reading)


def is_reading(char: str, reading: str) -> bool:
    """True when pypinyin lists `reading` (tone marks included) for `char`.

    >>> is_reading("發", "fā"), is_reading("數", "shù"), is_reading("數", "fā")
    (True, True, False)
    """
    return _norm(reading) in _readings().get(char, frozenset())


def count_confirmed(text: str) -> int:
    """How many annotations in `text` pypinyin confirms (the caller's density gate).

    >>> count_confirmed("廣東省發(fā)布數(shù)字政府規劃(2023-2025年)")
    2
    """
    if "(" not in text and "（" not in text:
        return 0
    return sum(1 for m in ANNOTATED.finditer(text) if is_reading(m["base"], m["reading"]))


def _is_hanzi(char: str) -> bool:
    return bool(re.fullmatch(f"[{HANZI}]", char))


def _restore(reading: str, before: str, after: str, traditional: bool) -> tuple[str | None, list[str]]:
    """The one character with `reading` that forms a known word with a neighbour, or None.

    Returns the character (in the context's script) and the evidence words found. Certain
    means exactly one candidate over both neighbours; anything else returns None.
    """
    chars = _chars_by_reading().get(reading, frozenset())
    phrases = _phrases()
    found: dict[str, set[str]] = defaultdict(set)  # simplified candidate -> evidence words
    for neighbour, first in ((after, True), (before, False)):
        if not neighbour or not _is_hanzi(neighbour):
            continue
        simple = convert(neighbour, "t2s.json")
        for char in chars:
            cand = convert(char, "t2s.json")
            word = cand + simple if first else simple + cand
            entry = phrases.get(word)
            if entry is None:
                continue
            own = entry[0] if first else entry[1]
            if reading in (_norm(r) for r in own):
                found[cand].add(word)
    if len(found) != 1:
        return None, sorted(w for words in found.values() for w in words)
    cand, words = next(iter(found.items()))
    if traditional:
        word = sorted(words)[0]
        converted = convert(word, "s2t.json")
        index = 0 if word.startswith(cand) else len(word) - 1
        cand = converted[index]
    return cand, sorted(words)


def _traditional(line: str) -> bool:
    """Does the line read as Traditional Chinese (more Traditional-only than Simplified-only chars)?"""
    hanzi = "".join(ch for ch in line if _is_hanzi(ch))
    if not hanzi:
        return False
    simple = convert(hanzi, "t2s.json")
    trad = convert(hanzi, "s2t.json")
    return sum(a != b for a, b in zip(hanzi, simple, strict=False)) > sum(
        a != b for a, b in zip(hanzi, trad, strict=False))


def find_edits(line: str, marker: str) -> list[RubyEdit]:
    """The annotation edits for one line, left to right, not overlapping.

    >>> [(e.action, e.after) for e in find_edits("發(fā)布(2023-2025年)", "〓")]
    [('remove', '')]
    >>> find_edits("數字(IPV4)", "〓")
    []
    """
    edits: list[RubyEdit] = []
    for m in ANNOTATED.finditer(line):
        base, reading = m["base"], _norm(m["reading"])
        if is_reading(base, reading):
            edits.append(RubyEdit(
                m.start("open"), m.end(), "", "remove", "ruby:pinyin",
                f"flattened ruby annotation: pypinyin confirms {reading} is a reading of {base}",
                extra={"base": base, "reading": reading}))
    lost = list(LOST.finditer(line))
    if lost:
        traditional = _traditional(line)
        for m in lost:
            reading = _norm(m["reading"])
            if reading not in _chars_by_reading():
                continue  # not a pinyin syllable: "?abc)" is something else, leave it
            start, end = m.start(), m.end()
            before = line[start - 1] if start > 0 else ""
            after = line[end] if end < len(line) else ""
            char, evidence = _restore(reading, before, after, traditional)
            if char is not None:
                edits.append(RubyEdit(
                    start, end, char, "restore", "ruby:restore",
                    f"lost character with reading {reading}: {char} is the only character with "
                    f"that reading forming a known word with its neighbour",
                    extra={"reading": reading, "evidence": evidence}))
            else:
                edits.append(RubyEdit(
                    start, end, marker, "mark", "ruby:lost_character",
                    f"a character with reading {reading} was lost and cannot be restored with "
                    f"certainty; marked with {marker}",
                    lossy=True, extra={"reading": reading, "candidates_words": evidence}))
    edits.sort(key=lambda e: e.start)
    kept: list[RubyEdit] = []
    for edit in edits:
        if not kept or edit.start >= kept[-1].end:
            kept.append(edit)
    return kept
