"""script.convert (issue #6): one target script, the right words, the right punctuation.

Real inputs: the five seeds, OpenCC itself, and short sentences written for the purpose.
The trail is replayed line by line, so every change the step makes is shown to be recorded.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import inspect
import json
import logging
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from archive import startup
from archive.startup import load_config
from cleaners import pipeline, runner, script
from cleaners.encoding import _hanzi_table
from cleaners.model import Change, CleaningError, Document, Source
from cleaners.script import ConvertConfig, convert, fix_punctuation_line, to_script

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt"))
SEED_001 = SEEDS / "001_a7d205057cfc02ba.txt"


def seed(name: str) -> str:
    return next(p for p in SEED_FILES if p.name.startswith(name)).read_text(encoding="utf-8")


def doc(text: str) -> Document:
    return Document(Source("test", "0", len(text.encode("utf-8"))), text=text)


def run(text: str, target: str = "hans", **cfg: Any) -> tuple[str, tuple[Change, ...]]:
    result = convert(doc(text), ConvertConfig(target=target, **cfg))
    return result.text, result.changes


def of(changes: tuple[Change, ...], prefix: str, action: str | None = None) -> list[Change]:
    return [c for c in changes if c.what.startswith(prefix) and action in (None, c.action)]


# --- the official binding -------------------------------------------------------------------


def test_opencc_module_is_the_official_binding() -> None:
    """Fails when `opencc-python-reimplemented` has replaced the official module (both install
    a module named `opencc`; issue #6). Three independent signs, any one of which the
    reimplementation (0.1.7) fails."""
    import opencc

    # 1. The official module reports its version, and it is that of the `opencc` distribution
    #    (the reimplementation has no __version__ and its distribution has another name).
    assert opencc.__version__ == importlib.metadata.version("opencc")
    # 2. Its converter is a compiled C++ class (pybind11); the reimplementation is pure Python.
    compiled = [
        base for base in inspect.getmro(opencc.OpenCC)[1:]
        if base.__module__ in sys.modules
        and str(getattr(sys.modules[base.__module__], "__file__", "")).endswith(
            tuple(importlib.machinery.EXTENSION_SUFFIXES))
    ]
    assert compiled, f"opencc.OpenCC has no compiled base: {inspect.getmro(opencc.OpenCC)}"
    # 3. Current dictionaries: the reimplementation turns 发育 into 髮育 (OpenCC case_014).
    assert to_script("高剂量的苦瓜素还会抑制胚胎发育", "hant") == "高劑量的苦瓜素還會抑制胚胎發育"
    assert script.opencc_version() == opencc.__version__


def test_converters_are_built_once_per_config() -> None:
    assert script.converter("t2s.json") is script.converter("t2s.json")
    assert script.converter("t2s.json") is not script.converter("s2t.json")


@pytest.mark.parametrize("target, config", sorted(script.OPENCC_CONFIGS.items()))
def test_every_change_records_opencc_version_and_config(target: str, config: str) -> None:
    _, changes = run(SEED_001.read_text(encoding="utf-8"), target)
    assert changes
    for change in changes:
        assert change.step == script.STEP
        assert change.detail["opencc"] == script.opencc_version()
        assert change.detail["config"] == config
        assert change.where, change


def test_unknown_target_is_a_configuration_error() -> None:
    with pytest.raises(CleaningError, match="unknown script 'zh'"):
        run("中文", "zh")


# --- the exact fast path for s2tw and s2hk ------------------------------------------------

FAST_CONFIGS = [script.opencc_config(t) for t in script.VARIANT_TARGETS]


def variants_data() -> dict[str, Any]:
    path = Path(script.__file__).parent / "data" / script.VARIANTS_FILE
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def common_hanzi(n: int) -> list[str]:
    """The `n` most frequent characters of the decode step's table (its file order)."""
    return list(_hanzi_table())[:n]


def test_fast_path_runs_with_the_pinned_opencc() -> None:
    """The table was made from the pinned OpenCC's files: after an upgrade this fails until
    scripts/make_opencc_variants.py has been run again (the output would stay right, the
    speed would not)."""
    assert variants_data()["opencc"] == script.opencc_version()
    for config in FAST_CONFIGS:
        assert script.variants_path(config) is not None, config
    assert script.variants_path("t2s.json") is None and script.variants_path("s2t.json") is None


@pytest.mark.parametrize("config", FAST_CONFIGS)
def test_fast_path_gives_the_official_output(config: str) -> None:
    """Every character the table changes and every exception phrase, in both scripts, next to
    common characters on either side, plus the seeds: the same output as the official config,
    and the fast path really taken wherever no exception phrase occurs."""
    entry = next(e for e in variants_data()["targets"].values() if e["config"] == config)
    fast = script.variants_path(config)
    official = script.converter(config)
    assert fast is not None
    keys = list(entry["characters"]) + list(entry["exceptions"])
    forms = sorted({form for key in keys for form in (key, to_script(key, "hans"))})
    texts = [c + form for form in forms for c in common_hanzi(40)]
    texts += [form + c for form in forms for c in common_hanzi(40)]
    texts += [p.read_text(encoding="utf-8") for p in SEED_FILES]
    texts += [to_script(p.read_text(encoding="utf-8"), "hans") for p in SEED_FILES]
    taken = 0
    for text in texts:
        expected = str(official.convert(text))
        assert script.opencc_convert(text, config) == expected, text
        out = fast.convert(text)
        if out is not None:
            assert out == expected, text
            taken += 1
    # Exception phrases in the Simplified form may convert to something else; the characters
    # alone always take the fast path.
    assert taken >= 2 * 40 * len(entry["characters"]) + 2 * len(SEED_FILES), taken


@pytest.mark.parametrize("config, text", [("s2tw.json", "他的名字叫林國樑"),
                                          ("s2hk.json", "沿天文臺道步行至尖沙咀")])
def test_an_exception_phrase_sends_the_text_to_the_official_converter(config: str, text: str) -> None:
    fast = script.variants_path(config)
    assert fast is not None and fast.convert(text) is None
    official = str(script.converter(config).convert(text))
    assert script.opencc_convert(text, config) == official
    # What the shortcut would have written differs: the fall-back is needed, not cautious.
    stage_one = str(script.converter(fast.stage_one).convert(text))
    assert "".join(fast.table.get(c, c) for c in stage_one) != official


def test_fast_path_is_off_when_an_opencc_file_differs(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    share = startup.opencc_share_dir()
    assert share is not None
    data = variants_data()
    assert script.load_variants_path("s2tw.json", data, startup.opencc_file_digests(share)) is not None
    copy = tmp_path / "opencc"
    shutil.copytree(share, copy)
    with (copy / "TWVariants.ocd2").open("ab") as fh:
        fh.write(b"\0")
    with caplog.at_level(logging.WARNING, logger="cleaners.script"):
        assert script.load_variants_path("s2tw.json", data, startup.opencc_file_digests(copy)) is None
    assert "TWVariants.ocd2" in caplog.text and "make_opencc_variants.py" in caplog.text
    (copy / "s2hk.json").unlink()
    assert script.load_variants_path("s2hk.json", data, startup.opencc_file_digests(copy)) is None
    assert script.load_variants_path("s2tw.json", data, startup.opencc_file_digests(None)) is None


# --- script ---------------------------------------------------------------------------------


def test_mixed_seed_000_comes_out_in_one_script() -> None:
    text = seed("000")  # Traditional with 开, 战, 线, 准 mixed in
    hans, _ = run(text, "hans")
    assert "开放透明" in hans and "數字" not in hans
    for target in ("hant", "tw", "hk"):
        out, changes = run(text, target)
        assert not set("开战线准") & set(out), target  # s2t family: the stray Simplified go too
        assert "開放透明" in out and "重大戰略" in out and "線上線下" in out
        pairs = of(changes, "opencc:")[0].detail["sample_pairs"]
        assert pairs.get("开→開") and pairs.get("战→戰")


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name[:3])
def test_simplified_output_has_nothing_left_for_t2s(path: Path) -> None:
    out, _ = run(path.read_text(encoding="utf-8"), "hans")
    assert to_script(out, "hans") == out


# --- the trail replays, line by line ----------------------------------------------------------


def replay(text: str, target: str, changes: tuple[Change, ...]) -> list[str]:
    """The step's output rebuilt from its input, OpenCC and the trail alone."""
    lines = to_script(text, target).split("\n")
    before = text.split("\n")
    touched = {n for c in of(changes, "opencc:") for n in ranges(c.where)}
    assert {n for n, (a, b) in enumerate(zip(before, lines, strict=True), 1) if a != b} == touched
    text = "\n".join(lines)
    edits = sorted((at, c.detail["from"], c.detail["to"])
                   for c in of(changes, "phrase:", "replace") for at in c.detail["offsets"])
    for c in of(changes, "phrase:", "replace"):
        assert c.detail["count"] == len(c.detail["offsets"])
        assert {text.count("\n", 0, at) + 1 for at in c.detail["offsets"]} == set(ranges(c.where))
    for at, old, new in reversed(edits):  # offsets in the text the pass received
        assert text[at:at + len(old)] == old, (at, old)
        text = text[:at] + new + text[at + len(old):]
    for c in of(changes, "punctuation:", "replace"):
        spaces = c.detail["spaces_dropped"]
        assert c.detail["count"] == len(c.detail["offsets"])
        touched = {text.count("\n", 0, at) + 1 for at in c.detail["offsets"]}
        assert touched == set(ranges(c.where))
        for at in sorted(c.detail["offsets"], reverse=True):
            gap = spaces.get(str(at), 0)
            assert text[at] in script.FULL_WIDTH and text[at + 1:at + 1 + gap].strip(" \t") == ""
            text = text[:at] + script.FULL_WIDTH[text[at]] + text[at + 1 + gap:]
    return text.split("\n")


def ranges(where: str) -> list[int]:
    numbers: list[int] = []
    for part in where.removeprefix("lines ").split(", "):
        first, _, last = part.partition("-")
        numbers += range(int(first), int(last or first) + 1)
    return numbers


@pytest.mark.parametrize("target", script.SCRIPTS)
@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name[:3])
def test_seed_lines_before_and_after(path: Path, target: str) -> None:
    text = path.read_text(encoding="utf-8")
    out, changes = run(text, target)
    assert out.count("\n") == text.count("\n")  # line structure kept exactly
    assert replay(text, target, changes) == out.split("\n")


