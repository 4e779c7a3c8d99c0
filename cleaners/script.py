"""convert (`script.convert`): one target script, the right words, the right punctuation.

Shape: cleaner ``(Document) -> Explained``. Line structure is kept exactly: the output has the
same number of lines as the input, so every change can be located by line (issue #6).

Three passes, in this order, each recorded in the trail:

1. **Script** — OpenCC (the official C++ binding, package ``opencc``) converts the whole text
   to the target script. The inputs are often already mixed (seed 000 is Traditional with
   开, 战, 线, 准 mixed in), so the config is chosen to accept both scripts as input: ``t2s``
   for Simplified (Simplified characters pass through it unchanged), and the ``s2t`` family for
   the Traditional targets (Traditional characters pass through it, apart from OpenCC's own
   standard variants such as 台 → 臺). ``t2tw``/``t2hk`` would leave the stray 开 and 战 in.
   The OpenCC version and config go into every change's detail, so a conversion can be
   replayed from the archived raw bytes. s2tw and s2hk take an exact fast path
   (`VariantsPath`: s2t.json, then the config's variant characters as one regex split), with
   the official converter whenever a variant phrase the shortcut would get wrong occurs.
2. **Regional vocabulary** — a mainland document that a mirror ran through an over-eager Taiwan
   converter (seed 001: 套用 for 應用, 資料庫 for 數據庫, 人工智慧 for 人工智能 ...) gets its own
   words back (issue #22). The table is the inverse of the pinned OpenCC's ``TWPhrases`` (the
   one ``s2twp`` applies; ``data/script_opencc_regional.json``, generated with the sha256 of
   its files by ``scripts/make_opencc_regional.py``), plus ``data/script_regional_phrases.tsv``:
   another converter's words (seed 001's 套用, 數位) and, with a reason per row, what the
   dictionary cannot decide: Taiwan words that are ordinary mainland words too (智慧, 資料,
   執行: given back only where a context rule says so, kept in their own sense, else flagged
   and left) and Taiwan words for several mainland words (介面: 接口 or 界面). It applies only
   to a signed document: enough distinct Taiwan-only terms, most of them outnumbering the
   mainland word they stand for, beside mainland evidence (``data/script_mainland_markers.tsv``,
   curly quotes without 「」, OpenCC's 臺 in an input without 台, a ``.cn`` URL), and never
   under a Taiwan or Hong Kong URL: a genuine Taiwanese or Hong Kong text changes characters
   only. A Taiwan word that a mainland writer often uses too (jieba's mainland word counts, in
   the generated table: 指標, 載入) is flagged and left, and jieba's words that hold a Taiwan
   term (理查德, 生產資料) are kept whole. OpenCC's ``tw2sp`` is not
   used: it rewrites genuine mainland words (建立 → 創建, 核心 → 內核) without asking.
3. **Punctuation width** — the seeds had full-width punctuation flattened to ASCII between
   Chinese characters ("實施意見,推進"). ``, : ; ? ! ( )`` next to CJK text are restored to
   full width; numbers, times, decimals, URLs and Latin text are left alone ("1.35億",
   "17:09:56", "https://…", "IPV4/IPV6", "Hello, world").

Why the official binding (README "Why opencc, not opencc-python-reimplemented"): it passes
OpenCC's own test cases for every config we offer and converts tens of MB/s, where the
pure-Python reimplementation (which installs a module of the same name) fails half of them at
about 2 MB/s. `opencc_version()` refuses to run on the reimplementation. The sha256 of the
installed OpenCC files, which the fast path and the regional table are checked against, is
computed once at start-up (``archive.startup``), not by this step (issue #17).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import logging
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import ahocorasick_rs

from cleaners.model import Change, CleaningError, Document, Explained
from cleaners.textutil import converter, data_rows, data_text, opencc_files, opencc_version

log = logging.getLogger(__name__)

STEP = "script.convert"
VERSION = "4"  # 4: regional reversal from OpenCC's inverse, ambiguous terms flagged, offsets (#22)
SCRIPTS = ("hans", "hant", "tw", "hk")

# Target script -> OpenCC config. Each accepts already-mixed input (see module docstring).
OPENCC_CONFIGS: dict[str, str] = {
    "hans": "t2s.json",
    "hant": "s2t.json",
    "tw": "s2tw.json",
    "hk": "s2hk.json",
}

# Differing character pairs after which the OpenCC change's sample stops (pairs): a text
# converted throughout shows its mappings within a line or two.
SAMPLE_PAIRS = 60
# Occurrences of a regional term listed with line, column and context in its change (the
# offsets of all of them are listed): enough for a person to see the word at work.
SAMPLE_OCCURRENCES = 3
PHRASES_FILE = "script_regional_phrases.tsv"
MARKERS_FILE = "script_mainland_markers.tsv"


@dataclass(frozen=True)
class ConvertConfig:
    target: str = "hans"  # the archive's one script; DESIGN.md: Simplified unless asked
    # Characters of changed lines whose OpenCC character pairs are listed in the trail
    # (characters), until SAMPLE_PAIRS pairs are seen: enough to show the mappings at work,
    # the stray 开 → 開 of a mixed text included. Each sampled character costs time (issue #6),
    # and the conversion replays from the raw bytes with the recorded OpenCC version and config.
    pair_sample_chars: int = 1000
    # Regional vocabulary reversal on/off (issue #6, seed 001).
    reverse_regional: bool = True
    # Distinct signature terms (never used by a mainland writer) needed to call a document
    # over-converted: seed 001 has 10; one alone (a quoted Taiwan name, 西元 in a history
    # page) is not a signature. Two: half the mainland corpus pages issue #22 damaged with
    # s2twp have two or more, and a page quoting Taiwan words is caught by the consistency rule.
    min_signature_terms: int = 2
    # Pieces of mainland evidence needed alongside (mainland-only words, curly quotes without
    # 「」): seed 001 has 信息 視頻 渠道 質量 網上 and its quotes. No genuine Big5 text of the
    # corpus has a mainland word, and one of twelve has curly quotes, so two pieces, not one.
    min_mainland_markers: int = 2
    # Distinct signature terms past which one piece of mainland evidence is enough (terms),
    # when the text has no Taiwan/HK corner quotes 「」: a mainland tech page through s2twp
    # carries many Taiwan-only terms and few mainland words s2twp leaves (issue #22: the
    # corpus's 12,000-character forum page has 6 terms and only 對接). No genuine Big5 text of
    # the corpus has a mainland marker at all, and those with 3 or more terms all write 「」.
    strong_signature_terms: int = 3
    # Share of the distinct signature terms that outnumber, in the document, the mainland word
    # each stands for (a ratio): a converter rewrites its words throughout, a mainland writer
    # quoting Taiwan words has the mainland word beside each. Seed 001: 9 of 10 (its mirror
    # missed 數字 in 數字政府); a majority, so one missed word cannot unsign a document.
    min_consistent_share: float = 0.5
    # Characters of a document its consistency is counted in (characters): 100,000 is a long
    # report (the seeds are 2,000-10,000); past that the step would count a book again for a
    # decision made long before, and issue #6's 20 MB/s counts every pass.
    evidence_chars: int = 100_000
    # When a Taiwan word s2twp writes is also an ordinary mainland word (s2twp writes 指標 for
    # 指針, and 指標, an indicator, is one of the commonest mainland words), measured by jieba's
    # mainland word counts (scripts/make_opencc_regional.py): such a word, without a row in
    # script_regional_phrases.tsv, is flagged and left, never restored or counted as evidence.
    # Count: at least 10 in jieba's dictionary (counts), above the 2-3 it gives the words it
    # took from word lists rather than counted text (暫存器, 控制代碼 have 3), so a Taiwan word
    # merely listed is not taken for mainland usage; jieba's text predates the smartphone, so
    # newer mainland words count low (截圖 16 against 截屏 0) and a higher bar would miss them.
    # Share: the Taiwan word is at least 15 % of the mainland uses of the
    # two (a ratio): a restore by default would then be wrong one time in seven or more, and
    # issue #22 allows one in a thousand (指標 91 %, 通道 89 %, 陣列 19 %, 截圖 100 %; 晶片 3 %, 簡訊 5 %).
    ordinary_min_count: int = 10
    ordinary_share: float = 0.15
    # Characters of context either side of a phrase kept in its change record (characters).
    context_chars: int = 8
    # Characters before/after a term searched by its keep_before/keep_after rules (characters):
    # the longest rule ("生搬硬", "熱烈的") is 3-4 characters.
    keep_window_chars: int = 6
    # Full-width punctuation repair next to CJK text on/off (issue #6).
    fix_punctuation: bool = True
    # A mark this close to a private-use character or U+FFFD is left alone and flagged
    # (characters): it is probably part of mojibake that repair did not resolve (seed 003
    # line 39, "經驗?!皵底终", is "。“數字政府建設" decoded one byte off), not punctuation.
    mojibake_window_chars: int = 8


# ---------------------------------------------------------------------------------------------
# OpenCC


def opencc_config(target: str) -> str:
    """The OpenCC config for a target script.

    >>> opencc_config("hk")
    's2hk.json'
    """
    try:
        return OPENCC_CONFIGS[target]
    except KeyError:
        raise CleaningError(f"unknown script {target!r}: choose one of {', '.join(SCRIPTS)}") from None


def to_script(text: str, target: str) -> str:
    """`text` in the target script, by OpenCC alone (no vocabulary or punctuation repair).

    >>> to_script("开放透明的數字政府", "hans")
    '开放透明的数字政府'
    >>> to_script("开放透明的數字政府", "hant")
    '開放透明的數字政府'
    """
    return opencc_convert(text, opencc_config(target))


def opencc_convert(text: str, config: str) -> str:
    """OpenCC `config` over `text`: by its exact fast path where there is one (s2tw, s2hk:
    `VariantsPath`), else by the official converter.

    >>> text = "林国梁和林国樑在台湾"
    >>> opencc_convert(text, "s2tw.json") == str(converter("s2tw.json").convert(text))
    True
    """
    fast = variants_path(config)
    if fast is not None:
        out = fast.convert(text)
        if out is not None:
            return out
    return str(converter(config).convert(text))


def _ranges(numbers: list[int]) -> str:
    """Line numbers as compact ranges.

    >>> _ranges([1, 2, 3, 5, 7, 8])
    '1-3, 5, 7-8'
    """
    out: list[str] = []
    start = prev = numbers[0] if numbers else 0
    for n in numbers[1:] + [-1]:
        if n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(out) if numbers else ""


# Every non-zero byte to 1 (in `_differing`).
_ONES = bytes([0] + [1] * 255)


def _differing(old: str, new: str, limit: int) -> list[int]:
    """The first `limit` positions where two strings of one length differ.

    Found in C, not character by character (issue #6: a Python loop over the sampled
    characters cost a third of the step): the UTF-32 code units of both, XORed as one integer,
    are zero where the strings agree; `bytes.find` (memchr) jumps from one that is not to the
    next, so the cost is one step per difference found.

    >>> _differing("開放透明的數字政府", "开放透明的数字政府", 10)
    [0, 5]
    """
    xor = (int.from_bytes(old.encode("utf-32-le"), "little")
           ^ int.from_bytes(new.encode("utf-32-le"), "little")).to_bytes(4 * len(old), "little")
    ones = xor.translate(_ONES)
    found: list[int] = []
    at = ones.find(1)
    while at >= 0 and len(found) < limit:
        found.append(at // 4)
        at = ones.find(1, (at // 4 + 1) * 4)  # on to the next character
    return found


def _convert_script(text: str, target: str, sample_chars: int,
                    info: dict[str, str]) -> tuple[str, list[Change]]:
    """OpenCC over the whole text, with one change saying which lines changed and showing the
    character mappings at work on a sample of them (up to `sample_chars` characters: counting
    every character in Python would cost more than the conversion; the whole conversion is
    replayable from the raw bytes with the recorded OpenCC version and config)."""
    config = opencc_config(target)
    out = opencc_convert(text, config)
    if out == text:
        return out, []
    before_lines = text.split("\n")
    after_lines = out.split("\n")
    if len(after_lines) != len(before_lines):
        # OpenCC keeps newlines; if a build ever did not, converting line by line keeps them.
        after_lines = [opencc_convert(line, config) for line in before_lines]
        out = "\n".join(after_lines)
    changed = [n for n, (old, new) in enumerate(zip(before_lines, after_lines, strict=True), 1)
               if old != new]
    # The sample: changed lines up to `sample_chars` characters, compared in one C call.
    resized: dict[str, list[str]] = {}
    sampled: list[int] = []
    old_sample: list[str] = []
    new_sample: list[str] = []
    budget = sample_chars
    for number in changed:
        if budget <= 0:
            break
        old, new = before_lines[number - 1], after_lines[number - 1]
        if len(old) == len(new):
            old_sample.append(old[:budget])
            new_sample.append(new[:budget])
        else:  # a phrase of another length: keep the line pair so a person can check it
            resized[f"line {number}"] = [old[:budget], new[:budget]]
        sampled.append(number)
        budget -= len(old)
    old_text, new_text = "\n".join(old_sample), "\n".join(new_sample)
    at = _differing(old_text, new_text, SAMPLE_PAIRS)
    pairs = Counter(zip(map(old_text.__getitem__, at), map(new_text.__getitem__, at), strict=True))
    complete = budget >= 0 and len(sampled) == len(changed) and len(at) < SAMPLE_PAIRS
    detail: dict[str, Any] = {
        **info,
        "target": target,
        "lines_changed": len(changed),
        "sampled_lines": _ranges(sampled),
        "sample_pairs": {a + "→" + b: n for (a, b), n in pairs.most_common()},
        "sample_complete": complete,
    }
    if resized:
        detail["resized_lines"] = resized
    change = Change(STEP, "convert", f"opencc:{config}", "lines " + _ranges(changed),
                    f"the archive holds one script ({target}); OpenCC {config} accepts mixed input",
                    detail)
    return out, [change]


# ---------------------------------------------------------------------------------------------
# The exact fast path for s2tw and s2hk

VARIANTS_FILE = "script_opencc_variants.json"
VARIANT_TARGETS = ("tw", "hk")
NEVER = re.compile("(?!)")  # matches nothing: an empty table or exception list


@dataclass(frozen=True)
class VariantsPath:
    """s2tw or s2hk, computed as s2t.json followed by the config's variant character table.

    OpenCC's s2tw is s2t's conversion plus a second pass of Taiwan variants, and runs at about
    half s2t's speed: the second pass matches phrases segment by segment, though it changes a
    few characters only (僞 → 偽, 麪 → 麵). Here that pass is one regex split. It gives the
    official output exactly (``scripts/make_opencc_variants.py`` says why, and the tests compare
    both on the seeds, OpenCC's test cases and every listed phrase and character), except
    where one of the variant phrases that the table would get wrong occurs (林國樑, 天文臺道):
    then `convert` returns None and the caller runs the official config.
    """

    stage_one: str
    table: Mapping[str, str]
    characters: re.Pattern[str]  # one group: a character the table changes
    exceptions: re.Pattern[str]  # any exception phrase, found from its rarest character

    def convert(self, text: str) -> str | None:
        """The official config's output, or None if an exception phrase occurs."""
        out = str(converter(self.stage_one).convert(text))
        if self.exceptions.search(out):
            return None
        parts = self.characters.split(out)
        parts[1::2] = map(self.table.__getitem__, parts[1::2])
        return "".join(parts)


def _exceptions_pattern(exceptions: Mapping[str, int]) -> re.Pattern[str]:
    """One regex for phrases, each given with the index of its anchor (its rarest character).

    The regex starts at an anchor, so `re` scans for a character class, and checks the rest
    of each phrase around it by lookbehind and lookahead: a common anchor costs little.

    >>> p = _exceptions_pattern({"林國樑": 2, "天文臺道": 3, "天文臺圍": 2})
    >>> [m.group() for m in p.finditer("林國樑 天文臺道 天文臺圍 國樑 臺圍")]
    ['樑', '道', '臺']
    >>> _exceptions_pattern({}).search("林國樑") is None  # none listed: nothing to find
    True
    """
    if not exceptions:
        return NEVER
    by_anchor: dict[str, list[str]] = {}
    for phrase, at in exceptions.items():
        behind, after = phrase[:at + 1], phrase[at + 1:]
        check = (f"(?<={re.escape(behind)})" if at else "") + (f"(?={re.escape(after)})" if after else "")
        by_anchor.setdefault(phrase[at], []).append(check)
    return re.compile("|".join(f"{re.escape(anchor)}(?:{'|'.join(checks)})"
                               for anchor, checks in sorted(by_anchor.items())))


@functools.cache
def variants_path(config: str) -> VariantsPath | None:
    """The fast path for `config`, if it has one and the installed OpenCC files are the ones the
    table was made from; None otherwise (the official converter runs)."""
    data = json.loads(data_text(VARIANTS_FILE))
    return load_variants_path(config, data, opencc_files())


def load_variants_path(config: str, data: Mapping[str, Any],
                       installed: Mapping[str, str]) -> VariantsPath | None:
    """The fast path described by `data` (the JSON of `VARIANTS_FILE`) for `config`, or None
    when it has none or when any file it was made from is missing from, or differs in, the
    installed OpenCC files (`installed`: name -> sha256, hashed at start-up)."""
    entry = next((e for e in data["targets"].values() if e["config"] == config), None)
    if entry is None:
        return None
    changed = [name for name, digest in entry["files"].items() if installed.get(name) != digest]
    if changed:
        log.warning("OpenCC %s: %s missing or not the files %s was made from (OpenCC %s); "
                    "%s runs without its fast path (same output, slower): run "
                    "scripts/make_opencc_variants.py", opencc_version(), ", ".join(changed),
                    VARIANTS_FILE, data["opencc"], config)
        return None
    table = entry["characters"]
    return VariantsPath(
        stage_one=entry["stage_one"],
        table=table,
        characters=re.compile(f"([{''.join(map(re.escape, sorted(table)))}])") if table else NEVER,
        exceptions=_exceptions_pattern(entry["exceptions"]),
    )


# ---------------------------------------------------------------------------------------------
# Regional vocabulary

REGIONAL_FILE = "script_opencc_regional.json"
# Host suffixes that say who published a document (metadata "url", when known): a Taiwan or
# Hong Kong publisher's vocabulary is its own and is never reversed; a mainland one counts as
# mainland evidence. Domains, not page words, so a quoted name cannot trip it.
GENUINE_HOSTS = (".tw", ".hk", ".mo")
MAINLAND_HOSTS = (".cn",)


@dataclass(frozen=True)
class Phrase:
    """One reading of a Taiwan term: the mainland word it gives back, and when.

    `mainland` None: the term is ambiguous and always flagged and left. `restore_before` /
    `restore_after`: when either is set, the term is restored only where one matches (else the
    next reading is tried, and after the last one it is flagged and left). `needs_s2twp`: the
    term is itself an ordinary mainland word that s2twp rewrites (程序 for 進程, 文件 for 文檔),
    so it is restored only in a document that s2twp converted throughout (no word s2twp
    rewrites is left in it); another converter may have left the writer's own 程序 standing.
    `other_converter`: s2twp never writes the term (seed 001's 套用, 契約 come from another
    converter), so it is restored only in a document s2twp did not convert throughout: where
    s2twp did, the term is the writer's own (a mainland 契約 in a translated constitution).
    `throughout`: in a document s2twp converted throughout, every occurrence the keep rules do
    not keep is restored, whatever the restore rules say (the decisions file says when).
    """

    taiwan: str
    mainland: str | None
    signature: bool
    keep_before: re.Pattern[str] | None
    keep_after: re.Pattern[str] | None
    restore_before: re.Pattern[str] | None
    restore_after: re.Pattern[str] | None
    evidence: str
    needs_s2twp: bool = False
    other_converter: bool = False
    throughout: bool = False

    @property
    def conditional(self) -> bool:
        return self.restore_before is not None or self.restore_after is not None


@dataclass(frozen=True)
class PhraseTable:
    """The regional tables in one target script, compiled."""

    readings: dict[str, tuple[Phrase, ...]]  # keyed by the Taiwan term in the target script
    kept: frozenset[str]                     # s2twp's own kept words (方程式): matched, never touched
    words: tuple[str, ...]                   # every Taiwan and kept term, in `finder`'s order
    multi: tuple[int, ...]                   # indexes of the words of two or more characters
    finder: Any                              # ahocorasick_rs DFA over those in UTF-16 (`find_terms`)
    single: dict[str, int]                   # the one-character words and their indexes
    singles: re.Pattern[str]                 # any one-character word
    text_finder: Any                         # every word, over `str`: `find_terms`' fallback
    markers: re.Pattern[str]                 # every mainland marker
    rewritten: re.Pattern[str]               # every mainland word s2twp rewrites (its table's keys)
    plain: dict[str, str]                    # terms with one reading and no rule: their mainland word
    signature: frozenset[str]                # terms that count as over-conversion evidence


@functools.cache
def phrase_rows() -> tuple[dict[str, str], ...]:
    """The regional decisions as written (Traditional), loaded once."""
    return data_rows(PHRASES_FILE)


@functools.cache
def marker_rows() -> tuple[dict[str, str], ...]:
    """The mainland marker list as written (Traditional), loaded once."""
    return data_rows(MARKERS_FILE)


@functools.cache
def regional_data() -> dict[str, Any]:
    """The inverse of the pinned OpenCC's Taiwan phrase table (scripts/make_opencc_regional.py).

    Made from the installed dictionaries; if they have changed since, it is still the inverse
    of what that OpenCC wrote, so it is used, with a warning (a test fails until it is rebuilt).
    """
    data: dict[str, Any] = json.loads(data_text(REGIONAL_FILE))
    installed = opencc_files()
    changed = [name for name, digest in data["files"].items() if installed.get(name) != digest]
    if changed:
        log.warning("OpenCC %s: %s not the files %s was made from (OpenCC %s): run "
                    "scripts/make_opencc_regional.py", opencc_version(), ", ".join(changed),
                    REGIONAL_FILE, data["opencc"])
    return data


def trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of `words`, longest first, nested by shared prefix: `re` then
    checks one character class per position instead of trying every word (the mainland
    markers, and the ~800 mainland words s2twp rewrites that `reverse_regional` looks for).

    >>> p = re.compile(trie_pattern(["網路", "網際網路", "網", "資料庫", "資料"]))
    >>> [m.group() for m in p.finditer("網際網路資料庫網路網資料")]
    ['網際網路', '資料庫', '網路', '網', '資料']
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        end = "" in node
        branches = [re.escape(c) + build(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            body = "(?:" + body + ")?" if len(branches) > 1 or len(body) > 1 else body + "?"
        return body

    return build(trie)


def _rule(conv: Callable[[str], str], pattern: str) -> re.Pattern[str] | None:
    return re.compile(conv(pattern)) if pattern else None


def mainland_share(data: Mapping[str, Any], taiwan: str, mainland: Iterable[str]) -> tuple[int, float]:
    """jieba's mainland count of a Taiwan word (Traditional) and its share of the mainland uses
    of it and the mainland words it stands for (`ConvertConfig.ordinary_share`).

    >>> mainland_share(regional_data(), "指標", ["指針"])[1] > 0.5
    True
    """
    freq: Mapping[str, int] = data.get("mainland_freq", {})
    own = freq.get(to_script(taiwan, "hans"), 0)
    theirs = sum(freq.get(to_script(word, "hans"), 0) for word in mainland)
    return own, own / (own + theirs) if own + theirs else 0.0


def _ordinary_row(data: Mapping[str, Any], row: Mapping[str, str], min_count: int, min_share: float) -> bool:
    """Whether a decisions row would restore its word everywhere though a mainland writer often
    uses it (載入: 356 in jieba, 82 % against 加載): then it is flagged instead, unless the row
    says `throughout` (decided with keep rules: 支援)."""
    if row["restore_before"] or row["restore_after"] or row["throughout"] == "yes":
        return False
    count, share = mainland_share(data, row["taiwan"], [row["mainland"]])
    return count >= min_count and share >= min_share


@functools.cache
def phrase_table(target: str, ordinary_min_count: int = ConvertConfig.ordinary_min_count,
                 ordinary_share: float = ConvertConfig.ordinary_share) -> PhraseTable:
    """The regional tables converted to `target` with the same OpenCC config as the text, so
    they match a document whether it arrived in Simplified or Traditional.

    The generated inverse gives every Taiwan word s2twp writes; a row of the decisions file
    for a term replaces the default reading (restore, counting as signature); a term that
    stands for several mainland words and has no row is flagged and left; so is one that s2twp
    keeps as it is elsewhere (預設), or that jieba's counts show a mainland writer uses often
    (指標: `mainland_share`), since a mainland writer uses it too.
    """
    conv = functools.partial(to_script, target=target)
    data = regional_data()
    inverse: dict[str, list[str]] = data["inverse"]
    rewritten_words = {k for keys in inverse.values() for k in keys}
    rows: dict[str, list[dict[str, str]]] = {}
    for row in phrase_rows():
        rows.setdefault(row["taiwan"], []).append(row)
    readings: dict[str, tuple[Phrase, ...]] = {}
    for taiwan in {*inverse, *rows}:
        keys = inverse.get(taiwan, [])
        needs_s2twp = taiwan in rewritten_words
        if taiwan in rows:
            phrases = tuple(Phrase(
                taiwan=conv(taiwan),
                mainland=None if row["mainland"] == "-"
                or _ordinary_row(data, row, ordinary_min_count, ordinary_share) else conv(row["mainland"]),
                signature=row["signature"] == "yes",
                keep_before=_rule(conv, row["keep_before"]),
                keep_after=_rule(conv, row["keep_after"]),
                restore_before=_rule(conv, row["restore_before"]),
                restore_after=_rule(conv, row["restore_after"]),
                evidence=row["evidence"],
                needs_s2twp=needs_s2twp,
                other_converter=taiwan not in inverse,
                throughout=row["throughout"] == "yes") for row in rows[taiwan])
        else:
            count, share = mainland_share(data, taiwan, keys)
            ordinary = count >= ordinary_min_count and share >= ordinary_share
            alone = len(keys) == 1 and taiwan not in data["kept"] and not ordinary
            why = (f"OpenCC TWPhrases writes {taiwan} for {' and '.join(keys)}"
                   + ("" if alone else "; flagged and left: "
                      + ("it stands for several mainland words" if len(keys) > 1
                         else "s2twp keeps it as it is elsewhere, so a mainland writer uses it"
                         if taiwan in data["kept"] else
                         f"a mainland writer uses it too (jieba: {count}, {share:.0%} of the "
                         "mainland uses of the two)")))
            phrases = (Phrase(conv(taiwan), conv(keys[0]) if alone else None,
                              alone and not needs_s2twp, None, None, None, None, why, needs_s2twp),)
        # A pair the target script spells alike (臺積電 for 台積電, in hans) is no vocabulary.
        phrases = tuple(p for p in phrases if p.mainland != p.taiwan)
        if phrases:
            readings[conv(taiwan)] = phrases
    # A kept word matters only where it holds a Taiwan term (方程式 holds 程式, 司法程序 holds
    # 程序); the others (數字) would only cost a match each.
    # jieba's mainland words holding a Taiwan term (理查德, 生產資料: make_opencc_regional.py)
    # are kept the same way.
    kept = frozenset(k for k in (conv(k) for k in (*data["kept"], *data.get("kept_mainland", ())))
                     if k not in readings and any(t in k for t in readings))
    markers = {conv(row["marker"]) for row in marker_rows()}
    words = (*sorted(readings), *sorted(kept))
    multi = tuple(k for k, w in enumerate(words) if len(w) > 1)
    single = {w: k for k, w in enumerate(words) if len(w) == 1}
    return PhraseTable(
        readings=readings,
        kept=kept,
        words=words,
        multi=multi,
        finder=ahocorasick_rs.BytesAhoCorasick(
            [words[k].encode("utf-16-le", "surrogatepass") for k in multi],
            matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
            implementation=ahocorasick_rs.Implementation.DFA),
        single=single,
        singles=re.compile(f"[{''.join(map(re.escape, single))}]") if single else NEVER,
        text_finder=ahocorasick_rs.AhoCorasick(words, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest),
        markers=re.compile(trie_pattern(markers)),
        rewritten=re.compile(trie_pattern({conv(k) for k in rewritten_words} - readings.keys())),
        signature=frozenset(t for t, ps in readings.items() if any(p.signature for p in ps)),
        plain={t: ps[0].mainland for t, ps in readings.items()
               if len(ps) == 1 and ps[0].mainland and not ps[0].conditional and not ps[0].needs_s2twp
               and not ps[0].other_converter
               and ps[0].keep_before is None and ps[0].keep_after is None})


def find_terms(table: PhraseTable, text: str) -> tuple[list[int], list[int], list[int]]:
    """Every Taiwan and kept term in `text`, leftmost longest: their indexes in `table.words`,
    starts and ends, in characters.

    The terms of two or more characters are found by a DFA over the UTF-16 bytes of the text
    (two bytes a character when nothing lies beyond the BMP, so a byte offset is twice a
    character offset): about twice as fast as one over `str` (issue #22). A single character
    in UTF-16 is two bytes that also occur across two characters (鉳 is 33 92, and the seeds
    have it so), so the few one-character terms (埠, 矽) are found by a character class and
    kept where no longer term covers them: the same result as one leftmost-longest pass.
    A longer term spelled across characters is possible in principle: should one be reported
    (an odd offset), or the text have characters beyond the BMP, the `str` automaton runs.

    >>> t = phrase_table("hant")
    >>> k, a, b = find_terms(t, "將數位技術廣泛套用於串口和埠")
    >>> [t.words[i] for i in k], a, b
    (['數位', '套用', '埠'], [1, 7, 13], [3, 9, 14])
    """
    data = text.encode("utf-16-le", "surrogatepass")
    found = table.finder.find_matches_as_indexes(data) if len(data) == 2 * len(text) else [(0, 1, 0)]
    starts = list(map(operator.itemgetter(1), found))
    if any(map((1).__and__, starts)):
        matched = table.text_finder.find_matches_as_indexes(text)
        return ([k for k, _, _ in matched], [a for _, a, _ in matched], [b for _, _, b in matched])
    indexes = list(map(table.multi.__getitem__, map(operator.itemgetter(0), found)))
    starts = list(map((1).__rrshift__, starts))
    ends = list(map((1).__rrshift__, map(operator.itemgetter(2), found)))
    singles = [m.start() for m in table.singles.finditer(text)]
    # a single character is a match of its own unless a longer match covers it
    singles = [at for at in singles
               if not ((j := bisect.bisect_right(starts, at) - 1) >= 0 and ends[j] > at)]
    if not singles:
        return indexes, starts, ends
    merged = sorted([*zip(starts, indexes, ends, strict=True),
                     *((at, table.single[text[at]], at + 1) for at in singles)])
    return ([k for _, k, _ in merged], [a for a, _, _ in merged], [b for _, _, b in merged])


def _line_starts(text: str) -> list[int]:
    """Where each line starts, in C: the running sum of the line lengths plus their newlines.

    >>> _line_starts("ab\\n\\ncd")
    [0, 3, 4]
    """
    lengths = map(len, text.split("\n"))
    return list(itertools.accumulate(map(operator.add, lengths, itertools.repeat(1)), initial=0))[:-1]


def _markers(table: PhraseTable, text: str, enough: int, source: str = "") -> list[str]:
    """Distinct mainland markers in `text`, the search stopping at `enough` of them: the
    evidence the decision needs (a genuine Taiwanese text is scanned to the end and has none).
    `source` is the text as the step received it, before OpenCC (see 臺 below).

    >>> _markers(phrase_table("hant"), "信息渠道的視頻質量", 3)
    ['信息', '渠道', '視頻']
    >>> _markers(phrase_table("hans"), "平台", 3, source="平臺與臺灣")
    ['臺']
    """
    found: dict[str, None] = {}
    # Mainland punctuation: curly quotes, never the corner brackets Taiwan and Hong Kong write
    # (every corpus Big5 text with quotes has 「」 but one; s2twp leaves quotes as they are).
    if "“" in text and "「" not in text:
        found["“”"] = None
    # OpenCC's hand: s2t writes 臺 for every 台 of a Simplified text (平臺, 出臺, 臺灣), and no
    # Taiwan variant pass turns it back, while Taiwanese writing on the web says 台 (every
    # corpus Big5 text with either has 台 and none has 臺). Taiwan's official texts write 臺,
    # with 「」: so 臺 without any 台 counts only in a text without corner quotes.
    if "臺" in source and "台" not in source and "「" not in source:
        found["臺"] = None
    for m in table.markers.finditer(text):
        found[m.group()] = None
        if len(found) >= enough:
            break
    return list(found)


def _host(url: object) -> str:
    """The host of a URL, lower case, without a port ("" when there is none).

    >>> _host("https://www.Gov.cn:443/zhengce/x.htm"), _host(None)
    ('www.gov.cn', '')
    """
    if not isinstance(url, str):
        return ""
    m = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]+)", url.strip())
    return m.group(1).lower().rstrip(".") if m else ""


@dataclass(frozen=True)
class Decision:
    """What `_decide` made of one occurrence: the reading used, or why it was left."""

    phrase: Phrase | None   # the reading restored; None when left
    why: str                # "" when restored; else "own_sense", "ambiguous" or "kept"


OWN_SENSE = Decision(None, "own_sense")
AMBIGUOUS = Decision(None, "ambiguous")


def _decide(readings: tuple[Phrase, ...], text: str, starts: list[int], window: int,
            s2twp_throughout: bool) -> list[Decision]:
    """The reading of each occurrence of one term (starting at `starts`) from its context:
    kept in its own sense when a keep rule of any reading matches, else the first reading that
    applies (unconditional, or its restore rule matches), else ambiguous.

    Rule by rule over all occurrences (a comprehension each), not occurrence by occurrence:
    issue #22's benchmark text has thousands of ruled occurrences.

    >>> (p,) = phrase_table("hant").readings["套用"]
    >>> [d.why or d.phrase.mainland for d in _decide((p,), "套用公式，廣泛套用", [0, 7], 6, False)]
    ['own_sense', '應用']
    """
    length = len(readings[0].taiwan)
    ends = [start + length for start in starts]
    lows = [start - window if start > window else 0 for start in starts]

    def matches(before: re.Pattern[str] | None, after: re.Pattern[str] | None) -> list[bool]:
        hit = [False] * len(starts)
        if before is not None:
            hit = [before.search(text, low, start) is not None for low, start in zip(lows, starts, strict=True)]
        if after is not None:
            hit = [h or after.match(text, end, end + window) is not None for h, end in zip(hit, ends, strict=True)]
        return hit

    decided: list[Decision | None] = [None] * len(starts)
    for phrase in readings:
        if phrase.keep_before is not None or phrase.keep_after is not None:
            own = matches(phrase.keep_before, phrase.keep_after)
            decided = [d or (OWN_SENSE if o else None) for d, o in zip(decided, own, strict=True)]
    for phrase in readings:
        if (phrase.mainland is None or (phrase.needs_s2twp and not s2twp_throughout)
                or (phrase.other_converter and s2twp_throughout)):
            continue
        restore = Decision(phrase, "")
        if not phrase.conditional or (phrase.throughout and s2twp_throughout):
            return [d or restore for d in decided]
        hit = matches(phrase.restore_before, phrase.restore_after)
        decided = [d or (restore if h else None) for d, h in zip(decided, hit, strict=True)]
    return [d or AMBIGUOUS for d in decided]


# Characters either side of a mainland word s2twp rewrites that `_s2twp_throughout` hands to
# s2twp to see whether it would rewrite it there (characters): s2twp matches its longest keys
# first, and TWPhrases' longest key is 15 characters (OpenCC 1.4.2: a transliterated name), so
# any key that could overlap the word lies inside the window. Its segmentation could in
# principle run on from further left; the cost of a miss is a word left flagged, not a wrong one.
S2TWP_WINDOW = 16


def _s2twp_throughout(table: PhraseTable, text: str) -> bool:
    """Whether none of the mainland words s2twp rewrites is left in `text` as s2twp reads it.

    A mainland word found by `table.rewritten` is left only where s2twp would rewrite it: its
    own segmentation may read the characters as other words (較低級別 is 較低 + 級別 to it, so
    the 低級 inside is not its 低級 → 低階). Each one found is put, with its neighbours, through
    s2twp and s2tw (the same without the phrase table): if they agree, s2twp would not have
    rewritten it. Looked at only until one counts, in a signed document.

    >>> t = phrase_table("hans")
    >>> _s2twp_throughout(t, "得以法律将这类较低级别官员"), _s2twp_throughout(t, "数据")
    (True, False)
    """
    for m in table.rewritten.finditer(text):
        window = text[max(0, m.start() - S2TWP_WINDOW):m.end() + S2TWP_WINDOW]
        if str(converter("s2twp.json").convert(window)) != str(converter("s2tw.json").convert(window)):
            return False
    return True


def reverse_regional(text: str, target: str, cfg: ConvertConfig, info: dict[str, str],
                     url: object = None, source: str = "") -> tuple[str, list[Change]]:
    """Give an over-converted mainland document its own words back (seed 001, issue #22).
    `source` is the document as the step received it, before OpenCC (its 臺: `_markers`).

    Only when the document carries the signature (`ConvertConfig`): enough distinct Taiwan
    terms no mainland writer uses, outnumbering the mainland words the same converter rewrites,
    beside mainland-only vocabulary or a mainland publisher; never for a Taiwan or Hong Kong
    publisher (`url`). Each occurrence is read in its context (`_decide`): restored, kept in
    its own sense, or flagged and left as ambiguous. One change per term and outcome, listing
    every occurrence as ``[line, col, context]`` (col in the text this pass received, so the
    trail replays).

    The terms are found by one Aho-Corasick automaton (ahocorasick_rs, in Rust: issue #22
    measured a regex over the ~770 terms at a sixth of its speed), so a document pays Python
    per occurrence only for list comprehensions and the rules of the terms it has (issue #6:
    at least 20 MB/s).

    >>> cfg = ConvertConfig()
    >>> taiwan = "行政院推動數位轉型，最佳化資料庫與網路頻寬。"
    >>> reverse_regional(taiwan, "hant", cfg, {})[0] == taiwan   # no mainland vocabulary
    True
    """
    table = phrase_table(target, cfg.ordinary_min_count, cfg.ordinary_share)
    indexes, at, ends = find_terms(table, text)  # leftmost longest
    if not indexes:  # most documents stop here
        return text, []
    readings = table.readings
    terms = list(map(table.words.__getitem__, indexes))
    counts = Counter(terms)
    if table.signature.isdisjoint(counts):  # most documents stop here
        return text, []
    window = cfg.keep_window_chars
    by_term: dict[str, list[int]] = {}
    for k, term in enumerate(terms):
        by_term.setdefault(term, []).append(k)
    # A signature term used in its own sense (專案組) is no evidence: only the rest count.
    for term in table.signature.intersection(counts):
        if any(p.keep_before or p.keep_after for p in readings[term]):
            decided = _decide(readings[term], text, [at[k] for k in by_term[term]], window, False)
            counts[term] -= decided.count(OWN_SENSE)
    signature = sorted(t for t in counts if t in table.signature and counts[t] > 0)
    if not signature:
        return text, []
    host = _host(url)
    evidence: dict[str, Any] = {"signature_terms": signature}
    if host:
        evidence["host"] = host
    why = ""
    if host.endswith(GENUINE_HOSTS):
        why = f"published under {host}: its vocabulary is its own"
    elif len(signature) < cfg.min_signature_terms:
        why = "too few distinct signature terms"
    else:
        # Consistency: an over-converting converter rewrote its words throughout, so each
        # Taiwan term outnumbers the mainland word it stands for; a mainland text quoting
        # Taiwan words has the mainland word beside each (seed 001 has 網路 12 times, 網絡
        # never; its converter missed 數字 in 數字政府, so 數位 alone is not consistent).
        # Counted in the first `evidence_chars` characters: a long text shows its converter's
        # habits early, and a book need not be read twice to decide.
        limit = cfg.evidence_chars
        sample = counts if len(text) <= limit else Counter(terms[:bisect.bisect_left(at, limit)])
        mainland_of = {t: next((p.mainland for p in readings[t] if p.mainland), "") for t in signature}
        consistent: list[str] = []
        needed = cfg.min_consistent_share * len(signature)
        for k, t in enumerate(signature):  # str.count per term, stopping once decided
            if len(consistent) >= needed or len(consistent) + len(signature) - k < needed:
                break
            if sample[t] > (text.count(mainland_of[t], 0, limit) if mainland_of[t] else 0):
                consistent.append(t)
        markers = _markers(table, text, cfg.min_mainland_markers, source)
        evidence["consistent_terms"] = consistent
        evidence["mainland_markers"] = markers
        if len(consistent) < cfg.min_consistent_share * len(signature):
            why = ("the mainland words its Taiwan terms stand for are there beside them: "
                   "Taiwan words quoted in a mainland text, not an over-converted one")
        elif (len(markers) < cfg.min_mainland_markers and not host.endswith(MAINLAND_HOSTS)
              and not (markers and len(signature) >= cfg.strong_signature_terms
                       and "「" not in text)):
            why = "no mainland vocabulary beside it, so it reads as a genuine Taiwanese or Hong Kong text"
    log.debug("regional vocabulary: %s signed=%s", evidence, not why)
    if why:
        return text, [Change(STEP, "flag", "phrase:regional", "", "Taiwan vocabulary kept: " + why,
                             {**info, **evidence, "terms": {t: counts[t] for t in signature},
                              "min_signature_terms": cfg.min_signature_terms,
                              "min_mainland_markers": cfg.min_mainland_markers})]

    # Converted by s2twp throughout: none of the mainland words it rewrites is left (looked
    # for only in a signed document: it is the longest search of the step).
    s2twp_throughout = _s2twp_throughout(table, text)
    evidence["s2twp_throughout"] = s2twp_throughout
    # Each term's occurrences are decided together; a term without rules needs no context.
    # Each occurrence's line, for the changes' "where", in C (a map over the list).
    starts = _line_starts(text)
    lines = list(map(bisect.bisect_right, itertools.repeat(starts), at))
    groups: dict[tuple[str, str, str], list[int]] = {}  # (term, outcome, to) -> occurrence indexes
    replaced: list[int] = []  # the occurrences given back, by group
    words: list[str] = []     # and the word each becomes
    for term, ks in by_term.items():
        if term in table.kept:
            continue
        if term in table.plain:
            choice: list[Decision] = [Decision(readings[term][0], "")]
            parts = [ks]
        else:
            decisions = _decide(readings[term], text, [at[k] for k in ks], window, s2twp_throughout)
            # `_decide` hands out one Decision object per outcome: grouped by identity, so no
            # occurrence pays for hashing a Phrase
            ids = list(map(id, decisions))
            choice = list({id(d): d for d in decisions}.values())
            parts = [list(itertools.compress(ks, map(operator.eq, ids, itertools.repeat(id(d)))))
                     for d in choice]
        for d, part in zip(choice, parts, strict=True):
            to = d.phrase.mainland if d.phrase is not None and d.phrase.mainland else ""
            groups.setdefault((term, d.why or "replace", to), []).extend(part)
            if to:
                replaced += part
                words += itertools.repeat(to, len(part))
    # The text between the occurrences given back, then their words, in C.
    order = sorted(range(len(replaced)), key=replaced.__getitem__)
    ks = list(map(replaced.__getitem__, order))
    cuts = [0, *map(ends.__getitem__, ks)]
    gaps = list(map(text.__getitem__, map(slice, cuts, [*map(at.__getitem__, ks), len(text)])))
    out = "".join(itertools.chain.from_iterable(zip(gaps, [*map(words.__getitem__, order), ""], strict=True)))
    ctx = cfg.context_chars

    def located(part: list[int]) -> dict[str, Any]:
        """Where a group's occurrences are: every offset (in the text this pass received, so
        the trail replays: issue #22's benchmark has tens of thousands, so offsets, not one
        record each, as the punctuation pass does) and the first few with line, column and
        context for a person."""
        part.sort()
        return {"count": len(part), "offsets": list(map(at.__getitem__, part)),
                "samples": [[lines[k], at[k] - starts[lines[k] - 1],
                             text[max(0, at[k] - ctx):at[k] + len(terms[k]) + ctx]]
                            for k in part[:SAMPLE_OCCURRENCES]]}

    changes: list[Change] = []
    for (term, outcome, to), part in sorted(groups.items(), key=lambda g: g[0][1] != "replace"):
        where = "lines " + _ranges(sorted(set(map(lines.__getitem__, part))))
        first = readings[term][0]
        if outcome == "replace":
            phrase = next(p for p in readings[term] if p.mainland == to)
            changes.append(Change(
                STEP, "replace", f"phrase:{term}", where,
                "Taiwan phrasing put into a mainland document by an over-eager converter; "
                f"the original says {to}",
                {**info, "from": term, "to": to, **located(part), "evidence": phrase.evidence,
                 **evidence}))
        elif outcome == "own_sense":
            changes.append(Change(
                STEP, "flag", f"phrase:{term}", where,
                f"{term} is used in its own sense here, not as Taiwan phrasing; kept",
                {**info, "term": term, **located(part)}))
        else:
            options = sorted({p.mainland for p in readings[term] if p.mainland})
            changes.append(Change(
                STEP, "flag", f"phrase:{term}", where,
                f"{term} may be Taiwan phrasing ({' or '.join(options) or 'several words'}) or the "
                "writer's own word, and nothing in its context decides: left as it is",
                {**info, "term": term, "ambiguous": True, **located(part),
                 "evidence": first.evidence, "s2twp_throughout": s2twp_throughout}))
    return out, changes


# ---------------------------------------------------------------------------------------------
# Punctuation width

FULL_WIDTH: dict[str, str] = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！",
                              "(": "（", ")": "）"}
