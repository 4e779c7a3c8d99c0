"""The pipeline's order, declared once (DESIGN.md "The pipeline").

decode → extract → repair → strip → convert → dedup. Lossless repairs run before anything
that deletes characters (a private-use character stripped too early makes GB18030 mojibake
unrecoverable: STYLE.md, gotcha 1). Short names are what the CLI's --until/--only take; dotted
names are what the trail, the stats and the dispositions say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cleaners import boilerplate, dedup, encoding, html, mojibake, script
from cleaners.model import CleaningError, Document, Explained, Rejected


@dataclass(frozen=True)
class Step:
    short: str                      # CLI name: "repair"
    name: str                       # dotted name used everywhere else: "mojibake.repair"
    version: str
    config: str                     # the PipelineConfig field holding this step's config
    fn: Callable[[Document, Any], Explained | Rejected]
    html_only: bool = False


STEPS: tuple[Step, ...] = (
    Step("decode", encoding.STEP, encoding.VERSION, "decode", encoding.decode),
    Step("extract", html.STEP, html.VERSION, "extract", html.extract, html_only=True),
    Step("repair", mojibake.STEP, mojibake.VERSION, "repair", mojibake.repair),
    Step("strip", boilerplate.STEP, boilerplate.VERSION, "strip", boilerplate.strip),
    Step("convert", script.STEP, script.VERSION, "convert", script.convert),
    Step("dedup", dedup.STEP, dedup.VERSION, "dedup", dedup.within),
)
STEP_NAMES: tuple[str, ...] = tuple(s.short for s in STEPS)


def select(until: str | None = None, only: str | None = None) -> tuple[Step, ...]:
    """The steps for `docclean clean --until STEP` / `--only STEP` (decode always runs)."""
    if until and only:
        raise CleaningError("give --until or --only, not both")
    name = until or only
    if name is None:
        return STEPS
    if name not in STEP_NAMES:
        raise CleaningError(f"unknown step {name!r}: steps are {', '.join(STEP_NAMES)}")
    index = STEP_NAMES.index(name)
    if until:
        return STEPS[: index + 1]
    return (STEPS[0],) if index == 0 else (STEPS[0], STEPS[index])