# --- regional vocabulary: seed 001 -------------------------------------------------------------

# Every term of issues #6 and #22 in seed 001: Taiwan phrasing (in Simplified, as after t2s),
# the mainland word, and how often the seed has it. The last three come from OpenCC's own
# Taiwan phrase table (issue #22: 人工智慧 and 软硬体 were left before).
SEED_001_TERMS = [
    ("套用", "应用", 37),
    ("巨观", "宏观", 5),
    ("最佳化", "优化", 8),
    ("回响", "响应", 3),
    ("数位", "数字", 31),
    ("智慧型化", "智能化", 11),
    ("智慧型", "智能", 10),
    ("资料库", "数据库", 25),
    ("网际网路", "互联网", 4),
    ("网路", "网络", 12),
    ("程式", "程序", 1),
    ("频宽", "带宽", 1),
    ("连线", "连接", 1),
    ("契约", "合同", 1),
    ("政策档案", "政策文件", 2),
    ("档案要求", "文件要求", 1),
    ("人工智慧", "人工智能", 2),
    ("硬体", "硬件", 1),
    ("联络", "联系", 1),
    ("储存", "存储", 1),
]


def test_seed_001_gets_its_mainland_phrasing_back() -> None:
    text = SEED_001.read_text(encoding="utf-8")
    out, changes = run(text, "hans")
    converted = to_script(text, "hans")
    replaced = {c.detail["from"]: c for c in of(changes, "phrase:", "replace")}
    assert {k: (c.detail["to"], c.detail["count"]) for k, c in replaced.items()} == {
        taiwan: (mainland, count) for taiwan, mainland, count in SEED_001_TERMS}
    for taiwan, mainland, _count in SEED_001_TERMS:
        assert taiwan not in out, taiwan
        assert out.count(mainland) >= converted.count(mainland) + replaced[taiwan].detail["count"] - sum(
            converted.count(t) for t, m, _ in SEED_001_TERMS if t != taiwan and mainland in t)
    assert len(ranges(replaced["套用"].where)) == 23  # issue #6
    lines = out.split("\n")
    assert "政策文件数据库" in lines[56] and "国家文件要求" in lines[96]
    assert "构建数字化、智能化的政府运行新形态" in lines[19]
    assert "智能精准" in lines[22] and "宏观经济发展基础数据库" in lines[25]
    # genuine 档案 (archives) stays: credit files, electronic records, the archives bureau
    assert "信用档案" in lines[30] and "电子档案管理制度" in lines[68] and "省档案局" in lines[68]
    assert "数字档案馆" in lines[68]
    # issue #22: no Taiwan vocabulary left, 人工智慧 and 软硬体 included; the mainland's own
    # 智慧 (智慧监管, 智慧社区), 线上线下 and 政民互动 stay
    assert "人工智慧" not in out and "软硬体" not in out and "软硬件" in out
    assert "智慧监管" in out and "智慧社区" in out and "线上线下" in out and "政民互动" in out


