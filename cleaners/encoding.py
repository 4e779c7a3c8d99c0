"""decode (`encoding.detect`): raw bytes to text, with the evidence for the codec recorded.

Shape: decode ``(Document with raw bytes) -> Explained | Rejected``.

A wrong guess here corrupts everything downstream, silently (issue #3), so the evidence is
reconciled in a fixed order and every decision is written into ``Explained.decoding`` (it goes
into the record's ``sources[]`` entry):

1. binary magic numbers (PNG, PDF, zip, ...) are rejected;
2. a byte order mark (UTF-8, UTF-16/32 LE/BE) decides; only the BOM itself is stripped;
3. NUL bytes: UTF-16/32 without a BOM by their null-byte pattern, else binary;
4. 7-bit escape encodings that are also valid ASCII: HZ (``~{ ... ~}``) and ISO-2022-JP/KR;
5. strict UTF-8, the fast path (most inputs; no detector is imported). A file whose last
   character is cut is still UTF-8, with the cut bytes flagged;
6. C0 control bytes that no text encoding produces: binary, unless the bytes read as UTF-16
   of Chinese text without a single ASCII character (no BOM, so no NUL pattern either: 不 is
   0D 4E); such a text too short to carry control bytes is read so when no legacy reading
   is plausible (before step 10);
7. a UTF-8 file with legacy-encoded lines pasted in (a GBK block in a UTF-8 page) is decoded
   line by line, each segment recorded;
8. the charset of the HTTP ``Content-Type`` a WARC record was served with
   (``decoding["http_charset"]``, issue #18), then ``<meta charset>`` / ``http-equiv`` / XML
   declaration, each trusted only when the bytes decode cleanly with it and the reading is
   plausible in its language (GB18030 decodes almost any bytes "cleanly", so a clean decode
   alone proves little);
9. a Chinese reading (GB18030, Big5-HKSCS, CP950) scored by character frequency
   (``data/encoding_hanzi_freq.tsv``) wins when it decodes cleanly and scores as plausible
   Chinese, unless the bytes read as plausible Japanese (kana) or Korean (hangul, no hanja)
   and the Chinese reading is not strong. This is what keeps a 30-byte GBK title from coming
   out as Korean or Cyrillic, which is where charset-normalizer is weak on short inputs;
10. otherwise charset-normalizer, and chardet when charset-normalizer returns nothing.

Chinese supersets: a GB2312/GBK answer decodes as GB18030; Big5 as Big5-HKSCS or CP950,
whichever decodes without errors (Big5-HKSCS first). Both the detected label and the codec used
are recorded. Bytes no codec can decode become U+FFFD, flagged in the trail with their byte
offsets and character positions, never silently. Inputs that are not text at all (binary, or
mostly undecodable) are rejected with a reason: empty_input, too_large, binary_content,
undecodable.

The undecodable bytes are found by a codec error handler ("docclean.record"), which lives in
Python's process-wide registry: importing this module registers nothing; the edge does it once
(`register_error_handler`, called by ``archive.startup.start``; issue #17).
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cleaners.model import Change, CleaningError, Document, Explained, Rejected
from cleaners.textutil import data_text

log = logging.getLogger(__name__)

STEP = "encoding.detect"
VERSION = "4"  # 4: the HTTP Content-Type charset of a WARC record is evidence (issue #18)


@dataclass(frozen=True)
class DecodeConfig:
    # A NUL byte in text that has no UTF-16/32 shape means binary (PNG, PDF, zip all carry them).
    max_nul_ratio: float = 0.01
    # C0 control bytes (not tab/newline/CR/FF/ESC) no text codec emits; random bytes have ~11%.
    max_control_ratio: float = 0.02
    # Share of undecodable bytes above which the input is not text in any codec we know.
    max_undecodable_ratio: float = 0.05
    # Inputs larger than this are rejected before decoding (bytes): one document, not a dump.
    max_bytes: int = 50 * 1024 * 1024
    # Where <meta charset> and the XML declaration are looked for (bytes; HTML says 1024, 2 KB
    # also catches pages with a long <head> comment, the corpus column uses 2 KB).
    sniff_bytes: int = 2048
    # How much of a legacy file the detectors read (bytes); the chosen codec then decodes all.
    detect_sample_bytes: int = 32 * 1024
    # Characters of each reading that are scored: enough for a stable mean, and it bounds the
    # cost of scoring three to six readings of every legacy document (characters).
    score_chars: int = 1500
    # Valid UTF-8 with no character above U+07FF may be GBK/Big5 that happens to be valid UTF-8
    # ("小说" in GBK is the UTF-8 "С˵"): re-checked when this short (bytes) or when it holds
    # U+FFFD (GBK's 锟斤拷 is UTF-8's EF BF BD: corpus legacy_conversions/caydey__ffshare).
    short_utf8_check_bytes: int = 4096
    # Mean log10 character frequency at or above which a reading is plausible Chinese. Real
    # Chinese scores -2.7..-3.6 (seeds, corpus), Korean EUC-KR read as GB -4.1..-4.5, Japanese
    # and Big5-as-GB or GB-as-Big5 below -5 (scripts/eval_decode.py calibration, issue #3).
    min_zh_score: float = -4.0
    # A Chinese reading this good wins even when the bytes also read as kana/hangul text.
    strong_zh_score: float = -3.4
    # Undecodable bytes per scored character a reading may have and still count (a real file
    # with one damaged byte is still GBK; a wrong codec fails far more often than 1 in 100).
    max_detect_error_ratio: float = 0.01
    # Non-ASCII characters a reading needs before its score means anything (characters).
    min_scored_chars: int = 2
    # UTF-16 with no BOM and no ASCII (so no NUL pattern) is read by its Chinese score alone,
    # from this many characters on: shorter random bytes can score as plausible (1 in 20,000).
    min_bare_utf16_chars: int = 8
    # Share of kana among non-ASCII characters that makes a Japanese reading plausible
    # (Japanese prose is 40-70% kana; Chinese read as EUC-JP/CP932 has next to none).
    min_kana_share: float = 0.15
    # Share of hangul syllables that makes a Korean reading plausible (and hanja at most
    # max_hanja_share: GB text read as EUC-KR comes out as hangul mixed with ~30% hanja).
    min_hangul_share: float = 0.6
    max_hanja_share: float = 0.05
    # Below this confidence a last-resort answer (chardet, or the least-bad Chinese reading) is
    # flagged as uncertain: chardet's own "fairly sure" line; the two EUC-TW files score 0.10-0.40.
    min_last_resort_confidence: float = 0.5
    # CJK characters the valid-UTF-8 lines of a file must hold before it is treated as UTF-8
    # with legacy-encoded lines pasted in, rather than one legacy file (characters).
    min_utf8_segment_chars: int = 4
    # How many undecodable positions are listed one by one in the record and the trail.
    max_listed_positions: int = 50


# --- tables -------------------------------------------------------------------------------

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same 2 bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Detector labels whose superset decodes the same bytes to the same text, and more.
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "ascii": "utf-8",
}

# Codecs that decode every byte string the key codec decodes, to the same text where both do
# (keys are `codecs.lookup(...).name`). Tried in order; used by decode and by the eval's truth.
SUPERSET_CANDIDATES: dict[str, tuple[str, ...]] = {
    "gb2312": ("gbk", "gb18030"),
    "gbk": ("gb18030",),
    "big5": ("big5hkscs", "cp950"),
    "cp950": ("big5hkscs",),
    "euc_kr": ("cp949",),
    "shift_jis": ("cp932",),
    "ascii": ("utf-8",),
}

# The codec decode uses for a detected label (keys: `codecs.lookup(...).name`), in order of
# preference: the first that decodes without errors wins (issue #3: Big5 as Big5-HKSCS or
# CP950, whichever decodes without errors).
CODEC_FOR_LABEL: dict[str, tuple[str, ...]] = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "gb18030": ("gb18030",),
    "big5": ("big5hkscs", "cp950"),
    "big5hkscs": ("big5hkscs", "cp950"),
    "cp950": ("cp950", "big5hkscs"),
    "euc_kr": ("cp949",),
    "shift_jis": ("cp932", "shift_jis"),
    "ascii": ("utf-8",),
}

# The Chinese readings scored for every legacy input (issue #3 step 9).
CHINESE_CODECS: tuple[str, ...] = ("gb18030", "big5hkscs", "cp950")
JAPANESE_CODECS: tuple[str, ...] = ("cp932", "euc_jp")
KOREAN_CODECS: tuple[str, ...] = ("cp949",)
CHINESE_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "big5", "big5hkscs", "cp950", "hz"})
JAPANESE_FAMILY = frozenset({"shift_jis", "cp932", "euc_jp", "euc_jis_2004", "euc_jisx0213",
                             "shift_jis_2004", "shift_jisx0213", "iso2022_jp", "iso2022_jp_2"})
KOREAN_FAMILY = frozenset({"euc_kr", "cp949", "johab", "iso2022_kr"})

# Magic numbers of common binary formats that are never documents for us.
BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF8", "gif"),
    (b"\x1f\x8b", "gzip"),
    (b"\x7fELF", "elf"),
)

# C0 controls other than \t \n \v \f \r and ESC (ISO-2022), plus DEL: text never has many.
CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])

# <meta charset="x">, <meta http-equiv=... content="...; charset=x">, <?xml encoding="x"?>
META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([a-z0-9_.:-]{2,40})",
                          re.IGNORECASE)
XML_ENCODING = re.compile(rb"<\?xml[^>]{0,100}?encoding\s*=\s*[\"']([a-z0-9_.:-]{2,40})",
                          re.IGNORECASE)

# ISO-2022 designations: ESC $ ) C is KS X 1001 (Korean); ESC $ B / $ @ / ( J are Japanese.
ISO2022_KR_MARK = b"\x1b$)C"
ISO2022_JP_MARKS: tuple[bytes, ...] = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b$(D")
HZ_MARK = b"~{"
# UTF-16 without a BOM: NULs on one byte parity at least this many times as on the other,
# and at least this many of them; the decoded text must then have no stray control characters.
UTF16_PARITY_RATIO = 3
MIN_UTF16_NULS = 2
# A lead byte of a 3- or 4-byte UTF-8 sequence (U+0800 and up: every CJK character).
WIDE_UTF8_LEAD = re.compile(rb"[\xe0-\xf4]")
# A cut final character leaves at most this many bytes undecodable at the very end.
MAX_CUT_TAIL_BYTES = 3

# Scores (log10 frequency) of characters that are not in the hanzi table. CJK and full-width
# punctuation is about one character in eight of running Chinese text; the symbols of GB2312
# rows 1-2 and pinyin tone letters occur in real Chinese text but rarely; a hanzi missing from
# the table is rare; everything else (kana, hangul, Cyrillic, Greek, box drawing, U+FFFD,
# private use) is what wrong readings produce.
SCORE_PUNCT = -1.5
SCORE_SYMBOL = -4.0
SCORE_RARE_HANZI = -8.0
SCORE_OTHER = -9.0
# "锟斤拷" is U+FFFD U+FFFD stored as UTF-8 and re-read as GBK: seen only in real GBK files
# (corpus legacy_conversions/caydey__ffshare), so it counts as ordinary Chinese, not as rare.
# 锟 alone too: the EF BF of a U+FFFD next to other bytes (锟侥, 锟皆); it has no other use.
KNOWN_GBK_ARTIFACTS: tuple[str, ...] = ("锟斤拷", "锟")
SCORE_KNOWN_ARTIFACT = -3.0
ZH_PUNCT = frozenset("“”‘’…—–·、。，《》〈〉【】「」『』〔〕！？：；（）")
PINYIN_LETTERS = frozenset("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüêńňǹḿ")

# A marker the recording error handler puts where bytes could not be decoded. Lone surrogates
# never come out of a strict decode, so every marker is one of ours; each becomes U+FFFD.
_MARK = "\udfff"
_record = threading.local()


def _record_errors(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _record.spans.append((exc.start, exc.end))
    return _MARK, exc.end


ERROR_HANDLER = "docclean.record"


def register_error_handler() -> None:
    """Register the recording error handler in Python's process-wide codec registry: a global
    side effect, so the edge does it once (``archive.startup.start``), not an import."""
    codecs.register_error(ERROR_HANDLER, _record_errors)


def _check_handler() -> None:
    try:
        codecs.lookup_error(ERROR_HANDLER)
    except LookupError:
        raise CleaningError(f"the {ERROR_HANDLER!r} codec error handler is not registered: call "
                            "archive.startup.start() once before cleaning (the CLI, the DAG and "
                            "the tests do)") from None


# --- results --------------------------------------------------------------------------------

@dataclass
class Reading:
    """One codec's reading of (a sample of) the bytes, with what it says about the language."""

    codec: str
    text: str
    errors: int
    zh_score: float | None
    scored_chars: int
    kana_share: float = 0.0
    hangul_share: float = 0.0
    hanja_share: float = 0.0

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"encoding": self.codec, "errors": self.errors}
        if self.zh_score is not None:
            out["zh_score"] = round(self.zh_score, 3)
        for name in ("kana_share", "hangul_share", "hanja_share"):
            value = getattr(self, name)
            if value:
                out[name] = round(value, 3)
        return out


