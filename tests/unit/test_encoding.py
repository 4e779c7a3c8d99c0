"""Tests for the decode step (`encoding.detect`, issue #3), on the seeds re-encoded in the test.

Every seed must come back exactly (only a BOM stripped) from UTF-8, UTF-8 with BOM, UTF-16
LE/BE with and without BOM, GB18030 and Big5 (Big5 on the part of the text it can encode).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from cleaners.encoding import STEP, DecodeConfig, decode, decode_recording, zh_score
from cleaners.model import Document, Explained, Rejected, Source

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))
CFG = DecodeConfig()
CHINESE = {"gb18030", "big5hkscs", "cp950"}


def run(raw: bytes, path: str = "input.txt") -> Explained | Rejected:
    return decode(Document(Source.from_bytes(path, raw), raw=raw), CFG)


def decoded(raw: bytes, path: str = "input.txt") -> Explained:
    result = run(raw, path)
    assert isinstance(result, Explained), result
    return result


def seed_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def big5_part(text: str) -> str:
    """The seed without the characters Big5-HKSCS cannot encode (issue #3: "where encodable")."""
    return "".join(ch for ch in text if _big5_ok(ch))


def _big5_ok(ch: str) -> bool:
    try:
        ch.encode("big5hkscs")
    except UnicodeEncodeError:
        return False
    return True


def test_seeds_exist() -> None:
    assert len(SEEDS) == 5


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name[:3])
@pytest.mark.parametrize("encoding,bom", [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"),
    ("utf-16-le", b""), ("utf-16-le", b"\xff\xfe"),
    ("utf-16-be", b""), ("utf-16-be", b"\xfe\xff"),
    ("gb18030", b""),
])
def test_seed_round_trips(seed: Path, encoding: str, bom: bytes) -> None:
    text = seed_text(seed)
    result = decoded(bom + text.encode(encoding))
    assert result.text == text  # line structure kept exactly, BOM stripped
    assert result.decoding["encoding"] == encoding
    assert result.decoding["undecodable_bytes"] == 0
    if bom:
        assert result.decoding["encoding_detector"] == "bom"
        assert result.decoding["bom"] == bom.hex()


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name[:3])
def test_seed_big5(seed: Path) -> None:
    text = big5_part(seed_text(seed))
    assert len(text) > 0.9 * len(seed_text(seed))
    result = decoded(text.encode("big5hkscs"))
    assert result.text == text
    assert result.decoding["encoding"] in ("big5hkscs", "cp950")


def test_facts_are_complete_and_json_serialisable() -> None:
    result = decoded(seed_text(SEEDS[0]).encode("gb18030"))
    facts = result.decoding
    for key in ("encoding", "encoding_label", "encoding_detector", "encoding_confidence",
                "encoding_evidence", "alternatives", "segments", "undecodable_bytes",
                "undecodable_at"):
        assert key in facts
    assert 0.0 <= facts["encoding_confidence"] <= 1.0
    assert facts["encoding_detector"] == "zh-frequency"
    assert {a["encoding"] for a in facts["alternatives"] if "encoding" in a} >= CHINESE
    json.dumps(facts)
    json.dumps([c.to_json() for c in result.changes])
    assert result.changes[0].step == STEP and result.changes[0].action == "decode"


def _titles() -> list[str]:
    """Short lines: each seed's first line cut to about 30 bytes of UTF-8, plus real titles."""
    titles = ["国务院关于加强数字政府建设的指导意见", "今天天气很好", "中文", "小说",
              "多省出台數字政府相關政策", "關於我們", "新聞中心"]
    for seed in SEEDS:
        line = seed_text(seed).splitlines()[0]
        cut = ""
        for ch in line:
            if len((cut + ch).encode("utf-8")) > 30:
                break
            cut += ch
        titles.append(cut.strip())
    return titles


@pytest.mark.parametrize("title", _titles())
@pytest.mark.parametrize("encoding", ["gb18030", "big5hkscs"])
def test_short_titles_stay_chinese(title: str, encoding: str) -> None:
    try:
        raw = title.encode(encoding)
    except UnicodeEncodeError:
        pytest.skip(f"{title!r} has no {encoding} form")
    if raw.isascii():
        pytest.skip("nothing to detect")
    result = decoded(raw)
    assert result.text == title, (result.text, result.decoding)
    assert not any("\uac00" <= ch <= "\ud7a3" or "\u0400" <= ch <= "\u04ff" for ch in result.text)