def test_seed_001_reversed_for_traditional_targets_too() -> None:
    text = SEED_001.read_text(encoding="utf-8")
    for target in ("hant", "tw", "hk"):
        out, _ = run(text, target)
        assert "套用" not in out and "資料庫" not in out and "數位" not in out
        assert "廣泛應用於政府科學決策" in out and "政策文件數據庫" in out


def test_signature_evidence_is_recorded() -> None:
    _, changes = run(SEED_001.read_text(encoding="utf-8"))
    detail = of(changes, "phrase:套用")[0].detail
    assert len(detail["signature_terms"]) >= ConvertConfig().min_signature_terms
    # the search stops once it has enough distinct markers: each is mainland-only vocabulary
    # that the converted seed really contains
    markers = detail["mainland_markers"]
    assert len(set(markers)) == ConvertConfig().min_mainland_markers
    known = {to_script(row["marker"], "hans") for row in script.marker_rows()} | {"“”"}
    converted = to_script(SEED_001.read_text(encoding="utf-8"), "hans")
    assert all(m in known and (m in converted or m == "“”") for m in markers), markers
    # "“”": mainland curly quotes and no Taiwan corner brackets (issue #22)
    assert "“" in converted and "「" not in converted
    # consistency: most signature terms outnumber the mainland word they stand for
    assert len(detail["consistent_terms"]) >= len(detail["signature_terms"]) / 2
    assert "seed 001" in detail["evidence"]
    line, col, context = detail["samples"][0]
    assert (line, context) == (20, ",将数位技术广泛套用于政府科学决策和")  # as this pass saw it