@dataclass
class Choice:
    """The codec chosen for (part of) a document and why."""

    codec: str
    label: str
    detector: str
    confidence: float
    evidence: str
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    last_resort: bool = False        # chosen after every confident piece of evidence failed


@dataclass
class Decoded:
    text: str
    spans: list[tuple[int, int]]  # undecodable byte spans, offsets into the decoded bytes
    chars: list[int]              # the position of each span's U+FFFD in `text`


# --- helpers ----------------------------------------------------------------------------------

class _Scores(dict[str, float]):
    """Character -> score; characters not in the hanzi table get their class score once."""

    def __missing__(self, char: str) -> float:
        value = _class_score(char)
        self[char] = value
        return value


@functools.cache
def _hanzi_table() -> _Scores:
    """log10 frequency of each Chinese character (data/encoding_hanzi_freq.tsv, loaded once)."""
    table = _Scores()
    text = data_text("encoding_hanzi_freq.tsv")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            char, value = line.split("\t")
            table[char] = float(value)
    return table


def _class_score(char: str) -> float:
    cp = ord(char)
    if char in ZH_PUNCT or 0x3000 <= cp <= 0x303F or 0xFF01 <= cp <= 0xFF65:
        return SCORE_PUNCT
    if (0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF):
        return SCORE_RARE_HANZI
    if (char in PINYIN_LETTERS or 0x2000 <= cp <= 0x218F or 0x2460 <= cp <= 0x24FF
            or 0x25A0 <= cp <= 0x26FF or char in "°×÷±§¨¤"):
        return SCORE_SYMBOL
    return SCORE_OTHER