# Han (BMP, Ext A, compatibility, Ext B-H), CJK symbols and punctuation, full-width forms,
# vertical forms, kana and bopomofo: text a full-width mark belongs to.
_CJK = ("\u2e80-\u2fdf\u3000-\u303f\u3040-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
        "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f")
CJK = re.compile(f"[{_CJK}]")
# Looked through when finding a mark's neighbour: spaces, and quotes (Chinese uses the same
# curly quotes as English: in "“穗好辦”,“穗智管”" (seed 000) the comma sits between quotes).
_SEE_THROUGH = " \t\"'“”‘’"
# A mark with CJK text on either side, looking through at most two spaces or quotes before it
# (fixed-width lookbehinds) and any number after; the spaces after it go with it (": 新華社").
# Both neighbours digits ("17:09:56", "1,000") or Latin ("Hello, world") never match. ":" and
# ";" before a bracket or "-" are emoticons (":)") and stay as typed. Group 1 is the mark,
# group 2 the spaces after it, so `re.split` hands both over without Python per match.
MARK = re.compile(
    f"([,;:?!])"
    f"(?:(?<=[{_CJK}].)|(?<=[{_CJK}][{_SEE_THROUGH}].)|(?<=[{_CJK}][{_SEE_THROUGH}]{{2}}.)"
    f"|(?=[{_SEE_THROUGH}]*[{_CJK}]))"
    f"(?<![:;](?=[()\\-]))([ \\t]*)")