@pytest.mark.parametrize("name", ["000", "002", "003", "004"])
@pytest.mark.parametrize("target", script.SCRIPTS)
def test_other_seeds_keep_every_word(name: str, target: str) -> None:
    text = seed(name)
    out, changes = run(text, target)
    assert not of(changes, "phrase:")
    # OpenCC and punctuation alone: the same characters apart from ASCII marks made full width
    converted = to_script(text, target)
    assert re.sub(r"[,:;?!() \t（），：；？！]", "", out) == re.sub(r"[,:;?!() \t（），：；？！]", "",
                                                                 converted)


TAIWAN_TEXT = ("行政院推動數位轉型,以網際網路與寬頻網路串接政府資料庫,並最佳化程式效能、"
               "提升頻寬。智慧型手機應用程式可連線查詢,民眾也能套用範本申辦。")


@pytest.mark.parametrize("target", script.SCRIPTS)
def test_genuine_taiwanese_text_is_never_rewritten(target: str) -> None:
    out, changes = run(TAIWAN_TEXT, target)
    assert not of(changes, "phrase:", "replace")
    (flag,) = of(changes, "phrase:regional", "flag")
    assert flag.detail["mainland_markers"] == [] and len(flag.detail["signature_terms"]) >= 3
    words = to_script(TAIWAN_TEXT, target)
    assert out == fix_punctuation_line(words)[0]


def test_taoyong_in_its_own_sense_is_kept_even_in_a_signed_document() -> None:
    text = SEED_001.read_text(encoding="utf-8") + "\n不要機械地套用外地經驗，也不能套用公式。大多數位於城區。"
    out, changes = run(text, "hant")
    last = out.split("\n")[-1]
    assert last == "不要機械地套用外地經驗，也不能套用公式。大多數位於城區。"
    flags = {c.detail["term"]: c.detail["count"] for c in of(changes, "phrase:", "flag")
             if not c.detail.get("ambiguous")}
    assert (flags["套用"], flags["數位"]) == (2, 1)
    # the seed's own 智慧 (智慧監管), 檔案 (信用檔案) and 線上 (線上線下) are kept the same way
    assert set(flags) == {"套用", "數位", "智慧", "檔案", "線上"}
    assert of(changes, "phrase:套用", "replace")[0].detail["count"] == 37


def test_a_stray_term_in_a_mainland_document_is_not_a_signature() -> None:
    text = seed("002") + "\n建設網路資料庫。"
    out, changes = run(text, "hant")
    assert out.endswith("建設網路資料庫。")
    (flag,) = of(changes, "phrase:regional", "flag")
    assert flag.detail["signature_terms"] == ["網路"]
    assert "too few" in flag.why


def test_regional_reversal_can_be_switched_off() -> None:
    out, changes = run(SEED_001.read_text(encoding="utf-8"), reverse_regional=False)
    assert "套用" in out and not of(changes, "phrase:")


