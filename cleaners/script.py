"""convert (`script.convert`): one target script, the right words, the right punctuation.

Shape: cleaner ``(Document) -> Explained``. Line structure is kept.
First version (issue #2): a slot in the pipeline; issue #6 fills it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cleaners.model import Document, Explained

STEP = "script.convert"
VERSION = "0"
SCRIPTS = ("hans", "hant", "tw", "hk")


@dataclass(frozen=True)
class ConvertConfig:
    target: str = "hans"  # the archive's one script; DESIGN.md: Simplified unless asked


def convert(doc: Document, cfg: ConvertConfig) -> Explained:
    return Explained(text=doc.text)