# A pair of ASCII parentheses (innermost) whose content has CJK text ("(2023-2025年)",
# "(含定州、辛集市)"), or has no letters and follows CJK text ("規劃(2023)", seed 000); never
# Latin content such as a pinyin gloss "發(fā)" (seed 004, the repair step's evidence).
# Group 1 is the content.
PAREN = re.compile(
    f"\\(((?=[^()\\n]*[{_CJK}])[^()\\n]*|(?<=[{_CJK}]\\()(?:[^()\\w\\n]|[\\d_])*)\\)")
# A URL keeps every character ("https://…/x.html?a=1,2").
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[!-~]+|www\.[!-~]+")
# Private-use characters and U+FFFD: the marks of unresolved mojibake (see mojibake_window_chars).
MOJIBAKE = re.compile("[\ue000-\uf8ff\ufffd]")
ANY_MARK = re.compile(r"[,;:?!()]")


def fix_punctuation_line(line: str, mojibake_window: int = ConvertConfig.mojibake_window_chars,
                         ) -> tuple[str, list[list[Any]], list[int]]:
    """One line with ASCII punctuation next to CJK text made full width, the edits made
    (``[col, old, new]``, col in the line as given; spaces after a mark go with it), and the
    columns of marks left alone because they sit in suspected mojibake.

    >>> fix_punctuation_line("意見全文,內容解讀,")[0]
    '意見全文，內容解讀，'
    >>> fix_punctuation_line("發布時間:2022-06-24 14:37:00來源: 新華社")[0]
    '發布時間：2022-06-24 14:37:00來源：新華社'
    >>> fix_punctuation_line("《規劃(2023-2025年)》,用戶突破1.35億!")[0]
    '《規劃（2023-2025年）》，用戶突破1.35億！'
    >>> fix_punctuation_line("地址:https://www.utechfun.com/post/323734.html?a=1")[0]
    '地址：https://www.utechfun.com/post/323734.html?a=1'
    >>> fix_punctuation_line("Hello, world! 17:09:56 IPV4/IPV6 (1)")[0]
    'Hello, world! 17:09:56 IPV4/IPV6 (1)'
    >>> fix_punctuation_line("省發(fā)布規劃(2023)")[0]
    '省發(fā)布規劃（2023）'
    """
    # The candidates are `_widen`'s (the one widening rule); this line then filters them.
    at: list[int] = []
    spaces: dict[str, int] = {}
    _widen(line, 0, at, spaces)
    edits: list[list[Any]] = [[col, line[col:col + 1 + spaces.get(str(col), 0)], FULL_WIDTH[line[col]]]
                              for col in sorted(at)]
    if not edits:
        return line, [], []
    if "://" in line or "www." in line:
        spans = [m.span() for m in URL.finditer(line)]  # in order, not overlapping
        begins = [a for a, _ in spans]
        edits = [e for e in edits
                 if not (k := bisect.bisect_right(begins, e[0])) or e[0] >= spans[k - 1][1]]
    skipped: list[int] = []
    if MOJIBAKE.search(line):
        suspect = [m.start() for m in MOJIBAKE.finditer(line)]  # in order
        # A mark is near when a suspect lies within the window: one bisect per mark.
        near = {e[0] for e in edits if e[1][0] not in "()"
                and bisect.bisect_right(suspect, e[0] + mojibake_window)
                > bisect.bisect_left(suspect, e[0] - mojibake_window)}
        skipped = sorted(near)
        edits = [e for e in edits if e[0] not in near]
    out: list[str] = []
    last = 0
    for col, old, new in edits:
        out += [line[last:col], new]
        last = col + len(old)
    out.append(line[last:])
    return "".join(out), edits, skipped


