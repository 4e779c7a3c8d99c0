"""extract (`html.extract`, HTML only): the main text of a page, its title, URL and dates.

Shape: cleaner ``(Document) -> Explained``. Plain-text documents pass through unchanged.
First version (issue #2): a slot in the pipeline; issue #5 fills it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cleaners.model import Document, Explained

STEP = "html.extract"
VERSION = "0"


@dataclass(frozen=True)
class ExtractConfig:
    pass


def extract(doc: Document, cfg: ExtractConfig) -> Explained:
    return Explained(text=doc.text)
