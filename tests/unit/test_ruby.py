"""`cleaners.ruby`: flattened pinyin annotations (issue #4, seed 004), as `mojibake.repair`
uses them. An annotation goes only when pypinyin confirms the reading of the character before
it; a lost character is restored only when one word makes it certain, else marked."""

from __future__ import annotations

import pytest

from cleaners import ruby

MARK = "〓"


def _apply(line: str, edits: list[ruby.RubyEdit]) -> str:
    for e in sorted(edits, key=lambda e: e.start, reverse=True):
        line = line[:e.start] + e.after + line[e.end:]
    return line


def test_confirmed_annotations_are_removed_in_both_scripts() -> None:
    line = "廣東省發(fā)布數(shù)字政府規劃"
    edits = ruby.find_edits(line, MARK)
    assert [e.action for e in edits] == ["remove", "remove"]
    assert [e.extra["base"] for e in edits] == ["發", "數"]
    assert _apply(line, edits) == "廣東省發布數字政府規劃"
    assert _apply("广东省发(fā)布", ruby.find_edits("广东省发(fā)布", MARK)) == "广东省发布"


@pytest.mark.parametrize("line", [
    "數字政府規劃(2023-2025年)",     # a year range in parentheses
    "支持IPv6(IPV4)過渡",             # Latin text in parentheses
    "發(shù)布",                        # a pinyin syllable that is not a reading of 發
    "這是(a)項",                       # a letter after a character it does not read
])
def test_parentheses_that_are_not_a_reading_of_the_character_before_stay(line: str) -> None:
    assert ruby.find_edits(line, MARK) == []


def test_a_lost_character_is_restored_when_one_word_makes_it_certain() -> None:
    # seed 004: "政府?dāng)?shù)據(jù)": 數 lost with its "(", only 數據 fits shù before 據
    line = "政府?shù)據(jù)"
    edits = ruby.find_edits(line, MARK)
    restore = [e for e in edits if e.action == "restore"]
    assert len(restore) == 1 and restore[0].after == "數"
    assert "数据" in restore[0].extra["evidence"]
    assert _apply(line, edits) == "政府數據"


def test_a_lost_character_without_certainty_is_marked_and_flagged_lossy() -> None:
    line = "一?(shì)一"                      # shì has dozens of characters; 一 decides nothing
    (edit,) = ruby.find_edits(line, MARK)
    assert edit.action == "mark" and edit.after == MARK and edit.lossy
    assert edit.extra["reading"] == "shì"


def test_edits_do_not_overlap_and_are_in_order() -> None:
    line = "發(fā)布數(shù)據(jù)與?(shì)"
    edits = ruby.find_edits(line, MARK)
    assert all(a.end <= b.start for a, b in zip(edits, edits[1:], strict=False))


def test_count_confirmed_counts_only_confirmed_readings() -> None:
    assert ruby.count_confirmed("發(fā)布數(shù)字(2023)發(shù)") == 2
    assert ruby.count_confirmed("沒有括號") == 0
