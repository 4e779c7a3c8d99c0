"""`cleaners.spam`: SEO keyword-stuffing lines, judged on the folded view strip sees (issue #5,
seed 003's "|" block). Thresholds are StripConfig's defaults, so a change there shows here."""

from __future__ import annotations

from pathlib import Path

import pytest

from cleaners.boilerplate import StripConfig
from cleaners.spam import spam_verdict
from cleaners.textutil import view_fold

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
CFG = StripConfig()


def verdict(line: str):
    return spam_verdict(view_fold(line), CFG.spam_min_segments, CFG.spam_min_flagged_share,
                        CFG.spam_min_density, CFG.spam_min_strong_hits, CFG.spam_weak_per_segment)


def _seed_line(prefix: str, number: int) -> str:
    (path,) = SEEDS.glob(f"{prefix}*.txt")
    return path.read_text(encoding="utf-8").splitlines()[number - 1]


def test_seed_003_keyword_block_is_spam_with_its_evidence() -> None:
    line = _seed_line("003", 49)
    found = verdict(line)
    assert found is not None
    assert found.segments >= CFG.spam_min_segments
    assert found.flagged_segments / found.segments >= CFG.spam_min_flagged_share
    assert found.terms and all(term in view_fold(line) for term in found.terms)


def test_a_traditional_copy_of_the_block_is_caught_by_the_same_terms() -> None:
    from cleaners.textutil import convert

    line = _seed_line("003", 49)
    traditional = convert(line, "s2t.json")
    assert traditional != line
    simplified, converted = verdict(line), verdict(traditional)
    assert simplified is not None and converted is not None
    assert converted.flagged_segments == simplified.flagged_segments


def test_dense_strong_terms_without_separators_are_spam() -> None:
    found = verdict("无码av无码av东京热无码av")
    assert found is not None
    assert found.flagged_segments == 0 and found.strong_hits >= CFG.spam_min_strong_hits
    assert found.density >= CFG.spam_min_density


@pytest.mark.parametrize("line", [
    "国务院印发《关于加强数字政府建设的指导意见》。",
    # separators alone are navigation, not spam
    "首页 | 新闻 | 政策 | 解读 | 互动 | 服务",
    # a news sentence that names one flagged word is prose, not keyword stuffing
    "記者調查發現,部分網站長期傳播無碼盜版視頻,公安機關已立案偵查。",
    "",
])
def test_prose_and_navigation_are_not_spam(line: str) -> None:
    assert verdict(line) is None


def test_fewer_segments_than_the_minimum_are_judged_by_density_only() -> None:
    # two segments (under spam_min_segments): dense strong terms still make it spam ...
    dense = verdict("东京热无码av一区二区| 日韩中文字幕电影")
    assert dense is not None and dense.segments == 2 and dense.flagged_segments == 0
    # ... the same terms diluted in a long line of prose do not
    prose = ("报道称，东京热无码av一区二区等关键词被黑客批量植入政府网站页面底部，"
             + "相关部门已经责令整改并追查责任人。" * 3)
    assert verdict(prose + "| 日韩中文字幕电影") is None