def _protected_lines(text: str, starts: list[int]) -> list[int]:
    """Numbers of the lines that need `fix_punctuation_line`'s care: a URL ("://", "www."),
    or mojibake (`MOJIBAKE`) near the marks. The literals are found with `str.find`, and the
    mojibake regex runs only when `_may_have_mojibake` says it could find something; each
    search resumes at the next line, so a line costs one search however much it holds.

    >>> text = "a\\nhttps://x\\nb\\nwww.y \\ufffd\\nc\\ue000"
    >>> _protected_lines(text, _line_starts(text))
    [2, 4, 5]
    """
    found: set[int] = set()
    searches: list[Callable[[int], int]] = [functools.partial(text.find, "://"),
                                            functools.partial(text.find, "www.")]
    if _may_have_mojibake(text):
        searches.append(_mojibake_at(text))
    for search in searches:
        at = search(0)
        while at >= 0:  # one search per line found: the rest of the line is skipped
            line = bisect.bisect_right(starts, at)
            found.add(line)
            at = search(starts[line]) if line < len(starts) else -1
    return sorted(found)


# High bytes of the private-use area (U+E000-U+F8FF) in UTF-16: 1, any other byte: 0.
_PUA_HIGH = bytes(1 if 0xE0 <= byte <= 0xF8 else 0 for byte in range(256))