def test_phrase_table_data_is_well_formed() -> None:
    rows = script.phrase_rows()
    # a term has one row, or several readings each restored only in its own context (介面)
    repeated = {r["taiwan"] for r in rows if sum(x["taiwan"] == r["taiwan"] for x in rows) > 1}
    assert all(r["restore_before"] or r["restore_after"] for r in rows if r["taiwan"] in repeated)
    inverse = script.regional_data()["inverse"]
    for row in rows:
        assert row["evidence"].strip() and row["signature"] in ("yes", "no"), row
        # a decision about an OpenCC word gives back one of the words OpenCC writes it for
        if row["taiwan"] in inverse and row["mainland"] != "-":
            assert row["mainland"] in inverse[row["taiwan"]], row
        assert not row["keep_after"].startswith("^")  # matched at the position: ^ never would
        assert not row["keep_before"] or row["keep_before"].endswith("$")
        for key in ("keep_before", "keep_after"):
            if row[key]:
                re.compile(row[key])
    assert all(r["evidence"].strip() for r in script.marker_rows())


# --- punctuation ------------------------------------------------------------------------------

WIDENED = [
    ("意見全文,內容解讀,", "意見全文，內容解讀，"),                      # seed 001 line 11
    ("省政府各部門:", "省政府各部門："),                                   # seed 001 line 17
    ("各市(含定州、辛集市)人民政府", "各市（含定州、辛集市）人民政府"),    # seed 001 line 17
    ("《規劃(2023-2025年)》印發", "《規劃（2023-2025年）》印發"),          # seed 000 line 8
    ("31省市數字政府規劃(2023)", "31省市數字政府規劃（2023）"),             # seed 000 line 24
    ("具體如下(1)加強", "具體如下（1）加強"),                               # numbered after CJK
    ("實現了省、市、縣服務全覆蓋;29個地區", "實現了省、市、縣服務全覆蓋；29個地區"),  # seed 002
    ("我國數字政府建設現狀如何?", "我國數字政府建設現狀如何？"),             # seed 002 line 2
    ("數字政府建設他們準備這么干!", "數字政府建設他們準備這么干！"),         # seed 003 line 3
    ("來源: 新華社", "來源：新華社"),                                       # seed 003 line 5
    ("“穗好辦”,“穗智管”", "“穗好辦”，“穗智管”"),                         # quotes between
    ("地址:https://www.utechfun.com/post/323734.html", "地址：https://www.utechfun.com/post/323734.html"),
    ("政務雲視頻APP,建立", "政務雲視頻APP，建立"),                           # Latin before, CJK after
]

KEPT = [
    "用戶突破1.35億",                         # decimal (seed 004)
    "2021/7/16 17:09:56 來源",                # time (seed 004)
    "地址：https://www.utechfun.com/post/323734.html?a=1,2",  # URL (seed 000 line 29)
    "見https://example.org/a,b;c?d=1!",        # URL right after CJK
    "完成IPV4/IPV6雙棧改造",                   # Latin text (seed 001)
    "Hello, world! How are you? Fine: yes; (ok)",
    "共1,000人 比例3:2",                       # numbers
    "廣東省發(fā)布數(shù)字政府",                  # pinyin gloss: repair's evidence (seed 004)
    "item(1)和(a)",                            # no CJK inside, not after CJK / Latin inside
    "好的:)",                                  # emoticon
]


@pytest.mark.parametrize("before, after", WIDENED)
def test_ascii_punctuation_next_to_cjk_is_widened(before: str, after: str) -> None:
    assert fix_punctuation_line(before)[0] == after
    assert run(before, "hant")[0] == to_script(after, "hant")  # the same through the step


@pytest.mark.parametrize("text", KEPT)
def test_numbers_times_urls_and_latin_are_left_alone(text: str) -> None:
    assert fix_punctuation_line(text) == (text, [], [])
    assert run(text, "hant")[0] == to_script(text, "hant")


def test_marks_inside_unresolved_mojibake_are_flagged_not_changed() -> None:
    line = seed("003").split("\n")[38]  # "經驗?!皵底终ㄔO..." : 。“數字政府建設 one byte off
    out, changes = run(seed("003"), "hans")
    assert "经验?!皵底终" in out.split("\n")[38]
    (flag,) = of(changes, "punctuation:near_mojibake", "flag")
    assert flag.where == "lines 39" and len(flag.detail["cols"]["39"]) == 4
    assert "?!" in line