def zh_score(text: str) -> tuple[float | None, int]:
    """Mean log10 frequency of the non-ASCII characters as Chinese, and how many were scored.

    >>> round(zh_score("国务院关于加强数字政府建设")[0], 1) > -3.5
    True
    >>> zh_score("hello")
    (None, 0)
    """
    table = _hanzi_table()
    total = 0.0
    count = 0
    for artifact in KNOWN_GBK_ARTIFACTS:
        hits = text.count(artifact)
        if hits:
            text = text.replace(artifact, "")
            total += SCORE_KNOWN_ARTIFACT * hits * len(artifact)
            count += hits * len(artifact)
    # Dropping ASCII with a regex and summing through map() keeps this in C (about 40 ns a
    # character): it runs on three to six readings of every legacy document.
    wide = _ASCII_RUNS.sub("", text)
    total += sum(map(table.__getitem__, wide))
    count += len(wide)
    return (total / count if count else None), count


_ASCII_RUNS = re.compile(r"[\x00-\x7f]+")


def _shares(text: str) -> tuple[float, float, float]:
    """Shares of kana, hangul and hanzi among the non-ASCII characters of `text`."""
    kana = hangul = hanzi = other = 0
    for char, n in Counter(text).items():
        if char < "\x80":
            continue
        cp = ord(char)
        if 0x3041 <= cp <= 0x30FF:
            kana += n
        elif 0xAC00 <= cp <= 0xD7A3 or 0x1100 <= cp <= 0x11FF or 0x3131 <= cp <= 0x318E:
            hangul += n
        elif 0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF:
            hanzi += n
        else:
            other += n
    total = kana + hangul + hanzi + other
    if not total:
        return 0.0, 0.0, 0.0
    return kana / total, hangul / total, hanzi / total


