"""repair (`mojibake.repair`): undo mojibake and flattened annotations exactly, flag what is lost.

Shape: cleaner ``(Document) -> Explained``. Runs before anything deletes characters (a stripped
private-use character makes GB18030 mojibake unrecoverable: STYLE.md, gotcha 1).

Line structure is kept: every fixer works inside one line and never adds or removes a "\\n", so
the output has as many lines as the input and every change is located as "line N, chars a-b".

Fast path. Most input is clean, so the whole text is first searched with three simple compiled
patterns (`_suspect_patterns`): the characters mojibake is made of (Latin-1 letters that are
UTF-8 lead bytes, Ã-ô; the GBK/Big5 characters every UTF-8 Chinese character turns into when its
lead byte E4-E9 is read as GBK or Big5: 鏁, 涓, 鍚 ...; private-use code points, U+FFFD, 锟,
C0/C1 controls, Yi syllables, pinyin tone letters, and the letters of the single-byte
codepages that GBK/Big5 bytes become: Ó, Ă, Ж, Ω, ├...), character references, and "(reading)". A
text with none of them is returned untouched without running ftfy or any search (~40 MB/s on
the seeds and corpus pages, `scripts/bench_repair.py`); otherwise only the lines with a hit go
through the fixers, and each fixer has its own cheap gate (a line without à-ï is not decoded as
cp1252, one without a private-use character is not realigned...).

The named fixers, in order, each on the output of the one before (issue #4, issue #15):

``entities``     HTML entities and numeric character references left in text ("&#25968;", "&amp;").
``codepage``     Chinese bytes read through a single-byte codepage (`RepairConfig.codepages`:
                 cp1250-1257, ISO-8859-2/5/7, KOI8-R, mac-roman, cp1252/Latin-1): GBK/GB18030
                 and Big5 (``gb18030:cp1250``: "ÓůÓĂČíĽţ" is 御用软件) and UTF-8
                 (``utf8:cp1251``). Only codepages whose sign of damage is on the line are
                 tried; every (source, codepage) reading is weighed and the one that saves the
                 most cost wins the line; UTF-8 read as cp1252 is left to ftfy. A double-byte
                 run is read by a cheapest-path search that may leave a byte out: a lost byte
                 shifts every later pair, so the damaged character and whatever the search is
                 unsure of stay as they were, flagged ``flag:damaged`` (lossy, with where), as
                 do the runs and lone bytes of such a line that form no character for sure.
                 Runs before ftfy, which would read GBK bytes as inconsistent UTF-8 ("É½" is 山,
                 not "ɽ"); a line it claims is not given to ftfy afterwards.
``ftfy``         UTF-8 read as cp1252/Latin-1 ("æ•°å­—"), via ``ftfy.fix_and_explain`` with a
                 CJK-safe config: no width folding, no quote uncurling, NFC not NFKC, no line
                 break or control-character changes (those would break line structure or
                 touch Chinese punctuation: issue #4 measured ftfy's defaults changing 44 of 194
                 clean seed lines).
``utf8:<codec>`` UTF-8 read as cp1252 (what ftfy leaves, "æ— "), GB18030/GBK ("鏁板瓧鏀垮簻")
                 or Big5: the suspect run is encoded back with the wrong codec and decoded as
                 UTF-8. A byte that the wrong decoder turned into U+FFFD or "?" is lost: the
                 character it belonged to becomes one U+FFFD, the change says ``lossy`` and
                 lists the likeliest characters as ``suggestions``; nothing is guessed into the
                 text. The one exception is certain: a U+FFFD that only the byte 0x80 can
                 have produced (`_only_0x80`). "€" is read both as cp936's 0x80 and as
                 GB18030's A2 E3. What is left next to a repaired run that is UTF-8 cut short
                 (了 without its last byte read as GB18030 is "浜") is flagged ``flag:damaged``,
                 as are such leftovers of ftfy's repair of cp1252.
``realign``      GBK decoded one byte off after a lost byte (seed 003: "?!皵底终O" is
                 "。“數字政府建設"): the run is encoded as GB18030 (ASCII punctuation tried as
                 the full-width form it was folded from), every lead byte is tried in front
                 (or one byte dropped), and the best decoding is kept only when it is far more
                 plausible Chinese than the damaged run.
``ruby``         flattened pinyin annotations (seed 004), see `cleaners.ruby`.
``controls``     stray C0/C1 control characters (tab and CR kept; a complete terminal escape
                 sequence is kept too: someone wrote it).

Then flags (action "flag", text unchanged, always kept in the trail): U+FFFD runs, 锟斤拷
(GBK read as UTF-8 then written back and read as GBK), private-use runs that no fixer could
explain, Yi-syllable placeholders for characters missing from a legacy charset (玉ꆼ缄札).

Every candidate repair is judged by one plausibility scorer (`cost`): the mean, over the
characters, of -log10 of their frequency in Chinese text (``data/encoding_hanzi_freq.tsv``,
shared with ``encoding.detect``), with fixed costs for punctuation, Latin, symbols and the
characters that never occur in clean Chinese (private use, U+FFFD, controls).

The trail replays: `replay(original, changes)` applies the recorded edits in order and gives the
repaired text (STYLE.md §2, ftfy's apply_plan).
"""

from __future__ import annotations

import codecs
import functools
import html
import itertools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cleaners import ruby
from cleaners.model import Change, CleaningError, Document, Explained
from cleaners.textutil import data_text

log = logging.getLogger(__name__)

STEP = "mojibake.repair"
VERSION = "2"  # 2: Chinese bytes read through single-byte codepages; damaged remainders flagged


@dataclass(frozen=True)
class RepairConfig:
    fix_entities: bool = True  # issue #4 item 5: "&#25968;" and "&amp;" left in extracted text
    fix_latin1: bool = True  # issue #4 item 3: UTF-8 read as cp1252/Latin-1 (ftfy, then our round trip)
    fix_legacy: bool = True  # issue #4 item 2: UTF-8 read as GB18030/GBK or Big5
    fix_codepages: bool = True  # issue #15: Chinese bytes read through a single-byte codepage
    fix_realign: bool = True  # issue #4 item 1: GBK decoded one byte off (seed 003)
    fix_ruby: bool = True  # issue #4 item 4: flattened pinyin annotations (seed 004)
    strip_controls: bool = True  # issue #4 item 5: stray C0/C1 controls; tab, CR and LF are kept
    # Wrong codecs tried, in order, for UTF-8 mojibake (GBK is a subset of GB18030; "€" from
    # cp936's 0x80 is handled too). Big5 last: its mojibake is mostly lossy.
    legacy_codecs: tuple[str, ...] = ("gb18030", "big5")
    # Single-byte codepages a Chinese file is read through on a machine with another locale
    # (issue #15): GBK/GB18030, Big5 and UTF-8 bytes are tried through each (UTF-8 through
    # cp1252/Latin-1 is the ftfy and utf8:cp1252 fixers' job): the issue's list, Windows, ISO
    # and Mac; the reading that saves the most cost wins the line, the first on a tie.
    codepages: tuple[str, ...] = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257",
                                  "iso8859-2", "iso8859-5", "iso8859-7", "koi8-r", "mac-roman")
    # A candidate's mean cost (-log10 frequency per character) must be at most this: clean
    # Chinese averages about 3.0 (seeds), GBK mojibake of it 5.5-8 (corpus rows).
    max_candidate_cost: float = 4.6
    # ... and at least this much lower than the damaged run's (-log10 units, i.e. the run must
    # be ~20x less likely per character than its repair). 1.5 missed two-character runs such as
    # "鍦板潃" (地址, gain 1.34); at 1.3 still 0 of 66,863 clean corpus lines change (eval_repair.py).
    min_cost_gain: float = 1.3
    # The same for UTF-8 read as cp1252 (and since issue #15 as any single-byte codepage), where
    # the UTF-8 structure is the evidence (Latin text
    # almost never forms valid UTF-8 that decodes to Chinese: ftfy's premise); it may even score
    # a little worse, as mojibake made of "…" and "“" looks cheap ("é›…" is 雅, corpus).
    min_cost_gain_cp1252: float = -1.0
    # Codepage repair of GBK/Big5 bytes: a run must restore at least this many CJK characters
    # (one pair of accented letters, "ří" in "Dvořák", can read as a common character by chance).
    min_codepage_chars: int = 2
    # Codepage repair: the gain asked of a line's reading, whose runs show the sign of damage
    # (`_unlike_words`) or ride on runs that do, against the symbols the garbled characters
    # are: the reading need only score as Chinese (<= max_candidate_cost). Clean European text
    # shows no such sign (CLDR names in 27 locales: 0 of 2,698 lines change); names of people
    # are rare characters (杨渊浩 3.9) that min_cost_gain's 1.3 refused.
    min_cost_gain_signed: float = 0.4
    # Codepage repair: the cost of leaving one byte out of a double-byte reading (-log10 units,
    # as char_cost). A lost byte shifts every later pair, and the shifted pairs read as rare
    # characters (~5.5 each against ~3 for the true text): past a few characters leaving the
    # orphan out is far cheaper.
    orphan_byte_cost: float = 8.0
    # Codepage repair: the same for a run's last byte, which shifts nothing after it: the lead
    # byte of a character cut off at the end of the line ("度。" losing its last byte reads
    # "°²Î£¡", where 危's trail and 。's lead make "！"). Lower, a byte lost mid-run is left
    # out at the run's end instead, where the shift ends: on the synthetic benchmark's seed and
    # corpus lines 8.0, 7.0, 6.5, 5.0, 3.5 leave 856, 816, 818, 867, 895 damaged characters of
    # 15,139 unflagged (GBK and Big5, last or middle byte dropped).
    orphan_tail_cost: float = 7.0
    # Codepage repair: characters the runs that look unlike words must restore before the
    # line's other runs are read too (`_unlike_words`). With 3 (4 before the signs of issue
    # #15's second pass), CLDR names in 27 European locales change 0 of 2,698 lines
    # (eval_repair.py --synthetic) and "(責編: 李雨潼)" is read whole; a run needs a sign of its
    # own otherwise.
    min_signed_chars: int = 3
    # Codepage repair: a byte whose leaving-out costs within this much of the best reading is
    # unsure, and the characters over it stay as they were (flagged): 2.0 is 100x less likely.
    orphan_margin: float = 2.0
    # Codepage repair: one ASCII letter (40-7E) read alone between non-ASCII bytes, where it
    # could be the first one's trail. A pair shifted by a lost byte ends on one ("ЖЅп@" missing
    # a byte reads "斤@" for "平顯"); as unlikely as the lost byte itself. Tried 2, 4, 6, 8 on the
    # synthetic benchmark's seed lines and checked on its corpus lines (held out): GBK/Big5 lines
    # missing a byte mid-line with a guessed character 534 -> 88 of 2,357, intact lines read
    # exactly 98.1% -> 98.2% (the letter must sit between two such bytes: "码AV" is a word).
    # A letter that ends a run after such a byte counts too: a shift ends there when the last
    # character's trail is a letter ("目標。" in Big5 missing 目's trail reads "未苤C"); lines with
    # a guessed character, GBK and Big5, middle or last byte dropped: 478 -> 331 (a symbol such
    # as "|" is left out: "古装片|" is clean text).
    glued_ascii_cost: float = 8.0
    # Per-character cost from which a candidate is refused outright: private use, U+FFFD,
    # controls, unassigned code points (cost 10) never appear in a repair we accept.
    refuse_char_cost: float = 9.5
    # At most this share of a candidate's characters may be lost bytes (U+FFFD): past it the
    # "repair" is mostly loss and the run is only flagged.
    max_lost_share: float = 0.5
    # A U+FFFD read back as the byte 0x80 (see `_encode`) needs this many whole 3-byte
    # characters in the same run that owe nothing to an inferred byte (characters).
    min_clean_chars_for_inference: int = 2
    # "€" in GBK mojibake is 0x80 (cp936) or A2 E3 (GB18030): the cp936 reading must explain
    # this much more of the line (share of cost saved) to win. "涓€鍙" (一句) wins by 30%;
    # GB18030 mojibake read the cp936 way wins by 1-5% on the corpus pages, wrongly.
    euro_cp936_margin: float = 0.15
    # Likely characters recorded (never inserted) for each lost one, most frequent first.
    max_suggestions: int = 3
    # Realignment: characters left of the first private-use character tried as the start of
    # the misaligned run (seed 003: the run starts 6 characters before it, at "?").
    realign_window: int = 8
    # Realignment: the run must end on an ASCII byte 0x40-0x7E that re-syncs the stream
    # ("O" in "ㄔO", "h" in "狱h") within this many characters of the last private-use one.
    realign_max_run: int = 24
    # Realignment: a shifted byte stream changes every character up to the re-sync byte, so a
    # realignment must change at least this many characters (seed 003: 8 and 7).
    realign_min_chars: int = 4
    # Ruby: confirmed annotations needed in a document before any is removed; fewer is a text
    # explaining a pronunciation on purpose ("行(háng)"). Seed 004 has 269.
    ruby_min_annotations: int = 3
    # Ruby: what a lost, unrecoverable character becomes: U+3013 GETA MARK, the typographic
    # mark for a missing character (visible, never a real character, recorded in the trail).
    lost_char_marker: str = "\u3013"


