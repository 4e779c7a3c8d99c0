"""decode (`encoding.detect`): raw bytes to text, with the evidence for the codec recorded.

Shape: decode ``(Document with raw bytes) -> Explained | Rejected``.

Order of evidence (first version, issue #2): BOM; strict UTF-8 (fast path: most inputs are
UTF-8 and must not pay for detection); charset-normalizer for the rest. GB2312/GBK answers
decode as GB18030 and Big5 as Big5-HKSCS (supersets: the text is the same where both decode).
Inputs that are not text at all are rejected with a reason.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from cleaners.model import Change, Document, Explained, Rejected

STEP = "encoding.detect"
VERSION = "1"


@dataclass(frozen=True)
class DecodeConfig:
    # A NUL byte in text that has no UTF-16/32 shape means binary (PNG, PDF, zip all carry them).
    max_nul_ratio: float = 0.01
    # Share of undecodable bytes above which the input is not text in any codec we know.
    max_undecodable_ratio: float = 0.05
    # Inputs larger than this are rejected before decoding (bytes): one document, not a dump.
    max_bytes: int = 50 * 1024 * 1024


BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
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


def _decoded(text: str, codec: str, label: str, detector: str, confidence: float,
             evidence: str, **extra: object) -> Explained:
    facts = {"encoding": codec, "encoding_label": label, "encoding_detector": detector,
             "encoding_confidence": round(confidence, 4), "encoding_evidence": evidence,
             "undecodable_bytes": 0, **extra}
    change = Change(STEP, "decode", codec, "", f"decoded by {evidence}",
                    {"label": label, "confidence": round(confidence, 4)})
    return Explained(text=text, changes=(change,), decoding=facts)


def decode(doc: Document, cfg: DecodeConfig) -> Explained | Rejected:
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
                return _decoded(raw[len(bom):].decode(codec), codec, codec, "bom", 1.0, "byte order mark")
            except UnicodeDecodeError:
                break  # a BOM followed by something else: let detection decide
    try:
        return _decoded(raw.decode("utf-8"), "utf-8", "utf-8", "strict-utf-8", 1.0, "strict UTF-8")
    except UnicodeDecodeError:
        pass
    nul = raw.count(0)
    if nul / len(raw) > cfg.max_nul_ratio and not _utf16_shape(raw):
        return Rejected(STEP, "binary_content", f"{nul} NUL bytes in {len(raw)}: not text")
    from charset_normalizer import from_bytes  # imported here: the UTF-8 fast path never pays for it

    best = from_bytes(raw).best()
    if best is None:
        return Rejected(STEP, "undecodable", "no text encoding decodes these bytes")
    label = best.encoding.lower().replace("_", "-")
    codec = SUPERSETS.get(label.replace("-", ""), SUPERSETS.get(label, label))
    text = raw.decode(codec, errors="replace")
    bad = text.count("\ufffd")
    if bad / max(1, len(raw)) > cfg.max_undecodable_ratio:
        return Rejected(STEP, "undecodable", f"{bad} undecodable bytes under {codec}",
                        {"codec": codec})
    confidence = 1.0 - float(best.chaos)
    return _decoded(text, codec, label, "charset-normalizer", confidence,
                    f"charset-normalizer ({label})", undecodable_bytes=bad)


def _utf16_shape(raw: bytes) -> bool:
    """Text in UTF-16 without a BOM has NULs on every other byte for ASCII-heavy content."""
    even, odd = raw[0::2].count(0), raw[1::2].count(0)
    return max(even, odd) > 0.2 * (len(raw) / 2) and min(even, odd) < 0.05 * (len(raw) / 2)