def test_whole_text_widening_is_the_same_as_line_by_line() -> None:
    # fix_punctuation widens long chunks of lines at once (issue #6 speed); it must agree with
    # fix_punctuation_line on every line, URL and mojibake lines included.
    lines = [b for b, _ in WIDENED] + KEPT + [seed(n) for n in ("000", "001", "002", "003", "004")]
    text = "\n".join(lines + ["", "末尾,"])
    expected = "\n".join(fix_punctuation_line(line)[0] for line in text.split("\n"))
    out, changes = script.fix_punctuation(text, {})
    assert out == expected
    (change,) = of(changes, "punctuation:full_width", "replace")
    assert change.detail["count"] == len(change.detail["offsets"]) > 500


def test_punctuation_repair_can_be_switched_off() -> None:
    out, changes = run("意見全文,內容解讀,", "hant", fix_punctuation=False)
    assert out == "意見全文,內容解讀," and not changes


# --- in the pipeline ----------------------------------------------------------------------------


def test_convert_in_the_pipeline_records_its_trail() -> None:
    raw = SEED_001.read_bytes()
    document = Document(Source.from_bytes(str(SEED_001), raw), raw=raw)
    out = runner.run(document, load_config(script="tw"), steps=pipeline.select(only="convert"))
    assert isinstance(out, Document)
    entry = out.trail[-1]
    assert (entry.step, entry.version, entry.changed) == (script.STEP, script.VERSION, True)
    said = [c for c in entry.changes if c.action not in ("edit", "set")]
    assert {c.what.split(":")[0] for c in said} == {"opencc", "phrase", "punctuation"}
    assert "套用" not in out.text and out.text.count("\n") == raw.count(b"\n")


def test_title_and_metadata_follow_the_target_script_but_urls_and_dates_stay():
    from cleaners.model import Source

    doc = Document(Source("x", "0", 0), text="數字政府", title="廣東省發布數字政府規劃!",
                   metadata={"publisher": "新華社", "doc_number": "冀政發〔2023〕3號",
                             "url": "https://例子.中國/數字", "published": "2023-04-12"})
    out = convert(doc, ConvertConfig(target="hans"))
    assert out.title == "广东省发布数字政府规划！"
    assert out.metadata == {"publisher": "新华社", "doc_number": "冀政发〔2023〕3号"}
    assert {c.where for c in out.changes} >= {"title", "metadata.publisher", "metadata.doc_number"}


# --- regional vocabulary: the term search (issue #22) -------------------------------------------


@pytest.mark.parametrize("target", script.SCRIPTS)
def test_term_search_equals_one_leftmost_longest_pass(target: str) -> None:
    """`find_terms` (a UTF-16 DFA for longer terms, a character class for one-character ones)
    finds exactly what one leftmost-longest automaton over `str` finds, on every seed in its
    own form and after s2twp, and on a line built to hold one-character terms inside and
    outside longer ones."""
    table = script.phrase_table(target)
    s2twp = script.converter("s2twp.json")
    texts = [to_script(t, target) for p in SEED_FILES
             for t in (p.read_text(encoding="utf-8"), str(s2twp.convert(p.read_text(encoding="utf-8"))))]
    texts.append(to_script("串口和埠，序列埠與矽，晶片用矽。", target))
    for text in texts:
        indexes, starts, ends = script.find_terms(table, text)
        expected = [tuple(m) for m in table.text_finder.find_matches_as_indexes(text)]
        assert list(zip(indexes, starts, ends, strict=True)) == expected


# --- regional vocabulary: OpenCC's inverse (issue #22) ------------------------------------------


def test_regional_table_was_made_from_the_pinned_opencc() -> None:
    """scripts/make_opencc_regional.py read these very dictionaries: after an OpenCC upgrade
    this fails until the script has been run again."""
    import hashlib

    data = script.regional_data()
    assert data["opencc"] == script.opencc_version()
    share = startup.opencc_share_dir()
    assert share is not None
    for name, digest in data["files"].items():
        assert hashlib.sha256((share / name).read_bytes()).hexdigest() == digest, name
    # the inverse is OpenCC's: s2twp writes each Taiwan word for each of its mainland words
    s2twp = script.converter("s2twp.json")
    for taiwan, mainland in [("資料庫", ["數據庫"]), ("網際網路", ["互聯網", "互聯網絡"]),
                             ("人工智慧", ["人工智能"]), ("硬體", ["硬件"])]:
        assert data["inverse"][taiwan] == mainland
        assert all(s2twp.convert(to_script(m, "hans")) == taiwan for m in mainland)


