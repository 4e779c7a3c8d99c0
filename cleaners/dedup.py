"""dedup: repeated text inside a document, and one record per document across inputs.

Two shapes live here (STYLE.md §2):
- within a document (`dedup.within`), a cleaner ``(Document) -> Explained``;
- across documents (`dedup.exact`), two phases: ``signature(doc)`` computes the key of a
  cleaned document, ``decide(signatures, known)`` groups inputs by key with a deterministic
  keep policy. The archive calls ``decide`` with the keys it already holds, so a repeat from
  an earlier night becomes a sighting, not a new record.

First version (issue #2): within-document is a slot; exact dedup is by sha256 of the cleaned
text with whitespace normalised. Issue #7 widens the key (script, width) and adds MinHash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cleaners.model import Document, Explained

STEP = "dedup.within"
EXACT_STEP = "dedup.exact"
VERSION = "0"

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DedupConfig:
    pass


def within(doc: Document, cfg: DedupConfig) -> Explained:
    return Explained(text=doc.text)


def dedup_key(text: str) -> str:
    """The exact-duplicate key of a cleaned text: sha256 over its non-space characters.

    >>> dedup_key("数字 政府\\n") == dedup_key("数字政府")
    True
    """
    return hashlib.sha256(_SPACE.sub("", text).encode("utf-8")).hexdigest()


def record_id(key: str) -> str:
    """ASCII, stable, content-derived: the same cleaned text always gets the same id."""
    return "doc-" + key[:24]


@dataclass(frozen=True, slots=True)
class Signature:
    input_id: str          # the caller's handle for the input (its index in the batch)
    key: str               # dedup_key of the cleaned text
    chars: int             # length of the cleaned text: the keep policy prefers the fullest
    path: str              # tie-break, so the choice never depends on input order


def signature(input_id: str, doc: Document) -> Signature:
    return Signature(input_id, dedup_key(doc.text), len(doc.text), doc.source.path)


@dataclass(frozen=True, slots=True)
class Decision:
    input_id: str
    record_id: str
    kept: bool                    # this input's document becomes the record
    duplicate_of: str | None      # another input of this batch, when not kept
    known: bool                   # the record is already in the archive


def decide(signatures: Iterable[Signature], known: Mapping[str, str]) -> list[Decision]:
    """Group inputs by key; keep one per group; `known` maps key → record id already archived.

    Keep policy (deterministic, like datatrove's document_priority): the longest text, then
    the lexically first path.
    """
    groups: dict[str, list[Signature]] = {}
    for sig in signatures:
        groups.setdefault(sig.key, []).append(sig)
    out: list[Decision] = []
    for key, members in groups.items():
        members.sort(key=lambda s: (-s.chars, s.path, s.input_id))
        keeper = members[0]
        rid = known.get(key, record_id(key))
        is_known = key in known
        for sig in members:
            kept = sig is keeper and not is_known
            out.append(Decision(sig.input_id, rid, kept,
                                None if sig is keeper else keeper.input_id, is_known))
    return out
