"""boilerplate.strip on the five seeds (golden with/without lists) and on hand-made edge cases.

Golden files: tests/golden/strip/<seed>.json in trafilatura's format {file, with, without}
plus the `title` and `metadata` strip must find. Seed 004 is tested in both the form repair
hands over (pinyin annotations removed) and the raw form (repair skipped).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cleaners import runner
from cleaners.boilerplate import STEP, StripConfig, strip
from cleaners.config import PipelineConfig
from cleaners.model import Change, Document, Source
from cleaners.pipeline import STEPS

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
GOLDEN = sorted((ROOT / "tests" / "golden" / "strip").glob("*.json"))
# Flattened ruby annotations after a Han character (seed 004): what repair removes (issue #4).
ANNOTATION = re.compile(r"(?<=[\u3400-\u9fff])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")


def _doc(text: str, path: str = "test.txt", **kw: object) -> Document:
    return Document(Source.from_bytes(path, text.encode()), text=text, **kw)  # type: ignore[arg-type]


def _golden_cases() -> list[tuple[str, dict[str, object], bool]]:
    cases = []
    for path in GOLDEN:
        g = json.loads(path.read_text(encoding="utf-8"))
        cases.append((path.stem, g, True))
        if g.get("deannotate"):
            cases.append((path.stem + "-raw", g, False))
    return cases


@pytest.mark.parametrize("name,golden,repaired", _golden_cases(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_golden_seed(name: str, golden: dict, repaired: bool) -> None:
    text = (ROOT / golden["file"]).read_text(encoding="utf-8")
    if golden.get("deannotate") and repaired:
        text = ANNOTATION.sub("", text)
    result = strip(_doc(text, golden["file"]), StripConfig())
    out = result.text if repaired else ANNOTATION.sub("", result.text)
    missing = [w for w in golden["with"] if w not in out]
    assert not missing, f"body removed: {missing}"
    left = [w for w in golden["without"] if w in out]
    assert not left, f"junk kept: {left}"
    title = result.title if repaired or result.title is None else ANNOTATION.sub("", result.title)
    assert title == golden["title"]
    assert dict(result.metadata) == golden["metadata"]


def test_golden_covers_every_seed() -> None:
    assert {p.stem for p in GOLDEN} == {p.stem for p in SEEDS.glob("*.txt")}


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_nothing_removed_silently(seed: Path) -> None:
    """Every input line is in the output, or its removed text is in the trail with a rule."""
    text = seed.read_text(encoding="utf-8")
    result = strip(_doc(text, str(seed)), StripConfig())
    by_line: dict[int, list[Change]] = {}
    for change in result.changes:
        assert change.step == STEP and change.action == "remove"
        assert change.what.startswith("rule:") and change.why
        if change.what == "rule:blank_lines":
            continue
        assert re.fullmatch(r"line \d+", change.where), change.where
        assert change.detail["text"], change
        by_line.setdefault(int(change.where.split()[1]), []).append(change)
    out_lines = result.text.split("\n")
    cursor = 0
    for number, line in enumerate(text.split("\n"), start=1):
        changes = by_line.get(number, [])
        if not line.strip():
            continue
        if any("chars" not in c.detail for c in changes):
            assert [c.detail["text"] for c in changes] == [line]
            continue
        # Partial removals: put the removed spans back and get the input line.
        kept = out_lines.index(next(o for o in out_lines[cursor:] if o.strip()), cursor)
        rebuilt = out_lines[kept]
        for c in sorted(changes, key=lambda c: c.detail["chars"][0]):
            a, _ = c.detail["chars"]
            rebuilt = rebuilt[:a] + c.detail["text"] + rebuilt[a:]
        assert rebuilt == line
        cursor = kept + 1


def test_seed_003_trail_names_rules_and_keeps_text() -> None:
    text = (SEEDS / "003_b0ca51dcc5f98257.txt").read_text(encoding="utf-8")
    changes = {c.where: c for c in strip(_doc(text), StripConfig()).changes}
    assert changes["line 1"].what == "rule:breadcrumb"
    assert changes["line 5"].what == "rule:meta_line"
    assert changes["line 5"].detail["fields"] == {"published": "2022-06-24T14:37:00+08:00",
                                                  "publisher": "新華社"}
    assert changes["line 45"].what == "rule:editor_line"
    assert changes["line 47"].what == "rule:copyright"
    assert changes["line 49"].what == "rule:spam"
    assert "无码" in changes["line 49"].detail["terms"]


def test_blank_lines_stay_single_gaps() -> None:
    text = (SEEDS / "003_b0ca51dcc5f98257.txt").read_text(encoding="utf-8")
    out = strip(_doc(text), StripConfig()).text
    assert "\n\n\n" not in out and not out.startswith("\n") and not out.endswith("\n")
    assert out.startswith("藍圖已繪就 數字政府建設他們準備這么干!\n\n  新華社北京6月24日電")


# --- edge cases: what must stay -------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "資料來源:國家統計局,2023年數據經整理後發布。",         # a source note in prose
    "2023年4月12日",                                          # a signature date (seed 001 line 88)
    "河北省人民政府",                                         # a signature
    "他說:“這一切……都值得。”",                              # ellipsis in dialogue
    "記者調查發現,部分網站長期傳播無碼盜版視頻,公安機關已立案偵查。",  # news about spam words
    "版權保護是數字經濟的基礎,本條例所稱版權所有人是指……",    # copyright law in prose
    "地址:北京市西城區府右街2號",                              # an address, not a URL
])
def test_body_lines_stay(line: str) -> None:
    text = f"正文第一段,說明背景。\n{line}\n正文第二段,說明結論。"
    result = strip(_doc(text), StripConfig())
    assert result.text == text
    assert result.changes == ()


def test_single_teaser_is_left_for_dedup() -> None:
    text = "導讀 數字政府建設驅動數字經濟發展...\n正式標題\n數字政府建設驅動數字經濟發展和數字社會建設。"
    result = strip(_doc(text), StripConfig())
    assert result.text.split("\n")[0] == "數字政府建設驅動數字經濟發展..."
    assert [c.what for c in result.changes] == ["rule:lead_label"]


# --- edge cases: what must go, in either script and either punctuation width ----------------

def test_simplified_full_width_related_list() -> None:
    text = "正文一段，内容完整。\n相关推荐：\n· 某某新闻标题一\n· 某某新闻标题二\n责任编辑：王五"
    result = strip(_doc(text), StripConfig())
    assert result.text == "正文一段，内容完整。"
    assert result.metadata["editor"] == "王五"


def test_mixed_script_cta_and_icp() -> None:
    text = "正文一段,內容完整。\n關注公众號\n京ICP備12345678號-1"
    result = strip(_doc(text), StripConfig())
    assert result.text == "正文一段,內容完整。"
    assert [c.what for c in result.changes] == ["rule:cta", "rule:copyright"]


def test_inline_chrome_token_cut_from_text_line() -> None:
    text = "正文最後一段結束。【打印】【關閉】"
    result = strip(_doc(text), StripConfig())
    assert result.text == "正文最後一段結束。"
    assert {c.detail["text"] for c in result.changes} == {"【打印】", "【關閉】"}


def test_existing_title_and_metadata_are_not_overwritten() -> None:
    text = "標題:另一個標題\n地址:https://example.cn/a.html\n正文一段,內容完整。"
    doc = _doc(text, title="HTML 標題", metadata={"url": "https://canonical.cn/a"})
    result = strip(doc, StripConfig())
    assert result.title is None and "url" not in result.metadata
    assert result.text == "正文一段,內容完整。"


def test_thresholds_come_from_config() -> None:
    text = "正文一段,內容完整。\n甲新聞標題...\n乙新聞標題..."
    assert strip(_doc(text), StripConfig()).text == "正文一段,內容完整。"
    assert strip(_doc(text), StripConfig(min_teaser_run=3)).text == text


def test_in_pipeline_metadata_reaches_the_document() -> None:
    raw = (SEEDS / "003_b0ca51dcc5f98257.txt").read_bytes()
    doc = Document(Source.from_bytes("seeds/003_b0ca51dcc5f98257.txt", raw), raw=raw)
    steps = [s for s in STEPS if s.short in ("decode", "strip")]
    out = runner.run(doc, PipelineConfig(), steps=steps)
    assert isinstance(out, Document)
    assert out.metadata["published"] == "2022-06-24T14:37:00+08:00"
    assert out.metadata["publisher"] == "新華社"
    assert out.title == "藍圖已繪就 數字政府建設他們準備這么干!"
    assert "无码" not in out.text


def test_related_heading_before_a_body_of_short_lines_keeps_the_body() -> None:
    # Issue #14 class 7: a "相关文章" heading left above a blog post whose lines are short and
    # carry no "。" (headings, commands, code): the list rule took the whole post.
    body = [f"第{i}步 安装依赖并检查版本" if i % 2 else f"npm i package-{i} --save" for i in range(40)]
    text = "相关文章\n" + "\n".join(body)
    result = strip(_doc(text), StripConfig())
    assert result.text.split("\n") == body


def test_related_list_of_ordinary_length_still_goes() -> None:
    text = "正文一段，内容完整。\n相关文章\n" + "\n".join(f"某某新闻标题第{i}条" for i in range(10))
    assert strip(_doc(text), StripConfig()).text == "正文一段，内容完整。"