def decode_recording(raw: bytes, codec: str, final: bool = True) -> Decoded:
    """Decode `raw`, turning every undecodable byte run into one U+FFFD and recording where.

    `final=False` leaves out a character cut at the end (the detection samples are cut).

    >>> d = decode_recording("中文".encode("gb18030") + b"\\xff", "gb18030")
    >>> d.text, d.spans, d.chars
    ('中文\ufffd', [(4, 5)], [2])
    """
    _check_handler()
    _record.spans = []
    try:
        if final:
            text = raw.decode(codec, errors=ERROR_HANDLER)
        else:
            text = codecs.getincrementaldecoder(codec)(errors=ERROR_HANDLER).decode(raw, False)
        spans = list(_record.spans)
    finally:
        _record.spans = []
    chars: list[int] = []
    if spans:
        pos = text.find(_MARK)
        while pos >= 0:
            chars.append(pos)
            pos = text.find(_MARK, pos + 1)
        text = text.replace(_MARK, "\ufffd")
    return Decoded(text, spans, chars)


def _read(raw: bytes, codec: str, cfg: DecodeConfig, shares: bool = False) -> Reading:
    """`codec`'s reading of a sample: U+FFFD count, Chinese score, and script shares if asked.

    errors="replace" (in C) rather than the recording handler: a wrong codec can hit tens of
    thousands of errors, and only their number matters here.
    """
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(raw, False)
    score, n = zh_score(text[: cfg.score_chars])
    kana = hangul = hanzi = 0.0
    if shares:
        kana, hangul, hanzi = _shares(text)
    return Reading(codec, text, text.count("\ufffd"), score, n, kana, hangul, hanzi)