def _may_have_mojibake(text: str) -> bool:
    """Whether `text` may hold a `MOJIBAKE` character, decided in C: U+FFFD by `str.find`, the
    private-use area by the high bytes of its UTF-16 code units (`bytes.translate` and a
    memchr), about three times as fast as the regex over text with none (issue #6).

    >>> _may_have_mojibake("數字政府"), _may_have_mojibake("經驗\ue5e5"), _may_have_mojibake("?\ufffd")
    (False, True, True)
    >>> _may_have_mojibake("\U00020000\U0003134a")  # Ext B and H: surrogate pairs, not PUA
    False
    """
    if "\ufffd" in text:
        return True
    high = text.encode("utf-16-be", "surrogatepass")[0::2]
    # A character beyond the BMP takes two code units (a surrogate pair, high byte D8-DF, not
    # in the area), so a pair never reads as private use; the answer only gates the regex.
    return high.translate(_PUA_HIGH).find(1) >= 0


def _mojibake_at(text: str) -> Callable[[int], int]:
    """`str.find` for `MOJIBAKE`: where the next suspect character from `pos` is, or -1."""
    def find(pos: int) -> int:
        m = MOJIBAKE.search(text, pos)
        return m.start() if m else -1
    return find


def _widen(chunk: str, offset: int, at: list[int], spaces: dict[str, int]) -> str:
    """`chunk` (whole lines) with the marks of `PAREN` and `MARK` made full width: the one
    widening rule, which `fix_punctuation_line` filters for URLs and mojibake. The offset of
    each widened mark (``offset`` + its place in the chunk) is appended to `at`; a mark's
    dropped spaces are counted in `spaces`, keyed by its offset.

    `re.split` hands the marks over as list items and `accumulate` finds their offsets, so the
    only Python per mark is a list comprehension (issue #6: a callback per mark cost more than
    OpenCC itself). Parentheses go first and keep every width, so the marks' offsets stay
    those of the input, and a widened "）" is CJK context for a mark after it.

    >>> at, spaces = [], {}
    >>> _widen("規劃(2023):  目標,一", 10, at, spaces), sorted(at), spaces
    ('規劃（2023）：目標，一', [12, 17, 18, 23], {'18': 2})
    """
    if "(" in chunk:
        parts = PAREN.split(chunk)  # text, content, text, content, ..., text
        if len(parts) > 1:
            parts[1::2] = ["（" + content + "）" for content in parts[1::2]]
            ends = list(itertools.accumulate(map(len, parts), initial=offset))
            at += ends[1:-1:2]                      # each "(" starts its widened content
            at += [end - 1 for end in ends[2::2]]   # each ")" ends it
            chunk = "".join(parts)
    parts = MARK.split(chunk)  # text, mark, spaces, text, mark, spaces, ..., text
    if len(parts) > 1:
        ends = list(itertools.accumulate(map(len, parts), initial=offset))
        marks = ends[1:-1:3]
        at += marks
        gaps = parts[2::3]
        spaces.update(zip(map(str, itertools.compress(marks, gaps)), map(len, filter(None, gaps)), strict=True))
        parts[1::3] = map(FULL_WIDTH.__getitem__, parts[1::3])
        parts[2::3] = [""] * len(gaps)
        chunk = "".join(parts)
    return chunk


