"""The data that flows through docclean: one frozen `Document` and its provenance trail.

Every step takes a `Document` and returns a new one (never mutates), so a golden test can
compare before and after and a record can say exactly what each step did. The four step
shapes (STYLE.md §2):

- decode ``(Document with raw bytes) -> Explained``  the reader of bytes
- cleaner ``(Document) -> Explained``               a change to the text
- filter ``(Document) -> Explained | Rejected``     a document that must not go on
- dedup, in two phases: ``signature(doc)`` then ``decide(signatures)`` (``cleaners.dedup``)

`Explained` is what a step returns: the new text, the changes it made (each a `Change`: what,
where, why) and any metadata it found on the way. The runner (``cleaners.runner``) turns it
into the next `Document`, and completes the trail (issue #17): whatever the step changed of
the document is also recorded as typed changes a reader can replay, whatever the step said:

- ``Change(step, "edit", "text", where=Span(start, end), detail={"after": ...})``: characters
  start..end of the step's input text became `after` (`replay` applies them);
- ``Change(step, "set", "title" | "metadata.<key>" | "decoding.<key>", where=Field(name),
  detail={"before": ..., "after": ...})``: a field of the document changed.

`where` is a `Span` (characters of the step's input text), a `Field` (a named field), or, in
the explanations steps give beside those edits, a label a person reads ("line 12").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


def freeze(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    """A private copy, so a caller's later edits to its dict cannot reach a frozen object.

    (A plain dict, not a MappingProxyType: documents cross process boundaries by pickle.)
    """
    return dict(mapping or {})


@dataclass(frozen=True, slots=True)
class Span:
    """Characters `start`..`end` (end exclusive) of the step's input text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Field:
    """A named field of the document: "title", "metadata.<key>" or "decoding.<key>"."""

    name: str


Where = Span | Field | str


def where_json(where: Where) -> Any:
    """`where` as the record holds it: {"start", "end"}, {"field"}, or the label itself."""
    if isinstance(where, Span):
        return {"start": where.start, "end": where.end}
    if isinstance(where, Field):
        return {"field": where.name}
    return where


def where_label(where: Any) -> str:
    """`where` (typed, or as JSON) for a person: "chars 12-40", "title", "line 3".

    >>> where_label(Span(12, 40)), where_label({"field": "title"}), where_label("line 3")
    ('chars 12-40', 'title', 'line 3')
    """
    if isinstance(where, Span):
        where = where_json(where)
    if isinstance(where, Field):
        return where.name
    if isinstance(where, Mapping):
        if "field" in where:
            return str(where["field"])
        return f"chars {where.get('start')}-{where.get('end')}"
    return str(where or "")


@dataclass(frozen=True, slots=True)
class Change:
    """One thing a step changed (ftfy's ExplanationStep, widened to the whole pipeline).

    step    dotted step name, e.g. "mojibake.repair"
    action  "decode" | "apply" | "remove" | "convert" | "drop" | "flag" | "restore" | ...
    what    the rule, codec or table that acted, e.g. "rule:footer_copyright", "gb18030"
    where   a `Span` of the step's input text, a `Field`, or a label a person can find again
            ("line 12"; "" for all)
    why     one sentence a person can check
    detail  anything else worth keeping: removed text, before/after, counts, "lossy": True
    """

    step: str
    action: str
    what: str
    where: Where = ""
    why: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", freeze(self.detail))

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "what": self.what,
            "where": where_json(self.where),
            "why": self.why,
            **dict(self.detail),
        }

    def describe(self) -> str:
        """One line for a person (`docclean clean --explain`), from the structure."""
        return describe(self.to_json())


def describe(change: Mapping[str, Any], width: int = 60) -> str:
    """One line for a person from a change as JSON (a record's provenance `details` too).

    >>> describe({"action": "edit", "what": "text", "where": {"start": 3, "end": 5}, "after": "字"})
    "edit text [chars 3-5] -> '字'"
    >>> describe({"action": "remove", "what": "rule:copyright", "where": "line 9", "why": "notice"})
    'remove rule:copyright [line 9]: notice'
    """
    if change.get("action") == "set":       # its `what` is the field: no place to repeat
        return f"set {change.get('what')}: {change.get('before')!r} -> {change.get('after')!r}"
    line = f"{change.get('action')} {change.get('what')} [{where_label(change.get('where'))}]"
    if change.get("action") == "edit":
        after = str(change.get("after", ""))
        return line + " -> " + repr(after if len(after) <= width else after[:width] + "…")
    return line + (f": {change.get('why')}" if change.get("why") else "")


@dataclass(frozen=True, slots=True)
class Source:
    """The identity of the raw bytes a document came from."""

    path: str
    sha256: str
    size: int
    mtime: str | None = None  # ISO 8601, UTC

    @classmethod
    def from_bytes(cls, path: str, raw: bytes, mtime: str | None = None) -> Source:
        return cls(path=path, sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), mtime=mtime)


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One step as it ran on one document: `changes` is empty when the text did not change."""

    step: str
    version: str
    changed: bool
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """A document on its way through the pipeline.

    `raw` is the input exactly as received; `text` is empty until decode has run.
    `decoding` holds what decode found (codec, confidence, evidence...) and goes into the
    record's `sources` entry; `metadata` holds what the record's `metadata` field will hold.
    """

    source: Source
    raw: bytes = field(repr=False, default=b"")
    text: str = ""
    is_html: bool = False
    title: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    decoding: Mapping[str, Any] = field(default_factory=dict)
    trail: tuple[TrailEntry, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", freeze(self.metadata))
        object.__setattr__(self, "decoding", freeze(self.decoding))

    def evolve(self, **changes: Any) -> Document:
        return replace(self, **changes)

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(c for entry in self.trail for c in entry.changes)


@dataclass(frozen=True, slots=True)
class Explained:
    """What a step returns: the new text, what changed, and what it found on the way.

    `metadata` keys are merged into the document's metadata (a step never erases a value
    another step found: None values are ignored). `title` replaces the title when not None.
    `decoding` is merged into the document's decoding facts (decode and repair use it).
    """

    text: str
    changes: tuple[Change, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    title: str | None = None
    decoding: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", tuple(self.changes))
        object.__setattr__(self, "metadata", freeze(self.metadata))
        object.__setattr__(self, "decoding", freeze(self.decoding))


@dataclass(frozen=True, slots=True)
class Rejected:
    """A document that must not go on. `reason` is a snake_case constant (e.g. "binary_content")."""

    step: str
    reason: str
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", freeze(self.detail))


class CleaningError(Exception):
    """A configuration or programming error, with a message that says what to do about it."""
