"""read (WARC/ARC): each capture in a crawl file is one input, its capture provenance kept.

Issue #18. A `.warc`, `.warc.gz` (one gzip member per record), `.arc` or `.arc.gz` file that
`discover` finds is not one input but many: `expand` stages the file's bytes once into the
run's raw store (named by their sha256, as every input's are) and scans it record by record,
yielding one `WarcRecordRef` (offset, type, record id) per record. The scan holds one record's
headers at a time: a WARC of any size costs the memory of its largest header block.

A worker then reads one record (`read_record`) from the staged copy, so what is cleaned is
exactly what the archive keeps:
- an HTTP `response` or a `resource` whose media type is text (`WarcConfig.text_media_types`)
  and whose HTTP status is kept (`WarcConfig.http_statuses`) becomes a `Document`; its payload
  is undone of its transfer encoding (chunked) and content encoding (gzip, deflate, br) here, read
  at most `max_bytes` (the per-input limit), and the `Content-Type` charset goes to decode as
  evidence (`decoding["http_charset"]`);
- every other record is `Skipped` with a reason (`warc_request`, `warc_metadata` (also a
  crawler's own `resource` under a `metadata:` URI, as wget writes its log),
  `warc_warcinfo`, `warc_revisit` naming the capture it repeats, `warc_not_text`,
  `warc_http_status`), never dropped silently;
- `WARC-Block-Digest` and `WARC-Payload-Digest` are checked when present (warcio computes them
  over the block and the HTTP body as stored): a mismatch is a rejection
  (`warc_digest_mismatch`), as are a truncated block (`warc_truncated`), bad chunking
  (`warc_bad_chunking`), a body that does not decompress (`bad_content_encoding`) or uses an
  encoding we cannot undo (`unsupported_content_encoding`: not gzip, deflate or br);
- a record the scan cannot parse is a rejection (`warc_corrupt_record`; a gzip file that is not
  one member per record: `warc_gzip_not_per_record`) and the scan resumes at the next gzip
  member or `WARC/` header after it.

Identity: an input from a WARC is (WARC file sha256, record offset), which is what names it in
the run id (`CleanResult.item`), so a rerun over the same WARC finds its run already archived.
Its `sha256` is that of the payload decode read (two WARCs holding one capture dedup like any
other inputs); its raw bytes are the WARC's, kept once per archive under the WARC's sha256, and
the `warc` entry of the record's source says where in it the record is (`offset`).

The library is warcio (Apache-2.0): it reads ARC as well as WARC, gives every record's offset in
a multi-member gzip, and checks digests; FastWARC 2.0 reads no ARC, and treats a single-member
gzip WARC as valid (every record at one offset). `scripts/eval_warc.py` measures both.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cleaners.config import WarcConfig
from cleaners.model import Document, Rejected, Source

log = logging.getLogger(__name__)

STEP = "read.warc"
SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
# Bytes copied, hashed and decompressed at a time: the memory of one read.
BLOCK = 1 << 16
GZIP_MAGIC = b"\x1f\x8b\x08"
# A record header at the start of a line: where a plain WARC's next record may begin.
WARC_START = re.compile(rb"(?:^|\n)WARC/1\.[01]\r?\n")
# warcio writes some warnings (a record not followed by a blank line, spaces replaced in a URI)
# straight to stderr; the same facts reach the dispositions as reasons.
# Bytes of HTTP headers a response block may hold beyond the payload limit before it is known
# to be too large unread (real header blocks are under 8 KB; servers cap them at 8-64 KB).
HTTP_HEADER_ALLOWANCE = 65536
SKIP_TYPES = {"request": "warc_request", "metadata": "warc_metadata", "warcinfo": "warc_warcinfo",
              "revisit": "warc_revisit", "continuation": "warc_continuation",
              "conversion": "warc_conversion"}


def is_warc(path: str | os.PathLike[str]) -> bool:
    """Whether a discovered file is a crawl file (by its name: `.warc`, `.warc.gz`, `.arc`,
    `.arc.gz`, any case)."""
    return os.fspath(path).lower().endswith(SUFFIXES)


@dataclass(frozen=True)
class WarcRecordRef:
    """One record of a crawl file, as the scan found it: what a worker needs to read it.

    `path` is the WARC as the user named it, `file` the bytes to read (the staged copy
    raw/<sha256>, or the original when nothing is staged). `error`: the scan could not parse a
    record here (a rejection with that reason)."""

    path: str
    file: str
    file_sha256: str
    file_bytes: int
    mtime: str | None
    offset: int
    record_type: str | None = None
    record_id: str | None = None
    target_uri: str | None = None
    error: str | None = None
    message: str = ""

    def facts(self) -> dict[str, Any]:
        """The provenance every input from this record carries (the source's `warc` entry)."""
        return {"file": self.path, "file_sha256": self.file_sha256, "file_bytes": self.file_bytes,
                "offset": self.offset, "record_type": self.record_type, "record_id": self.record_id,
                "target_uri": self.target_uri,
                "format": "arc" if self.path.lower().endswith((".arc", ".arc.gz")) else "warc"}

    @classmethod
    def from_source(cls, source: dict[str, Any], file: str | os.PathLike[str]) -> WarcRecordRef:
        """The record a record's `sources` entry names, to be read from `file` (its raw/<sha256>):
        how the payload of an archived record is found again (the report replays it)."""
        w = source["warc"]
        return cls(w["file"], os.fspath(file), w["file_sha256"], w.get("file_bytes", 0),
                   source.get("mtime"), w["offset"])


@dataclass(frozen=True)
class Skipped:
    """A record that is not an input (a request, metadata, a non-text payload...): listed in the
    dispositions as skipped with its reason."""

    reason: str
    message: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WarcRead:
    """What `read_record` gives: the document, a rejection or a skip, and the record's facts."""

    outcome: Document | Rejected | Skipped
    facts: dict[str, Any]


# --- discovery: stage and scan -------------------------------------------------------------

def expand(items: Iterable[Any], raw_dir: Path | None) -> Iterator[Any]:
    """`items` with every crawl file replaced by its records (lazily, in file order)."""
    for item in items:
        if isinstance(item, Path) and is_warc(item):
            yield from scan(item, raw_dir)
        else:
            yield item


def scan(path: Path, raw_dir: Path | None) -> Iterator[WarcRecordRef]:
    """Stage `path` into `raw_dir` (copied while hashed; not when `raw_dir` is None) and yield a
    ref per record. Never raises for the file's sake: what cannot be read is a ref with an error."""
    from archive.reader import path_text

    name = path_text(path)[0]
    try:
        file, sha, size, mtime = _stage(path, raw_dir)
    except OSError as exc:
        yield WarcRecordRef(name, str(path), "", 0, None, 0, error="unreadable",
                            message=f"{name}: {exc.strerror or exc}")
        return
    start: int | None = 0
    gz = _head(file).startswith(GZIP_MAGIC)
    while start is not None:
        found = 0
        with open(file, "rb") as fh:
            fh.seek(start)
            it = _iterator(fh, check_digests=False)     # the worker checks them
            offset = start
            try:
                for rec in it:
                    offset = it.get_record_offset()
                    found += 1
                    h = rec.rec_headers
                    yield WarcRecordRef(name, file, sha, size, mtime, offset, rec.rec_type,
                                        h.get_header("WARC-Record-ID"), h.get_header("WARC-Target-URI"))
                    offset = it.offset
                start = None
                if it.offset < size:        # the iterator stopped before the end: a cut record
                    yield WarcRecordRef(name, file, sha, size, mtime, it.offset, error="warc_truncated",
                                        message=f"the last {size - it.offset} bytes of the file are "
                                        "no whole record (the file is cut?)")
                    start = _next_start(file, it.offset + 1, gz)
            except Exception as exc:  # warcio raises plain Exceptions too: one bad record is its reason
                bad = max(offset, it.offset, 0)      # a single-stream gzip gives no true offset
                reason, message = _scan_error(exc, bad)
                yield WarcRecordRef(name, file, sha, size, mtime, bad, error=reason, message=message)
                start = None if reason == "warc_gzip_not_per_record" and found else \
                    _next_start(file, bad + 1, gz)
            finally:
                it.close()


def _iterator(fh: Any, check_digests: bool = True) -> Any:
    from warcio.archiveiterator import ArchiveIterator

    return ArchiveIterator(fh, arc2warc=True, check_digests=check_digests)


def _head(file: str) -> bytes:
    with open(file, "rb") as fh:
        return fh.read(4)


def _scan_error(exc: Exception, offset: int) -> tuple[str, str]:
    text = " ".join(str(exc).split())
    if "non-chunked gzip" in text:
        return ("warc_gzip_not_per_record", "the file is one gzip stream, not one gzip member per "
                "record: records cannot be addressed by offset (`warcio recompress` fixes it); "
                "the records after the first are not read")
    return "warc_corrupt_record", f"no readable record at offset {offset}: {text[:300]}"


def _next_start(file: str, after: int, gz: bool) -> int | None:
    """The offset of the next gzip member (or `WARC/1.x` line) at or after `after`, or None."""
    carry = b""
    pos = after
    with open(file, "rb") as fh:
        fh.seek(after)
        while block := fh.read(BLOCK):
            data = carry + block
            base = pos - len(carry)
            if gz:
                hit = data.find(GZIP_MAGIC)
                if hit >= 0:
                    return base + hit
            else:
                m = WARC_START.search(data)
                if m is not None:
                    return base + m.start() + (1 if data[m.start():m.start() + 1] == b"\n" else 0)
            carry = data[-16:]
            pos += len(block)
    return None


def _stage(path: Path, raw_dir: Path | None) -> tuple[str, str, int, str]:
    """(file to read, sha256, size, mtime) of a crawl file; copied into `raw_dir` while hashed.

    Opened non-blocking and checked to be a regular file, as `reader.read` does: the copy is what
    every record is read from, so a WARC replaced during the run cannot change what is archived.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path} is not a regular file")
        mtime = datetime.fromtimestamp(st.st_mtime, UTC).isoformat(timespec="seconds")
        h = hashlib.sha256()
        with os.fdopen(fd, "rb", closefd=False) as src:
            if raw_dir is None:
                while block := src.read(BLOCK * 16):
                    h.update(block)
                return str(path), h.hexdigest(), st.st_size, mtime
            raw_dir.mkdir(parents=True, exist_ok=True)
            tmp = raw_dir / f".warc.{os.getpid()}.{st.st_ino}.part"
            size = 0
            with tmp.open("wb") as out:
                while block := src.read(BLOCK * 16):
                    h.update(block)
                    out.write(block)
                    size += len(block)
    finally:
        os.close(fd)
    sha = h.hexdigest()
    target = raw_dir / sha
    if target.exists():
        tmp.unlink()
    else:
        os.replace(tmp, target)
    return str(target), sha, size, mtime


# --- one record ----------------------------------------------------------------------------

def read_record(ref: WarcRecordRef, cfg: WarcConfig, max_bytes: int) -> WarcRead:
    """The document of one record, or why it is rejected or skipped; with the record's facts."""
    facts = ref.facts()
    if ref.error is not None:
        return WarcRead(Rejected(STEP, ref.error, ref.message), facts)
    with open(ref.file, "rb") as fh:
        fh.seek(ref.offset)
        it = _iterator(fh)
        try:
            try:
                rec = next(iter(it))
            except Exception as exc:  # the scan read it: the file changed, or a warcio bug
                return WarcRead(Rejected(STEP, "warc_corrupt_record", _scan_error(exc, ref.offset)[1]), facts)
            facts.update(_facts(rec))
            outcome = _outcome(rec, facts, ref, cfg, max_bytes)
        finally:
            it.close()
    return WarcRead(outcome, facts)


def _facts(rec: Any) -> dict[str, Any]:
    h = rec.rec_headers
    out: dict[str, Any] = {
        "record_type": rec.rec_type, "record_id": h.get_header("WARC-Record-ID"),
        "target_uri": h.get_header("WARC-Target-URI"), "date": h.get_header("WARC-Date"),
        "block_digest": h.get_header("WARC-Block-Digest"),
        "payload_digest": h.get_header("WARC-Payload-Digest"),
    }
    if rec.http_headers is not None and rec.rec_type in ("response", "revisit"):
        hh = rec.http_headers
        out.update(http_status=_status(hh.get_statuscode()), content_type=hh.get_header("Content-Type"),
                   transfer_encoding=hh.get_header("Transfer-Encoding"),
                   content_encoding=hh.get_header("Content-Encoding"))
    else:
        out["content_type"] = rec.content_type
    charset = _charset(out.get("content_type"))
    if charset:
        out["http_charset"] = charset
    if rec.rec_type == "revisit":
        out.update(refers_to=h.get_header("WARC-Refers-To"),
                   refers_to_uri=h.get_header("WARC-Refers-To-Target-URI"),
                   refers_to_date=h.get_header("WARC-Refers-To-Date"), profile=h.get_header("WARC-Profile"))
    return {k: v for k, v in out.items() if v is not None}


def _status(code: Any) -> int | None:
    try:
        return int(code)
    except (TypeError, ValueError):
        return None


CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:+-]+)""", re.IGNORECASE)


def _charset(content_type: str | None) -> str | None:
    """The charset a Content-Type names, lowercased.

    >>> _charset('text/html; Charset="GBK"')
    'gbk'
    """
    m = CHARSET.search(content_type or "")
    return m.group(1).lower() if m else None


def media_type(content_type: str | None) -> str:
    """
    >>> media_type("Text/HTML; charset=utf-8")
    'text/html'
    """
    return (content_type or "").split(";", 1)[0].strip().lower()


def _outcome(rec: Any, facts: dict[str, Any], ref: WarcRecordRef, cfg: WarcConfig,
             max_bytes: int) -> Document | Rejected | Skipped:
    kind = rec.rec_type
    skip: Skipped | None = None
    declared = rec.rec_headers.get_header("Content-Length")
    length = _status(declared)
    if length is None or length < 0:
        return Rejected(STEP, "warc_bad_length", f"the record's length ({declared!r}) is not a byte count"
                        if declared is not None else "the record has no Content-Length")
    if kind in SKIP_TYPES:
        message = f"a {kind} record is not a document"
        if kind == "revisit":
            message = (f"a revisit of {facts.get('refers_to_uri') or facts.get('target_uri')} "
                       f"(record {facts.get('refers_to')}, captured {facts.get('refers_to_date')}): "
                       "the payload is that capture's")
        skip = Skipped(SKIP_TYPES[kind], message)
    elif kind == "resource" and (facts.get("target_uri") or "").lower().startswith("metadata:"):
        # wget --warc-file stores its arguments and log as resources under metadata:// URIs
        skip = Skipped("warc_metadata", "a crawler's own resource (a metadata: URI), not a capture")
    elif kind not in ("response", "resource"):
        skip = Skipped("warc_other_record", f"a record of type {kind!r} is not a document")
    elif kind == "response" and rec.http_headers is None:
        skip = Skipped("warc_not_http", "a response record without HTTP headers (dns:, ftp...)")
    elif kind == "response" and facts.get("http_status") not in cfg.http_statuses:
        skip = Skipped("warc_http_status", f"HTTP status {facts.get('http_status')}: not a captured "
                       "page (warc.http_statuses)")
    elif media_type(facts.get("content_type")) and not media_type(facts.get("content_type")).startswith(
            cfg.text_media_types):
        skip = Skipped("warc_not_text", f"payload of type {media_type(facts.get('content_type'))!r} "
                       "is not text (warc.text_media_types)")
    if skip is not None:
        # Its block is still read, so a damaged record is a rejection, not a quiet skip.
        damage = _drain_and_check(rec, facts)
        return damage or skip
    if length > max_bytes + HTTP_HEADER_ALLOWANCE:
        return Rejected(STEP, "too_large", f"a record block of {length} bytes is over the "
                        f"{max_bytes}-byte input limit: not read", {"bytes": length})
    payload = _payload(rec, facts, max_bytes)
    if isinstance(payload, Rejected) and payload.reason == "too_large":
        return payload                     # not read further: the rest of the block is not checked
    # A short or altered block explains a body that does not decode: that is the reason given.
    damage = _drain_and_check(rec, facts)
    if damage is not None:
        return damage
    if isinstance(payload, Rejected):
        return payload
    source = Source.from_bytes(ref.path, payload, ref.mtime)
    decoding = {"http_charset": facts["http_charset"]} if "http_charset" in facts else {}
    html = media_type(facts.get("content_type")) in ("text/html", "application/xhtml+xml")
    metadata = {"url": facts.get("target_uri"), "captured_at": facts.get("date")}
    if not html:
        from archive.reader import looks_like_html

        html = looks_like_html(Path(facts.get("target_uri") or ""), payload)
    return Document(source=source, raw=payload, is_html=html, decoding=decoding, metadata=metadata)


def _payload(rec: Any, facts: dict[str, Any], max_bytes: int) -> bytes | Rejected:
    """The HTTP body with its transfer and content encodings undone, at most `max_bytes`."""
    from warcio.bufferedreaders import ChunkedDataException, ChunkedDataReader

    body: Any = rec.raw_stream
    transfer = (facts.get("transfer_encoding") or "").strip().lower()
    if transfer == "chunked":
        body = ChunkedDataReader(rec.raw_stream, raise_exceptions=True)
    elif transfer not in ("", "identity"):
        return Rejected(STEP, "unsupported_transfer_encoding", f"Transfer-Encoding {transfer!r}")
    encoding = (facts.get("content_encoding") or "").strip().lower()
    decomp = _decompressor(encoding)
    if isinstance(decomp, Rejected):
        return decomp
    out = bytearray()
    try:
        while block := body.read(BLOCK):
            if decomp is None:
                out += block
            else:      # never more than the limit + 1 bytes out: a decompression bomb stops here
                out += decomp.feed(block, max_bytes + 1 - len(out))
                while decomp.pending() and len(out) <= max_bytes:
                    out += decomp.drain(max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                return Rejected(STEP, "too_large", f"the payload is over the {max_bytes}-byte input "
                                "limit: not read further", {"bytes": len(out)})
    except ChunkedDataException as exc:
        return Rejected(STEP, "warc_bad_chunking", f"the chunked transfer encoding is broken: {exc}")
    except Exception as exc:  # zlib.error, brotli.error: the body is not what its header says
        return Rejected(STEP, "bad_content_encoding", f"the {encoding} body does not decompress: {exc}")
    if decomp is not None and not decomp.eof:
        return Rejected(STEP, "bad_content_encoding", f"the {encoding} body ends before its stream does")
    return bytes(out)


def _decompressor(encoding: str) -> _Zlib | _Brotli | Rejected | None:
    if encoding in ("", "identity", "none"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return _Zlib(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Zlib(None)
    if encoding == "br":
        return _Brotli()
    return Rejected(STEP, "unsupported_content_encoding",
                    f"Content-Encoding {encoding!r} cannot be undone here (gzip, deflate, br)")


class _Zlib:
    """gzip, or HTTP `deflate` (`wbits` None): zlib-wrapped by the RFC, raw deflate by many
    servers; the first bytes say which. Output bounded per call (`max_length`)."""

    def __init__(self, wbits: int | None) -> None:
        self.wbits = wbits
        self.d: Any = zlib.decompressobj(wbits) if wbits is not None else None

    def feed(self, data: bytes, max_length: int) -> bytes:
        if self.d is None:
            self.d = zlib.decompressobj()
            try:
                return bytes(self.d.decompress(data, max_length))
            except zlib.error:
                self.d = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self.d.decompress(data, max_length))

    def pending(self) -> bool:
        return bool(self.d is not None and self.d.unconsumed_tail)

    def drain(self, max_length: int) -> bytes:
        return bytes(self.d.decompress(self.d.unconsumed_tail, max_length))

    @property
    def eof(self) -> bool:
        return bool(self.d is not None and self.d.eof)


class _Brotli:
    """`br` (what browsers ask for, so browser-driven crawls store it), output bounded per call."""

    def __init__(self) -> None:
        import brotli

        self.d = brotli.Decompressor()

    def feed(self, data: bytes, max_length: int) -> bytes:
        return bytes(self.d.process(data, output_buffer_limit=max_length))

    def pending(self) -> bool:
        return not self.d.can_accept_more_data()

    def drain(self, max_length: int) -> bytes:
        return bytes(self.d.process(b"", output_buffer_limit=max_length))

    @property
    def eof(self) -> bool:
        return bool(self.d.is_finished())


def _drain_and_check(rec: Any, facts: dict[str, Any]) -> Rejected | None:
    """Read the rest of the block; a short block or a digest that does not match is a rejection.
    `facts["digests_verified"]`: True when a digest was present and matched."""
    raw = rec.raw_stream
    while raw.read(BLOCK):
        pass
    if getattr(raw, "limit", 0) > 0:
        return Rejected(STEP, "warc_truncated", f"the record block ends {raw.limit} bytes before its "
                        "Content-Length (the file is cut, or, gzipped, the record's gzip member ends "
                        "before the record does)")
    checker = getattr(rec, "digest_checker", None)
    problems = [p for p in (checker.problems if checker else []) if "unknown hash" not in p]
    if problems:
        return Rejected(STEP, "warc_digest_mismatch", "; ".join(problems))
    facts["digests_verified"] = bool(checker and checker.passed)
    return None