def _lookup(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _codec_for(label: str, raw: bytes) -> str:
    """The codec to decode a detected `label` with: its superset, the first that decodes cleanly."""
    name = _lookup(label) or label
    options = CODEC_FOR_LABEL.get(name, (name,))
    for codec in options:
        try:
            raw.decode(codec)
        except UnicodeDecodeError:
            continue
        return codec
    return options[0]


def _family(codec: str) -> str:
    name = _lookup(codec) or codec
    if name in CHINESE_FAMILY:
        return "zh"
    if name in JAPANESE_FAMILY:
        return "ja"
    if name in KOREAN_FAMILY:
        return "ko"
    return "other"


def _clean(r: Reading, cfg: DecodeConfig) -> bool:
    """No more undecodable bytes than a damaged but real file has (`max_detect_error_ratio`)."""
    return r.errors <= cfg.max_detect_error_ratio * max(1, r.scored_chars)


def _plausible_zh(r: Reading, cfg: DecodeConfig) -> bool:
    return (_clean(r, cfg) and r.zh_score is not None and r.scored_chars >= cfg.min_scored_chars
            and r.zh_score >= cfg.min_zh_score)


def _plausible_ja(r: Reading, cfg: DecodeConfig) -> bool:
    return _clean(r, cfg) and r.scored_chars >= cfg.min_scored_chars and \
        r.kana_share >= cfg.min_kana_share


def _plausible_ko(r: Reading, cfg: DecodeConfig) -> bool:
    return (_clean(r, cfg) and r.scored_chars >= cfg.min_scored_chars
            and r.hangul_share >= cfg.min_hangul_share and r.hanja_share <= cfg.max_hanja_share)


def _confidence(best: float, runner_up: float | None, cfg: DecodeConfig) -> float:
    """0..1 from how far the Chinese score is above the plausibility floor and the runner-up."""
    plausibility = min(1.0, max(0.0, (best - cfg.min_zh_score) / (cfg.min_zh_score * -0.25)))
    margin = 1.0 if runner_up is None else min(1.0, max(0.0, (best - runner_up) / 2.0))
    return round(0.5 + 0.25 * plausibility + 0.25 * margin, 4)


def _declared(raw: bytes, cfg: DecodeConfig) -> str | None:
    """The charset a `<meta>` tag or XML declaration in the first bytes names, if any."""
    head = raw[: cfg.sniff_bytes]
    match = XML_ENCODING.search(head) or META_CHARSET.search(head)
    if match is None:
        return None
    return match.group(1).decode("ascii").lower()


def _utf16_32_shape(raw: bytes) -> str | None:
    """UTF-16/32 without a BOM: ASCII-range characters put NULs on a fixed byte parity.

    >>> _utf16_32_shape("年報 2024\\n".encode("utf-16-le"))
    'utf-16-le'
    """
    sample = raw[:4096]
    quarter = max(1, len(sample) // 4)
    if len(raw) % 4 == 0:
        z = [sample[i::4].count(0) for i in range(4)]
        if z[2] >= quarter * 0.9 and z[3] >= quarter * 0.9 and z[0] < quarter * 0.5:
            return "utf-32-le"
        if z[0] >= quarter * 0.9 and z[1] >= quarter * 0.9 and z[3] < quarter * 0.5:
            return "utf-32-be"
    if len(raw) % 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    # One parity holds the NULs of ASCII characters; the other only those of U+xx00 characters
    # (一, 上, 不 ... are U+4E00, U+4E0A, U+4E0D: seed 003 has one per 50 characters).
    if odd >= MIN_UTF16_NULS and odd >= UTF16_PARITY_RATIO * even:
        return "utf-16-le"
    if even >= MIN_UTF16_NULS and even >= UTF16_PARITY_RATIO * odd:
        return "utf-16-be"
    return None


def _seven_bit(raw: bytes, cfg: DecodeConfig) -> tuple[str, str] | None:
    """HZ or ISO-2022 in bytes that are all ASCII (so they also pass as UTF-8)."""
    candidates: list[tuple[str, str]] = []
    if b"\x1b" in raw:
        if ISO2022_KR_MARK in raw:
            candidates.append(("iso2022_kr", "ISO-2022-KR designation ESC $ ) C"))
        if any(mark in raw for mark in ISO2022_JP_MARKS):
            candidates += [(c, "ISO-2022-JP escape sequences")
                           for c in ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext")]
    if HZ_MARK in raw:
        candidates.append(("hz", "HZ shift sequences ~{ ~}"))
    for codec, evidence in candidates:
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "hz":
            score, n = zh_score(text)
            if score is None or n < cfg.min_scored_chars or score < cfg.min_zh_score:
                continue
        return codec, evidence
    return None


# --- the step -------------------------------------------------------------------------------

def decode(doc: Document, cfg: DecodeConfig) -> Explained | Rejected:
    """Raw bytes to text, in the order of evidence of the module docstring.

    >>> from cleaners.model import Source
    >>> raw = "<meta charset=gb2312><p>中文</p>".encode("utf-8")
    >>> decode(Document(Source.from_bytes("x.html", raw), raw=raw), DecodeConfig()).decoding["encoding"]
    'utf-8'
    """
    raw = doc.raw
    if not raw:
        return Rejected(STEP, "empty_input", "the file is empty (0 bytes)")
    if len(raw) > cfg.max_bytes:
        return Rejected(STEP, "too_large", f"{len(raw)} bytes is over the {cfg.max_bytes}-byte limit")
    for magic, kind in BINARY_MAGIC:
        if raw.startswith(magic):
            return Rejected(STEP, "binary_content", f"the bytes are a {kind} file, not text",
                            {"format": kind})
    for bom, codec in BOMS:
        if raw.startswith(bom):
            try:
                text = raw[len(bom):].decode(codec)
            except UnicodeDecodeError:
                break  # a BOM followed by something else: let detection decide
            return _single(raw, text, Choice(codec, codec, "bom", 1.0, "byte order mark"),
                           cfg, bom=len(bom))
    if b"\x00" in raw:
        shaped = _utf16_32_shape(raw)
        if shaped is not None:
            try:
                text = raw.decode(shaped)
            except UnicodeDecodeError:
                shaped = None
            else:
                controls = sum(text.count(chr(b)) for b in CONTROL_BYTES)
                if controls / len(text) > cfg.max_control_ratio:
                    return Rejected(STEP, "binary_content",
                                    f"NUL bytes in a UTF-16 pattern, but {controls} control "
                                    f"characters when read as {shaped}: not text",
                                    {"control_characters": controls})
                return _single(raw, text, Choice(shaped, shaped, "null-pattern", 0.9,
                                                 "NUL bytes on one byte parity (no BOM)"), cfg)
        nul = raw.count(0)
        if nul / len(raw) > cfg.max_nul_ratio:
            return Rejected(STEP, "binary_content", f"{nul} NUL bytes in {len(raw)}: not text",
                            {"nul_bytes": nul})
    if raw.isascii():
        seven = _seven_bit(raw, cfg)
        if seven is not None:
            codec, evidence = seven
            return _single(raw, raw.decode(codec), Choice(codec, codec, "escape-sequences", 1.0,
                                                          evidence), cfg)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end == len(raw) and exc.reason == "unexpected end of data":
            # Only the last character is cut (a truncated download, a byte prefix): UTF-8.
            return _finish(raw, decode_recording(raw, "utf-8"), Choice(
                "utf-8", "utf-8", "strict-utf-8", 1.0,
                "strict UTF-8 (last character cut)"), cfg)
    else:
        lookalike = _legacy_lookalike(raw, text, cfg)
        if lookalike is not None:
            return lookalike
        return _single(raw, text, Choice("utf-8", "utf-8", "strict-utf-8", 1.0, "strict UTF-8"), cfg)
    controls = len(raw) - len(raw.translate(None, CONTROL_BYTES))
    if controls / len(raw) > cfg.max_control_ratio:
        # Control bytes are what UTF-16 of Chinese without ASCII looks like (不 is 0D 4E).
        wide = _bare_utf16(raw, cfg)
        if wide is not None:
            return _finish(raw, decode_recording(raw, wide.codec), _bare_utf16_choice(wide, [], cfg), cfg)
        return Rejected(STEP, "binary_content",
                        f"{controls} control bytes in {len(raw)}: not text in any encoding",
                        {"control_bytes": controls})
    mixed = _mixed(raw, cfg)
    if mixed is not None:
        return mixed
    choice = _choose(raw, cfg, doc.decoding.get("http_charset"))
    if choice is None:
        return Rejected(STEP, "undecodable", "no text encoding decodes these bytes")
    return _finish(raw, decode_recording(raw, choice.codec), choice, cfg)


def _bare_utf16(raw: bytes, cfg: DecodeConfig) -> Reading | None:
    """UTF-16 with neither a BOM nor a NUL pattern: text without one ASCII character (no
    newline, digit or space). Read so only when a byte order decodes strictly, without
    control characters, as plausible Chinese of `min_bare_utf16_chars` or more: random bytes
    fail all of these (none of 20,000 samples passes).

    >>> _bare_utf16("數字政府建設驅動數字經濟發展".encode("utf-16-be"), DecodeConfig()).codec
    'utf-16-be'
    """
    if len(raw) % 2:
        return None
    best: Reading | None = None
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if any(chr(b) in text for b in CONTROL_BYTES):
            continue
        reading = _read(raw[: cfg.detect_sample_bytes], codec, cfg)
        if (_plausible_zh(reading, cfg) and reading.scored_chars >= cfg.min_bare_utf16_chars
                and (best is None or (reading.zh_score or -99.0) > (best.zh_score or -99.0))):
            best = reading
    return best


def _bare_utf16_choice(reading: Reading, alternatives: list[dict[str, Any]], cfg: DecodeConfig) -> Choice:
    score = reading.zh_score or -99.0
    return Choice(reading.codec, reading.codec, "zh-frequency", _confidence(score, None, cfg),
                  f"UTF-16 without a BOM or any ASCII character: plausible Chinese under "
                  f"{reading.codec} (score {score:.2f} over {reading.scored_chars} chars)",
                  [*alternatives, reading.summary()])


def _legacy_lookalike(raw: bytes, text: str, cfg: DecodeConfig) -> Explained | Rejected | None:
    """Valid UTF-8 that is really GBK/Big5: strong, clean Chinese under a legacy codec.

    Checked only when suspicious (see `short_utf8_check_bytes`), so the fast path stays fast:
    UTF-8 Chinese has 3-byte sequences, and a long legacy file is valid UTF-8 only by accident.
    """
    if raw.isascii():
        return None
    has_fffd = "\ufffd" in text
    if not has_fffd and (len(raw) > cfg.short_utf8_check_bytes
                         or WIDE_UTF8_LEAD.search(raw) is not None):
        return None
    utf8_score, _ = zh_score(text[: cfg.detect_sample_bytes])
    sample = raw[: cfg.detect_sample_bytes]
    readings = [_read(sample, c, cfg) for c in CHINESE_CODECS]
    best = max(readings, key=lambda r: (r.errors == 0, r.zh_score or -99.0))
    # 锟 in the legacy reading where UTF-8 has U+FFFD is the GBK 锟斤拷 signature: plausible
    # Chinese is enough then; otherwise valid UTF-8 is only overturned by strong Chinese.
    needed = cfg.min_zh_score if has_fffd and "锟" in best.text else cfg.strong_zh_score
    if not (_plausible_zh(best, cfg) and best.zh_score is not None
            and best.zh_score >= needed
            and best.zh_score > (utf8_score if utf8_score is not None else -99.0)):
        return None
    decoded = decode_recording(raw, best.codec)
    if decoded.spans:
        return None
    alternatives = [{"encoding": "utf-8", "errors": 0,
                     "zh_score": None if utf8_score is None else round(utf8_score, 3)},
                    *(r.summary() for r in readings)]
    choice = Choice(best.codec, best.codec, "zh-frequency",
                    _confidence(best.zh_score, utf8_score, cfg),
                    f"valid UTF-8 but {'holds U+FFFD' if has_fffd else 'short, no CJK'}; "
                    f"plausible Chinese under {best.codec} (score {best.zh_score:.2f})",
                    alternatives)
    return _finish(raw, decoded, choice, cfg)


def _single(raw: bytes, text: str, choice: Choice, cfg: DecodeConfig, bom: int = 0) -> Explained | Rejected:
    """A clean decode under one codec (nothing undecodable)."""
    return _finish(raw, Decoded(text, [], []), choice, cfg, bom=bom)


def _finish(raw: bytes, decoded: Decoded, choice: Choice, cfg: DecodeConfig,
            bom: int = 0, segments: list[dict[str, Any]] | None = None,
            ) -> Explained | Rejected:
    bad = sum(e - s for s, e in decoded.spans)
    # A character cut at the very end (truncated file, byte prefix) is not a sign of a wrong
    # codec: it is flagged like any other, but does not count towards rejection.
    tail = decoded.spans[-1] if decoded.spans else (0, 0)
    cut = tail[1] - tail[0] if tail[1] + bom == len(raw) and \
        tail[1] - tail[0] <= MAX_CUT_TAIL_BYTES else 0
    if bad - cut and (bad - cut) / len(raw) > cfg.max_undecodable_ratio:
        return Rejected(STEP, "undecodable",
                        f"{bad} of {len(raw)} bytes do not decode under {choice.codec}",
                        {"codec": choice.codec, "undecodable_bytes": bad})
    listed = [{"byte": s + bom, "bytes": raw[s + bom:e + bom].hex(), "char": c}
              for (s, e), c in zip(decoded.spans[: cfg.max_listed_positions],
                                   decoded.chars, strict=False)]
    facts: dict[str, Any] = {
        "encoding": choice.codec,
        "encoding_label": choice.label,
        "encoding_detector": choice.detector,
        "encoding_confidence": round(choice.confidence, 4),
        "encoding_evidence": choice.evidence,
        "alternatives": choice.alternatives,
        "segments": segments or [],
        "undecodable_bytes": bad,
        "undecodable_at": listed,
    }
    if bom:
        facts["bom"] = raw[:bom].hex()
    changes: list[Change] = []
    if segments:
        for seg in segments:
            changes.append(Change(STEP, "decode", seg["encoding"],
                                  f"chars {seg['chars'][0]}-{seg['chars'][1]}",
                                  f"segment of {seg['encoding']} bytes in a mixed file",
                                  {"bytes": seg["bytes"], "lines": seg["lines"]}))
    else:
        detail: dict[str, Any] = {"label": choice.label, "detector": choice.detector,
                                  "confidence": round(choice.confidence, 4)}
        if bom:
            detail["bom_stripped"] = raw[:bom].hex()
        changes.append(Change(STEP, "decode", choice.codec, "", f"decoded by {choice.evidence}",
                              detail))
    if choice.last_resort and choice.confidence < cfg.min_last_resort_confidence:
        # No codec we trust fits (EUC-TW has no Python codec and reads as GB18030 or EUC-JP
        # nonsense: corpus chardet/EUC-TW, uchardet euc-tw): keep the text, say it may be wrong.
        facts["encoding_uncertain"] = True
        changes.append(Change(
            STEP, "flag", "encoding:uncertain", "",
            f"no detector is sure of this file's encoding ({choice.evidence}, confidence "
            f"{choice.confidence:.2f}): the text may be mis-decoded; the raw bytes are archived",
            {"codec": choice.codec, "confidence": round(choice.confidence, 4)}))
    if bad:
        where = ", ".join(f"char {c}" for c in decoded.chars[: cfg.max_listed_positions])
        more = len(decoded.chars) - cfg.max_listed_positions
        changes.append(Change(
            STEP, "flag", "U+FFFD", where + (f" (+{more} more)" if more > 0 else ""),
            f"{bad} byte(s) do not decode under {choice.codec}; each run became U+FFFD",
            {"lossy": True, "undecodable_bytes": bad, "positions": listed}))
        log.info("%s: %d undecodable bytes under %s", STEP, bad, choice.codec)
    return Explained(text=decoded.text, changes=tuple(changes), decoding=facts)


def _choose(raw: bytes, cfg: DecodeConfig, http_charset: str | None = None) -> Choice | None:
    """The codec for a legacy (not UTF-8, no BOM) input, from the evidence of steps 8-10.

    `http_charset`: the charset of the HTTP `Content-Type` the page was served with (a WARC
    record, issue #18); it is tried before `<meta>`, as browsers do, and trusted on the same
    terms (decodes cleanly, plausible in its language)."""
    sample = raw[: cfg.detect_sample_bytes]
    zh = [_read(sample, c, cfg) for c in CHINESE_CODECS[:2]]
    if zh[1].errors:
        # CP950 only when Big5-HKSCS stumbles: they agree on everything else in Big5.
        zh.append(_read(sample, CHINESE_CODECS[2], cfg))
    ranked = sorted(zh, key=lambda r: (_clean(r, cfg), r.zh_score or -99.0), reverse=True)
    best_zh = ranked[0]
    runner_up = next((r.zh_score for r in ranked[1:]
                      if _family_key(r.codec) != _family_key(best_zh.codec)), None)
    zh_ok = _plausible_zh(best_zh, cfg)
    zh_strong = zh_ok and (best_zh.zh_score or -99.0) >= cfg.strong_zh_score
    meta = _declared(raw, cfg)
    declarations = [(label, kind) for label, kind in ((http_charset, "http-charset"),
                                                      (meta, "declared-charset")) if label]
    # Japanese and Korean readings are only needed when Chinese is not clearly the answer.
    ja: list[Reading] = []
    ko: list[Reading] = []
    if not zh_strong or any(_family(label) in ("ja", "ko") for label, _ in declarations):
        ja = [_read(sample, c, cfg, shares=True) for c in JAPANESE_CODECS]
        ko = [_read(sample, c, cfg, shares=True) for c in KOREAN_CODECS]
    alternatives = [r.summary() for r in (*zh, *ja, *ko)]
    ja_ok = [r for r in ja if _plausible_ja(r, cfg)]
    ko_ok = [r for r in ko if _plausible_ko(r, cfg)]

    for declared, kind in declarations:
        name = _lookup(declared)
        if name is None or name.startswith("utf_16") or name.startswith("utf-16"):
            alternatives.append({"declared": declared, "by": kind, "used": False,
                                 "why": "unknown or not ASCII-compatible"})
        else:
            codec = _codec_for(declared, raw)
            reading = next((r for r in (*zh, *ja, *ko) if r.codec == codec), None) \
                or _read(sample, codec, cfg, shares=True)
            family = _family(codec)
            trusted = _clean(reading, cfg) and (
                (family == "zh" and _plausible_zh(reading, cfg))
                or (family == "ja" and (_plausible_ja(reading, cfg) or not zh_ok))
                or (family == "ko" and (_plausible_ko(reading, cfg) or not zh_ok))
                or (family == "other" and not zh_ok and name != "utf_8"))
            alternatives.append({"declared": declared, "by": kind, "used": trusted, **reading.summary()})
            if trusted:
                where = "HTTP Content-Type charset" if kind == "http-charset" else "declared charset"
                return Choice(codec, declared, kind, 0.9,
                              f"{where} {declared!r} (decodes cleanly, plausible)", alternatives)

    if zh_ok and (zh_strong or not (ja_ok or ko_ok)):
        assert best_zh.zh_score is not None
        return Choice(best_zh.codec, best_zh.codec, "zh-frequency",
                      _confidence(best_zh.zh_score, runner_up, cfg),
                      f"plausible Chinese under {best_zh.codec} "
                      f"(score {best_zh.zh_score:.2f} over {best_zh.scored_chars} chars)",
                      alternatives)

    if not (zh_ok or ja_ok or ko_ok):
        # No legacy reading is plausible: a short UTF-16 text of Chinese without ASCII has no
        # control bytes to give it away, and charset-normalizer takes it for CP932.
        wide = _bare_utf16(raw, cfg)
        if wide is not None:
            return _bare_utf16_choice(wide, alternatives, cfg)

    from charset_normalizer import from_bytes  # imported here: the UTF-8 fast path never pays

    matches = from_bytes(raw)
    best = matches.best()
    alternatives += [{"charset_normalizer": m.encoding, "chaos": round(float(m.chaos), 4)}
                     for m in list(matches)[:5]]
    if best is not None:
        label = best.encoding.lower()
        codec = _codec_for(label, raw)
        cn_family = _family(codec)
        if (cn_family == "zh" and not zh_ok and not (ja_ok or ko_ok) and _clean(best_zh, cfg)
                and best_zh.zh_score is not None):
            # Chinese by the detector, but too rare to score as plausible (HKSCS additions,
            # corpus cpython big5hkscs.txt): the detector says Chinese, the scores say which.
            return Choice(best_zh.codec, label, "charset-normalizer+zh-frequency",
                          1.0 - float(best.chaos),
                          f"charset-normalizer ({label}); {best_zh.codec} scores best "
                          f"of the Chinese readings ({best_zh.zh_score:.2f})", alternatives)
        if zh_ok and cn_family == "zh":
            # Weakly plausible Chinese that also reads as kana/hangul text: the detector agrees
            # it is Chinese, so keep our choice of the Chinese codec.
            assert best_zh.zh_score is not None
            return Choice(best_zh.codec, best_zh.codec, "zh-frequency",
                          _confidence(best_zh.zh_score, runner_up, cfg),
                          f"plausible Chinese under {best_zh.codec}, confirmed by "
                          f"charset-normalizer ({label})", alternatives)
        if not (zh_ok or ja_ok or ko_ok) or (
                cn_family in ("ja", "ko") and _reads_as(sample, codec, cn_family, cfg)):
            return Choice(codec, label, "charset-normalizer", 1.0 - float(best.chaos),
                          f"charset-normalizer ({label})", alternatives)
        # Otherwise charset-normalizer names a non-CJK codec, Chinese for bytes that read as
        # kana/hangul text, or Japanese/Korean that does not read as such: script shares decide.
    for readings, ok in ((ja, ja_ok), (ko, ko_ok)):
        if ok:
            pick = max(ok, key=lambda r: r.kana_share + r.hangul_share)
            return Choice(pick.codec, pick.codec, "script-share", 0.6,
                          f"plausible {'Japanese' if readings is ja else 'Korean'} text "
                          f"under {pick.codec}", alternatives)
    import chardet  # imported here: needed only when charset-normalizer has no answer

    guess = chardet.detect(raw)
    alternatives.append({"chardet": guess.get("encoding"),
                         "confidence": round(float(guess.get("confidence") or 0.0), 4)})
    if guess.get("encoding"):
        label = str(guess["encoding"]).lower()
        if _lookup(label) is not None:
            return Choice(_codec_for(label, raw), label, "chardet",
                          float(guess.get("confidence") or 0.0), f"chardet ({label})",
                          alternatives, last_resort=True)
    if best_zh.errors / max(1, len(sample)) <= cfg.max_undecodable_ratio:
        return Choice(best_zh.codec, best_zh.codec, "zh-frequency", 0.1,
                      f"least-bad Chinese reading ({best_zh.errors} undecodable bytes)",
                      alternatives, last_resort=True)
    return None


def _reads_as(sample: bytes, codec: str, family: str, cfg: DecodeConfig) -> bool:
    """Whether `codec` reads `sample` as plausible Japanese (kana) or Korean (hangul) text."""
    reading = _read(sample, codec, cfg, shares=True)
    return _plausible_ja(reading, cfg) if family == "ja" else _plausible_ko(reading, cfg)


def _family_key(codec: str) -> str:
    """Big5-HKSCS and CP950 are one family (the same Big5 text): their scores are not rivals."""
    return "big5" if codec in ("big5hkscs", "cp950") else codec


def _lines(raw: bytes) -> Iterable[tuple[int, bytes]]:
    pos = 0
    for line in raw.splitlines(keepends=True):
        yield pos, line
        pos += len(line)


def _mixed(raw: bytes, cfg: DecodeConfig) -> Explained | Rejected | None:
    """A UTF-8 file with legacy-encoded lines pasted in, decoded segment by segment.

    None when the valid-UTF-8 lines do not hold enough plausible CJK text to say the file is
    UTF-8 at heart (a GBK file almost never has a whole line of valid 3-byte UTF-8).
    """
    kinds: list[tuple[int, bytes, str]] = []
    utf8_text: list[str] = []
    for start, line in _lines(raw):
        if line.isascii():
            kinds.append((start, line, "ascii"))
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            kinds.append((start, line, "legacy"))
        else:
            kinds.append((start, line, "utf-8"))
            utf8_text.append(text)
    if not utf8_text:
        return None
    joined = "".join(utf8_text)
    score, n = zh_score(joined)
    cjk = sum(1 for ch in joined if "\u3000" <= ch <= "\u9fff")
    if score is None or cjk < cfg.min_utf8_segment_chars or score < cfg.min_zh_score:
        return None
    legacy_bytes = b"".join(line for _, line, kind in kinds if kind == "legacy")
    choice = _choose(legacy_bytes, cfg)
    if choice is None:
        return None
    # Runs of lines of one kind; ASCII lines join the run they sit in.
    runs: list[list[Any]] = []  # [kind, byte_start, byte_end, first_line, last_line]
    for index, (start, line, kind) in enumerate(kinds):
        if kind == "ascii" and runs:
            runs[-1][2] = start + len(line)
            runs[-1][4] = index + 1
            continue
        kind = "utf-8" if kind == "ascii" else kind
        if runs and runs[-1][0] == kind:
            runs[-1][2] = start + len(line)
            runs[-1][4] = index + 1
        else:
            runs.append([kind, start, start + len(line), index + 1, index + 1])
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    chars: list[int] = []
    segments: list[dict[str, Any]] = []
    offset = 0
    for kind, start, end, first, last in runs:
        codec = "utf-8" if kind == "utf-8" else choice.codec
        piece = decode_recording(raw[start:end], codec)
        spans += [(s + start, e + start) for s, e in piece.spans]
        chars += [c + offset for c in piece.chars]
        segments.append({"encoding": codec, "bytes": [start, end],
                         "chars": [offset, offset + len(piece.text)], "lines": [first, last],
                         **({"label": choice.label, "detector": choice.detector,
                             "confidence": round(choice.confidence, 4)}
                            if kind != "utf-8" else {"detector": "strict-utf-8"})})
        parts.append(piece.text)
        offset += len(piece.text)
    legacy = sum(1 for s in segments if s["encoding"] != "utf-8")
    mixed_choice = Choice(
        "utf-8", "utf-8", "segments", round(min(1.0, choice.confidence), 4),
        f"UTF-8 with {legacy} segment(s) of {choice.codec} ({choice.evidence})",
        choice.alternatives)
    return _finish(raw, Decoded("".join(parts), spans, chars), mixed_choice, cfg,
                   segments=segments)