def fix_punctuation(text: str, info: dict[str, str],
                    mojibake_window: int = ConvertConfig.mojibake_window_chars,
                    ) -> tuple[str, list[Change]]:
    """`fix_punctuation_line` over every line, with one change for the document that lists
    the offset of every widened mark (the seeds have one every ~25 characters: one change per
    edit would swamp the trail, and ``[line, col, old, new]`` per edit would outweigh the text).

    The trail replays: each offset (in the text this pass received) holds an ASCII mark, which
    becomes its `FULL_WIDTH` form; ``spaces_dropped`` counts the spaces removed after a mark.
    Ordinary lines are widened in long chunks by `_widen`; the regexes never cross a newline,
    so that is the same as line by line. The rare lines with a URL or mojibake go through
    `fix_punctuation_line` itself.

    >>> out, changes = fix_punctuation("一,二\\nA, B\\n三?", {})
    >>> out, changes[0].where, changes[0].detail["offsets"]
    ('一，二\\nA, B\\n三？', 'lines 1, 3', [1, 10])
    """
    if not ANY_MARK.search(text):
        return text, []
    starts = _line_starts(text)
    at: list[int] = []
    spaces: dict[str, int] = {}
    skipped: dict[int, list[int]] = {}
    pieces: list[str] = []
    chunk_start = 0
    for line in [*_protected_lines(text, starts), 0]:  # chunks of ordinary lines between them
        chunk_end = starts[line - 1] if line else len(text)
        chunk = text[chunk_start:chunk_end]
        pieces.append(_widen(chunk, chunk_start, at, spaces))
        if line:
            line_end = starts[line] - 1 if line < len(starts) else len(text)  # before its "\n"
            new, edits, line_skipped = fix_punctuation_line(text[chunk_end:line_end],
                                                            mojibake_window)
            pieces.append(new)
            for col, old, _new in edits:
                at.append(chunk_end + col)
                if len(old) > 1:
                    spaces[str(chunk_end + col)] = len(old) - 1
            if line_skipped:
                skipped[line] = line_skipped
            chunk_start = line_end
    out = "".join(pieces)
    changes: list[Change] = []
    if skipped:
        changes.append(Change(
            STEP, "flag", "punctuation:near_mojibake", "lines " + _ranges(list(skipped)),
            "ASCII punctuation next to private-use characters or U+FFFD left as it is: "
            "probably part of mojibake that repair did not resolve; columns per line",
            {**info, "cols": {str(k): v for k, v in skipped.items()}}))
    if at:
        at.sort()
        # A line is touched when some offset falls between its start and the next line's.
        found = [*map(bisect.bisect_left, itertools.repeat(at), starts), len(at)]
        lines = list(itertools.compress(itertools.count(1), map(operator.lt, found, found[1:])))
        changes.append(Change(
            STEP, "replace", "punctuation:full_width", "lines " + _ranges(lines),
            "ASCII punctuation next to Chinese text restored to full width (the source "
            "flattened it); each offset in the text this step received holds an ASCII mark "
            "that became its full-width form, spaces_dropped counts the spaces removed after it",
            {**info, "count": len(at), "offsets": at, "spaces_dropped": spaces}))
    return out, changes