def test_a_mainland_text_through_s2twp_gets_its_words_back() -> None:
    """Seed 003 (a mainland policy text) through OpenCC's s2twp, then the step: the words
    s2twp rewrote that only a Taiwanese writer uses come back."""
    original = to_script(seed("003"), "hans")
    damaged = str(script.converter("s2twp.json").convert(original))
    assert "人工智慧" in damaged and "最佳化" in damaged and "網路" in damaged
    out, changes = run(damaged, "hans", fix_punctuation=False)
    assert "人工智慧" not in out and "最佳化" not in out and "网路" not in out
    for word in ("人工智能", "优化", "网络"):
        assert out.count(word) == original.count(word), word
    assert of(changes, "phrase:", "replace")[0].detail["mainland_markers"]


def test_ambiguous_taiwan_words_are_flagged_not_guessed() -> None:
    """智慧 is s2twp's word for 智能 and the mainland's own word (wisdom, 智慧城市): given back
    before a word that goes with 智能, kept in its own sense, flagged where nothing decides."""
    extra = "\n群眾的智慧無窮。推廣智慧手機。推進智慧預警。"
    out, changes = run(SEED_001.read_text(encoding="utf-8") + extra, "hant", fix_punctuation=False)
    assert out.split("\n")[-1] == to_script("群眾的智慧無窮。推廣智能手機。推進智慧預警。", "hant")
    (ambiguous,) = [c for c in of(changes, "phrase:智慧", "flag") if c.detail.get("ambiguous")]
    last = out.count("\n") + 1
    assert str(last) in ambiguous.where and "智能" in ambiguous.why
    (own,) = [c for c in of(changes, "phrase:智慧", "flag") if not c.detail.get("ambiguous")]
    assert str(last) in own.where  # 群眾的智慧, beside the seed's own 智慧監管


def test_a_taiwan_publisher_is_never_rewritten() -> None:
    text = SEED_001.read_text(encoding="utf-8")
    document = Document(Source("x", "0", 0), text=text, metadata={"url": "https://www.ey.gov.tw/a"})
    result = convert(document, ConvertConfig(target="hant"))
    assert not of(result.changes, "phrase:", "replace")
    (flag,) = of(result.changes, "phrase:regional", "flag")
    assert "ey.gov.tw" in flag.why and "套用" in result.text


def test_taiwan_words_quoted_beside_the_mainland_ones_are_not_a_signature() -> None:
    text = seed("002") + "\n台灣把軟件叫軟體，把網絡叫網路，把優化叫最佳化。"
    out, changes = run(text, "hant")
    assert out.endswith(to_script("台灣把軟件叫軟體，把網絡叫網路，把優化叫最佳化。", "hant"))
    (flag,) = of(changes, "phrase:regional", "flag")
    assert "beside them" in flag.why and len(flag.detail["signature_terms"]) >= 2


# --- issue #22, second pass: the gate, jieba's counts, s2twp's own words -----------------------

# A mainland tech note as s2twp writes it: four Taiwan-only terms (專案 程式碼 原始碼 登入),
# one mainland word s2twp leaves (對接), no quotes of either kind.
S2TWP_NOTE = to_script("开发这个项目要对接公司的代码和源代码，用户登录后修改项目代码。", "hans")


def _s2twp(text: str) -> str:
    return str(script.converter("s2twp.json").convert(text))


def test_a_strong_signature_needs_one_mainland_marker() -> None:
    damaged = _s2twp(S2TWP_NOTE)
    assert "專案" in damaged and "程式碼" in damaged and "對接" in damaged
    out, changes = run(damaged)
    assert out == S2TWP_NOTE
    detail = of(changes, "phrase:", "replace")[0].detail
    assert len(detail["signature_terms"]) >= ConvertConfig().strong_signature_terms
    assert detail["mainland_markers"] == ["对接"]
    # with Taiwan corner quotes beside it, one marker is not enough: it reads as Taiwanese
    quoted = "「" + damaged + "」"
    out, changes = run(quoted)
    assert "专案" in out and "程式码" in out
    (flag,) = of(changes, "phrase:regional", "flag")
    assert "no mainland vocabulary" in flag.why
    # and without the marker there is nothing mainland beside the Taiwan terms
    out, _ = run(damaged.replace("對接", "銜接"))
    assert "专案" in out


