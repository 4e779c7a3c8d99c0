"""Apply an ordered list of named steps to a document, keeping its trail and per-step stats.

The runner, not the steps, decides what goes into the trail: a step's changes are recorded
only when the text actually changed (ftfy's `_try_fix` rule), except `flag` changes, which say
something is wrong that was deliberately left alone (a U+FFFD, a lost character) and are
always kept. Stats follow datatrove's shape and are mergeable across batches and processes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cleaners.config import PipelineConfig
from cleaners.model import Document, Explained, Rejected, TrailEntry
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


def apply(doc: Document, result: Explained, step: Step) -> Document:
    """The next document: new text, merged findings, and the step's trail entry."""
    changed = result.text != doc.text
    kept = result.changes if changed else tuple(c for c in result.changes if c.action == "flag")
    metadata = dict(doc.metadata)
    metadata.update({k: v for k, v in result.metadata.items() if v is not None})
    decoding = {**doc.decoding, **result.decoding}
    return doc.evolve(
        text=result.text,
        title=result.title if result.title is not None else doc.title,
        metadata=metadata,
        decoding=decoding,
        trail=(*doc.trail, TrailEntry(step.name, step.version, changed, kept)),
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
        doc = apply(doc, result, step)
    return doc
