"""Apply an ordered list of named steps to a document, keeping its trail and per-step stats.

The runner, not the steps, decides what goes into the trail: a step's changes are recorded
only when the document actually changed (ftfy's `_try_fix` rule, widened from the text to the
title, metadata and decoding facts), except `flag` changes, which say something is wrong that
was deliberately left alone (a U+FFFD, a lost character) and are always kept.

The trail is complete and replayable (issue #17): beside what the step says, the runner
records what it did to the document, measured, not told: each differing stretch of text as
an `edit` of a `Span` of the step's input (a line diff, each hunk trimmed to the characters
that differ) and each field that changed as a `set` of a `Field`. `replay(input, changes)`
gives the step's output text; `replay_fields` its title, metadata and decoding. decode is the
exception: its input is bytes, not text; its output is the raw bytes read with the codec its
`decoding` facts name, so its text is not copied into the trail.

Stats follow datatrove's shape and are mergeable across batches and processes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from cleaners.config import PipelineConfig
from cleaners.model import Change, Document, Explained, Field, Rejected, Span, TrailEntry
from cleaners.pipeline import STEPS, Step


@dataclass
class StepStats:
    total: int = 0
    changed: int = 0
    forwarded: int = 0
    dropped: int = 0
    dropped_by_reason: Counter[str] = field(default_factory=Counter)
    chars_in: int = 0
    chars_out: int = 0
    chars_removed: int = 0
    bytes_in: int = 0
    seconds: float = 0.0

    def merge(self, other: StepStats) -> None:
        for name in ("total", "changed", "forwarded", "dropped", "chars_in", "chars_out",
                     "chars_removed", "bytes_in", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dropped_by_reason.update(other.dropped_by_reason)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "total": self.total, "changed": self.changed, "forwarded": self.forwarded,
            "dropped": self.dropped, "chars_in": self.chars_in, "chars_out": self.chars_out,
            "chars_removed": self.chars_removed, "bytes_in": self.bytes_in,
            "seconds": round(self.seconds, 4),
        }
        out.update({f"dropped_{k}": v for k, v in sorted(self.dropped_by_reason.items())})
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepStats:
        stats = cls(**{k: data[k] for k in ("total", "changed", "forwarded", "dropped", "chars_in",
                                            "chars_out", "chars_removed", "bytes_in", "seconds")})
        for key, value in data.items():
            if key.startswith("dropped_") and key not in ("dropped_by_reason",):
                stats.dropped_by_reason[key.removeprefix("dropped_")] = value
        return stats


class Stats(dict[str, StepStats]):
    """Per-step stats keyed by dotted step name, in pipeline order."""

    def merge(self, other: Stats) -> None:
        for name, step_stats in other.items():
            self.setdefault(name, StepStats()).merge(step_stats)

    def to_json(self) -> dict[str, Any]:
        return {name: s.to_json() for name, s in self.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stats:
        return cls({name: StepStats.from_json(v) for name, v in data.items()})


def text_edits(old: str, new: str, max_edits: int | None = None) -> list[tuple[int, int, str]]:
    r"""Edits (start, end, after) of `old` that give `new`: a line diff, each hunk trimmed to
    the characters that differ. Exact whatever the diff finds. More than `max_edits` hunks
    become one edit from the first to the last (a hostile input cannot make the trail grow
    without bound: `LimitsConfig.max_trail_changes`).

    >>> text_edits("甲\n乙\n丙\n", "甲\n乙乙\n丙\n")
    [(3, 3, '乙')]
    >>> text_edits("a\nb\nc", "a\nc")
    [(2, 4, '')]
    """
    if old == new:
        return []
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    out = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b).get_opcodes():
        if tag == "equal":
            continue
        start, end, after = starts[i1], starts[i2], "".join(b[j1:j2])
        before = old[start:end]
        head = 0
        while head < min(len(before), len(after)) and before[head] == after[head]:
            head += 1
        tail = 0
        while (tail < min(len(before), len(after)) - head
               and before[len(before) - 1 - tail] == after[len(after) - 1 - tail]):
            tail += 1
        out.append((start + head, end - tail, after[head:len(after) - tail]))
    if max_edits is not None and len(out) > max_edits:
        first, last = out[0][0], out[-1][1]
        return [(first, last, replay_edits(old, out)[first:len(new) - (len(old) - last)])]
    return out


def replay_edits(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """`text` with each (start, end, after) applied; spans are in `text`, not overlapping."""
    out, pos = [], 0
    for start, end, after in sorted(edits, key=lambda e: (e[0], e[1])):
        out += [text[pos:start], after]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _edit_of(change: Mapping[str, Any]) -> tuple[int, int, str] | None:
    """A change as JSON (a record's `details`) as an edit, or None when it is not one."""
    where = change.get("where")
    if change.get("action") != "edit" or not isinstance(where, Mapping) or "start" not in where:
        return None
    return int(where["start"]), int(where["end"]), str(change.get("after", ""))


def replay(text: str, changes: Iterable[Change | Mapping[str, Any]]) -> str:
    """The step's output text from its input `text` and its recorded changes (typed, or as a
    record's JSON): every `edit` applied, everything else (explanations) only read."""
    edits = []
    for c in changes:
        edit = _edit_of(c.to_json() if isinstance(c, Change) else c)
        if edit is not None:
            edits.append(edit)
    return replay_edits(text, edits)


def replay_fields(title: str | None, metadata: Mapping[str, Any], decoding: Mapping[str, Any],
                  changes: Iterable[Change | Mapping[str, Any]]
                  ) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """The step's output title, metadata and decoding facts from its input's and its `set`s."""
    meta, dec = dict(metadata), dict(decoding)
    for c in changes:
        data = c.to_json() if isinstance(c, Change) else c
        where = data.get("where")
        if data.get("action") != "set" or not isinstance(where, Mapping) or "field" not in where:
            continue
        name = str(where["field"])
        if name == "title":
            title = data["after"]
        elif name.startswith("metadata."):
            meta[name.removeprefix("metadata.")] = data["after"]
        elif name.startswith("decoding."):
            dec[name.removeprefix("decoding.")] = data["after"]
    return title, meta, dec


def _field_changes(step: str, doc: Document, title: str | None, metadata: Mapping[str, Any],
                   decoding: Mapping[str, Any]) -> list[Change]:
    out = []
    if title != doc.title:
        out.append(Change(step, "set", "title", Field("title"), "", {"before": doc.title, "after": title}))
    for prefix, old, new in (("metadata", doc.metadata, metadata), ("decoding", doc.decoding, decoding)):
        for key in sorted(k for k in new if k not in old or old[k] != new[k]):
            name = f"{prefix}.{key}"
            out.append(Change(step, "set", name, Field(name), "", {"before": old.get(key), "after": new[key]}))
    return out


def apply(doc: Document, result: Explained, step: Step, max_edits: int | None = None) -> Document:
    """The next document: new text, merged findings, and the step's trail entry (what the step
    said, then what it did: the fields it set and, but for decode, the edits of the text)."""
    metadata = dict(doc.metadata)
    metadata.update({k: v for k, v in result.metadata.items() if v is not None})
    decoding = {**doc.decoding, **result.decoding}
    title = result.title if result.title is not None else doc.title
    did = _field_changes(step.name, doc, title, metadata, decoding)
    if step.short != "decode":      # decode's text is its bytes read with `decoding.encoding`
        did += [Change(step.name, "edit", "text", Span(start, end), "", {"after": after})
                for start, end, after in text_edits(doc.text, result.text, max_edits)]
    changed = result.text != doc.text or bool(did)
    kept = result.changes if changed else tuple(c for c in result.changes if c.action == "flag")
    return doc.evolve(
        text=result.text,
        title=title,
        metadata=metadata,
        decoding=decoding,
        trail=(*doc.trail, TrailEntry(step.name, step.version, changed, (*kept, *did))),
    )


def run(doc: Document, cfg: PipelineConfig, stats: Stats | None = None,
        steps: Iterable[Step] = STEPS) -> Document | Rejected:
    """Run `steps` over `doc`; a `Rejected` ends the run for this document."""
    stats = stats if stats is not None else Stats()
    for step in steps:
        step_stats = stats.setdefault(step.name, StepStats())
        if step.html_only and not doc.is_html:
            continue
        start = time.perf_counter()
        result = step.fn(doc, getattr(cfg, step.config))
        step_stats.seconds += time.perf_counter() - start
        step_stats.total += 1
        step_stats.chars_in += len(doc.text)
        step_stats.bytes_in += doc.source.size if step.short == "decode" else 0
        if isinstance(result, Rejected):
            step_stats.dropped += 1
            step_stats.dropped_by_reason[result.reason] += 1
            return result
        step_stats.forwarded += 1
        step_stats.chars_out += len(result.text)
        if result.text != doc.text:
            step_stats.changed += 1
            step_stats.chars_removed += max(0, len(doc.text) - len(result.text))
        doc = apply(doc, result, step, cfg.limits.max_trail_changes)
    return doc