# ---------------------------------------------------------------------------------------------
# The step


def opencc_info(target: str) -> dict[str, str]:
    """What the run's metadata and every change record about OpenCC."""
    return {"opencc": opencc_version(), "config": opencc_config(target)}


def convert(doc: Document, cfg: ConvertConfig) -> Explained:
    """The document in the target script, with its own vocabulary and full-width punctuation.

    >>> from cleaners.model import Source
    >>> doc = Document(Source("x", "0", 0), text="智能精准、开放透明,公平普惠")
    >>> convert(doc, ConvertConfig(target="hant")).text
    '智能精準、開放透明，公平普惠'
    """
    info = opencc_info(cfg.target)
    if not doc.text:
        return Explained(text=doc.text)
    text, changes = _convert_script(doc.text, cfg.target, cfg.pair_sample_chars, info)
    if cfg.reverse_regional:
        text, more = reverse_regional(text, cfg.target, cfg, info, doc.metadata.get("url"), doc.text)
        changes += more
    if cfg.fix_punctuation:
        text, more = fix_punctuation(text, info, cfg.mojibake_window_chars)
        changes += more
    title, metadata, more = _convert_fields(doc, cfg.target, info)
    changes += more
    return Explained(text=text, changes=tuple(changes), title=title, metadata=metadata)