def test_a_taiwan_word_a_mainland_writer_often_uses_is_flagged_not_restored() -> None:
    table = script.phrase_table("hans")
    count, share = script.mainland_share(script.regional_data(), "指標", ["指針"])
    assert count >= ConvertConfig().ordinary_min_count and share >= ConvertConfig().ordinary_share
    (reading,) = table.readings["指标"]
    assert reading.mainland is None and "指标" not in table.signature
    assert "jieba" in reading.evidence
    # a rare Taiwan word keeps its plain reading: 軟體 is restored and counts as evidence
    assert table.plain["软体"] == "软件" and "软体" in table.signature
    # the mainland 指標 (an indicator) survives a signed document
    text = _s2twp(S2TWP_NOTE) + "各項指標均已達到。"
    out, changes = run(text)
    assert out.startswith(S2TWP_NOTE) and out.endswith("各项指标均已达到。")
    assert of(changes, "phrase:指标", "flag")


def test_another_converters_word_is_the_writers_own_where_s2twp_converted_throughout() -> None:
    # 契約 is seed 001's converter's word for 合同, never s2twp's: in a text s2twp converted
    # throughout it is the writer's own (a mainland 契約 in a translated constitution)
    text = _s2twp(S2TWP_NOTE + "双方签订契约。")
    out, changes = run(text)
    assert out.endswith("双方签订契约。") and "专案" not in out
    assert of(changes, "phrase:", "replace")[0].detail["s2twp_throughout"] is True
    # seed 001 (another converter: s2twp's mainland words are still there) gets 合同 back
    out, _ = run(SEED_001.read_text(encoding="utf-8"))
    assert "电子合同" in out and "电子契约" not in out


def test_s2twp_throughout_reads_words_as_s2twp_segments_them() -> None:
    table = script.phrase_table("hans")
    # 較低級別 is 較低 + 級別 to s2twp: the 低級 inside is not its 低級 → 低階
    assert table.rewritten.search("这类较低级别官员") is not None
    assert script._s2twp_throughout(table, "这类较低级别官员")
    assert not script._s2twp_throughout(table, "这类低级错误")


def test_a_throughout_row_restores_without_its_context_where_s2twp_converted_throughout() -> None:
    # 資訊 needs a word that goes with 信息 after it, unless s2twp converted the text throughout
    text = _s2twp(S2TWP_NOTE + "请补充个人信息。")
    assert "個人資訊。" in text
    out, _ = run(text)
    assert out.endswith("请补充个人信息。")
    (reading,) = script.phrase_table("hans").readings["资讯"]
    assert reading.throughout and reading.conditional
    # the news sense is still kept: 熱點資訊 is the writer's own
    out, _ = run(_s2twp(S2TWP_NOTE) + "熱點資訊。")
    assert out.endswith("热点资讯。")


def test_mainland_words_holding_a_taiwan_term_are_kept_whole() -> None:
    # jieba's counts name them (make_opencc_regional.py): 理查德 holds s2twp's 查德 (乍得),
    # 電子音樂 its 子音 (輔音), 生產資料 its 資料 (數據)
    kept = set(script.regional_data()["kept_mainland"])
    assert {"理查德", "电子音乐", "生产资料"} <= kept
    table = script.phrase_table("hans")
    assert {"理查德", "电子音乐"} <= table.kept
    out, _ = run(_s2twp(S2TWP_NOTE) + "理查德喜欢电子音乐，乍得在非洲。")
    assert out.endswith("理查德喜欢电子音乐，乍得在非洲。") and out.startswith(S2TWP_NOTE)


def test_opencc_tai_counts_as_mainland_evidence_only_without_tai_and_corner_quotes() -> None:
    # two Taiwan-only terms (軟體, 登入) and curly quotes: one piece of mainland evidence short;
    # s2t's 臺 (a mainland 平台 through s2twp) is the second
    original = "“我要留言”：在平台的软件上登录。"
    damaged = _s2twp(original)
    assert "平臺" in damaged and "軟體" in damaged and "登入" in damaged
    out, changes = run(damaged)
    assert out == original
    assert "臺" in of(changes, "phrase:", "replace")[0].detail["mainland_markers"]
    # a Taiwanese writer's 台, or 「」 beside 臺, is no such evidence: the vocabulary stays
    for text in (damaged.replace("臺", "台"), damaged.replace("“", "「").replace("”", "」")):
        out, changes = run(text)
        assert "软体" in out and "登入" in out
        assert of(changes, "phrase:regional", "flag")