# ---------------------------------------------------------------------------------------------
# Plausibility scorer (shared by every fixer)

COST_PUNCT = 1.5  # 。，、“” are among the most frequent "characters" of Chinese text (~5% each)
COST_RARE_PUNCT = 3.0  # 〔〕〈〉～ and other CJK symbols and punctuation
COST_ASCII = 2.0  # Latin letters, digits, ASCII punctuation: neutral
COST_FULLWIDTH = 3.5  # full-width letters and digits: ＡＢＣ１２３
COST_SYMBOL = 5.0  # Latin-1 letters, Greek, Cyrillic, kana, box drawing... in Chinese text
COST_BOPOMOFO = 6.5  # ㄔ: zhuyin is rare in running text, common in GBK mojibake (row A8)
COST_RARE_HANZI = 8.5  # a CJK character not in the frequency table (13,000 most common)
COST_NEVER = 10.0  # private use, U+FFFD, controls, unassigned: not in clean Chinese text

COMMON_PUNCT = frozenset("，。、；：？！“”‘’（）《》「」『』【】…—·\u3000")


@functools.cache
def _hanzi_cost() -> dict[str, float]:
    """-log10 frequency of each Chinese character, both scripts (data/encoding_hanzi_freq.tsv)."""
    table: dict[str, float] = {}
    text = data_text("encoding_hanzi_freq.tsv")  # shared with encoding.detect
    for row in text.splitlines():
        if row and not row.startswith("#"):
            char, value = row.split("\t")
            table[char] = -float(value)
    return table


def _class_cost(char: str) -> float:
    cp = ord(char)
    if char in COMMON_PUNCT:
        return COST_PUNCT
    if 0x20 <= cp < 0x7F or char in "\t\r":
        return COST_ASCII
    if 0x3000 <= cp <= 0x303F or 0xFE30 <= cp <= 0xFE4F or char in "～﹏":
        return COST_RARE_PUNCT
    if 0xFF01 <= cp <= 0xFF5E:
        return COST_FULLWIDTH
    if 0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF:
        return COST_RARE_HANZI
    if 0x3100 <= cp <= 0x312F or 0x31A0 <= cp <= 0x31BF:
        return COST_BOPOMOFO
    category = unicodedata.category(char)
    if category in ("Co", "Cn", "Cs", "Cc") or char == "\ufffd" or 0xA000 <= cp <= 0xA4CF:
        return COST_NEVER
    if 0x0530 <= cp <= 0x08FF:  # Armenian, Hebrew, Arabic...: UTF-8 2-byte accidents
        return COST_NEVER
    return COST_SYMBOL


@functools.lru_cache(maxsize=65536)
def char_cost(char: str) -> float:
    """-log10 of how often `char` occurs in Chinese text (class costs outside the table).

    >>> char_cost("的") < char_cost("数") < char_cost("鏁") < char_cost("\\ue47f")
    True
    """
    value = _hanzi_cost().get(char)
    return value if value is not None else _class_cost(char)


def cost(text: str) -> float:
    """Mean `char_cost` of `text`: lower is more plausible Chinese (inf for empty text).

    >>> cost("数字政府") + 1.5 < cost("鏁板瓧鏀垮簻")
    True
    """
    if not text:
        return float("inf")
    return sum(char_cost(ch) for ch in text) / len(text)


