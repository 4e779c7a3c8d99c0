"""strip (`boilerplate.strip`): site chrome, ads and spam out; metadata found on the way kept.

Shape: cleaner ``(Document) -> Explained``.
First version (issue #2): a slot in the pipeline; issue #5 fills it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cleaners.model import Document, Explained

STEP = "boilerplate.strip"
VERSION = "0"


@dataclass(frozen=True)
class StripConfig:
    pass


def strip(doc: Document, cfg: StripConfig) -> Explained:
    return Explained(text=doc.text)