# Metadata that identifies or dates a document is kept verbatim; names and numbers in words
# (publisher, issuer, 發文字號, title) follow the record's script, like its text.
METADATA_VERBATIM = frozenset({"url", "published"})


def _convert_fields(doc: Document, target: str, info: Mapping[str, str]
                    ) -> tuple[str | None, dict[str, str], list[Change]]:
    """The title and text-valued metadata in the target script (OpenCC only: they are short)."""
    changes: list[Change] = []
    title = None
    if doc.title:
        # The title is a line of the text's kind: same script, same punctuation repair.
        converted = fix_punctuation_line(to_script(doc.title, target))[0]
        if converted != doc.title:
            title = converted
            changes.append(Change(STEP, "convert", f"opencc:{info['config']}", "title",
                                  "the title follows the record's script",
                                  {"before": doc.title, "after": converted, **info}))
    metadata: dict[str, str] = {}
    for key, value in doc.metadata.items():
        if key in METADATA_VERBATIM or not isinstance(value, str):
            continue
        converted = to_script(value, target)
        if converted != value:
            metadata[key] = converted
            changes.append(Change(STEP, "convert", f"opencc:{info['config']}", f"metadata.{key}",
                                  "metadata follows the record's script",
                                  {"before": value, "after": converted, **info}))
    return title, metadata, changes
