"""SEO keyword-stuffing detection for `boilerplate.strip` (rule:spam).

Not a step of its own: `cleaners.boilerplate` calls `spam_verdict` on each line. Seed 003 ends
with a block of pornographic search keywords separated by "|" that a hacked page appended
after its copyright line; such blocks are recognised by shape (many short "|"-separated
segments) together with a flagged-word lexicon, or, without separators, by the density of
strong flagged terms. Both lexicons are data files (`cleaners/data/spam_terms.txt`,
`spam_weak_terms.txt`), folded to Simplified like the text (`textutil.view_fold`), so a
Traditional or mixed-script copy is caught by the same terms.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache

from cleaners.textutil import data_terms, view_fold

logger = logging.getLogger(__name__)

# "|" and the full-width "｜" are folded to "|" by textutil.view_fold; "丨" (a CJK stroke that
# sites use as a separator) is not, so it is listed here.
_SEPARATORS = re.compile(r"[|丨]")


@dataclass(frozen=True)
class SpamVerdict:
    """Why a line is spam: the evidence a person can check in the trail."""

    segments: int           # "|"-separated segments on the line (1 when none)
    flagged_segments: int   # segments with a strong term or at least two weak terms
    strong_hits: int        # occurrences of strong terms on the whole line
    density: float          # share of the line's characters covered by strong terms
    terms: tuple[str, ...]  # distinct strong terms found (folded form), for the trail


@cache
def _lexicons() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The strong and weak term patterns, longest first, built once."""
    strong = sorted({view_fold(t) for t in data_terms("spam_terms.txt")}, key=len, reverse=True)
    weak = sorted({view_fold(t) for t in data_terms("spam_weak_terms.txt")}, key=len, reverse=True)
    logger.debug("spam lexicons: %s strong, %s weak terms", len(strong), len(weak))
    return (re.compile("|".join(map(re.escape, strong))),
            re.compile("|".join(map(re.escape, weak))))


def spam_verdict(view: str, min_segments: int, min_flagged_share: float,
                 min_density: float, min_strong_hits: int,
                 weak_per_segment: int) -> SpamVerdict | None:
    """A verdict when the folded, lower-cased line `view` is keyword spam, else None.

    >>> spam_verdict("免费人妻无码不卡| 东京热无码av一区二区| 日韩中文字幕电影| 精品少妇无码AV".lower(),
    ...              4, 0.5, 0.3, 3, 2).flagged_segments
    4
    >>> spam_verdict("国务院印发《关于加强数字政府建设的指导意见》。", 4, 0.5, 0.3, 3, 2) is None
    True
    """
    strong_re, weak_re = _lexicons()
    separated = _SEPARATORS.search(view) is not None
    if not separated and strong_re.search(view) is None:
        return None     # the common case: prose with no flagged term and no separator
    hits = strong_re.findall(view)
    parts = [p for p in _SEPARATORS.split(view) if p.strip()]
    if len(parts) >= min_segments:
        flagged = sum(1 for p in parts
                      if strong_re.search(p) or len(weak_re.findall(p)) >= weak_per_segment)
        if flagged / len(parts) >= min_flagged_share:
            return SpamVerdict(len(parts), flagged, len(hits),
                               sum(map(len, hits)) / max(1, len(view)), tuple(sorted(set(hits))))
    if len(hits) >= min_strong_hits:
        density = sum(map(len, hits)) / max(1, len(view))
        if density >= min_density:
            return SpamVerdict(len(parts), 0, len(hits), density, tuple(sorted(set(hits))))
    return None
