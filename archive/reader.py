"""read: find the inputs a user named and read their bytes exactly as received.

`discover` expands files, folders (recursively) and globs into a sorted, de-duplicated list of
files, streaming so a folder of many thousands of files costs no more than its listing.
Paths that name nothing are reported, not fatal: the run goes on and records them.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cleaners.model import Document, Rejected, Source

STEP = "read"
HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml"}
# Sniff this many leading bytes for an HTML document whose name does not say so.
HTML_SNIFF_BYTES = 1024
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta ")
SKIP_NAMES = {".DS_Store", "Thumbs.db"}


@dataclass(frozen=True)
class Missing:
    """A path the user gave that names no file: reported and recorded, never fatal."""

    path: str
    reason: str
    message: str


def discover(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | Missing]:
    """Files under each path, each yielded once, in a stable order per argument."""
    seen: set[str] = set()
    for arg in paths:
        raw = os.fspath(arg)
        if Path(raw).exists():
            matches = [raw]
        elif glob.has_magic(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                yield Missing(raw, "not_found", f"the pattern {raw!r} matches no file")
                continue
        else:
            yield Missing(raw, "not_found", f"{raw}: no such file or directory")
            continue
        for match in matches:
            for path in _walk(Path(match)):
                key = os.path.realpath(path)
                if key not in seen:
                    seen.add(key)
                    yield path


def _walk(path: Path) -> Iterator[Path]:
    if not path.is_dir():
        yield path
        return
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name not in SKIP_NAMES and not name.startswith("."):
                yield Path(dirpath) / name


def path_text(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """A path as storable text, and its exact bytes in hex when they are not valid UTF-8.

    A name like `bad\\xff\\xfe.txt` arrives from the OS as a str with lone surrogates
    (Python's `surrogateescape`), which no UTF-8 record or JSON Lines file can hold. The text
    form shows each undecodable byte as `\\xNN`; the hex of the raw bytes keeps the name
    losslessly (`bytes.fromhex(h)` is the name the OS gave).
    """
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), raw.hex()


def looks_like_html(path: Path, raw: bytes) -> bool:
    if path.suffix.lower() in HTML_SUFFIXES:
        return True
    head = raw[:HTML_SNIFF_BYTES].lstrip().lower()
    return any(marker in head for marker in HTML_MARKERS)


def read(path: Path) -> Document | Rejected:
    """The document for one file, or why it could not be read."""
    try:
        raw = path.read_bytes()
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    except IsADirectoryError:
        return Rejected(STEP, "not_a_file", f"{path} is a directory")
    except PermissionError as exc:
        return Rejected(STEP, "unreadable", f"{path}: permission denied ({exc.strerror})")
    except OSError as exc:
        return Rejected(STEP, "unreadable", f"{path}: {exc.strerror or exc}")
    source = Source.from_bytes(path_text(path)[0], raw, mtime)
    return Document(source=source, raw=raw, is_html=looks_like_html(path, raw))
