"""mojibake.repair (issue #4): golden files in ftfy's format, the seeds, the invariants.

Golden files (tests/golden/mojibake/): in-the-wild.json is cut from seeds/, synthetic.json is
our own sentences damaged by each mechanism, negative.json is valid Chinese that must not change,
known-failures.json is what we do not get right yet (xfail, strict: a fix must move the case).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from archive.startup import load_config
from cleaners import mojibake, pipeline, ruby, runner
from cleaners.model import Change, CleaningError, Document, Explained, Source
from cleaners.mojibake import RepairConfig, repair, replay

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
GOLDEN = ROOT / "tests" / "golden" / "mojibake"
CFG = RepairConfig()


def _seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text("utf-8")


def _repair(text: str, cfg: RepairConfig = CFG) -> Explained:
    return repair(Document(Source.from_bytes("t.txt", text.encode("utf-8")), text=text), cfg)


def _cases(name: str) -> list[dict[str, str]]:
    return json.loads((GOLDEN / f"{name}.json").read_text("utf-8"))


def _params(name: str) -> list[object]:
    out = []
    for case in _cases(name):
        marks = [pytest.mark.xfail(strict=True, reason=case["comment"])] if case["expect"] == "fail" else []
        out.append(pytest.param(case, id=case["label"], marks=marks))
    return out


# --- golden files -----------------------------------------------------------------------------

@pytest.mark.parametrize("case", _params("in-the-wild") + _params("synthetic") + _params("known-failures"))
def test_golden(case: dict[str, str]) -> None:
    result = _repair(case["original"])
    assert result.text == case["expected"]
    assert result.text.count("\n") == case["original"].count("\n")
    assert replay(case["original"], result.changes) == result.text


@pytest.mark.parametrize("case", _params("negative"))
def test_negative_unchanged(case: dict[str, str]) -> None:
    assert case["original"] == case["expected"]
    result = _repair(case["original"])
    assert result.text == case["original"]
    assert [c for c in result.changes if c.action != "flag"] == []


def test_golden_files_are_well_formed() -> None:
    for name in ("in-the-wild", "synthetic", "negative", "known-failures"):
        cases = _cases(name)
        assert cases, name
        for case in cases:
            assert set(case) == {"label", "comment", "original", "expected", "expect"}
            assert case["expect"] in ("pass", "fail")
    assert all(c["expect"] == "fail" for c in _cases("known-failures"))
    assert len(_cases("negative")) >= 15


# --- seeds ------------------------------------------------------------------------------------

def test_seed_003_misaligned_gbk_exact() -> None:
    text = _seed("003")
    result = _repair(text)
    assert "經驗。“數字政府建設是一項長期性、持續性、系統性的宏大工程。”中國移動黨組書記" in result.text
    assert "\ue47f" not in result.text and "\ue265" not in result.text
    realigned = [c for c in result.changes if c.what == "realign:gb18030"]
    assert [c.detail["after"] for c in realigned] == ["。“數字政府建設", "。”中國移動黨"]
    assert all(c.where.startswith("line 39,") for c in realigned)


def test_seed_004_annotations_removed_and_lost_characters_handled() -> None:
    text = _seed("004")
    result = _repair(text)
    removed = [c for c in result.changes if c.what == "ruby:pinyin"]
    assert len(removed) == 269
    assert all(ruby.is_reading(c.detail["base"], c.detail["reading"]) for c in removed)
    assert not ruby.ANNOTATED.search(result.text)
    assert not ruby.LOST.search(result.text)
    assert "政府\u3013數據共享需求滿足率" in result.text
    restored = [c for c in result.changes if c.action == "restore"]
    assert [(c.detail["after"], c.detail["reading"]) for c in restored] == [("數", "shù")]
    marked = [c for c in result.changes if c.action == "mark"]
    assert [(c.detail["reading"], c.detail["lossy"]) for c in marked] == [("dāng", True)]
    assert "廣東省發布數字政府改革建設“十四五”規劃" in result.text


def test_real_parentheses_in_seeds_stay() -> None:
    for prefix, kept in (("000", "(2023-2025年)"), ("001", "(IPV4)"), ("001", "IPV4/IPV6")):
        text = _seed(prefix) if kept != "(IPV4)" else _seed(prefix).replace("IPV4/IPV6", "IPV4/IPV6(IPV4)")
        result = _repair(text)
        assert result.text.count(kept) == text.count(kept) > 0


def test_seed_004_keeps_every_parenthesis_that_is_not_an_annotation() -> None:
    text = _seed("004")
    result = _repair(text)
    others = [m.group() for m in re.finditer(r"\([^)]*\)", text)
              if not ruby.ANNOTATED.fullmatch(text[m.start() - 1:m.end()])]
    assert [m.group() for m in re.finditer(r"\([^)]*\)", result.text)] == others


def test_clean_seed_lines_never_change() -> None:
    """Count every changed line of every seed: only the intended repairs may differ."""
    intended = {"003": {39}}
    unintended = 0
    total = 0
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text("utf-8")
        result = _repair(text)
        before, after = text.split("\n"), result.text.split("\n")
        assert len(before) == len(after), path.name
        assert replay(text, result.changes) == result.text
        prefix = path.name[:3]
        for number, (a, b) in enumerate(zip(before, after, strict=True), 1):
            meant = number in intended.get(prefix, set()) or (
                prefix == "004" and (ruby.ANNOTATED.search(a) or ruby.LOST.search(a)))
            if not meant:
                total += 1
                unintended += a != b
    assert total > 180
    assert unintended == 0


def test_pipeline_until_repair_on_seed_003_bytes() -> None:
    raw = next(SEEDS.glob("003_*.txt")).read_bytes()
    doc = Document(Source.from_bytes("003.txt", raw), raw=raw)
    out = runner.run(doc, load_config(), steps=pipeline.select(until="repair"))
    assert isinstance(out, Document)
    assert "。“數字政府建設是一項長期性" in out.text and "。”中國移動黨組書記" in out.text
    entry = next(e for e in out.trail if e.step == mojibake.STEP)
    assert entry.changed and entry.version == mojibake.VERSION


def test_repair_runs_before_anything_that_deletes_characters() -> None:
    names = [s.name for s in pipeline.STEPS]
    assert names.index(mojibake.STEP) == names.index("encoding.detect") + 1 + ("html" in names[1])
    assert names.index(mojibake.STEP) < min(i for i, s in enumerate(pipeline.STEPS)
                                          if s.short in ("strip", "convert", "dedup"))


# --- invariants -------------------------------------------------------------------------------

def test_every_change_says_what_where_why_and_keeps_the_text() -> None:
    text = _seed("004") + "\n" + _seed("003") + "\n" + "鏁板瓧鏀垮簻 ä¸­æ–‡ &amp; \ufffd"
    result = _repair(text)
    assert result.changes
    for change in result.changes:
        assert isinstance(change, Change) and change.step == mojibake.STEP
        assert change.what and change.why
        assert re.fullmatch(r"line \d+, chars \d+-\d+", change.where)
        assert {"before", "after", "line", "start", "end", "lossy", "fixer"} <= set(change.detail)


def test_no_unrecorded_replacement_character() -> None:
    """Every U+FFFD in the output is inside a lossy change or a flag (STYLE.md §7)."""
    damaged = "统一个因子".encode().decode("gbk", errors="replace")
    text = f"/* {damaged} */\n保存为文件\ufffd\ufffd磁盘\n锟斤拷"
    result = _repair(text)
    lines = result.text.split("\n")
    covered: set[tuple[int, int]] = set()
    for change in result.changes:
        if change.action == "flag" or change.detail["lossy"]:
            line, start = int(change.detail["line"]), int(change.detail["start"])
            for i in range(start, start + len(str(change.detail["after"]))):
                covered.add((line, i))
    for number, line in enumerate(lines, 1):
        for i, ch in enumerate(line):
            if ch == "\ufffd":
                assert (number, i) in covered
    assert any(c.what == "flag:double_mojibake" for c in result.changes)


def test_lossy_repair_records_suggestions_not_text() -> None:
    damaged = "减去一个因子".encode().decode("gbk", errors="replace")
    result = _repair(damaged)
    assert result.text == "减去\ufffd\ufffd因子"
    change = next(c for c in result.changes if c.what == "utf8:gb18030")
    assert change.detail["lossy"] is True and change.detail["lost_chars"] == 2
    assert all(s and s[0] == "一" for s in change.detail["suggestions"])


def test_clean_text_takes_the_fast_path() -> None:
    """Clean text shows no sign of damage: no line reaches ftfy or the searches (issue #4)."""
    fast = ("classical", "modern simplified", "curly", "ideographic", "question marks", "mixed URL",
            "euro amounts", "emoji")
    clean = "\n".join(c["original"] for c in _cases("negative") if c["label"].startswith(fast))
    assert clean.count("\n") >= 10
    assert list(mojibake._suspect_lines(clean)) == []
    assert _repair(clean).changes == ()
    assert list(mojibake._suspect_lines(_seed("000"))) == []
    # 區塊鏈 (blockchain) holds 鏈, a GBK reading of UTF-8 E9 8F: those few lines are checked
    # and left alone, the rest is never looked at.
    seeds = "\n".join(_seed(p) for p in ("000", "001", "002"))
    assert len(list(mojibake._suspect_lines(seeds))) <= 0.1 * (seeds.count("\n") + 1)


def test_ruby_needs_a_density_of_annotations() -> None:
    once = "銀行的行讀作行(háng)。"
    assert _repair(once).text == once
    many = "發(fā)布數(shù)字政(zhèng)府"
    assert _repair(many).text == "發布數字政府"
    assert _repair(many, RepairConfig(ruby_min_annotations=4)).text == many


def test_ruby_unconfirmed_reading_stays() -> None:
    text = "發(fā)布數(shù)字政(zhèng)府(an)與(IPV4)"
    assert _repair(text).text == "發布數字政府(an)與(IPV4)"


def test_fixers_can_be_switched_off() -> None:
    text = "鏁板瓧鏀垮簻 ä¸­æ–‡ &#25968;"
    assert _repair(text).text == "数字政府 中文 数"
    off = RepairConfig(fix_legacy=False, fix_latin1=False, fix_entities=False)
    assert _repair(text, off).text == text


def test_unknown_legacy_codec_is_a_config_error() -> None:
    with pytest.raises(CleaningError, match="legacy_codecs"):
        _repair("鏁板瓧", RepairConfig(legacy_codecs=("shift_jis",)))


def test_replay_refuses_a_trail_that_does_not_fit() -> None:
    text = "鏁板瓧鏀垮簻"
    result = _repair(text)
    with pytest.raises(CleaningError, match="cannot replay"):
        replay("something else", result.changes)


def test_scorer_separates_chinese_from_mojibake() -> None:
    assert mojibake.cost("数字政府建设") + 1.5 < mojibake.cost("鏁板瓧鏀垮簻寤鸿")
    assert mojibake.cost("。“數字政府建設") + 1.5 < mojibake.cost("?!皵底终\ue47f\ue194ㄔO")
    assert mojibake.char_cost("\ue000") >= CFG.refuse_char_cost


# --- Chinese bytes read through a single-byte codepage (issue #15) ------------------------------

SENTENCE = "国务院关于加强数字政府建设的指导意见，提出到2025年基本形成数字政府体系框架。"
SENTENCE_HANT = "國務院關於加強數字政府建設的指導意見，提出到2025年基本形成數字政府體系框架。"
CODEPAGES = ("cp1252", "latin-1", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257",
             "iso8859-2", "iso8859-5", "iso8859-7", "koi8-r", "mac-roman")


def _lossy_flags(result: Explained) -> list[Change]:
    return [c for c in result.changes if c.action == "flag" and c.detail["lossy"]]


def test_issue_example_gbk_read_as_cp1250() -> None:
    result = _repair("ÓůÓĂČíĽţ(YYRJ)")
    assert result.text == "御用软件(YYRJ)"
    [change] = result.changes
    assert change.what == "gb18030:cp1250" and change.detail["plan"] == [["encode", "cp1250"],
                                                                          ["decode", "gb18030"]]
    assert replay("ÓůÓĂČíĽţ(YYRJ)", result.changes) == result.text


def test_issue_example_utf8_read_as_gb18030_with_its_last_byte_lost() -> None:
    """又发现一处，别漏了 with 了's last byte lost, read as GB18030. The real row keeps the
    private-use character the reading made of AB E6 (the issue's text lost it in transit)."""
    garbled = "鍙堝彂鐜颁竴澶勶紝鍒\ue0a3紡浜"
    result = _repair(garbled)
    assert result.text == "又发现一处，别漏浜"  # the damaged tail left as it was, not guessed
    [flag] = _lossy_flags(result)
    assert flag.what == "flag:damaged" and flag.where == "line 1, chars 8-9"
    assert flag.detail["before"] == "浜" and flag.detail["bytes"] == "e4 ba"
    assert replay(garbled, result.changes) == result.text


def test_utf8_read_as_gb18030_without_the_private_use_character() -> None:
    """Without U+E0A3, 别 and 漏 lost a byte each too: only 又发现一处， is exact."""
    result = _repair("鍙堝彂鐜颁竴澶勶紝鍒紡浜")
    assert result.text == "又发现一处，鍒紡浜"
    [flag] = _lossy_flags(result)
    assert flag.detail["before"] == "鍒紡浜" and flag.where == "line 1, chars 6-9"


@pytest.mark.parametrize("codepage", CODEPAGES)
@pytest.mark.parametrize("source", ["utf-8", "gb18030", "big5"])
def test_every_source_through_every_codepage(source: str, codepage: str) -> None:
    text = SENTENCE_HANT if source == "big5" else SENTENCE
    garbled = text.encode("cp950" if source == "big5" else source).decode(codepage, errors="replace")
    if "\ufffd" in garbled:
        pytest.skip(f"{codepage} has no character for one of the bytes: a lossy case")
    result = _repair(garbled)
    assert result.text == text
    assert replay(garbled, result.changes) == text


@pytest.mark.parametrize("codepage", ["cp1252", "cp1251", "koi8-r"])
def test_gbk_last_byte_lost_is_flagged_not_guessed(codepage: str) -> None:
    raw = "御用软件".encode("gbk")[:-1]
    garbled = raw.decode(codepage)
    result = _repair(garbled)
    assert result.text == "御用软" + garbled[-1]
    [flag] = _lossy_flags(result)
    assert flag.detail["before"] == garbled[-1] and flag.detail["bytes"] == f"{raw[-1]:02x}"


@pytest.mark.parametrize(("text", "kept"), [
    ("比去年下降40.8%。", "比去年下降40.8%"),  # 。's lead byte alone after ASCII: a run of one
    ("漂着的货物的安危。", "漂着的货物的"),  # 危's trail and 。's lead also read as "！"
])
def test_gbk_line_cut_short_is_flagged_where_it_ends(text: str, kept: str) -> None:
    """The last character lost its trail byte: what the reading is sure of is restored, the
    rest (at least the lone lead byte) stays as it was and is flagged, nothing guessed."""
    garbled = text.encode("gbk")[:-1].decode("cp1252")
    result = _repair(garbled)
    assert result.text.startswith(kept) and garbled.endswith(result.text[len(kept):])
    [flag] = _lossy_flags(result)
    assert flag.what == "flag:damaged" and str(flag.detail["before"]).endswith("¡")


def test_big5_shift_that_ends_on_a_letter_is_not_read() -> None:
    """目 (A5 D8) loses its trail: A5 + 標 (BC D0) + 。 (A1 43) read in pairs is "未苤C", no byte
    left over; the "C" ending the run after a high byte is the tell (glued_ascii_cost)."""
    raw = "(二)總體目標。".encode("cp950")
    at = raw.index("目".encode("cp950"))
    garbled = (raw[:at + 1] + raw[at + 2:]).decode("cp1252")
    result = _repair(garbled)
    assert result.text == "(二)總體¥¼Ð。"  # the damage and what it made unsure, left as it was
    [flag] = _lossy_flags(result)
    assert flag.detail["before"] == "¥¼Ð"


def test_gbk_byte_lost_in_the_middle_is_flagged_and_the_rest_read_in_step() -> None:
    raw = SENTENCE.encode("gbk")
    cut = raw[:11] + raw[12:]  # 加 (BC D3) loses its trail: every pair after it is shifted
    garbled = cut.decode("cp1252")
    result = _repair(garbled)
    [flag] = _lossy_flags(result)
    kept = str(flag.detail["before"])  # the lone lead byte "¼", and what the reading is unsure of
    assert kept.startswith(garbled[10]) and kept in garbled
    assert result.text.startswith(SENTENCE[:5] + kept)  # 国务院关于: exact
    rest = result.text[len(SENTENCE[:5] + kept):]
    assert SENTENCE.endswith(rest) and len(rest) >= len(SENTENCE) - 10  # read in step again
    assert replay(garbled, result.changes) == result.text


@pytest.mark.parametrize(("text", "source", "codepage"), [
    ("貴州", "gbk", "cp1251"),  # ЩFЦЭ: a Cyrillic letter glued to a Latin one
    ("貴州", "gbk", "cp1252"),  # ÙFÖÝ: a word in capitals that is mostly accents
    ("廣東", "gbk", "latin-1"),  # \x8fV\x96|: C1 controls are never text
    ("杨渊浩;程竹汝", "gbk", "cp1250"),  # names: rare characters, plenty of signs
    ("山東", "big5", "iso8859-7"),  # €sͺF: € is A4, Big5's commonest lead byte
    ("河北", "big5", "cp1252"),  # ªe¥_: symbols glued to the letters after them
    ("(責編: 李雨潼)", "big5", "cp1252"),  # ³d½s rides on the other run's signs
])
def test_short_lines_through_a_codepage(text: str, source: str, codepage: str) -> None:
    """One- and two-word lines (a place, a byline) carry little evidence: the signs of
    double-byte characters read through a codepage are enough (issue #15's benchmark)."""
    garbled = text.encode("cp950" if source == "big5" else source).decode(codepage)
    result = _repair(garbled)
    assert result.text == text
    assert replay(garbled, result.changes) == text


def test_short_utf8_line_read_as_mac_roman_stays_utf8() -> None:
    """山西 as UTF-8 read as mac-roman is also two GBK characters through cp1252 ("卤彼"...):
    the UTF-8 reading explains more of the line and wins."""
    garbled = "山西".encode().decode("mac-roman")
    assert _repair(garbled).text == "山西"


def test_codepage_readings_leave_other_languages_alone() -> None:
    lines = [
        "Президент России Владимир Путин провёл переговоры в Пекине.",
        "Ελληνική Δημοκρατία: η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "Dvořák napsal Novosvětskou symfonii; Łódź, Kraków i Gdańsk leżą w Polsce.",
        "İstanbul Boğazı'nda gemi trafiği; Şişli ve Üsküdar ilçeleri.",
        "Müller & Söhne GmbH, Straße 5, Zürich — café crème, naïve, façade.",
        "普京（Владимир Путин）与希腊（Ελλάδα）总理会谈，德沃夏克（Dvořák）。",
        "Python の開発は、1990 年ごろから開始されています。",
        "파이썬은 1991년 귀도 반 로섬이 발표한 프로그래밍 언어입니다.",
        'print("你好，世界")  # 输出问候语 ×2 ±3 °C §5 №7 ¥100',
    ]
    for line in lines:
        result = _repair(line)
        assert result.text == line
        assert [c for c in result.changes if c.action != "flag"] == []


def test_unknown_codepage_is_a_config_error() -> None:
    with pytest.raises(CleaningError, match="codepages"):
        _repair("ÓůÓĂ", RepairConfig(codepages=("cp1250", "no-such-codepage")))
    with pytest.raises(CleaningError, match="single-byte"):
        _repair("ÓůÓĂ", RepairConfig(codepages=("gbk",)))


def test_codepage_fixer_can_be_switched_off() -> None:
    assert _repair("ÓůÓĂČíĽţ", RepairConfig(fix_codepages=False)).text == "ÓůÓĂČíĽţ"