# ---------------------------------------------------------------------------------------------
# Edits and the per-line driver


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace line[start:end] by `after`; the rest says what, why and whether bytes were lost."""

    start: int
    end: int
    after: str
    action: str  # "decode" | "unescape" | "remove" | "restore" | "mark" | "flag"
    what: str
    why: str
    lossy: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Context:
    cfg: RepairConfig
    ruby_on: bool


Fixer = Callable[[str, _Context], list[Edit]]


def _trim(before: str, after: str) -> tuple[int, int, int]:
    """Common prefix and suffix lengths of two strings (so a change covers only what differs)."""
    prefix = 0
    limit = min(len(before), len(after))
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < limit - prefix and before[len(before) - 1 - suffix] == after[len(after) - 1 - suffix]):
        suffix += 1
    return prefix, suffix, limit


def _apply(line: str, lineno: int, fixer: str, edits: Sequence[Edit],
           changes: list[Change]) -> str:
    """Apply non-overlapping edits left to right; record each as a Change located in the line
    as it stands when the edit is applied (so `replay` can apply them in order)."""
    out: list[str] = []
    pos = 0
    shift = 0  # how much the edits so far changed the length before this point
    for edit in sorted(edits, key=lambda e: e.start):
        if edit.start < pos:
            continue  # overlaps an earlier edit of the same fixer: keep the first
        before = line[edit.start:edit.end]
        if edit.action != "flag":
            prefix, suffix, _ = _trim(before, edit.after)
            start, end = edit.start + prefix, edit.end - suffix
            after = edit.after[prefix:len(edit.after) - suffix]
            before = line[start:end]
            if before == after:
                continue
        else:
            start, end, after = edit.start, edit.end, before
        out.append(line[pos:start])
        out.append(after)
        pos = end
        where_start = start + shift
        detail: dict[str, Any] = {
            "fixer": fixer, "line": lineno, "start": where_start, "end": where_start + len(before),
            "before": before, "after": after, "lossy": edit.lossy, **edit.extra,
        }
        changes.append(Change(STEP, edit.action, edit.what,
                              f"line {lineno}, chars {where_start}-{where_start + len(before)}",
                              edit.why, detail))
        shift += len(after) - len(before)
    out.append(line[pos:])
    return "".join(out)


def replay(text: str, changes: Iterable[Change]) -> str:
    """Apply recorded repairs to the original text, in order: gives the repaired text back.

    >>> from cleaners.model import Source
    >>> doc = Document(source=Source.from_bytes("x", b""), text="ok\\n&#25968;字")
    >>> result = repair(doc, RepairConfig())
    >>> replay(doc.text, result.changes) == result.text == "ok\\n数字"
    True
    """
    lines = text.split("\n")
    for change in changes:
        if change.step != STEP or change.action == "flag":
            continue
        d = change.detail
        index = int(d["line"]) - 1
        line = lines[index]
        start, end = int(d["start"]), int(d["end"])
        if line[start:end] != d["before"]:
            raise CleaningError(f"cannot replay {change.where}: expected {d['before']!r}, "
                                f"found {line[start:end]!r}")
        lines[index] = line[:start] + str(d["after"]) + line[end:]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The fast pre-check


def _lead_pair_chars(codec: str, leads: range, trails: range) -> str:
    """Characters a GBK/Big5 decoder makes of a UTF-8 lead byte and its first continuation byte."""
    chars = []
    for lead in leads:
        for trail in trails:
            try:
                char = bytes((lead, trail)).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(char) == 1:
                chars.append(char)
    return "".join(chars)


# UTF-8 lead bytes of CJK characters (U+4000-U+9FFF) and of CJK/full-width punctuation.
UTF8_HANZI_LEADS = range(0xE4, 0xEA)
UTF8_CONTINUATION = range(0x80, 0xC0)
# Pinyin letters with tone marks outside Latin-1 (Latin-1's are in the Ã-ô range already).
TONE_LETTERS = "āēěīōūǎǐǒǔǖǘǚǜńňǹḿ"
ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


@functools.cache
def _suspect_patterns() -> tuple[re.Pattern[str], ...]:
    """The patterns that find every line mojibake or a flattened annotation can be on.

    Every UTF-8 Chinese character starts with a lead byte E4-E9; read as GBK, Big5 or cp1252,
    the first character of any run of them is one of the pair characters or one of Ã-ô, so a
    line without any of these has no such mojibake (the clean-text fast path, issue #4). Three
    simple patterns, not one alternation: each scans in C at hundreds of MB/s, where an
    alternation that starts with "any hanzi" is ten times slower.
    """
    gbk = _lead_pair_chars("gbk", UTF8_HANZI_LEADS, UTF8_CONTINUATION)
    big5 = _lead_pair_chars("big5", UTF8_HANZI_LEADS, UTF8_CONTINUATION)
    # 鈥 銆 锛: "“”—…", "、。《》", "，：（）" (lead bytes E2, E3, EF) read as GBK.
    punct = "鈥銆锛"
    chars = re.escape("".join(sorted(set(gbk + big5 + punct + TONE_LETTERS + "锟\ufffd"))))
    controls = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    latin_leads = "\u00c2-\u00f4"
    private = "\ue000-\uf8ff\ua000-\ua4cf"
    return (re.compile(f"[{controls}{latin_leads}{private}{chars}{_damage_signs()}]"),
            ENTITY,
            re.compile(f"[(（]?[{ruby.PINYIN_LETTERS}]{{1,{ruby.MAX_SYLLABLE}}}[)）]"))


def _suspect_lines(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each line with a hit of any suspect pattern, in order."""
    patterns = _suspect_patterns()
    upcoming = [p.search(text) for p in patterns]
    pos = 0
    while True:
        live = [m.start() for m in upcoming if m is not None]
        if not live:
            return
        hit = min(live)
        start = text.rfind("\n", 0, hit) + 1
        end = text.find("\n", hit)
        end = len(text) if end < 0 else end
        yield start, end
        pos = end + 1
        if pos > len(text):
            return
        upcoming = [m if m is None or m.start() >= pos else p.search(text, pos)
                    for m, p in zip(upcoming, patterns, strict=True)]


# ---------------------------------------------------------------------------------------------
# Fixer: HTML entities and character references


MARKUP = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")


def _fix_entities(line: str, ctx: _Context) -> list[Edit]:
    """Decode entities and character references left in text.

    >>> [e.after for e in _fix_entities("數&#23383; &amp; &nbsp;", _Context(RepairConfig(), False))]
    ['字', '&', '\\xa0']
    """
    if "&" not in line or MARKUP.search(line):
        return []  # a line with tags is markup source, where "&lt;" is a correct escape
    edits = []
    for m in ENTITY.finditer(line):
        value = html.unescape(m.group())
        if value == m.group() or "\n" in value or any(_class_cost(ch) >= COST_NEVER for ch in value):
            continue  # unknown name, or a reference to a control/surrogate: leave it visible
        edits.append(Edit(m.start(), m.end(), value, "unescape", "html_entity",
                          f"character reference {m.group()} left in text"))
    return edits


# ---------------------------------------------------------------------------------------------
# Fixer: ftfy, CJK-safe


@functools.cache
def _ftfy_config() -> Any:
    import ftfy

    return ftfy.TextFixerConfig(
        unescape_html=False,  # our `entities` fixer, recorded separately
        remove_terminal_escapes=False,  # our `controls` fixer
        fix_encoding=True,
        restore_byte_a0=True,
        replace_lossy_sequences=True,
        decode_inconsistent_utf8=True,
        fix_c1_controls=True,
        fix_latin_ligatures=False,  # not mojibake; leave the text as written
        fix_character_width=False,  # would turn ，！？（） into ASCII (STYLE.md gotcha 2)
        uncurl_quotes=False,  # would straighten “” (STYLE.md gotcha 2)
        fix_line_breaks=False,  # line structure is kept
        fix_surrogates=True,
        remove_control_chars=False,  # our `controls` fixer, after the round trips that need C1
        normalization="NFC",  # never NFKC: it folds full-width punctuation
        explain=True,
    )


LATIN_LEAD = re.compile("[\u00c2-\u00f4]")


def _fix_ftfy(line: str, ctx: _Context) -> list[Edit]:
    """ftfy's own repair of UTF-8 read as cp1252/Latin-1, kept only if it fixed an encoding.

    >>> [e.after for e in _fix_ftfy("ä¸­æ–‡ abc", _Context(RepairConfig(), False))]
    ['中文 abc']
    """
    if not LATIN_LEAD.search(line):
        return []
    import ftfy

    fixed = ftfy.fix_and_explain(line, config=_ftfy_config())
    steps = [tuple(step) for step in (fixed.explanation or [])]
    if fixed.text == line or all(step[0] == "normalize" for step in steps):
        return []  # nothing but NFC: not ours to change (compatibility ideographs would fold)
    if "\n" in fixed.text:
        return []  # never split a line (fix_line_breaks is off; this is a safety net)
    # replace_lossy_sequences turns what cannot be decoded into U+FFFD: a loss, said so.
    lossy = fixed.text.count("\ufffd") > line.count("\ufffd")
    plan = ",".join(f"{a}/{b}" for a, b in steps)
    return [Edit(0, len(line), fixed.text, "decode", f"ftfy:{plan}",
                 "UTF-8 read as cp1252/Latin-1 (ftfy.fix_and_explain, CJK-safe config)",
                 lossy=lossy, extra={"ftfy_plan": [list(s) for s in steps]})]


# ---------------------------------------------------------------------------------------------
# Fixer: UTF-8 read as a wrong codec (cp1252, GB18030/GBK, Big5), round trip

PLACEHOLDER = 0xFF  # never produced by gb18030, big5 or cp1252 encoding: stands for U+FFFD
BARRIER = 0xFE  # a character the wrong codec cannot encode: never part of a UTF-8 sequence
_SEQ = (rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
        rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
        rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")  # strict UTF-8: no overlongs, no surrogates
# A character that lost bytes. A GBK/GB18030/Big5 decoder turns each byte it cannot read into
# one U+FFFD (PLACEHOLDER here), so "》" (E3 80 8B) read as GBK after 冦 can come out as
# "��": the lead byte, then one placeholder per missing byte. A Windows decoder writes one "?"
# for a lead byte and the byte after it, so "?" ends the character.
_LOST = (rb"[\xe0-\xef](?:\xff[\x80-\xbf\xff]|[\x80-\xbf]\xff)"
         rb"|[\xf0-\xf4][\x80-\xbf\xff]{0,2}\xff"
         rb"|[\xc2-\xf4][\x80-\xbf\xff]{0,2}\?"
         rb"|[\xc2-\xf4][\x80-\xbf]{0,2}\xff"
         rb"|\xff")
UTF8_TOKEN = re.compile(rb"(?P<seq>" + _SEQ + rb")|(?P<lost>" + _LOST + rb")|(?P<ascii>[\x00-\x7f])")
# A stretch of UTF-8 sequences (and cut-short ones), ASCII allowed in between.
UTF8_RUN = re.compile(rb"(?:(?:" + _SEQ + rb"|" + _LOST + rb")[\x00-\x7f]*)+")
THREE_BYTES = re.compile(rb"[\xe0-\xf4][\x80-\xbf]{2}")
# Which "wrong codec" names map to which Python codecs, tried per character in order.
WRONG_CODECS: dict[str, tuple[str, ...]] = {
    "cp1252": ("cp1252", "latin-1"),
    "gb18030": ("gb18030",),
    "big5": ("cp950", "big5hkscs"),
}
# cp936 and cp950 decode the lone byte 0x80 as "€"; Python's gbk/gb18030 and big5 codecs do not.
EURO_BYTE = {"gb18030": b"\x80", "big5": b"\x80"}
EURO_READINGS = {"gb18030": (b"\x80", b"\xa2\xe3"), "big5": (b"\x80",)}  # GB18030 maps € to A2 E3
TRAIL_PAIRS = {"gb18030": ("gbk", range(0x80, 0xC0)), "big5": ("big5", range(0xA1, 0xC0))}


@functools.lru_cache(maxsize=262144)
def _wrong_bytes(char: str, codec: str) -> bytes:
    """The bytes the wrong decoder `codec` read as `char` (BARRIER if it cannot have)."""
    if char == "\ufffd":
        return bytes((PLACEHOLDER,))
    if codec not in WRONG_CODECS:  # a single-byte codepage (issue #15)
        byte = _codepage_table(codec).get(char)
        return bytes((BARRIER if byte is None else byte,))
    if codec == "cp1252" and 0x80 <= ord(char) <= 0x9F:
        return bytes((ord(char),))  # undefined cp1252 bytes pass through as C1 (sloppy decoding)
    if char == "€" and codec in EURO_BYTE:
        return EURO_BYTE[codec]
    for name in WRONG_CODECS[codec]:
        try:
            return char.encode(name)
        except UnicodeEncodeError:
            continue
    return bytes((BARRIER,))


@functools.cache
def _run_start_pattern(codec: str) -> re.Pattern[str]:
    """Characters a run of this codec's UTF-8 mojibake must contain: the first 3-byte sequence
    of a run starts on a character, so some character's bytes begin [E0-EF][80-BF] (GBK, Big5)
    or is one of à-ï (cp1252). A line without one is skipped without encoding it."""
    if codec == "cp1252":
        return re.compile("[\u00e0-\u00ef]")
    if codec not in TRAIL_PAIRS:  # a single-byte codepage: the characters of bytes E0-EF
        leads = "".join(ch for ch, byte in _codepage_table(codec).items() if 0xE0 <= byte <= 0xEF)
        return re.compile(f"[{re.escape(leads)}]")
    name, trails = TRAIL_PAIRS[codec]
    chars = _lead_pair_chars(name, range(0xE0, 0xF0), trails)
    return re.compile(f"[{re.escape(chars)}]")


def _only_0x80(next_byte: int, maps_user_area: bool) -> bool:
    """Can a U+FFFD followed by `next_byte` only have been the byte 0x80?

    Every lead byte 81-FE with a trail 40-7E or 80-A0 is a GBK character, so such a U+FFFD was
    0x80. With a trail A1-FE, a GBK decoder also fails on the user-defined lead bytes AA-AF and
    F8-FE ("个", E4 B8 AA, can lose its AA that way); only a decoder that maps the user-defined
    area to private use (GB18030: the line holds private-use characters) rules them out.
    """
    if 0x40 <= next_byte <= 0x7E or 0x80 <= next_byte <= 0xA0:
        return True
    return maps_user_area and 0xA1 <= next_byte <= 0xFE


def _encode(line: str, codec: str, euro: bytes | None = None) -> tuple[bytes, dict[int, int], set[int]]:
    """`line` encoded with the wrong codec; byte offset → character index at each boundary; and
    the byte offsets of the U+FFFD inferred to be the byte 0x80. `euro` overrides what "€"
    encodes to (cp936 and cp950 read the byte 0x80 as "€", GB18030 reads A2 E3 as "€").

    A GBK/GB18030 decoder turns exactly one byte into U+FFFD: 0x80 (never a lead byte), or a
    lead byte it cannot pair with the next byte. So a U+FFFD before a byte that every lead
    would pair with can only have been 0x80 (`_only_0x80`): the UTF-8 structure gives it back
    ("一A", E4 B8 80 41, read as GBK is "涓�A": the U+FFFD before 41 was 0x80). Any other
    U+FFFD stands for a lost byte.
    """
    encoded = [_wrong_bytes(char, codec) for char in line]
    if euro is not None and "€" in line:
        encoded = [euro if char == "€" else raw for char, raw in zip(line, encoded, strict=True)]
    marked: set[int] = set()
    if codec == "gb18030" and "\ufffd" in line:
        user_area = PRIVATE.search(line) is not None
        for index, char in enumerate(line):
            if (char == "\ufffd" and index + 1 < len(line)
                    and _only_0x80(encoded[index + 1][0], user_area)):
                encoded[index] = b"\x80"
                marked.add(index)
    starts: dict[int, int] = {}
    inferred: set[int] = set()
    offset = 0
    for index, raw in enumerate(encoded):
        starts[offset] = index
        if index in marked:
            inferred.add(offset)
        offset += len(raw)
    starts[offset] = len(line)
    return b"".join(encoded), starts, inferred


# A token: (start byte, end byte, kind, decoded text); kind is "seq" | "lost" | "ascii".
Token = tuple[int, int, str, str]


def _tokens(raw: bytes, start: int, end: int) -> list[Token]:
    out: list[Token] = []
    for m in UTF8_TOKEN.finditer(raw, start, end):
        kind = m.lastgroup or "ascii"
        if kind == "seq":
            text = m.group().decode("utf-8")
        elif kind == "lost":
            text = "\ufffd"
        else:
            text = chr(raw[m.start()])
        out.append((m.start(), m.end(), kind, text))
    return out


def _judge(before: str, after: str, lost: int, cfg: RepairConfig,
           min_gain: float | None = None) -> tuple[bool, float, float]:
    """Is `after` far more plausible Chinese than `before`? (lost characters not scored)."""
    scored_after = "".join(ch for ch in after if not ch.isascii() and (ch != "\ufffd" or not lost))
    scored_before = "".join(ch for ch in before if not ch.isascii())
    c_before = cost(scored_before)
    if not scored_after:
        return False, c_before, float("inf")
    c_after = cost(scored_after)
    if any(char_cost(ch) >= cfg.refuse_char_cost for ch in scored_after):
        return False, c_before, c_after
    gain = cfg.min_cost_gain if min_gain is None else min_gain
    ok = c_after <= cfg.max_candidate_cost and c_before - c_after >= gain
    return ok, c_before, c_after


def _suggestions(prefix: bytes, limit: int) -> list[str]:
    """The most frequent characters whose UTF-8 starts with `prefix` (a lost byte's candidates).

    Recorded in the trail for a person, never put into the text.
    """
    if len(prefix) != 2 or not 0xE0 <= prefix[0] <= 0xEF:
        return []
    chars = []
    for last in range(0x80, 0xC0):
        try:
            chars.append((prefix + bytes((last,))).decode("utf-8"))
        except UnicodeDecodeError:
            continue
    table = _hanzi_cost()
    known = sorted((table[ch], ch) for ch in chars if ch in table)
    return [ch for _, ch in known[:limit]]


def _roundtrip_edits(line: str, codec: str, cfg: RepairConfig) -> list[Edit]:
    """Runs of `line` that are UTF-8 bytes mis-decoded with `codec`, decoded back.

    "€" is ambiguous for GBK mojibake (0x80 in cp936, A2 E3 in GB18030): both readings are
    tried; cp936's wins only when it explains clearly more of the line.
    """
    if not _run_start_pattern(codec).search(line):
        return []
    if codec not in EURO_READINGS or "€" not in line:
        return _roundtrip_once(line, codec, cfg, None)
    readings = [_roundtrip_once(line, codec, cfg, euro) for euro in EURO_READINGS[codec]]
    if len(readings) == 1:
        return readings[0]
    cp936, standard = readings
    if _explained(cp936) > (1 + cfg.euro_cp936_margin) * _explained(standard):
        return cp936
    return standard


def _explained(edits: list[Edit]) -> float:
    """How much of a line a set of edits explains: cost saved, summed over characters."""
    return sum((float(e.extra["cost_before"]) - float(e.extra["cost_after"])) * len(e.after)
               for e in edits if e.action != "flag")


def _roundtrip_once(line: str, codec: str, cfg: RepairConfig, euro: bytes | None) -> list[Edit]:
    raw, starts, inferred = _encode(line, codec, euro)
    edits: list[Edit] = []
    spans: list[tuple[int, int]] = []  # byte ranges of the repaired runs
    for run in UTF8_RUN.finditer(raw):
        if not THREE_BYTES.search(raw, run.start(), run.end()):
            continue  # only 2-byte sequences: accents and Hebrew, never Chinese
        tokens = _tokens(raw, run.start(), run.end())
        # Trim to whole characters of the line, and leave ASCII at the edges where it is.
        first, last = 0, len(tokens) - 1
        while first <= last and (tokens[first][0] not in starts or tokens[first][2] == "ascii"):
            first += 1
        while last >= first and (tokens[last][1] not in starts or tokens[last][2] == "ascii"):
            last -= 1
        if first > last:
            continue
        body = tokens[first:last + 1]
        if not any(kind == "seq" and end - start >= 3 for start, end, kind, _ in body):
            continue
        start, end = starts[body[0][0]], starts[body[-1][1]]
        before = line[start:end]
        after = "".join(token[3] for token in body)
        lost_tokens = [token for token in body if token[2] == "lost"]
        lost = len(lost_tokens)
        if lost and codec == "big5":
            continue  # Big5 loses every continuation byte 80-A0: what is left is too thin to trust
        used = sum(1 for offset in inferred if body[0][0] <= offset < body[-1][1])
        if used:
            # A U+FFFD read as 0x80 is only as good as the UTF-8 around it: ask for two whole
            # 3-byte characters that owe nothing to an inferred byte.
            clean = sum(1 for start, end, kind, _ in body if kind == "seq" and end - start >= 3
                        and not any(start <= offset < end for offset in inferred))
            if clean < cfg.min_clean_chars_for_inference:
                continue
        n_chars = sum(1 for ch in after if not ch.isascii())
        if lost > cfg.max_lost_share * max(n_chars, 1):
            continue
        # cp1252 and the other single-byte codepages: UTF-8 structure alone is the evidence
        # (Latin, Cyrillic or Greek text almost never forms valid 3-byte UTF-8 decoding to
        # Chinese: ftfy's premise), so less gain is asked of it.
        gain = cfg.min_cost_gain if codec in TRAIL_PAIRS else cfg.min_cost_gain_cp1252
        ok, c_before, c_after = _judge(before, after, lost, cfg, gain)
        if not ok:
            continue
        name = "cp1252/latin-1" if codec == "cp1252" else codec
        why = f"UTF-8 bytes read as {name}: encoded back and decoded as UTF-8"
        if used > 0:
            why += f"; {used} U+FFFD before a valid trail byte can only have been byte 0x80"
        extra: dict[str, Any] = {"plan": [["encode", codec], ["decode", "utf-8"]],
                                 "lost_chars": lost, "inferred_0x80": used,
                                 "cost_before": round(c_before, 2), "cost_after": round(c_after, 2)}
        if lost:
            why += (f"; {lost} character(s) lost a byte to the wrong decoder and stay U+FFFD "
                    f"(likely characters in `suggestions`, not in the text)")
            extra["suggestions"] = [
                _suggestions(raw[token[0]:token[1]].rstrip(b"\xff?"), cfg.max_suggestions)
                for token in lost_tokens]
        edits.append(Edit(start, end, after, "decode", f"utf8:{codec}", why, lossy=bool(lost),
                          extra=extra))
        spans.append((body[0][0], body[-1][1]))
    if spans:
        edits += _damaged_edges(raw, starts, spans, codec)
    return edits


UTF8_SEQ = re.compile(_SEQ)


def _utf8_fragment(chunk: bytes) -> bool:
    """Is `chunk` UTF-8 that lost bytes: whole sequences, cut-short ones and stray continuation
    bytes only, at least one of them damaged? ("浜" read back as GB18030 is E4 BA: 了 without
    its last byte.) A byte that UTF-8 never uses (C0, C1, F5-FF) rules it out.

    >>> [_utf8_fragment(bytes.fromhex(h)) for h in ("e4 ba", "e4 ba 86", "d5 fe")]
    [True, False, False]
    """
    pos, damaged = 0, False
    while pos < len(chunk):
        m = UTF8_SEQ.match(chunk, pos)
        if m:
            pos = m.end()
            continue
        byte = chunk[pos]
        if 0x80 <= byte <= 0xBF or byte == PLACEHOLDER:
            pos += 1  # a continuation byte whose lead was lost
        elif 0xC2 <= byte <= 0xF4:
            need = 1 if byte < 0xE0 else 2 if byte < 0xF0 else 3
            pos += 1
            while need and pos < len(chunk) and 0x80 <= chunk[pos] <= 0xBF:
                pos, need = pos + 1, need - 1
        else:
            return False
        damaged = True
    return damaged


def _damaged_edges(raw: bytes, starts: dict[int, int], spans: list[tuple[int, int]],
                   codec: str) -> list[Edit]:
    """Flags for what is left next to the repaired byte spans that is UTF-8 with bytes missing.

    The stretch of non-ASCII bytes after (and before) a repaired span, past any ASCII and up to
    the next span, is flagged when it reads as cut-short UTF-8 (`_utf8_fragment`): the damaged
    remainder stays as it was, never guessed (issue #15, "又发现一处，别漏" + 浜).
    """
    edits: list[Edit] = []
    spans = sorted(spans)
    bounds = [0, *(x for span in spans for x in span), len(raw)]
    for index, (start, end) in enumerate(spans):
        for side, lo, hi in (("after", end, bounds[2 * index + 3]), ("before", bounds[2 * index], start)):
            if side == "after":
                while lo < hi and raw[lo] < 0x80:  # ASCII between ("4月12日" cut after 12)
                    lo += 1
                stop = lo
                while stop < hi and raw[stop] >= 0x80 and raw[stop] != BARRIER:
                    stop += 1
                hi = stop
            else:
                while hi > lo and raw[hi - 1] < 0x80:
                    hi -= 1
                begin = hi
                while begin > lo and raw[begin - 1] >= 0x80 and raw[begin - 1] != BARRIER:
                    begin -= 1
                lo = begin
            if lo >= hi or lo not in starts or hi not in starts or not _utf8_fragment(raw[lo:hi]):
                continue
            edits.append(Edit(starts[lo], starts[hi], "", "flag", "flag:damaged",
                              f"UTF-8 bytes read as {codec} with bytes missing next to the repaired "
                              f"text: left as it was, not guessed",
                              lossy=True, extra={"bytes": raw[lo:hi].hex(" "), "side": side}))
    return edits


def _fix_cp1252(line: str, ctx: _Context) -> list[Edit]:
    """What ftfy leaves of UTF-8 read as cp1252 ("æ— " is 无: too short for ftfy to be sure).

    >>> [e.after for e in _fix_cp1252("<value>ç»§ç»­</value>", _Context(RepairConfig(), False))]
    ['继续']
    """
    if not LATIN_LEAD.search(line):
        return []
    return _roundtrip_edits(line, "cp1252", ctx.cfg) + _leftover_fragments(line)


CJK = re.compile("[\u3000-\u9fff\uff00-\uffef]")
CP1252_STRETCH = re.compile("[\u0080-\u00ff\u0152-\u2122]{2,}")


def _leftover_fragments(line: str) -> list[Edit]:
    """What ftfy left of UTF-8 read as cp1252 in a repaired Chinese line: stretches of
    cp1252 letters that are UTF-8 cut short ("點" without its last byte is "é»"), flagged.

    >>> [e.what for e in _leftover_fragments("釋放了哪些重é»")], _leftover_fragments("咖啡館 café")
    (['flag:damaged'], [])
    """
    if len(CJK.findall(line)) < 2:
        return []
    edits = []
    for m in CP1252_STRETCH.finditer(line):
        raw = b"".join(_wrong_bytes(ch, "cp1252") for ch in m.group())
        if max(raw) >= 0xE0 and _utf8_fragment(raw):
            edits.append(Edit(m.start(), m.end(), "", "flag", "flag:damaged",
                              "UTF-8 bytes read as cp1252/latin-1 with bytes missing: left as it "
                              "was, not guessed", lossy=True, extra={"bytes": raw.hex(" ")}))
    return edits


def _legacy_fixer(codec: str) -> Fixer:
    def fix(line: str, ctx: _Context) -> list[Edit]:
        if line.isascii():
            return []
        return _roundtrip_edits(line, codec, ctx.cfg)

    fix.__name__ = f"_fix_utf8_as_{codec}"
    fix.__doc__ = f"UTF-8 read as {codec}, round trip (see module docstring)."
    return fix


# ---------------------------------------------------------------------------------------------
# Fixer: Chinese bytes read through a single-byte codepage (issue #15)

# The characters of a single-byte codepage that clean Chinese text uses too (quotes, dashes,
# ellipsis, middle dot, degree, multiplication sign, currency...): not a sign of damage alone.
CJK_TEXT_SYMBOLS = frozenset("“”‘’…—–·•×÷°±№€¥£©®‰\u00a0\u00ad")
# Source encodings read back from the codepage's bytes: a character is a lead byte 81-FE and a
# trail (GB18030: or a four-byte sequence); the decoders are tried in order.
DBCS_CHAR = {
    "gb18030": re.compile(rb"[\x81-\xfe](?:[\x30-\x39][\x81-\xfe][\x30-\x39]|[\x40-\x7e\x80-\xfe])"),
    "big5": re.compile(rb"[\x81-\xfe][\x40-\x7e\xa1-\xfe]"),
}
DBCS_DECODERS = {"gb18030": ("gb18030",), "big5": ("cp950", "big5hkscs")}
# ASCII that is never part of a double-byte character (trails are 40-7E or high; GB18030's
# four-byte form uses digits): a run of damage ends there.
DBCS_BREAK = re.compile(rb"[\x00-\x2f\x3a-\x3f]+")


@functools.cache
def _codepage_table(codepage: str) -> dict[str, int]:
    """Character → byte for a single-byte codepage (ASCII included). An undefined byte of a
    Windows codepage is passed through as the C1 control of the same number by sloppy decoders
    (browsers, ftfy's sloppy codecs), so such a C1 control maps to its own byte; cp1252 also
    stands for Latin-1, whose 80-9F are all C1 controls (as in `WRONG_CODECS`)."""
    try:
        codecs.lookup(codepage)
    except LookupError as exc:
        raise CleaningError(f"[repair] codepages: unknown codec {codepage!r} (a Python codec name "
                            f"such as cp1250, iso8859-5, koi8-r, mac-roman)") from exc
    table = {chr(byte): byte for byte in range(0x80)}
    for byte in range(0x80, 0x100):
        try:
            char = bytes((byte,)).decode(codepage)
        except UnicodeDecodeError:
            continue
        if len(char) != 1 or char in table:
            raise CleaningError(f"[repair] codepages: {codepage!r} is not a single-byte codepage")
        table[char] = byte
    if len(table) < 0x80 + 0x60:  # cp1253, the sparsest, defines 111 of the 128 upper bytes
        raise CleaningError(f"[repair] codepages: {codepage!r} is not a single-byte codepage")
    for byte in range(0x80, 0xA0):
        if codepage == "cp1252" or byte not in table.values():
            table.setdefault(chr(byte), byte)
    return table


@functools.cache
def _codepage_patterns(codepage: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(sign of damage, stretch of characters the codepage can have produced).

    The sign is a character from the codepage's upper half that clean Chinese text does not
    use, followed or preceded by another upper-half character, directly or across one ASCII
    @-~ ("€sͺF" is 山東 in Big5 read as ISO-8859-7: € is A4, Big5's commonest lead) (every
    double-byte character becomes two upper-half characters, or one and its trail byte 40-7E
    before the next; every UTF-8 one a lead and continuations): "ÓůÓĂ", "ОТУГ", "\\x8fV\\x96"
    (廣東 in GBK), "ε±" (山 in UTF-8, cp1253). An accented letter followed by plain letters
    ("zhùn", "café") is not one: pinyin and European words stay on the fast side.
    """
    return (_sign_pattern((codepage,)), re.compile(f"[\\x00-\\x7f{re.escape(_upper_half(codepage))}\\ufffd]+"))


def _upper_half(codepage: str) -> str:
    return "".join(ch for ch, byte in _codepage_table(codepage).items() if byte >= 0x80)


@functools.cache
def _sign_pattern(codepages: tuple[str, ...]) -> re.Pattern[str]:
    """The sign of damage of any of `codepages` (see `_codepage_patterns`)."""
    high = "".join(sorted({ch for codepage in codepages for ch in _upper_half(codepage)}))
    signs = "".join(ch for ch in high if ch not in CJK_TEXT_SYMBOLS)
    signs, high = re.escape(signs), re.escape(high)
    return re.compile(f"[{signs}][@-~]?[{high}]|[{high}][@-~]?[{signs}]")


@functools.cache
def _damage_signs() -> str:
    """The sign-of-damage characters of the default codepages that the fast path must not skip:
    a character class body for `_suspect_patterns`. Pinyin letters (ù, ā, ǎ...) are left to
    the other signs: a line of damage has plenty of those, and pinyin in clean text is common."""
    chars: set[str] = set()
    for codepage in RepairConfig().codepages:  # 80-9F: C1 controls are signs already, and
        chars |= {ch for ch, byte in _codepage_table(codepage).items()  # ‚„…‰ are punctuation
                  if byte >= 0xA0 and ch not in CJK_TEXT_SYMBOLS}
    chars -= set(ruby.PINYIN_LETTERS.replace("a-z", ""))
    return re.escape("".join(sorted(chars)))


@functools.lru_cache(maxsize=65536)
def _dbcs_char(raw: bytes, source: str) -> str | None:
    for name in DBCS_DECODERS[source]:
        try:
            text = raw.decode(name)
        except UnicodeDecodeError:
            continue
        if len(text) == 1:
            return text
    return None


# A piece of a reading: (first byte, end byte, decoded text or None for a byte left as it was).
Piece = tuple[int, int, str | None]


def _orphan_cost(raw: bytes, pos: int, cfg: RepairConfig) -> float:
    """The cost of leaving raw[pos] out: a run's last byte shifts nothing after it (a lead byte
    whose trail was cut off with the end of the line, "度。" losing its last byte)."""
    return cfg.orphan_tail_cost if pos == len(raw) - 1 else cfg.orphan_byte_cost


def _dbcs_steps(raw: bytes, pos: int, source: str, cfg: RepairConfig) -> list[tuple[int, float, str | None]]:
    """Ways to read on from `pos`: (next position, cost, text); text None is an orphan byte."""
    byte = raw[pos]
    if byte < 0x80:
        # ASCII costs nothing, except one letter alone between non-ASCII bytes (or ending the
        # run after one): that could be a trail byte 40-7E, the tell of a pair shifted by a lost
        # byte ("ЖЅп@Цш" missing one byte reads "斤@著" where "平顯著" was); "码AV", "路N11"
        # are words, not trails
        glued = (0x40 <= byte <= 0x7E and 0 < pos and raw[pos - 1] >= 0x80
                 and (raw[pos + 1] >= 0x80 if pos < len(raw) - 1 else chr(byte).isalpha()))
        return [(pos + 1, cfg.glued_ascii_cost if glued else 0.0, chr(byte))]
    steps: list[tuple[int, float, str | None]] = [(pos + 1, _orphan_cost(raw, pos, cfg), None)]
    if pos + 1 < len(raw) and (byte == PLACEHOLDER or raw[pos + 1] == PLACEHOLDER):
        # U+FFFD: the codepage had no character for a byte (its lead or its trail): the pair is
        # one lost character, which keeps the pairs after it in step
        steps.append((pos + 2, cfg.orphan_byte_cost, None))
    m = DBCS_CHAR[source].match(raw, pos)
    if m:
        char = _dbcs_char(m.group(), source)
        if char is not None and char_cost(char) < cfg.refuse_char_cost:
            steps.append((m.end(), char_cost(char), char))
    return steps


def _dbcs_read(raw: bytes, source: str, cfg: RepairConfig) -> tuple[list[Piece], set[int]]:
    """The cheapest reading of `raw` as `source` bytes, and the positions it is unsure of.

    A byte may be left out as an orphan at `orphan_byte_cost`: a lost byte shifts every
    following pair ("one byte missing in the middle"), and the reading that skips the orphan
    is far cheaper than the shifted one. Every byte whose leaving-out costs within
    `orphan_margin` of the best reading is unsure: the pieces over such bytes stay as they
    were (flagged), so a shifted reading never becomes a guess in the text.
    """
    n = len(raw)
    inf = float("inf")
    ahead = [inf] * (n + 1)  # cheapest reading of raw[:i]
    back: list[tuple[int, str | None]] = [(0, None)] * (n + 1)
    ahead[0] = 0.0
    steps = [_dbcs_steps(raw, pos, source, cfg) for pos in range(n)]
    for pos in range(n):
        for nxt, step_cost, text in steps[pos]:
            if ahead[pos] + step_cost < ahead[nxt]:
                ahead[nxt] = ahead[pos] + step_cost
                back[nxt] = (pos, text)
    rest = [inf] * (n + 1)  # cheapest reading of raw[i:]
    rest[n] = 0.0
    for pos in range(n - 1, -1, -1):
        rest[pos] = min(step_cost + rest[nxt] for nxt, step_cost, _ in steps[pos])
    pieces: list[Piece] = []
    pos = n
    while pos > 0:
        prev, text = back[pos]
        pieces.append((prev, pos, text))
        pos = prev
    pieces.reverse()
    best = ahead[n]
    unsure = {pos for pos in range(n) if raw[pos] >= 0x80
              and ahead[pos] + _orphan_cost(raw, pos, cfg) + rest[pos + 1] <= best + cfg.orphan_margin}
    return pieces, unsure


def _dbcs_edits(line: str, source: str, codepage: str, cfg: RepairConfig) -> list[Edit]:
    """Runs of `line` that are `source` (GBK/GB18030, Big5) bytes read through `codepage`.

    One character is one byte, so a run's bytes are its characters looked up in the codepage;
    runs end at ASCII that no double-byte character contains (space, "(", ","...). Each run is
    read back by `_dbcs_read`. The evidence is weighed per line, as a whole file goes through
    one wrong codepage: what all runs restore together must score as Chinese (`_judge`, the
    evidence every round trip uses) and be at least `min_codepage_chars`; then each run is
    repaired that restores plausible text at all, however short ("(¶þ)" is "(二)"). What the
    reading is unsure of, and bytes that belong to no character (the lead byte whose trail was
    lost), stay as they were and are flagged lossy.

    >>> [e.after for e in _dbcs_edits("ÓůÓĂČíĽţ(YYRJ)", "gb18030", "cp1250", RepairConfig())]
    ['御用软件']
    """
    table = _codepage_table(codepage)
    runs: list[tuple[int, bytes, list[Piece], set[int], str, str]] = []
    unread: list[tuple[int, bytes]] = []  # runs with nothing read for sure, and lone bytes
    for segment in _codepage_patterns(codepage)[1].finditer(line):
        raw = bytes(PLACEHOLDER if ch == "\ufffd" else table[ch] for ch in segment.group())
        pos = 0
        for gap in itertools.chain(DBCS_BREAK.finditer(raw), (None,)):
            stop = len(raw) if gap is None else gap.start()
            offset = segment.start() + pos
            if stop - pos >= 2 and max(raw[pos:stop]) >= 0x80:
                pieces, unsure = _dbcs_read(raw[pos:stop], source, cfg)
                before = restored = ""
                for start, end, text in pieces:
                    if text is not None and not text.isascii() and not unsure.intersection(range(start, end)):
                        before += line[offset + start:offset + end]
                        restored += text
                if restored:
                    runs.append((offset, raw[pos:stop], pieces, unsure, before, restored))
                else:
                    unread.append((offset, raw[pos:stop]))
            elif stop - pos == 1 and raw[pos] >= 0x80:
                unread.append((offset, raw[pos:stop]))
            if gap is not None:
                pos = gap.end()
    # Words of a language the codepage is for ("беджа", "Ελλάδα", "Dvořák") are letters in
    # their case; double-byte characters read through it mix cases and symbols ("ÓůÓĂ", "¹¤×÷",
    # "ОТУГИнјю"). A run needs that sign of its own, unless the runs of the line that have it
    # restore `min_signed_chars` ("(¶þ)" rides on the rest of "(¶þ)¿‚ówÄ¿˜Ë¡£").
    signed = [_unlike_words(run[4]) for run in runs]
    if sum(len(run[5]) for run, sign in zip(runs, signed, strict=True) if sign) < cfg.min_signed_chars:
        runs = [run for run, sign in zip(runs, signed, strict=True) if sign]
    restored = "".join(run[5] for run in runs)
    if len(restored) < cfg.min_codepage_chars:
        return []
    # The garbled characters are scored as what they are in Chinese text: symbols. ("·" and
    # "“" cost little as punctuation, but here they are bytes 0xB7 and 0x93 of a character.)
    # Every run kept shows the sign of damage, or rides on runs that do.
    symbols = "\u00a9" * len("".join(run[4] for run in runs))
    if not _judge(symbols, restored, 0, cfg, cfg.min_cost_gain_signed)[0]:
        return []
    edits: list[Edit] = []
    for offset, raw, pieces, unsure, _before, restored in runs:
        c_before, c_after = COST_SYMBOL, cost(restored)
        if c_after <= c_before and all(char_cost(ch) < cfg.refuse_char_cost for ch in restored):
            edits += _dbcs_run_edits(offset, raw, pieces, unsure, source, codepage, c_before, c_after)
    if edits:  # the line is this reading's: what it could not read is damage, flagged
        edits += [Edit(offset, offset + len(raw), "", "flag", "flag:damaged",
                       f"{source} bytes read as {codepage} that form no character for sure (a "
                       f"byte lost): left as it was, not guessed", lossy=True,
                       extra={"bytes": raw.hex(" ")})
                  for offset, raw in unread if _damaged_remnant(line, offset, offset + len(raw))]
    return edits


def _damaged_remnant(line: str, start: int, end: int) -> bool:
    """Is line[start:end], left unread in a line read as double-byte characters, what is left
    of a character that lost a byte? Yes when it looks unlike words, or is one character that
    clean text does not use alone outside a word ("40.8%¡": 。 without its trail byte); a letter
    next to ASCII letters ("café") or a symbol Chinese text uses ("25°C") is not."""
    text = line[start:end]
    if len(text) > 1:
        return _unlike_words(text)
    if text in CJK_TEXT_SYMBOLS:
        return False
    neighbours = line[max(start - 1, 0):start] + line[end:end + 1]
    return not any(ch.isascii() and ch.isalpha() for ch in neighbours)


# Non-ASCII characters no word of these codepages' languages holds: µ, ª and º are letters to
# Unicode but a unit and ordinal signs in text; punctuation other than quotes and dashes (¡¿§¶•).
WORDLESS_LETTERS = frozenset("µªº")
WORD_PUNCT = frozenset("«»‹›„‚“”‘’…—–·\u00a0\u00ad")


def _wordless(char: str) -> bool:
    """A non-ASCII character that is never part of a word: symbol, number, control, punctuation
    (quotes and dashes aside), or µ ª º."""
    if char.isascii():
        return False
    category = unicodedata.category(char)[0]
    return (category in "SNC" or char in WORDLESS_LETTERS
            or (category == "P" and char not in WORD_PUNCT))


def _non_latin(char: str) -> bool:
    """A Greek or Cyrillic letter (the codepages' non-Latin scripts)."""
    return 0x0370 <= ord(char) <= 0x052F


# Quotes that stand between words, never inside one: "Ü»Ê" is GBK bytes (an apostrophe or a
# Catalan "l·l" is inside a word, so ’ ' · are not here).
INNER_QUOTES = frozenset("«»‹›„“”")


def _unlike_words(garbled: str) -> bool:
    """Does `garbled` hold neighbours no word has? A lower-case letter then an upper-case one;
    two upper-case letters then a lower-case one, one of them non-ASCII ("ЙЅОч"); a symbol,
    number, control or punctuation next to another non-ASCII character ("¹¤", "Ð¡"); a C1
    control anywhere ("\\x8fV\\x96", never in text); a Greek or Cyrillic letter glued to a Latin
    one ("ЩFЦЭ"); or a Latin word in capitals that is mostly accented letters ("ÖÜÅÅÐÐ", "ÙFÖÝ":
    capitals with accents are rare, a word of little else rarer still).

    >>> _unlike_words("ÓůÓĂČíĽţ"), _unlike_words("¹¤×÷"), _unlike_words("беджа"), _unlike_words("Ελλάδα")
    (True, True, False, False)
    >>> _unlike_words("ЩFЦЭ"), _unlike_words("ÖÜÅÅÐÐ"), _unlike_words("Łódź"), _unlike_words("ÉCOLE")
    (True, True, False, False)
    """
    for a, b in itertools.pairwise(garbled):
        if a.isascii() and b.isascii():
            continue
        if a.islower() and b.isupper():
            return True
        if "\x80" <= a <= "\x9f" or "\x80" <= b <= "\x9f":
            return True
        if not a.isascii() and not b.isascii() and (_wordless(a) or _wordless(b)):
            return True
        if a.isalpha() and b.isalpha() and ((_non_latin(a) and b.isascii()) or (_non_latin(b) and a.isascii())):
            return True
    for a, b, c in zip(garbled, garbled[1:], garbled[2:], strict=False):
        if a.isupper() and b.isupper() and c.islower() and not (a + b + c).isascii():
            return True
        if b in INNER_QUOTES and a.isalpha() and c.isalpha() and not (a + c).isascii():
            return True
    # a symbol glued to the ASCII letter after it, twice ("¶Q¦{" is 貴州 in Big5: its lead
    # bytes A4-AF are symbols in most codepages); "°C" is text
    glued = sum((_wordless(a) or not (a.isascii() or a.isalpha())) and a != "°" and "@" <= b <= "~"
                for a, b in itertools.pairwise(garbled))
    return glued >= 2 or _accented_capitals(garbled)


def _accented_capitals(garbled: str) -> bool:
    """A Latin word in capitals that is mostly accented letters."""
    for word in LETTERS.findall(garbled):  # noqa: SIM110 - reads better as a loop
        accented = sum(not ch.isascii() for ch in word)
        if (word.isupper() and len(word) >= 3 and 2 * accented >= len(word)
                and not any(_non_latin(ch) for ch in word)):
            return True
    return False


LETTERS = re.compile(r"[^\W\d_]+")


def _dbcs_run_edits(offset: int, raw: bytes, pieces: list[Piece], unsure: set[int], source: str,
                    codepage: str, c_before: float, c_after: float) -> list[Edit]:
    """A repaired run's edits: a decode per stretch read for sure, a flag per stretch left."""
    name = f"{source}:{codepage}"
    plan = [["encode", codepage], ["decode", source]]
    edits: list[Edit] = []
    run_start: int | None = None
    texts: list[str] = []
    run_end = 0
    for start, end, text in [*pieces, (len(raw), len(raw), None)]:
        good = text is not None and not any(p in unsure for p in range(start, end))
        if good:
            if run_start is None:
                run_start, texts = start, []
            texts.append(str(text))
            run_end = end
            continue
        if run_start is not None:
            edits.append(Edit(offset + run_start, offset + run_end, "".join(texts), "decode", name,
                              f"{'GBK/GB18030' if source == 'gb18030' else 'Big5'} bytes read as "
                              f"{codepage}: encoded back and decoded as {source}",
                              extra={"plan": plan, "cost_before": round(c_before, 2),
                                     "cost_after": round(c_after, 2)}))
            run_start = None
        if start < end:
            if edits and edits[-1].action == "flag" and edits[-1].end == offset + start:
                last = edits.pop()
                start = last.start - offset
            edits.append(Edit(offset + start, offset + end, "", "flag", "flag:damaged",
                              f"{source} bytes read as {codepage} with a byte lost or unsure here: "
                              f"left as it was, not guessed", lossy=True,
                              extra={"bytes": raw[start:end].hex(" ")}))
    return edits


# A line whose non-ASCII bytes are this much whole UTF-8 sequences is UTF-8 read through the
# codepage: GBK or Big5 pairs make UTF-8 only by chance (a few "Ã·" in a line of them).
UTF8_LINE_SHARE = 0.9


def _utf8_share(raw: bytes) -> float:
    """Share of the bytes of `raw` (non-ASCII bytes only) in whole UTF-8 sequences."""
    return sum(len(m.group()) for m in UTF8_SEQ.finditer(raw)) / max(len(raw), 1)


def _reading_cost(char: str) -> float:
    """A restored character's cost when readings compare: a Chinese character or common
    punctuation its own, anything else no less than a symbol. Sibling codepages (cp1250 and
    ISO-8859-2, cp1253 and ISO-8859-7) share most letters at different bytes, and the wrong one
    turns a character of
    the run into punctuation or a full-width letter ("中共〕史", "宋學Ｆ"), which cost little as
    text but are no evidence of a right reading."""
    value = char_cost(char)
    return value if char in _hanzi_cost() or char in COMMON_PUNCT else max(value, COST_SYMBOL)


def _saving(line: str, edits: list[Edit]) -> tuple[float, int]:
    """Cost a reading saves over the line: every garbled character counts as a symbol, every
    character read back at its own cost. Readings of the same bytes compare fairly: UTF-8
    makes one character of three bytes, GBK of two ("ä¸»é¡µ" is 主页 as UTF-8, 涓婚〉 as GBK).
    On a tie (cp1250 and cp1252 share most letters), the reading that repairs more wins.
    """
    saved = 0.0
    covered = 0
    for edit in edits:
        if edit.action != "flag":
            garbled = sum(1 for ch in line[edit.start:edit.end] if not ch.isascii())
            covered += garbled
            saved += garbled * COST_SYMBOL - sum(_reading_cost(ch) for ch in edit.after if not ch.isascii())
    return round(saved, 6), covered


def _fix_codepages(line: str, ctx: _Context) -> list[Edit]:
    """Chinese bytes (GBK/GB18030, Big5, UTF-8) read through a single-byte codepage.

    Only codepages whose sign of damage is on the line are tried; every (source, codepage)
    reading is computed and the one that explains most of the line wins.

    >>> [e.after for e in _fix_codepages("ÏÖÔÚ¹¤×÷", _Context(RepairConfig(), False))]
    ['现在工作']
    """
    cfg = ctx.cfg
    if not _sign_pattern(cfg.codepages).search(line):  # one search for them all
        return []
    best: list[Edit] = []
    best_score = (0.0, 0)
    utf8_cp1252 = False
    # A line whose every character cp1252/Latin-1 can have made, and whose bytes then hold
    # UTF-8, is UTF-8 for ftfy (which reads further than a round trip: "é\xad\x8fè”š" is
    # 魏蔚), not for another codepage's UTF-8 reading.
    raw = b"".join(_wrong_bytes(ch, "cp1252") for ch in line if not ch.isascii())
    cp1252_line = bytes((BARRIER,)) not in raw and UTF8_SEQ.search(raw) is not None
    if cp1252_line and _utf8_share(raw) >= UTF8_LINE_SHARE:
        return []  # UTF-8 through and through: ftfy's (and fast: no double-byte reading tried)
    # Only the codepages that can have made the most of the line's characters: one that cannot
    # encode some of them reads less of it and never wins (and each reading costs time).
    high = [ch for ch in line if not ch.isascii()]
    reach = {cp: sum(ch in _codepage_table(cp) for ch in high) for cp in cfg.codepages
             if _codepage_patterns(cp)[0].search(line)}
    for codepage in cfg.codepages:
        if codepage not in reach or reach[codepage] < max(reach.values()):
            continue
        raw = b"".join(_wrong_bytes(ch, codepage) for ch in high)
        if _utf8_share(raw) >= UTF8_LINE_SHARE:  # UTF-8 through this codepage: no pairs tried
            candidates = []
        else:
            candidates = [_dbcs_edits(line, source, codepage, cfg) for source in DBCS_CHAR]
        if codepage == "cp1252":
            candidates.append(_roundtrip_edits(line, codepage, cfg))
        else:  # the sign asked of double-byte runs ("ејџ" is 弟 in UTF-8)
            utf8 = _roundtrip_edits(line, codepage, cfg)
            decoded = [e for e in utf8 if e.action != "flag"]
            signed = [e for e in decoded if _unlike_words(line[e.start:e.end])]
            candidates.append(utf8 if len(signed) >= 2 or len(signed) == len(decoded) else signed)
        for edits in candidates:
            score = _saving(line, edits)
            if score > best_score:
                best, best_score = edits, score
                utf8_cp1252 = codepage == "cp1252" and edits is candidates[-1]
    # UTF-8 read as cp1252/Latin-1 is the ftfy and utf8:cp1252 fixers' job (they run next)
    return [] if best and utf8_cp1252 else best


# ---------------------------------------------------------------------------------------------
# Fixer: GBK decoded one byte off (seed 003)

GBK_LEADS = range(0x81, 0xFF)
# Chinese full-width punctuation that a width-folding step turns into ASCII (seed 003: ！ → !).
FOLDABLE = frozenset("!(),:;?")
RESYNC = re.compile("[\x40-\x7e]")  # a valid GBK trail byte that is also a character alone
PRIVATE = re.compile("[\ue000-\uf8ff]")


def _unfold(body: str) -> str | None:
    """`body` as the byte-shifted GBK stream it must have been, or None if it cannot be one.

    In a stream shifted by one byte every character is a pair (trail, next lead) until an
    ASCII trail byte re-syncs it, so the only ASCII a damaged run can hold is that last
    character, and Chinese punctuation folded to ASCII after the damage (seed 003's "!" was
    "！", A3 A1). Anything else ("<a", "/l": markup around a private-use icon) rules it out.

    >>> _unfold("!皵O"), _unfold("<皵a")
    ('！皵O', None)
    """
    chars = list(body)
    for index, char in enumerate(chars[:-1]):
        if char.isascii():
            if char not in FOLDABLE:
                return None
            chars[index] = chr(ord(char) + 0xFEE0)
    return "".join(chars)


def _realign_candidates(body: str) -> Iterable[tuple[str, str]]:
    """(decoded text, how) for every lead byte put in front of `body`'s GB18030 bytes, and for
    `body` with its first byte dropped."""
    variant = _unfold(body)
    if variant is None:
        return
    try:
        raw = variant.encode("gb18030")
        tail = raw[1:].decode("gb18030")  # must decode on its own whichever byte goes in front
    except (UnicodeEncodeError, UnicodeDecodeError):
        return
    if len(raw) < 2:
        return
    yield tail, "drop the first byte"
    for lead in GBK_LEADS:  # a lead byte in front: raw[0] becomes its trail byte
        try:
            head = bytes((lead, raw[0])).decode("gb18030")
        except UnicodeDecodeError:
            continue
        if len(head) == 1:
            yield head + tail, f"lost byte 0x{lead:02X} put back"


def _realigned_span(before: str, after: str, cfg: RepairConfig) -> tuple[str, str] | None:
    """The part a realignment changes, or None when it is not one.

    Shifting the byte stream changes every character up to the re-sync byte, and the result of a
    true realignment is Chinese text: so the changed part must be at least
    `realign_min_chars` long and all Chinese characters or CJK punctuation. This keeps a stray
    private-use icon ("點擊\ue61a下載") from being "realigned" into two other symbols.
    """
    prefix, suffix, _ = _trim(before, after)
    old = before[prefix:len(before) - suffix]
    new = after[prefix:len(after) - suffix]
    if len(new) < cfg.realign_min_chars:
        return None
    table = _hanzi_cost()
    if not all(ch in table or ch in COMMON_PUNCT for ch in new):
        return None
    return old, new


def _fix_realign(line: str, ctx: _Context) -> list[Edit]:
    """GBK bytes decoded one byte off, found by the private-use characters they produce.

    >>> line = "經驗?!\\u76b5\\u5e95\\u7ec8\\ue47f\\ue194\\u3114O是一項"
    >>> [e.after for e in _fix_realign(line, _Context(RepairConfig(), False))]
    ['。“數字政府建設']
    """
    cfg = ctx.cfg
    hits = [m.start() for m in PRIVATE.finditer(line)]
    if not hits:
        return []
    edits: list[Edit] = []
    done = 0
    clusters: list[tuple[int, int]] = []
    for pos in hits:
        if clusters and pos - clusters[-1][1] <= cfg.realign_max_run:
            clusters[-1] = (clusters[-1][0], pos)
        else:
            clusters.append((pos, pos))
    for first, last in clusters:
        sync = RESYNC.search(line, last + 1, min(len(line), last + 1 + cfg.realign_max_run))
        if sync is None:
            continue
        end = sync.end()
        best: tuple[float, str, int, str] | None = None
        for start in range(max(done, first - cfg.realign_window), first + 1):
            before = line[start:end]
            if line[start] in "?？\ufffd":  # the lost byte's place is marked: it replaces the mark
                body = line[start + 1:end]
            else:
                body = before
            for text, how in _realign_candidates(body):
                changed = _realigned_span(before, text, cfg)
                if changed is None:
                    continue
                score = cost(changed[1])
                if best is None or score < best[0]:
                    best = (score, text, start, how)
        if best is None:
            continue
        score, text, start, how = best
        before = line[start:end]
        changed = _realigned_span(before, text, cfg)
        assert changed is not None
        ok, c_before, c_after = _judge(changed[0], changed[1], 0, cfg)
        if not ok:
            log.debug("realign rejected at %d-%d: %r -> %r", start, end, before, text)
            continue
        edits.append(Edit(start, end, text, "decode", "realign:gb18030",
                          f"GBK decoded one byte off ({how}): re-encoded as GB18030 and decoded "
                          f"in step", extra={"plan": [["encode", "gb18030"], ["realign", how],
                                                      ["decode", "gb18030"]],
                                             "cost_before": round(c_before, 2),
                                             "cost_after": round(c_after, 2)}))
        done = end
    return edits


# ---------------------------------------------------------------------------------------------
# Fixer: ruby annotations (cleaners.ruby)


def _fix_ruby(line: str, ctx: _Context) -> list[Edit]:
    if not ctx.ruby_on or ("(" not in line and "（" not in line and ")" not in line):
        return []
    return [Edit(e.start, e.end, e.after, e.action, e.what, e.why, e.lossy, dict(e.extra))
            for e in ruby.find_edits(line, ctx.cfg.lost_char_marker)]


# ---------------------------------------------------------------------------------------------
# Fixer: control characters

CONTROLS = re.compile(r"(?P<escape>\x1b\[[0-9;?]*[ -/]*[@-~])|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+")


def _fix_controls(line: str, ctx: _Context) -> list[Edit]:
    """Remove stray C0/C1 controls (tab and CR kept). A complete terminal escape sequence
    (a colour in a text dump: ESC [33m) is markup someone wrote, not damage: it stays.

    >>> [e.extra["removed"] for e in _fix_controls("a\\x1b[33mb\\x00c\\x1b", _Context(RepairConfig(), False))]
    ['\\\\x00', '\\\\x1b']
    """
    edits = []
    for m in CONTROLS.finditer(line):
        if m["escape"]:
            continue
        edits.append(Edit(m.start(), m.end(), "", "remove", "control_chars",
                          "stray control characters (not text)",
                          extra={"removed": m.group().encode("unicode_escape").decode("ascii")}))
    return edits


# ---------------------------------------------------------------------------------------------
# Flags: what is wrong and deliberately left alone

FLAGS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("lost_bytes", re.compile("\ufffd+"),
     "U+FFFD: bytes the decoder could not read; nothing to recover them from"),
    ("double_mojibake", re.compile("锟(?:.{0,3}?锟)*(?:斤拷|拷)?"),
     "锟斤拷: GBK read as UTF-8, written back and read as GBK; the original bytes are lost"),
    ("private_use", re.compile("[\ue000-\uf8ff]+"),
     "private-use code points no repair could explain (left for a person to check)"),
    ("placeholder", re.compile("[\ua000-\ua4cf]+"),
     "Yi-syllable placeholder: a character missing from a legacy charset (玉ꆼ缄札)"),
)


def _flags(line: str) -> list[Edit]:
    edits = []
    for name, pattern, why in FLAGS:
        for m in pattern.finditer(line):
            edits.append(Edit(m.start(), m.end(), m.group(), "flag", f"flag:{name}", why,
                              lossy=True, extra={"chars": m.end() - m.start()}))
    return edits


# ---------------------------------------------------------------------------------------------
# The step


@functools.cache
def _fixers(cfg: RepairConfig) -> tuple[tuple[str, Fixer], ...]:
    fixers: list[tuple[str, Fixer]] = []
    if cfg.fix_entities:
        fixers.append(("entities", _fix_entities))
    if cfg.fix_codepages:  # before ftfy, whose decode_inconsistent_utf8 reads "É½" (山) as "ɽ"
        for codepage in cfg.codepages:
            _codepage_table(codepage)  # an unknown or multi-byte codec is a config error, now
        fixers.append(("codepage", _fix_codepages))
    if cfg.fix_latin1:
        fixers.append(("ftfy", _fix_ftfy))
        fixers.append(("utf8:cp1252", _fix_cp1252))
    if cfg.fix_legacy:
        for codec in cfg.legacy_codecs:
            if codec not in WRONG_CODECS or codec == "cp1252":
                raise CleaningError(f"[repair] legacy_codecs: unknown codec {codec!r}; "
                                    f"choose from gb18030, big5")
            fixers.append((f"utf8:{codec}", _legacy_fixer(codec)))
    if cfg.fix_realign:
        fixers.append(("realign", _fix_realign))
    if cfg.fix_ruby:
        fixers.append(("ruby", _fix_ruby))
    if cfg.strip_controls:
        fixers.append(("controls", _fix_controls))
    return tuple(fixers)


CP1252_FIXERS = frozenset({"ftfy", "utf8:cp1252"})


def repair_line(line: str, lineno: int, cfg: RepairConfig, ruby_on: bool = True,
                changes: list[Change] | None = None) -> str:
    """Run every fixer over one line (no "\\n" in it) and record what each changed.

    >>> repair_line("鏁板瓧鏀垮簻", 1, RepairConfig())
    '数字政府'
    """
    changes = changes if changes is not None else []
    ctx = _Context(cfg, ruby_on)
    claimed = False  # the codepage fixer found this line's mechanism
    for name, fixer in _fixers(cfg):
        if claimed and name in CP1252_FIXERS:
            continue  # what it left is flagged damage: ftfy would read "Èª" as "Ȫ"
        edits = fixer(line, ctx)
        if edits:
            line = _apply(line, lineno, name, edits, changes)
            claimed = claimed or (name == "codepage" and any(e.action != "flag" for e in edits))
    flags = _flags(line)
    if flags:
        _apply(line, lineno, "flag", flags, changes)
    return line


def repair(doc: Document, cfg: RepairConfig) -> Explained:
    """Undo mojibake and flattened annotations line by line; flag what cannot be recovered.

    >>> from cleaners.model import Source
    >>> doc = Document(source=Source.from_bytes("x", b""), text="中文\\nä¸­æ–‡\\n數&#23383;")
    >>> result = repair(doc, RepairConfig())
    >>> result.text
    '中文\\n中文\\n數字'
    >>> [c.where for c in result.changes]
    ['line 2, chars 0-6', 'line 3, chars 1-9']
    """
    text = doc.text
    lines = iter(_suspect_lines(text))
    first = next(lines, None)
    if first is None:
        return Explained(text=text)  # the fast path: no character mojibake is made of
    ruby_on = (cfg.fix_ruby and _suspect_patterns()[2].search(text) is not None
               and ruby.count_confirmed(text) >= cfg.ruby_min_annotations)
    changes: list[Change] = []
    out: list[str] = []
    pos = 0  # everything before pos is already in `out`
    lineno = 1
    for line_start, line_end in itertools.chain((first,), lines):
        lineno += text.count("\n", pos, line_start)
        out.append(text[pos:line_start])
        out.append(repair_line(text[line_start:line_end], lineno, cfg, ruby_on, changes))
        pos = line_end
    out.append(text[pos:])
    repaired = "".join(out)
    if repaired.count("\n") != text.count("\n"):  # pragma: no cover - a fixer bug
        raise CleaningError("mojibake.repair changed the number of lines: a fixer is broken")
    if changes:
        log.debug("%s: %d repairs", doc.source.path, len(changes))
    return Explained(text=repaired, changes=tuple(changes))


__all__ = ["STEP", "VERSION", "RepairConfig", "repair", "repair_line", "replay", "cost", "char_cost"]