def test_mixed_utf8_and_gbk_is_decoded_per_segment() -> None:
    lines = seed_text(SEEDS[2]).splitlines(keepends=True)
    head, block, tail = lines[:4], lines[4:9], lines[9:14]
    raw = ("".join(head).encode("utf-8") + "".join(block).encode("gb18030")
           + "".join(tail).encode("utf-8"))
    result = decoded(raw)
    assert result.text == "".join(head + block + tail)
    segments = result.decoding["segments"]
    assert [s["encoding"] for s in segments] == ["utf-8", "gb18030", "utf-8"]
    assert segments[1]["lines"] == [5, 9]
    assert segments[1]["bytes"][0] == len("".join(head).encode("utf-8"))
    assert result.text[segments[1]["chars"][0]:segments[1]["chars"][1]] == "".join(block)
    assert [c.action for c in result.changes] == ["decode"] * 3


def test_utf8_page_declaring_gb2312_decodes_as_utf8() -> None:
    body = seed_text(SEEDS[0])[:400]
    raw = f'<html><head><meta charset="gb2312"></head><body>{body}</body></html>'.encode()
    result = decoded(raw, "page.html")
    assert result.decoding["encoding"] == "utf-8"
    assert body in result.text


def test_gbk_page_declaring_utf8_decodes_as_gb18030() -> None:
    body = "国务院关于加强数字政府建设的指导意见。各省、自治区、直辖市人民政府。"
    raw = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
           f'</head><body>{body}</body></html>').encode("gbk")
    result = decoded(raw, "page.html")
    assert result.decoding["encoding"] == "gb18030"
    assert body in result.text


def test_big5_page_declaring_gb2312_decodes_as_big5() -> None:
    body = big5_part(seed_text(SEEDS[1])[:300])
    raw = f'<meta charset="gb2312"><p>{body}</p>'.encode("big5hkscs")
    result = decoded(raw, "page.html")
    assert result.decoding["encoding"] in ("big5hkscs", "cp950")
    assert body in result.text
    declared = [a for a in result.decoding["alternatives"] if "declared" in a]
    assert declared and declared[0]["used"] is False


def test_truthful_declaration_is_used() -> None:
    raw = '<meta charset="big5"><p>多省出台數字政府相關政策</p>'.encode("big5")
    result = decoded(raw, "page.html")
    assert result.decoding["encoding_detector"] == "declared-charset"
    assert result.decoding["encoding_label"] == "big5"
    assert result.decoding["encoding"] == "big5hkscs"


@pytest.mark.parametrize("raw,kind", [
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "png"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "pdf"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "zip"),
])
def test_binary_formats_are_rejected(raw: bytes, kind: str) -> None:
    result = run(raw)
    assert isinstance(result, Rejected)
    assert result.reason == "binary_content" and result.detail["format"] == kind


def test_random_bytes_are_rejected() -> None:
    raw = random.Random(3).randbytes(4096)
    result = run(raw)
    assert isinstance(result, Rejected) and result.reason == "binary_content"


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name[:3])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_or_ascii_is_read_not_rejected(seed: Path, encoding: str) -> None:
    """No BOM and not one ASCII character (no newline, digit or space), so no NUL pattern: the
    bytes are full of control bytes (U+4E0D 不 is 0D 4E) and used to be rejected as binary."""
    # Neither ASCII nor a character with a zero byte (一 is U+4E00): those leave a NUL pattern.
    text = "".join(ch for ch in seed_text(seed) if ord(ch) & 0xFF and ord(ch) >> 8)
    raw = text.encode(encoding)
    assert b"\x00" not in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff"))
    result = decoded(raw)
    assert result.text == text
    assert result.decoding["encoding"] == encoding
    assert "UTF-16 without a BOM" in result.decoding["encoding_evidence"]
    # A short one has no control bytes to give it away (charset-normalizer says CP932).
    short = text[:14].encode(encoding)
    assert decoded(short).text == text[:14]


def test_random_bytes_are_not_taken_for_bare_utf16() -> None:
    rng = random.Random(16)
    for length in (32, 64, 256, 1024, 4096) * 400:
        result = run(rng.randbytes(length))
        assert isinstance(result, Rejected) or "UTF-16 without a BOM" not in str(result.decoding)


def test_empty_file_is_rejected() -> None:
    result = run(b"")
    assert isinstance(result, Rejected) and result.reason == "empty_input"


