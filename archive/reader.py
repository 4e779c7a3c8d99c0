"""read: find the inputs a user named and read their bytes exactly as received, safely.

`discover` expands files, folders (recursively) and globs into a sorted, de-duplicated list of
files, streaming so a folder of many thousands of files costs no more than its listing.
What cannot be an input is reported, never fatal and never silent: a path that names nothing,
a FIFO, device or socket (reading one could hang the run), a symlink whose target leaves the
folder it was found in (and every allowed input root), a folder that cannot be listed, a path
outside the allowed input roots. Each becomes a `Missing` with a reason; the run records it.

A crawl file (`.warc`, `.warc.gz`, `.arc`, `.arc.gz`) is discovered like any file, under the same
rules; `archive.warc` then expands it into its records, each an input (issue #18).

`read` opens non-blocking (a FIFO cannot hang it), checks with fstat that it has a regular file
no larger than the limit before reading, so an oversized input is neither read nor stored.

Allowed input roots: an optional list (`DOCCLEAN_INPUT_ROOTS`, paths separated by `:`); when
set, every input must resolve inside one of them (the CLI and the DAG both use `discover`).
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
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
INPUT_ROOTS_ENV = "DOCCLEAN_INPUT_ROOTS"


@dataclass(frozen=True)
class Missing:
    """A path that cannot be an input (names nothing, not a regular file, outside the allowed
    roots, unlistable...): reported and recorded with its reason, never fatal."""

    path: str
    reason: str
    message: str


def input_roots(value: str | Sequence[str] | None = None) -> list[Path] | None:
    """The allowed input roots (resolved), from `value` or the environment; None: no limit."""
    if value is None:
        value = os.environ.get(INPUT_ROOTS_ENV) or None
    if value is None:
        return None
    parts = value.split(os.pathsep) if isinstance(value, str) else list(value)
    return [Path(os.path.realpath(p)) for p in parts if p]


def inside(path: str | os.PathLike[str], roots: Iterable[Path]) -> bool:
    """Whether `path`, all symlinks resolved, is one of `roots` or below one."""
    real = Path(os.path.realpath(path))
    return any(real == root or root in real.parents for root in roots)


def discover(paths: Iterable[str | os.PathLike[str]],
             roots: Sequence[Path] | None = None) -> Iterator[Path | Missing]:
    """Files under each path, each yielded once, in a stable order per argument.

    `roots` (default: `input_roots()` from the environment) limits where inputs may be.
    """
    if roots is None:
        roots = input_roots()
    seen: set[str] = set()
    for arg in paths:
        raw = os.fspath(arg)
        if os.path.lexists(raw):
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
            if roots is not None and not inside(match, roots):
                yield Missing(match, "outside_input_roots",
                              f"{match} is outside the allowed input roots ({INPUT_ROOTS_ENV})")
                continue
            # A symlink met while walking must stay inside the folder the user named (or an
            # allowed root); one the user named directly was asked for.
            fence = [Path(os.path.realpath(match)), *(roots or ())]
            for item in _walk(Path(match), fence, set()):
                if isinstance(item, Missing):
                    yield item
                    continue
                key = os.path.realpath(item)
                if key not in seen:
                    seen.add(key)
                    yield item


def _walk(top: Path, fence: list[Path], dirs: set[str]) -> Iterator[Path | Missing]:
    """Regular files under `top`; what is not one, or cannot be listed, as a `Missing`.

    Depth first in name order, with an explicit stack: a hostile tree thousands of folders
    deep must not exhaust Python's recursion limit.
    """
    stack: list[Path | Missing] = [top]
    while stack:
        path = stack.pop()
        if isinstance(path, Missing):
            yield path
            continue
        try:
            st = path.stat()
        except OSError as exc:
            yield Missing(str(path), "unreadable", f"{path}: {exc.strerror or exc}")
            continue
        if stat.S_ISREG(st.st_mode):
            yield path
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield _not_regular(path, st.st_mode)
            continue
        real = os.path.realpath(path)
        if real in dirs:              # a symlink loop, or a folder reached twice
            continue
        dirs.add(real)
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Missing(str(path), "unreadable", f"{path}: cannot list the folder ({exc.strerror or exc})")
            continue
        children: list[Path | Missing] = []
        for entry in entries:
            if entry.name.startswith(".") or entry.name in SKIP_NAMES:
                continue
            child = Path(entry.path)
            if entry.is_symlink() and os.path.exists(child) and not inside(child, fence):
                children.append(Missing(str(child), "symlink_outside_root",
                                        f"{child} links to {os.path.realpath(child)}, outside the "
                                        "input folder"))
            else:
                children.append(child)
        stack.extend(reversed(children))


def _not_regular(path: Path | str, mode: int) -> Missing:
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return Missing(str(path), "not_a_regular_file", f"{path} is {kind}, not a regular file")


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


def read(path: Path, max_bytes: int | None = None) -> Document | Rejected:
    """The document for one file, or why it could not be read.

    Opened non-blocking (a FIFO swapped in after `discover` cannot hang us), then checked with
    fstat: a regular file, and no larger than `max_bytes` (rejected unread, nothing stored).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        return Rejected(STEP, "not_a_file", f"{path} is a directory")
    except PermissionError as exc:
        return Rejected(STEP, "unreadable", f"{path}: permission denied ({exc.strerror})")
    except OSError as exc:
        return Rejected(STEP, "unreadable", f"{path}: {exc.strerror or exc}")
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            return Rejected(STEP, "not_a_file", f"{path} is a directory")
        if not stat.S_ISREG(st.st_mode):
            missing = _not_regular(path, st.st_mode)
            return Rejected(STEP, missing.reason, missing.message)
        if max_bytes is not None and st.st_size > max_bytes:
            return Rejected(STEP, "too_large", f"{st.st_size} bytes is over the {max_bytes}-byte "
                            "limit: not read, not stored", {"bytes": st.st_size})
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
        if max_bytes is not None and len(raw) > max_bytes:      # it grew after the fstat
            return Rejected(STEP, "too_large", f"over the {max_bytes}-byte limit: not stored",
                            {"bytes": len(raw)})
    except OSError as exc:
        return Rejected(STEP, "unreadable", f"{path}: {exc.strerror or exc}")
    finally:
        os.close(fd)
    mtime = datetime.fromtimestamp(st.st_mtime, UTC).isoformat(timespec="seconds")
    source = Source.from_bytes(path_text(path)[0], raw, mtime)
    return Document(source=source, raw=raw, is_html=looks_like_html(path, raw))
