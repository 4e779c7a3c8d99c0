"""dedup: repeated text inside a document, and one record per document across inputs.

Shapes (STYLE.md §2):

- within a document (``dedup.within``), a cleaner ``(Document) -> Explained``: a paragraph
  printed twice, a teaser lead that repeats the start of the body ("導讀 …", seed 000; the
  "..." teaser of seed 002), a truncated summary glued onto its own full text on one line
  ("核心提示:…以及“十四五" + the full paragraph, seed 004). The complete copy is kept; every
  drop is a `Change` that keeps the dropped text and the line of the copy that was kept.
- across documents (``dedup.exact``), two phases: ``signature(doc)`` computes the key (and the
  MinHash) of a cleaned document, ``decide(signatures, known)`` groups inputs by key with a
  deterministic keep policy. The archive calls ``decide`` with the keys it already holds, so a
  repeat from an earlier night becomes a sighting, not a new record.
- near duplicates (``dedup.near``), pure functions the archive calls: ``minhash`` (a list of
  ints, storable as JSON or in SQLite), ``similarity``, ``band_keys`` (LSH band hashes for an
  indexed lookup across runs), ``near_duplicates`` (in-memory LSH over a batch plus known
  signatures), ``shared_passages`` (long common passages between two different documents:
  recorded, never merged) and ``choose_canonical`` (which copy a group of near duplicates
  points to).

Why these normalisations: the same page arrives as GB18030, Big5, UTF-16, in the other script
and from mirrors that print ",", "，" or "「」" for the same text (issue #7). The key and the
shingles see the text through `fold`: NFKC (width), a punctuation table
(``data/dedup_punct.tsv``), case folding, no whitespace, OpenCC t2s plus a table of regional
variants t2s leaves apart (``data/dedup_script_variants.tsv``: script).

Why rensa, not datasketch: ``scripts/bench_dedup.py`` measures both on the same shingles of
1136 real paragraphs plus variants planted at known Jaccard. Per object, rensa's R-MinHash
signs a paragraph ~19× faster than datasketch's ``update_batch`` (9 vs 165 µs; ~4× against
``MinHash.bulk``), with the same recall (1.0 at J ≥ 0.8) and no false merges at J ≤ 0.5 under
this module's LSH; datasketch's own ``MinHashLSH(0.8)`` picks 9 bands × 13 rows and finds only
84% of the J ≥ 0.8 pairs. rensa is already a dependency; datasketch is not needed.
"""

from __future__ import annotations

import array
import bisect
import functools
import hashlib
import logging
import re
import sys
import unicodedata
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, compress, repeat
from operator import ne
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cleaners.model import Change, CleaningError, Document, Explained, where_label
from cleaners.mojibake import STEP as REPAIR_STEP
from cleaners.textutil import data_table, data_terms, instant, to_simplified

logger = logging.getLogger(__name__)
T = TypeVar("T")

STEP = "dedup.within"
EXACT_STEP = "dedup.exact"
NEAR_STEP = "dedup.near"
VERSION = "1"
# Bump when `fold` changes: every stored key and signature must then be recomputed from the
# records' text (the archive index is rebuildable from the objects, DESIGN.md "The archive").
KEY_VERSION = "1"

_SPACE = re.compile(r"\s+")
# Characters that carry no text: zero-width marks, BOM, soft hyphen, word joiner.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
# A truncated copy ends in an ellipsis; checked on folded text, where NFKC has made … into ...
_ELLIPSIS_END = re.compile(r"(?:\.{2,}|。{2,}|·{3,})$")
# A complete paragraph (as opposed to a truncated copy or a title) ends a sentence.
_SENTENCE_END = frozenset("。！？!?；;…\"'”’」』)）")
# Characters of text each per-text cache holds (fold map, grams, anchor index: ~290 bytes per
# character together). A text now meets a handful of others (clusters and common passages cap
# the pairs, issue #16); at 1M characters the three caches were most of a 10 MB run's memory
# growth (+150 MB in the writer, +40 MB per worker).
TEXT_CACHE_CHARS = 200_000


@dataclass(frozen=True)
class DedupConfig:
    # --- within a document (all lengths in folded characters) ---
    min_paragraph_chars: int = 40       # shorter repeated lines are titles, headings, list items
    min_teaser_chars: int = 20          # a shorter "…" line may be a related-link title, not a teaser
    max_lead_label_chars: int = 8       # label before a teaser: "核心提示:" is 5 chars, "【導讀】" 4
    min_cover_ratio: float = 0.5        # a copy without a sentence end must be ≥50% of its container
    # --- near duplicates (MinHash LSH) ---
    shingle_chars: int = 5              # chars per shingle (zh has no spaces); seeds are <0.03 apart at 5
    num_perm: int = 128                 # slots: estimate std ≤0.044 at J=0.5; 512 bytes per signature
    bands: int = 32                     # 32 bands × 4 rows: P(candidate | J=0.8) > 0.9999 (bench)
    seed: int = 1                       # MinHash seed: changing it invalidates stored signatures
    near_threshold: float = 0.8         # shingle Jaccard at and above which texts are near duplicates
    min_estimated_similarity: float = 0.7   # on the estimate: 2.8 std below 0.8, 5 std above 0.5
    # --- shared passages and canonical choice ---
    min_shared_chars: int = 40          # folded chars: a shorter common run is a phrase, not a quotation
    passage_anchor_chars: int = 12      # chars: exact seed of a passage match (a zh clause is 10-15)
    passage_max_gap: int = 4            # chars: one word spelled otherwise (應用/套用) keeps a passage whole
    passage_max_anchor_repeats: int = 8     # an anchor seen more often in one text is padding, not a quote
    completeness_tolerance: float = 0.02    # texts within 2% of the longest count as equally complete
    # --- clusters, not pairs (issue #16): what one document costs stays bounded ---
    max_near_links: int = 8             # nearest members a record lists besides its canonical, and the
                                        # members of a candidate cluster a new text is verified against:
                                        # a cluster of ≤8 keeps every pair (the seeds, corpus pairs); a
                                        # story syndicated 1,000 times costs 8 checks per copy, not 1,000
    lsh_bucket_cap: int = 16            # records filed per band key: copies past it find their cluster
                                        # through the first ones (2× the links a record lists)
    common_passage_docs: int = 8        # a passage in more documents is boilerplate or a syndicated
                                        # quote: recorded once with its count, never paired (K² links)
    common_passage_sample: int = 5      # holders named with a common passage: enough to find it again

    def __post_init__(self) -> None:
        if self.num_perm <= 0 or self.bands <= 0 or self.num_perm % self.bands:
            raise CleaningError(f"[dedup] num_perm ({self.num_perm}) must be a positive multiple of "
                                f"bands ({self.bands}); e.g. num_perm = 128, bands = 32")
        if self.shingle_chars <= 0:
            raise CleaningError("[dedup] shingle_chars must be ≥ 1 (5 is the default)")
        if self.passage_anchor_chars > self.min_shared_chars:
            raise CleaningError("[dedup] passage_anchor_chars must not exceed min_shared_chars")
        if min(self.max_near_links, self.lsh_bucket_cap, self.common_passage_docs) < 1:
            raise CleaningError("[dedup] max_near_links, lsh_bucket_cap and common_passage_docs must "
                                "be ≥ 1 (defaults 8, 16, 8)")

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands


def holders_kept(cfg: DedupConfig) -> int:
    """Holders an index lists per fingerprint: enough to tell a common passage (one past
    `common_passage_docs`) and to name its sample; the count of the rest is kept, not them."""
    return max(cfg.common_passage_docs + 1, cfg.common_passage_sample)


# ----------------------------------------------------------------------------------------------
# Folding: the text as the key, the shingles and the passage finder see it.


def _punct_table() -> list[int | str]:
    return data_table("dedup_punct.tsv")


@functools.cache
def _t2s_char(char: str) -> str:
    return to_simplified(char)


def _fold_chars(text: str) -> str:
    """Width, punctuation, case and whitespace folding (everything but script)."""
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    return _SPACE.sub("", text.translate(_punct_table()).casefold())


def fold(text: str) -> str:
    """The text as dedup compares it: width, punctuation, case, whitespace and script folded.

    >>> fold("數字 政府，「十四五」\\u3000規劃…") == fold('数字政府,"十四五"规划...')
    True
    """
    return to_simplified(_fold_chars(text))


def _cache_by_chars(limit: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """An LRU cache for a function of one text (its first argument) that holds results for at
    most `limit` characters of text: what the results cost follows the texts' size (an anchor
    index is ~150 bytes per character), so a count of entries would not bound memory.

    >>> calls = []
    >>> @_cache_by_chars(5)
    ... def size(text): calls.append(text); return len(text)
    >>> [size(t) for t in ("abc", "abc", "de", "fgh", "abc")], calls
    ([3, 3, 2, 3, 3], ['abc', 'de', 'fgh', 'abc'])
    """
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        store: OrderedDict[tuple[Any, ...], T] = OrderedDict()
        held = 0

        @functools.wraps(fn)
        def cached(*args: Any) -> T:
            nonlocal held
            if args in store:
                store.move_to_end(args)
                return store[args]
            value = fn(*args)
            if len(args[0]) <= limit:
                store[args] = value
                held += len(args[0])
                while held > limit:
                    old, _ = store.popitem(last=False)
                    held -= len(old[0])
            return value

        return cached
    return wrap


@functools.cache
def _fold_char(char: str) -> str:
    """One character as `fold_with_map` folds it (script apart): "" for spaces and invisible
    characters, else NFKC, the punctuation table and casefold, spaces dropped ("…" → "...")."""
    if char.isspace() or _INVISIBLE.match(char):
        return ""
    folded = unicodedata.normalize("NFKC", char).translate(_punct_table()).casefold()
    return "".join(out for out in folded if not out.isspace())


@_cache_by_chars(TEXT_CACHE_CHARS)  # ~40 bytes per character: the map's ints and the folded text
def fold_with_map(text: str) -> tuple[str, tuple[int, ...]]:
    """`fold(text)` plus, for each folded character, the offset of its source character.

    Cached: the archive compares one new text with many candidates (shared passages), and
    folding character by character costs far more than the comparison (profile of a 248-file
    corpus run: 102 s of 155 s re-folding the same texts).

    The map has one extra entry (``len(text)``) so a folded span ``a:b`` maps to
    ``text[m[a]:m[b]]``.

    >>> folded, where = fold_with_map("導讀 數字…")
    >>> folded, where
    ('导读数字...', (0, 1, 3, 4, 5, 5, 5, 6))
    """
    # Each character's folded form (cached per character), then the map from their lengths:
    # `map`, `repeat` and `chain` run in C, so no Python loop per character.
    outs = list(map(_fold_char, text))
    where = list(chain.from_iterable(map(repeat, range(len(text)), map(len, outs))))
    where.append(len(text))
    plain = "".join(outs)
    converted = to_simplified(plain)
    if len(converted) != len(plain):
        # A phrase rule changed the length: convert character by character so the map holds.
        converted = "".join(_t2s_char(c) if len(_t2s_char(c)) == 1 else c for c in plain)
    return converted, tuple(where)


# ----------------------------------------------------------------------------------------------
# Within a document.


@dataclass
class _Line:
    number: int                 # 1-based, as in the step's input text
    text: str                   # current text (a removal shortens it)
    folded: str
    where: Sequence[int]
    dropped: bool = False


def _line(number: int, text: str) -> _Line:
    folded, where = fold_with_map(text)
    return _Line(number, text, folded, where)


def _is_sentence_end(folded: str) -> bool:
    return bool(folded) and folded[-1] in _SENTENCE_END


@functools.cache
def _folded_labels() -> tuple[str, ...]:
    return tuple(sorted({fold(label) for label in data_terms("dedup_lead_labels.txt")}, key=len, reverse=True))


def _label_head(folded: str, cfg: DedupConfig) -> int:
    """Length of a known lead label (plus its separator) at the start of a folded line, or 0."""
    for label in _folded_labels():
        if folded.startswith(label):
            end = len(label)
            while end < len(folded) and end < cfg.max_lead_label_chars and folded[end] in ":|】]>-":
                end += 1
            return end
        bracketed = f"【{label}】"
        if folded.startswith(bracketed):
            return len(bracketed) + (1 if folded[len(bracketed):len(bracketed) + 1] == ":" else 0)
    return 0


def _glued_summary(line: _Line, cfg: DedupConfig) -> Change | None:
    """Seed 004: "核心提示:" + a truncated copy of the paragraph + the paragraph, on one line.

    Remove the label and the truncated copy; what stays starts the full paragraph.
    """
    folded = line.folded
    anchor_len = min(cfg.passage_anchor_chars, cfg.min_teaser_chars)
    for head in range(min(cfg.max_lead_label_chars, len(folded)) + 1):
        anchor = folded[head:head + anchor_len]
        if len(anchor) < anchor_len:
            return None
        start = folded.find(anchor, head + cfg.min_teaser_chars)
        while start != -1:
            copy = _ELLIPSIS_END.sub("", folded[head:start])
            if len(copy) >= cfg.min_teaser_chars and folded.startswith(copy, start):
                cut = line.where[start]
                removed = line.text[:cut]
                line.text = line.text[cut:]
                line.folded, line.where = fold_with_map(line.text)
                return Change(STEP, "remove", "rule:glued_summary", f"line {line.number}",
                              "a truncated copy of this paragraph was glued before it on the same "
                              "line; the full paragraph that follows is kept",
                              {"text": removed, "kept_line": line.number, "chars": f"0-{cut}",
                               "label": _line_head(removed, head)})
            start = folded.find(anchor, start + 1)
    return None


def _line_head(removed: str, folded_head: int) -> str:
    """The label part of a removed prefix (its first `folded_head` folded characters)."""
    if folded_head == 0:
        return ""
    _, where = fold_with_map(removed)
    return removed[:where[folded_head]].strip()


def _teaser_leads(lines: list[_Line], cfg: DedupConfig) -> list[Change]:
    """Seeds 000 and 002: a lead that repeats the start of a paragraph and stops at "..." or "…"
    (or, after a known label such as "核心提示:", stops without one).

    The teaser is matched against the other lines joined without separators, so a teaser that
    runs on from the title into the first paragraph (seed 000) is found too; the match must
    start at the start of a line.
    """
    changes: list[Change] = []
    joined = "".join(ln.folded for ln in lines)
    starts: dict[int, int] = {}
    offset = 0
    for index, ln in enumerate(lines):
        if ln.folded and offset not in starts:
            starts[offset] = index
        offset += len(ln.folded)
    for index, ln in enumerate(lines):
        if ln.dropped or len(ln.folded) < cfg.min_teaser_chars:
            continue
        ellipsis = _ELLIPSIS_END.search(ln.folded)
        label = _label_head(ln.folded, cfg)
        if ellipsis is None and label == 0:
            continue
        core_end = ellipsis.start() if ellipsis else len(ln.folded)
        heads = range(min(cfg.max_lead_label_chars, core_end) + 1) if ellipsis else (label,)
        for head in heads:
            core = ln.folded[head:core_end]
            if len(core) < cfg.min_teaser_chars:
                break
            target = _find_at_line_start(joined, core, starts, lines, exclude=index,
                                         strict=ellipsis is None)
            if target is not None:
                ln.dropped = True
                changes.append(Change(
                    STEP, "drop", "rule:teaser_lead", f"line {ln.number}",
                    "a lead that repeats the start of another paragraph and stops short; "
                    "the complete paragraph is kept",
                    {"text": ln.text, "kept_line": lines[target].number}))
                break
    return changes


def _find_at_line_start(joined: str, core: str, starts: Mapping[int, int], lines: list[_Line],
                        exclude: int, strict: bool) -> int | None:
    """Index of a kept line (not `exclude`) at whose start `core` occurs in `joined`."""
    pos = joined.find(core)
    while pos != -1:
        index = starts.get(pos)
        if index is not None and index != exclude and not lines[index].dropped:
            # Without an ellipsis the lead must be a proper prefix (a truncated copy), never an
            # equal line: equal lines are repeated paragraphs, not teasers.
            rest = joined[pos + len(core):pos + len(core) + 1]
            if not strict or rest:
                return index
        pos = joined.find(core, pos + 1)
    return None


def _repeated_paragraphs(lines: list[_Line], cfg: DedupConfig) -> list[Change]:
    """Seed 002: a paragraph printed again, alone or with a question glued on.

    - A line equal to, or contained in, an earlier kept line is dropped.
    - A line that contains an earlier complete paragraph (ending a sentence) at its start or
      end loses that copy; what remains (seed 002: "我國數字政府建設現狀如何?") stays.
    - An earlier line that is a truncated copy (no sentence end) of a later one is dropped and
      the later, complete one kept.
    """
    changes: list[Change] = []
    kept: list[_Line] = []
    for ln in lines:
        if ln.dropped or len(ln.folded) < cfg.min_paragraph_chars:
            continue
        container = next((k for k in kept if not k.dropped and ln.folded in k.folded
                          and _covers(ln.folded, k.folded, cfg)), None)
        if container is not None:
            ln.dropped = True
            changes.append(Change(
                STEP, "drop", "rule:repeated_paragraph", f"line {ln.number}",
                "this paragraph already appears in full earlier in the document",
                {"text": ln.text, "kept_line": container.number}))
            continue
        for earlier in kept:
            if earlier.dropped or earlier.folded not in ln.folded:
                continue
            if not _covers(earlier.folded, ln.folded, cfg):
                continue
            if _is_sentence_end(earlier.folded) and (ln.folded.startswith(earlier.folded)
                                                     or ln.folded.endswith(earlier.folded)):
                change = _remove_copy(ln, earlier)
                if change is not None:
                    changes.append(change)
                if ln.dropped or len(ln.folded) < cfg.min_paragraph_chars:
                    break
            elif not _is_sentence_end(earlier.folded):
                earlier.dropped = True
                changes.append(Change(
                    STEP, "drop", "rule:repeated_paragraph", f"line {earlier.number}",
                    "a truncated copy of a later paragraph; the complete paragraph is kept",
                    {"text": earlier.text, "kept_line": ln.number}))
        if not ln.dropped:
            kept.append(ln)
    return changes


def _covers(part: str, whole: str, cfg: DedupConfig) -> bool:
    """`part` (contained in `whole`) is a paragraph copy, not a title quoted inside a paragraph:
    it ends a sentence, starts `whole` (a truncated copy), or is most of it."""
    return (_is_sentence_end(part) or whole.startswith(part)
            or len(part) >= cfg.min_cover_ratio * len(whole))


def _remove_copy(ln: _Line, earlier: _Line) -> Change | None:
    size = len(earlier.folded)
    if ln.folded.startswith(earlier.folded):
        cut = ln.where[size]
        removed, rest, span = ln.text[:cut], ln.text[cut:], f"0-{cut}"
    else:
        cut = ln.where[len(ln.folded) - size]
        removed, rest, span = ln.text[cut:], ln.text[:cut], f"{cut}-{len(ln.text)}"
    rest_folded, rest_where = fold_with_map(rest)
    if not any(unicodedata.category(c)[0] in "LN" for c in rest_folded):
        ln.dropped = True
        return Change(STEP, "drop", "rule:repeated_paragraph", f"line {ln.number}",
                      "this paragraph already appears in full earlier in the document",
                      {"text": ln.text, "kept_line": earlier.number})
    ln.text = rest.strip()
    ln.folded, ln.where = fold_with_map(ln.text)
    return Change(STEP, "remove", "rule:repeated_paragraph", f"line {ln.number}",
                  "this line repeats an earlier paragraph in full before its own text; the "
                  "repeat is removed, the rest of the line kept",
                  {"text": removed, "kept_line": earlier.number, "chars": span})


def within(doc: Document, cfg: DedupConfig) -> Explained:
    """Collapse repeated paragraphs, teaser leads and glued summaries; keep the complete copy.

    Line numbers in the trail are those of the text this step received.

    >>> from cleaners.model import Source
    >>> para = "数字政府是新时代高效行政服务模式，它以现代互联网等技术为支撑，推动政府治理现代化。"
    >>> doc = Document(Source("x", "0", 0), text=f"{para[:24]}...\\n{para}\\n{para}")
    >>> out = within(doc, DedupConfig())
    >>> out.text == para, [(c.what, c.where, c.detail["kept_line"]) for c in out.changes]
    (True, [('rule:teaser_lead', 'line 1', 2), ('rule:repeated_paragraph', 'line 3', 2)])
    """
    lines = [_line(n, text) for n, text in enumerate(doc.text.split("\n"), start=1)]
    changes: list[Change] = []
    for ln in lines:
        if len(ln.folded) >= 2 * cfg.min_teaser_chars:
            change = _glued_summary(ln, cfg)
            if change is not None:
                changes.append(change)
    changes.extend(_teaser_leads(lines, cfg))
    changes.extend(_repeated_paragraphs(lines, cfg))
    if not changes:
        return Explained(text=doc.text)
    changes.sort(key=lambda c: int(where_label(c.where).split()[1]))
    logger.debug("%s: %d repeated passages collapsed", doc.source.path, len(changes))
    return Explained(text="\n".join(ln.text for ln in lines if not ln.dropped), changes=tuple(changes))


# ----------------------------------------------------------------------------------------------
# Exact duplicates across inputs.


def dedup_key(text: str) -> str:
    """The exact-duplicate key of a cleaned text: sha256 over its folded form (`fold`).

    Script, width, punctuation variants, case and whitespace do not change the key, so the
    GB18030, Big5, UTF-16 and Simplified copies of one page get one key.

    >>> dedup_key("数字 政府\\n") == dedup_key("數字政府")
    True
    >>> dedup_key("数字政府，十四五") == dedup_key("数字政府,十四五")
    True
    """
    return hashlib.sha256(fold(text).encode("utf-8")).hexdigest()


def record_id(key: str) -> str:
    """ASCII, stable, content-derived: the same cleaned text always gets the same id."""
    return "doc-" + key[:24]


@dataclass(frozen=True, slots=True)
class Signature:
    input_id: str          # the caller's handle for the input (its index in the batch)
    key: str               # dedup_key of the cleaned text
    chars: int             # length of the cleaned text: the keep policy prefers the fullest
    path: str              # tie-break, so the choice never depends on input order
    minhash: tuple[int, ...] = ()     # `minhash` of the cleaned text (empty for an empty text)
    published: str | None = None      # ISO 8601 from the metadata: earlier wins a tie
    official: bool = False            # source URL on a government host: wins a tie after that
    repairs: int = 0                  # edits repair made to this copy: fewer wins a tie after that


def keep_hints(metadata: Mapping[str, Any] | None) -> tuple[str | None, bool]:
    """What the keep policy reads from a document's metadata: (publish time, official source).

    >>> keep_hints({"url": "https://www.hebei.gov.cn/a", "published": "2023-04-12"})
    ('2023-04-12', True)
    >>> keep_hints(None)
    (None, False)
    """
    metadata = metadata or {}
    url, published = metadata.get("url"), metadata.get("published")
    return (published if isinstance(published, str) else None,
            is_official(url if isinstance(url, str) else None))


def is_repair(step: str, action: str) -> bool:
    """Whether a trail entry is an edit of the repair step (mojibake, ruby, entities): what the
    keep policy counts to prefer the copy that arrived intact. Flags are not edits.

    >>> is_repair("mojibake.repair", "replace"), is_repair("mojibake.repair", "flag")
    (True, False)
    """
    return step == REPAIR_STEP and action != "flag"


def signature(input_id: str, doc: Document, cfg: DedupConfig | None = None) -> Signature:
    cfg = cfg if cfg is not None else DedupConfig()
    repairs = sum(is_repair(c.step, c.action) for c in doc.changes)
    return Signature(input_id, dedup_key(doc.text), len(doc.text), doc.source.path,
                     tuple(minhash(doc.text, cfg)), *keep_hints(doc.metadata), repairs)


@dataclass(frozen=True, slots=True)
class Decision:
    input_id: str
    record_id: str
    kept: bool                    # this input's document becomes the record
    duplicate_of: str | None      # another input of this batch, when not kept
    known: bool                   # the record is already in the archive


def decide(signatures: Iterable[Signature], known: Mapping[str, str]) -> list[Decision]:
    """Group inputs by key; keep one per group; `known` maps key → record id already archived.

    Keep policy: `choose_canonical` (the most complete text, then the earliest publish time,
    then an official source, then the copy repair touched least, then the longest, then the
    lexically first path): deterministic, like datatrove's document_priority, and never
    dependent on input order.
    """
    groups: dict[str, list[Signature]] = {}
    for sig in signatures:
        groups.setdefault(sig.key, []).append(sig)
    out: list[Decision] = []
    for key, members in groups.items():
        by_id = {s.input_id: s for s in members}
        best = choose_canonical([Candidate(s.input_id, s.chars, s.published, s.official, s.path,
                                           s.repairs) for s in members])
        keeper = by_id[best.id]
        rid = known.get(key, record_id(key))
        is_known = key in known
        for sig in members:
            kept = sig is keeper and not is_known
            out.append(Decision(sig.input_id, rid, kept,
                                None if sig is keeper else keeper.input_id, is_known))
    return out


# ----------------------------------------------------------------------------------------------
# Near duplicates: MinHash on character shingles, LSH, verification.


def shingles(text: str, cfg: DedupConfig) -> set[str]:
    """Character shingles of the folded text (zh has no spaces: characters, not words).

    >>> sorted(shingles("數字政府建設", DedupConfig(shingle_chars=5)))
    ['字政府建设', '数字政府建']
    """
    return set(_shingle_list(text, cfg))


def _shingle_list(text: str, cfg: DedupConfig) -> list[str]:
    # A list, not a set: hashing every shingle into a Python set costs 4× what rensa spends on
    # the whole signature, and full-set MinHash ignores repeats anyway (bench_dedup.py).
    folded = fold(text)
    size = cfg.shingle_chars
    if len(folded) <= size:
        return [folded] if folded else []
    return [folded[i:i + size] for i in range(len(folded) - size + 1)]


def shingle_hashes(folded: str, cfg: DedupConfig) -> Any:
    """The shingles of an already folded text as sorted unique 64-bit hashes (a numpy array):
    what exact verification intersects. The same Jaccard as `shingles` but for a 2**-64 chance
    per pair of shingles, at 8 bytes a shingle instead of ~90, intersected in C.

    >>> cfg = DedupConfig(shingle_chars=5)
    >>> a, b = shingle_hashes(fold("數字政府建設"), cfg), shingle_hashes(fold("数字政府建设驱动"), cfg)
    >>> len(a), len(b), _common(a, b)
    (2, 4, 2)
    """
    size = cfg.shingle_chars
    if not folded:
        return _numpy().empty(0, dtype=_numpy().uint64)
    return _numpy().unique(_gram_hashes64(folded, min(size, len(folded))))


def _common(a: Any, b: Any) -> int:
    """How many values two sorted unique arrays share (a binary search of each of `a` in `b`)."""
    if not len(a) or not len(b):
        return 0
    np = _numpy()
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return int(np.count_nonzero(b[at] == a))


def hashed_jaccard(a: Any, b: Any) -> float:
    """Jaccard similarity of two `shingle_hashes` arrays (0.0 when both are empty)."""
    common = _common(a, b)
    union = len(a) + len(b) - common
    return common / union if union else 0.0


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """What cross-document dedup needs of one cleaned text, computed where the text is cleaned
    (a worker process), from one folding: the exact key, the MinHash, the passage fingerprints,
    and the folded text itself (the writer verifies near duplicates on it without folding)."""

    key: str
    minhash: list[int]
    fingerprints: list[int]             # sorted
    folded: str


def text_features(text: str, cfg: DedupConfig) -> TextFeatures:
    """`dedup_key`, `minhash` and `passage_fingerprints` of `text`, folding it once.

    >>> f = text_features("數字政府建設驅動數字經濟發展", DedupConfig())
    >>> f.key == dedup_key("数字政府建设驱动数字经济发展"), len(f.minhash)
    (True, 128)
    """
    folded = fold(text)
    key = hashlib.sha256(folded.encode("utf-8")).hexdigest()
    size = cfg.shingle_chars
    tokens = [folded] if 0 < len(folded) <= size else [folded[i:i + size] for i in range(len(folded) - size + 1)]
    sig: list[int] = []
    if tokens:
        sketch = _rensa().RMinHash(cfg.num_perm, cfg.seed)
        sketch.update(tokens)
        sig = list(sketch.digest())
    return TextFeatures(key, sig, sorted(_winnow(folded, cfg)), folded)


def _rensa() -> Any:
    import rensa  # type: ignore[import-untyped]  # no stubs: a Rust extension; imported when used

    return rensa


@functools.cache
def signature_scheme(cfg: DedupConfig) -> str:
    """What produced a signature; the archive stores it and recomputes when it changes."""
    return (f"rensa-rminhash-v{_rensa().RMinHash.ALGORITHM_VERSION}/perm{cfg.num_perm}/"
            f"seed{cfg.seed}/shingle{cfg.shingle_chars}/key{KEY_VERSION}/prints-{FINGERPRINT_SCHEME}")


def minhash(text: str, cfg: DedupConfig) -> list[int]:
    """The MinHash of `text`'s shingles: `cfg.num_perm` unsigned 32-bit ints ([] if no text).

    >>> sig = minhash("数字政府建设驱动数字经济发展", DedupConfig())
    >>> len(sig), sig == minhash("數字政府建設驅動數字經濟發展", DedupConfig())
    (128, True)
    """
    tokens = _shingle_list(text, cfg)
    if not tokens:
        return []
    sketch = _rensa().RMinHash(cfg.num_perm, cfg.seed)
    sketch.update(tokens)
    return list(sketch.digest())


def minhashes(texts: Iterable[str], cfg: DedupConfig) -> list[array.array[int]]:
    """`minhash` of many texts, as compact ``array('I')`` (a Sequence[int]: 512 bytes at 128
    slots instead of 5 KB of Python ints; ``.tolist()`` for JSON, `pack_signature` for SQLite).
    At 100k paragraphs lists would take 0.5 GB and make the run superlinear; one sketch per
    text is as fast as rensa's batch call here (bench_dedup.py) and keeps memory flat."""
    return [array.array("I", minhash(text, cfg)) for text in texts]


def similarity(sig_a: Sequence[int], sig_b: Sequence[int]) -> float:
    """Estimated Jaccard similarity: the share of equal slots (0.0 for an empty signature).

    >>> similarity([1, 2, 3, 4], [1, 2, 0, 4])
    0.75
    """
    if not sig_a or len(sig_a) != len(sig_b):
        return 0.0
    return sum(a == b for a, b in zip(sig_a, sig_b, strict=True)) / len(sig_a)


def jaccard(text_a: str, text_b: str, cfg: DedupConfig) -> float:
    """Exact Jaccard similarity of the two texts' shingle sets (what `similarity` estimates)."""
    a, b = shingles(text_a, cfg), shingles(text_b, cfg)
    return len(a & b) / len(a | b) if a or b else 0.0


_MASK64 = (1 << 64) - 1
_FNV_PRIME = 0x100000001B3
_FNV_OFFSET = 0xCBF29CE484222325


def band_keys(sig: Sequence[int], cfg: DedupConfig) -> list[int]:
    """One LSH key per band, a signed 64-bit int (an SQLite INTEGER): two signatures are
    candidates when they share a key. The band number is hashed in, so one indexed column
    serves all bands. FNV-1a over the slots: stable across processes and Python versions.

    >>> cfg = DedupConfig(num_perm=8, bands=2)
    >>> a, b = band_keys([1, 2, 3, 4, 5, 6, 7, 8], cfg), band_keys([1, 2, 3, 4, 0, 6, 7, 8], cfg)
    >>> a[0] == b[0], a[1] == b[1]
    (True, False)
    """
    if not sig:
        return []
    rows = cfg.rows
    keys = []
    for band in range(cfg.bands):
        h = (_FNV_OFFSET ^ band) * _FNV_PRIME & _MASK64
        for value in sig[band * rows:(band + 1) * rows]:
            h = ((h ^ value) * _FNV_PRIME) & _MASK64
        keys.append(h - (1 << 64) if h >= 1 << 63 else h)
    return keys


@dataclass(frozen=True, slots=True)
class NearDuplicate:
    a: str                  # a handle from the batch
    b: str                  # a handle from the batch or from `known`
    similarity: float       # estimated Jaccard (the exact one when both texts were given)


def near_duplicates(batch: Mapping[str, Sequence[int]], cfg: DedupConfig,
                    known: Mapping[str, Sequence[int]] | None = None,
                    texts: Mapping[str, str] | None = None) -> list[NearDuplicate]:
    """Near-duplicate pairs among `batch` and between `batch` and `known` (handle → minhash).

    LSH proposes candidates (two signatures equal in all rows of at least one band); a
    candidate is kept when its estimated similarity is ≥ `cfg.min_estimated_similarity` and,
    when `texts` holds both texts, its exact shingle Jaccard is ≥ `cfg.near_threshold` (the
    estimate is then replaced by the exact value). `texts` may be a lazy mapping: only the
    candidates' texts are read. Pairs among `known` are not reported (they were linked when
    archived). Sorted, so the result never depends on input order.

    Time and memory stay linear in the number of signatures (bench_dedup.py: 100k paragraphs).
    """
    known = known or {}
    texts = texts if texts is not None else {}
    handles = [h for h, sig in known.items() if sig] + [h for h, sig in batch.items() if sig]
    first_batch = sum(1 for sig in known.values() if sig)
    sigs = [sig for sig in known.values() if sig] + [sig for sig in batch.values() if sig]
    width = 4 * cfg.rows
    blobs = [_packed(sig) for sig in sigs]
    indices = range(len(blobs))
    pairs: set[tuple[int, int]] = set()
    for band in range(cfg.bands):
        # One band at a time, in C loops (dict(zip), map, compress): the only Python-level work
        # is on the signatures that collide, so time stays linear in the number of signatures.
        lo, hi = band * width, (band + 1) * width
        keys = [blob[lo:hi] for blob in blobs]
        last = dict(zip(keys, indices, strict=True))
        if len(last) == len(keys):
            continue
        groups: dict[bytes, list[int]] = {}
        for index in compress(indices, map(ne, indices, map(last.__getitem__, keys))):
            groups.setdefault(keys[index], [last[keys[index]]]).append(index)
        for members in groups.values():
            members.sort()
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    if b >= first_batch:        # members ascend: a pair with a batch signature
                        pairs.add((a, b))
    found: list[NearDuplicate] = []
    shingle_cache: dict[int, set[str]] = {}
    for a, b in pairs:
        estimate = similarity(sigs[a], sigs[b])
        if estimate < cfg.min_estimated_similarity:
            continue
        ha, hb = handles[a], handles[b]
        if ha in texts and hb in texts:
            sa = shingle_cache.setdefault(a, shingles(texts[ha], cfg))
            sb = shingle_cache.setdefault(b, shingles(texts[hb], cfg))
            exact = len(sa & sb) / len(sa | sb)
            if exact < cfg.near_threshold:
                continue
            estimate = exact
        if a >= first_batch and hb < ha:        # two batch handles: the smaller first
            ha, hb = hb, ha
        elif a < first_batch:                   # a known one: the batch handle first
            ha, hb = hb, ha
        found.append(NearDuplicate(ha, hb, round(estimate, 4)))
    return sorted(found, key=lambda p: (p.a, p.b))


def _packed(sig: Sequence[int]) -> bytes:
    """A signature as fixed-width bytes: band keys are slices of it (hashed by the dict)."""
    if isinstance(sig, array.array) and sig.typecode == "I":
        return sig.tobytes()
    try:
        return array.array("I", sig).tobytes()
    except OverflowError:                       # 64-bit slots (another MinHash library)
        return array.array("I", (v & 0xFFFFFFFF for v in sig)).tobytes()


def pack_signature(sig: Sequence[int]) -> bytes:
    """A signature as a little-endian uint32 blob (512 bytes at 128 slots) for an SQLite BLOB.

    >>> unpack_signature(pack_signature([1, 2, 4294967295]))
    [1, 2, 4294967295]
    """
    packed = array.array("I", sig)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def unpack_signature(blob: bytes) -> list[int]:
    """The inverse of `pack_signature`."""
    packed = array.array("I")
    packed.frombytes(blob)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tolist()


# ----------------------------------------------------------------------------------------------
# Shared passages: partial overlap between different documents (seed 000 quotes seed 001).


@dataclass(frozen=True, slots=True)
class SharedPassage:
    a_start: int            # offsets in text_a: text_a[a_start:a_end] is the passage
    a_end: int
    b_start: int            # offsets in text_b
    b_end: int
    chars: int              # folded characters matched exactly (gaps excluded)
    text: str               # the passage as text_a prints it

    def to_json(self) -> dict[str, Any]:
        return {"a": f"chars {self.a_start}-{self.a_end}", "b": f"chars {self.b_start}-{self.b_end}",
                "chars": self.chars, "text": self.text}


def shared_passages(text_a: str, text_b: str, cfg: DedupConfig) -> list[SharedPassage]:
    """Long passages the two texts have in common (in folded form), in text_a's order.

    Seed-and-extend: every `passage_anchor_chars`-gram of b is looked up in a; a hit is
    extended to the longest common run; runs that follow each other in both texts with at most
    `passage_max_gap` differing characters (a regional word: 應用/套用) form one passage.
    Passages with fewer than `min_shared_chars` matched characters are dropped. A shared
    passage links two documents; it never makes them one.
    """
    fa, wa = fold_with_map(text_a)
    fb, wb = fold_with_map(text_b)
    k = cfg.passage_anchor_chars
    if len(fa) < k or len(fb) < k:
        return []
    index = _anchor_index(fa, k, cfg.passage_max_anchor_repeats)
    grams = _grams(fb, k)
    # The offsets of b whose anchor occurs in a, found in C (`compress` over a membership map):
    # the loop below runs only where a run can start, not once per character of b.
    hits = list(compress(range(len(grams)), map(index.__contains__, grams)))
    runs: list[tuple[int, int, int]] = []     # (a_start, b_start, length)
    covered_until: dict[int, int] = {}        # diagonal (a - b) → b offset already covered
    h = 0
    while h < len(hits):
        j = hits[h]
        best: tuple[int, int, int] | None = None
        for i in index[grams[j]]:
            if covered_until.get(i - j, -1) > j:
                continue
            length = _common_length(fa, i, fb, j, k)
            if best is None or length > best[2]:
                best = (i, j, length)
        if best is None:
            h += 1
            continue
        runs.append(best)
        covered_until[best[0] - best[1]] = best[1] + best[2]
        # The run is maximal on its diagonal: the next anchor worth trying starts where it ends
        # (a second alignment starting inside it would be text repeated within a).
        h = bisect.bisect_left(hits, best[1] + best[2] - k + 1, h + 1)
    runs = _maximal_runs(runs)
    passages: list[SharedPassage] = []
    group: list[tuple[int, int, int]] = []
    for run in sorted(runs):
        if group and _continues(group[-1], run, cfg.passage_max_gap):
            group.append(run)
            continue
        passages.extend(_passage(group, text_a, wa, wb, cfg))
        group = [run]
    passages.extend(_passage(group, text_a, wa, wb, cfg))
    return passages


def _common_length(a: str, i: int, b: str, j: int, known: int) -> int:
    """The length of the common prefix of ``a[i:]`` and ``b[j:]``, whose first `known`
    characters are equal: slices compared in C, in growing steps, then halved to the first
    difference (a Python loop per character cost most of a corpus run's linking time).

    >>> _common_length("xx数字政府建设。", 2, "数字政府建设的", 0, 2)
    6
    >>> _common_length("ab", 0, "ab", 0, 0)
    2
    """
    limit = min(len(a) - i, len(b) - j)
    lo, step = known, 16
    while lo < limit:
        hi = min(limit, lo + step)
        if a[i + lo:i + hi] != b[j + lo:j + hi]:
            break
        lo, step = hi, step * 2
    else:
        return limit
    while hi - lo > 1:  # a[i:i+lo] == b[j:j+lo]; the first difference lies in [lo, hi)
        mid = (lo + hi) // 2
        if a[i + lo:i + mid] == b[j + lo:j + mid]:
            lo = mid
        else:
            hi = mid
    return lo


@_cache_by_chars(TEXT_CACHE_CHARS)  # ~100 bytes per character: a list of short strings
def _grams(folded: str, k: int) -> list[str]:
    """Every k-gram of a folded text, in order (cached like `_anchor_index`)."""
    return [folded[i:i + k] for i in range(len(folded) - k + 1)]


@_cache_by_chars(TEXT_CACHE_CHARS)  # ~150 bytes per character, the gram strings shared with `_grams`
def _anchor_index(folded: str, k: int, max_repeats: int) -> dict[str, tuple[int, ...]]:
    """Every k-gram of a folded text → its offsets (cached: one text meets many candidates).

    An anchor repeated more than `max_repeats` times is padding or boilerplate ("一一一…",
    table rows): extending from every copy costs len(a) × len(b), and winnowing ignores such
    n-grams too, so it is left out.
    """
    grams = _grams(folded, k)  # the cached grams: one copy of each string
    # Built in C: every gram → (its offset,), right for the grams that occur once; the Python
    # loop below visits only the offsets of repeated grams.
    index: dict[str, tuple[int, ...]] = dict(zip(grams, zip(range(len(grams))), strict=True))
    counts = Counter(grams)
    repeated = set(compress(counts.keys(), map((1).__lt__, counts.values())))
    if repeated:
        spots: dict[str, list[int]] = defaultdict(list)
        for i in compress(range(len(grams)), map(repeated.__contains__, grams)):
            spots[grams[i]].append(i)
        for gram, where in spots.items():
            if len(where) > max_repeats:
                del index[gram]
            else:
                index[gram] = tuple(where)
    return index


def passage_fingerprints(text: str, cfg: DedupConfig) -> set[int]:
    """Winnowing fingerprints (Schleimer et al., MOSS) of the folded text: a 32-bit hash of every
    `passage_anchor_chars`-gram (`_gram_hashes`), the smallest in each window. Two texts that
    share a passage of `min_shared_chars` or more share at least one fingerprint, so an index of
    fingerprints (SQLite: fingerprint → record) finds the pairs worth a `shared_passages` call;
    MinHash cannot, since a quotation leaves the Jaccard near 0 (seeds 000/001: 0.02).

    >>> a = "国务院关于加强数字政府建设的指导意见提出到2035年数字政府体系框架更加成熟完备"
    >>> bool(passage_fingerprints("前言。" + a, DedupConfig()) & passage_fingerprints(a + "。后记", DedupConfig()))
    True
    """
    return _winnow(fold(text), cfg)


def _winnow(folded: str, cfg: DedupConfig) -> set[int]:
    k = cfg.passage_anchor_chars
    window = cfg.min_shared_chars - k + 1
    if len(folded) < k:
        return set()
    hashes = _gram_hashes(folded, k)
    if len(hashes) <= window:
        return {int(hashes.min())}
    return set(_numpy().unique(_window_minima(hashes, window)).tolist())


def _numpy() -> Any:
    import numpy  # imported when used: `docclean clean` and the audit never fingerprint

    return numpy


# The gram hash (FINGERPRINT_SCHEME in `signature_scheme`: stored fingerprints are recomputed
# when it changes): a polynomial over the gram's code points modulo 2**64, then SplitMix64's
# finaliser; its upper 32 bits. In numpy, k vectorised passes over the text: 16x the former
# CRC-32 of every gram's UTF-8 one call at a time (bench_e2e.py, 715k characters: 0.45 -> 0.03 s).
FINGERPRINT_SCHEME = "poly64-splitmix-hi32"
_POLY = 0x100000001B3
_MIX = (0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


def _gram_hashes(folded: str, k: int) -> Any:
    """A 32-bit hash of each `k`-character gram of `folded`, as a numpy ``uint32`` array (one
    per gram start; empty when the text is shorter than `k`).

    >>> h = _gram_hashes("数字政府数字政府", 4)
    >>> len(h), int(h[0]) == int(h[4]), int(h[0]) == int(h[1])
    (5, True, False)
    """
    np = _numpy()
    return (_gram_hashes64(folded, k) >> np.uint64(32)).astype(np.uint32)


def _gram_hashes64(folded: str, k: int) -> Any:
    """The full 64-bit hash of each `k`-character gram (`_gram_hashes` keeps its upper half)."""
    np = _numpy()
    points = np.frombuffer(folded.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    n = len(points) - k + 1
    if n <= 0:
        return np.empty(0, dtype=np.uint64)
    h = points[:n].copy()
    for j in range(1, k):           # uint64 arithmetic wraps: the polynomial modulo 2**64
        h *= np.uint64(_POLY)
        h += points[j:j + n]
    h ^= h >> np.uint64(31)
    h *= np.uint64(_MIX[0])
    h ^= h >> np.uint64(29)
    h *= np.uint64(_MIX[1])
    h ^= h >> np.uint64(32)
    return h


def passage_spans(text: str, prints: set[int], cfg: DedupConfig) -> list[tuple[int, int]]:
    """The stretches of `text` (offsets into it) that the given winnowing fingerprints come
    from: each fingerprint's k-gram, with grams at most a winnowing window apart merged (a
    passage leaves a fingerprint in every window). Where a common passage lies in one holder.

    >>> cfg = DedupConfig()
    >>> quote = "国务院关于加强数字政府建设的指导意见提出到2035年数字政府体系框架更加成熟完备"
    >>> text = "前言很短。" + quote + "后记也短。"
    >>> [text[a:b] in quote for a, b in passage_spans(text, passage_fingerprints(quote, cfg), cfg)]
    [True]
    """
    folded, where = fold_with_map(text)
    k = cfg.passage_anchor_chars
    if len(folded) < k or not prints:
        return []
    np = _numpy()
    window = cfg.min_shared_chars - k + 1
    hashes = _gram_hashes(folded, k)
    wanted = np.fromiter(prints, dtype=np.uint32, count=len(prints))
    spans: list[list[int]] = []
    for i in np.flatnonzero(np.isin(hashes, wanted)).tolist():
        if spans and i <= spans[-1][1] + window:
            spans[-1][1] = i + k
        else:
            spans.append([i, i + k])
    return [(where[a], where[b - 1] + 1) for a, b in spans]


def fingerprint_offsets(text: str, prints: set[int], cfg: DedupConfig) -> dict[int, tuple[int, int]]:
    """Where in `text` (offsets into it) the k-gram of each of `prints` first occurs; prints the
    text does not hold are left out.

    >>> cfg = DedupConfig()
    >>> quote = "国务院关于加强数字政府建设的指导意见提出到2035年数字政府体系框架更加成熟完备"
    >>> text = "前言很短。" + quote
    >>> spans = fingerprint_offsets(text, passage_fingerprints(quote, cfg), cfg).values()
    >>> all(text[a:b] in quote and b - a == cfg.passage_anchor_chars for a, b in spans)
    True
    """
    folded, where = fold_with_map(text)
    k = cfg.passage_anchor_chars
    if len(folded) < k or not prints:
        return {}
    np = _numpy()
    hashes = _gram_hashes(folded, k)
    wanted = np.fromiter(prints, dtype=np.uint32, count=len(prints))
    out: dict[int, tuple[int, int]] = {}
    for i in np.flatnonzero(np.isin(hashes, wanted)).tolist():
        out.setdefault(int(hashes[i]), (where[i], where[i + k - 1] + 1))
    return out


def _window_minima(values: Any, window: int) -> Any:
    """The minimum of every `window` consecutive values of a numpy array, in O(n).

    The values are cut into blocks of `window`; a window spans the end of one block and the
    start of the next, so its minimum is that of the block's suffix minimum and the next
    block's prefix minimum (van Herk/Gil-Werman), both running minima along the blocks.

    >>> import numpy as np
    >>> _window_minima(np.array([5, 3, 4, 1, 2, 6, 0], dtype=np.uint32), 3).tolist()
    [3, 1, 1, 1, 0]
    """
    np = _numpy()
    n = len(values)
    blocks = -(-n // window)
    padded = np.full(blocks * window, np.iinfo(values.dtype).max, dtype=values.dtype)
    padded[:n] = values
    grid = padded.reshape(blocks, window)
    prefix = np.minimum.accumulate(grid, axis=1).ravel()
    suffix = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(suffix[:n - window + 1], prefix[window - 1:n])


def passage_candidates(batch: Mapping[str, set[int]],
                       known: Mapping[str, set[int]] | None = None) -> list[tuple[str, str]]:
    """Pairs (batch handle, batch-or-known handle) that share a fingerprint: the only pairs
    `shared_passages` needs to look at. Sorted; pairs among `known` are not reported."""
    known = known or {}
    owners: dict[int, list[str]] = defaultdict(list)
    for handle, prints in known.items():
        for fp in prints:
            owners[fp].append(handle)
    pairs: set[tuple[str, str]] = set()
    for handle, prints in sorted(batch.items()):
        for fp in prints:
            for other in owners[fp]:
                if other == handle:
                    continue
                if other in known or handle < other:
                    pairs.add((handle, other))
                else:
                    pairs.add((other, handle))
            owners[fp].append(handle)
    return sorted(pairs)


def _maximal_runs(runs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Drop runs that lie inside a longer run on the same diagonal."""
    out: list[tuple[int, int, int]] = []
    for a, b, n in sorted(runs, key=lambda r: (r[0] - r[1], r[1], -r[2])):
        if out and out[-1][0] - out[-1][1] == a - b and b + n <= out[-1][1] + out[-1][2]:
            continue
        out.append((a, b, n))
    return out


def _continues(prev: tuple[int, int, int], run: tuple[int, int, int], max_gap: int) -> bool:
    gap_a = run[0] - (prev[0] + prev[2])
    gap_b = run[1] - (prev[1] + prev[2])
    return 0 <= gap_a <= max_gap and 0 <= gap_b <= max_gap


def _passage(group: list[tuple[int, int, int]], text_a: str, wa: Sequence[int], wb: Sequence[int],
             cfg: DedupConfig) -> list[SharedPassage]:
    if not group:
        return []
    matched = sum(n for _, _, n in group)
    if matched < cfg.min_shared_chars:
        return []
    a0, b0 = group[0][0], group[0][1]
    a1, b1 = group[-1][0] + group[-1][2], group[-1][1] + group[-1][2]
    # A run that starts on the previous sentence's "。" starts the passage one character later.
    while a0 < a1 - 1 and unicodedata.category(text_a[wa[a0]]).startswith("P"):
        a0, b0 = a0 + 1, b0 + 1
    start, end = wa[a0], wa[a1 - 1] + 1
    return [SharedPassage(start, end, wb[b0], wb[b1 - 1] + 1, matched, text_a[start:end])]


# ----------------------------------------------------------------------------------------------
# Canonical choice among copies of one document.


@functools.cache
def _official_suffixes() -> tuple[str, ...]:
    return data_terms("dedup_official_domains.txt")


def is_official(url: str | None) -> bool:
    """Whether `url` is on a government host (``data/dedup_official_domains.txt``).

    >>> is_official("https://www.hebei.gov.cn/a.html"), is_official("https://www.utechfun.com/x")
    (True, False)
    """
    if not url:
        return False
    host = (urlsplit(url if "//" in url else "//" + url).hostname or "").lower().rstrip(".")
    return any(host == s or host.endswith("." + s) for s in _official_suffixes())




@dataclass(frozen=True, slots=True)
class Candidate:
    id: str                         # the caller's handle (input id or record id)
    chars: int                      # length of the cleaned text
    published: str | None = None    # ISO 8601 publish time from the metadata
    official: bool = False          # `is_official` of its URL
    path: str = ""                  # last tie-break: the lexically first path, then id
    repairs: int = 0                # edits repair made to this copy (`is_repair`)


def choose_canonical(candidates: Sequence[Candidate], cfg: DedupConfig | None = None) -> Candidate:
    """The copy a group of duplicates points to.

    Policy, in order:
    1. the most complete text: every candidate within `completeness_tolerance` of the longest
       counts as complete (a mirror's extra chrome line must not beat the original);
    2. among those, the earliest publish time (unknown times last);
    3. then an official (government) source;
    4. then the copy repair touched least: of two copies of one page, the one that arrived
       intact (UTF-8) over the one rebuilt from mojibake, whose text may hold a guess;
    5. then the longest text, the lexically first path, the smallest id — so the choice is
       deterministic and never depends on input order.

    >>> choose_canonical([Candidate("mirror", 1000, "2021-07-17T09:00:00"),
    ...                   Candidate("gov", 995, "2021-07-16T17:09:56", official=True),
    ...                   Candidate("teaser", 300, "2021-07-15")]).id
    'gov'
    """
    if not candidates:
        raise CleaningError("choose_canonical needs at least one candidate")
    cfg = cfg if cfg is not None else DedupConfig()
    longest = max(c.chars for c in candidates)
    return min((c for c in candidates if is_complete(c.chars, longest, cfg)), key=canonical_rank)


def is_complete(chars: int, longest: int, cfg: DedupConfig) -> bool:
    """Step 1 of the canonical policy: a text within `completeness_tolerance` of the longest."""
    return chars >= (1 - cfg.completeness_tolerance) * longest


def canonical_rank(c: Candidate) -> tuple[bool, datetime, bool, int, int, str, str]:
    """Steps 2-5 of the canonical policy as a sort key (smallest wins): what lets a cluster of
    any size choose its canonical in one pass over its members (`choose_canonical` is
    ``min(complete members, key=canonical_rank)``)."""
    moment = instant(c.published)
    return (moment is None, moment or datetime.max, not c.official, c.repairs, -c.chars, c.path, c.id)


__all__ = [
    "DedupConfig", "holders_kept", "keep_hints", "is_repair",
    "within", "fold", "fold_with_map", "dedup_key", "record_id", "Signature",
    "signature", "Decision", "decide", "shingles", "minhash", "minhashes", "similarity",
    "jaccard", "band_keys", "NearDuplicate", "near_duplicates", "pack_signature",
    "unpack_signature", "SharedPassage", "shared_passages", "passage_fingerprints", "shingle_hashes",
    "fingerprint_offsets",
    "hashed_jaccard",
    "passage_candidates", "passage_spans", "Candidate", "choose_canonical",
    "is_complete", "canonical_rank", "TextFeatures", "text_features",
    "is_official", "signature_scheme",
    "KEY_VERSION", "STEP", "EXACT_STEP", "NEAR_STEP", "VERSION",
]