def test_replacement_characters_are_flagged_with_positions() -> None:
    text = seed_text(SEEDS[3])[:600].replace("\ufffd", "")
    raw = text[:100].encode("gb18030") + b"\xff" + text[100:].encode("gb18030")
    result = decoded(raw)
    assert result.text == text[:100] + "\ufffd" + text[100:]
    assert result.decoding["undecodable_bytes"] == 1
    where = result.decoding["undecodable_at"]
    assert where == [{"byte": len(text[:100].encode("gb18030")), "bytes": "ff", "char": 100}]
    flags = [c for c in result.changes if c.action == "flag"]
    assert len(flags) == 1 and flags[0].where == "char 100" and flags[0].detail["lossy"] is True


def test_seed_replacement_characters_are_not_flagged() -> None:
    """U+FFFD already in the UTF-8 input is the author's, not ours: not flagged as ours."""
    text = seed_text(SEEDS[0]).replace("政府", "政\ufffd", 1)
    result = decoded(text.encode("utf-8"))
    assert result.decoding["encoding"] == "utf-8" and result.text == text
    assert not [c for c in result.changes if c.action == "flag"]


def test_utf8_cut_in_the_last_character() -> None:
    text = seed_text(SEEDS[1])[:200]
    raw = text.encode("utf-8")[:-1]
    result = decoded(raw)
    assert result.decoding["encoding"] == "utf-8"
    assert result.text == text[:-1] + "\ufffd"
    assert result.decoding["undecodable_at"][0]["byte"] == len(raw) - 2


def test_hz_is_detected_before_utf8() -> None:
    text = "国务院关于加强数字政府建设的指导意见"
    result = decoded(f"HZ: {text}\n".encode("hz"))
    assert result.decoding["encoding"] == "hz"
    assert result.text == f"HZ: {text}\n"


def test_japanese_and_korean_are_not_chinese() -> None:
    ja = "今日は良い天気ですね。明日も晴れるでしょうか。私は東京に住んでいます。"
    ko = "오늘은 날씨가 좋습니다. 내일도 맑을까요? 저는 서울에 살고 있습니다."
    for text, codec in ((ja, "euc_jp"), (ja, "shift_jis"), (ko, "euc_kr")):
        result = decoded(text.encode(codec))
        assert result.text == text, (codec, result.decoding)
        assert result.decoding["encoding"] not in CHINESE


def test_gbk_file_that_is_also_valid_utf8() -> None:
    """GBK's 锟斤拷 is UTF-8's EF BF BD: such a file is valid UTF-8 with U+FFFD in it."""
    text = "<item>原始锟斤拷</item>\n<item>锟斤拷</item>\n"
    raw = text.encode("gbk")
    raw.decode("utf-8")  # the premise: valid UTF-8 too
    assert decoded(raw).text == text


def test_decode_recording_marks_each_run() -> None:
    result = decode_recording(b"ab\xff\xfecd\xff", "utf-8")
    assert result.text == "ab\ufffd\ufffdcd\ufffd"
    assert result.spans == [(2, 3), (3, 4), (6, 7)]
    assert result.chars == [2, 3, 6]


def test_zh_score_separates_readings() -> None:
    text = seed_text(SEEDS[0])
    right = zh_score(text)[0]
    wrong = zh_score(text.encode("big5hkscs", errors="ignore").decode("gb18030", "replace"))[0]
    assert right is not None and wrong is not None and right > CFG.min_zh_score > wrong


def test_utf8_fast_path_does_not_import_detectors() -> None:
    code = ("import sys; from cleaners.encoding import decode, DecodeConfig; "
            "from cleaners.model import Document, Source; raw = '中文'.encode() * 100; "
            "r = decode(Document(Source.from_bytes('x', raw), raw=raw), DecodeConfig()); "
            "assert r.decoding['encoding'] == 'utf-8'; "
            "assert 'charset_normalizer' not in sys.modules and 'chardet' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_last_resort_guess_nobody_is_sure_of_is_flagged_not_silent():
    """Bytes no codec fits (EUC-TW-like high-byte pairs): decoded, but flagged as uncertain."""
    import random

    rng = random.Random(3)
    raw = b"EUC-TW " + bytes(rng.randint(0xA1, 0xFE) for _ in range(600)) + b", CNS 11643"
    result = decode(Document(Source.from_bytes("x", raw), raw=raw), DecodeConfig())
    assert isinstance(result, Explained)
    assert result.decoding["encoding_uncertain"] is True
    assert [c.what for c in result.changes if c.action == "flag"] == ["encoding:uncertain"]


def test_confident_decodes_carry_no_uncertainty_flag(seed_texts):
    for text in seed_texts.values():
        raw = text.encode("gb18030")
        result = decode(Document(Source.from_bytes("x", raw), raw=raw), DecodeConfig())
        assert "encoding_uncertain" not in result.decoding
        assert not [c for c in result.changes if c.what == "encoding:uncertain"]
