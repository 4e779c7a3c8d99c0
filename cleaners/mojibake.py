"""repair (`mojibake.repair`): lossless repairs before anything deletes characters.

Shape: cleaner ``(Document) -> Explained``. Line structure is kept.
First version (issue #2): a slot in the pipeline; issue #4 fills it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cleaners.model import Document, Explained

STEP = "mojibake.repair"
VERSION = "0"


@dataclass(frozen=True)
class RepairConfig:
    pass


def repair(doc: Document, cfg: RepairConfig) -> Explained:
    return Explained(text=doc.text)
