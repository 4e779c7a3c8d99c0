"""Text helpers the steps share, in one place so two steps cannot drift apart (issue #17).

- **Data files** (``cleaners/data/*``, shipped with the package): `data_text` reads a file once
  per process and keeps its sha256 (`data_digests`: what this process's steps rest on);
  `data_terms` (one term a line, "#" comments), `data_rows` (a TSV with a header) and
  `data_table` (a ``from<TAB>to`` file as a `str.translate` table) parse it.
- **OpenCC**: `opencc_version` (refuses the reimplementation that installs a module of the
  same name: README "Why opencc") and `converter`, one official converter per config per
  process, used by every step that converts or folds script; `opencc_files`, the installed
  OpenCC files' sha256 (hashed once at start-up, `use_opencc_files`).
- **Script folding**: `to_simplified` (t2s, then the regional variants t2s leaves apart:
  ``data/dedup_script_variants.tsv``; what dedup's keys see) and `view_fold`, a 1:1 per-character
  view (t2s character by character, full-width punctuation to ASCII, A-Z to a-z: positions in
  the view are positions in the text; what strip's rules match on).
- **Dates**: `iso_datetime` (one policy for a publish time: a date alone stays a date, a local
  time gets the configured offset, a zone given is kept) and `instant` (an ISO string as a UTC
  moment to compare).

Pure: the only files read are the package's own data files (each once); nothing here writes,
registers or hashes anything outside the package (the edge does that: ``archive.startup``).
This module imports nothing else of docclean's but `cleaners.model`, so every step can import
it without a cycle (tests/unit/test_imports.py checks the graph).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import TYPE_CHECKING

from cleaners.model import CleaningError

if TYPE_CHECKING:  # the binding is imported when a converter is first built
    import opencc

# ---------------------------------------------------------------------------------------------
# Data files
# ---------------------------------------------------------------------------------------------

_DIGESTS: dict[str, str] = {}


@functools.cache
def data_text(name: str) -> str:
    """The text of ``cleaners/data/<name>``, read once per process (its sha256 kept)."""
    try:
        raw = resources.files("cleaners").joinpath("data", name).read_bytes()
    except OSError as exc:
        raise CleaningError(f"cleaners/data/{name} is missing: reinstall docclean (it ships "
                            "cleaners/data/* as package data)") from exc
    _DIGESTS[name] = hashlib.sha256(raw).hexdigest()
    return raw.decode("utf-8")


def data_digests() -> dict[str, str]:
    """The sha256 of every data file this process has read so far, by name."""
    return dict(sorted(_DIGESTS.items()))


@functools.cache
def data_terms(name: str) -> tuple[str, ...]:
    """The terms of a data file: one per line, "#" starts a comment, blank lines skipped.

    >>> "版權所有" in data_terms("boilerplate_copyright.txt")
    True
    """
    terms = []
    for line in data_text(name).splitlines():
        line = line.split("#", 1)[0].strip() if not line.startswith("#") else ""
        if line:
            terms.append(line)
    return tuple(terms)


@functools.cache
def data_rows(name: str) -> tuple[dict[str, str], ...]:
    """Rows of a TSV data file: '#' lines are comments, the first other line is the header."""
    lines = [line for line in data_text(name).splitlines() if line.strip() and not line.startswith("#")]
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) != len(header):
            raise CleaningError(f"cleaners/data/{name}: expected {len(header)} tab-separated "
                                f"columns ({', '.join(header)}), got {len(cells)} in {line!r}")
        rows.append(dict(zip(header, cells, strict=True)))
    return tuple(rows)


@functools.cache
def data_table(name: str) -> list[int | str]:
    """A ``from<TAB>to<TAB>why`` data file as a `str.translate` table.

    A list indexed by code point (identity where the file says nothing; `str.translate` keeps
    the characters past its end), not a dict: no hashing per character, and a whole text
    translates twice as fast.
    """
    mapping: dict[int, str] = {}
    for line in data_text(name).splitlines():
        if not line or line.startswith("#"):
            continue
        src, dst = line.split("\t")[:2]
        mapping[ord(src)] = dst
    table: list[int | str] = list(range(max(mapping, default=-1) + 1))
    for code, folded in mapping.items():
        table[code] = folded
    return table


# ---------------------------------------------------------------------------------------------
# OpenCC
# ---------------------------------------------------------------------------------------------

def opencc_version() -> str:
    """The version of the official OpenCC binding; refuses any other module named `opencc`.

    `opencc-python-reimplemented` installs a module of the same name that silently replaces
    the official one (README); its dictionaries are years old.

    >>> opencc_version().count(".") >= 1
    True
    """
    try:
        import opencc
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise CleaningError("script.convert needs the official OpenCC binding: "
                            "pip install 'opencc>=1.1.9'") from exc
    version = getattr(opencc, "__version__", None)
    if not isinstance(version, str) or not hasattr(opencc, "opencc_clib"):
        raise CleaningError(
            f"the `opencc` module at {getattr(opencc, '__file__', '?')} is not the official "
            "binding (opencc-python-reimplemented installs a module of the same name): "
            "pip uninstall opencc-python-reimplemented opencc && pip install 'opencc>=1.1.9'")
    return version


@functools.cache
def converter(config: str) -> opencc.OpenCC:
    """One OpenCC converter per config, built once per process (building one loads its
    dictionaries) and shared by every step."""
    opencc_version()
    import opencc

    return opencc.OpenCC(config)


_OPENCC_FILES: dict[str, str] | None = None


def use_opencc_files(digests: Mapping[str, str]) -> None:
    """Tell the steps the sha256 of each installed OpenCC file (name -> digest); hashed at the
    edge (``archive.startup.start``), so no step reads OpenCC's files itself."""
    global _OPENCC_FILES
    _OPENCC_FILES = dict(digests)


def opencc_files() -> Mapping[str, str]:
    """The installed OpenCC files' sha256 by name, as given to `use_opencc_files`."""
    if _OPENCC_FILES is None:
        raise CleaningError("the OpenCC files were not checked: call archive.startup.start() "
                            "once before cleaning (the CLI, the DAG and the tests do)")
    return _OPENCC_FILES


def convert(text: str, config: str) -> str:
    """OpenCC `config` (e.g. "t2s.json") over `text`, by the official converter itself.

    >>> convert("數字政府", "t2s.json")
    '数字政府'
    """
    return str(converter(config).convert(text))


# ---------------------------------------------------------------------------------------------
# Script and width folding
# ---------------------------------------------------------------------------------------------

# Script folding: OpenCC t2s, then the characters t2s leaves apart although a regional
# converter writes one for the other (s2tw turns 随着 into 隨著, and t2s gives back 随著;
# s2hk writes 衞生): ``data/dedup_script_variants.tsv``. Chaining tw2s and hk2s instead is not
# idempotent on Simplified input (tw2s turns 显著 into 显着), so a Simplified copy and its
# Traditional original would get different folds.

def to_simplified(text: str) -> str:
    """`text` in Simplified as comparison sees it: t2s, then the regional variants table.

    >>> to_simplified("隨著") == to_simplified("随着")
    True
    """
    return convert(text, "t2s.json").translate(data_table("dedup_script_variants.tsv"))


# Full-width forms and separators that sites use interchangeably with ASCII (seed 000 ":" vs
# most pages' "："), for the 1:1 view.
_VIEW_PUNCT = {"：": ":", "，": ",", "｜": "|", "（": "(", "）": ")", "＞": ">", "；": ";",
               "！": "!", "？": "?", "　": " ", "﹕": ":", "／": "/", "．": "."}


@functools.cache
def _view_table() -> list[int]:
    """Traditional→Simplified per character (OpenCC t2s), punctuation and case, all 1:1.

    A list indexed by code point (identity where nothing changes; `str.translate` keeps the
    characters past its end), not a dict: the lookup needs no hashing, and a whole document
    folds twice as fast (issue #5's strip floor).
    """
    chars = [chr(c) for c in (*range(0x3400, 0x4DC0), *range(0x4E00, 0xA000), *range(0xF900, 0xFB00))]
    # One call, one character per line: no phrase can span two characters.
    converted = convert("\n".join(chars), "t2s.json").split("\n")
    if len(converted) != len(chars):
        raise CleaningError("OpenCC t2s changed the number of lines while building the fold table; "
                            "check the installed opencc version (the project pins opencc>=1.1.9)")
    changes = {ord(a): ord(b) for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}
    changes.update({ord(a): ord(b) for a, b in _VIEW_PUNCT.items()})
    changes.update({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})
    table = list(range(max(changes) + 1))
    for code, folded in changes.items():
        table[code] = folded
    return table


def view_fold(text: str) -> str:
    """A matching view of `text`: Simplified, ASCII punctuation, lower case, same length.

    >>> view_fold("相關推薦：")
    '相关推荐:'
    >>> len(view_fold("發布時間:2022")) == len("發布時間:2022")
    True
    """
    return text.translate(_view_table())


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

def iso_datetime(parts: Sequence[str | None], utc_offset: str) -> str | None:
    """ISO 8601 from the parts of a date found in a text (year, month, day, hour, minute,
    second, zone: a regex match's groups, the time parts None when absent): None when it is
    no date, the date
    alone when there is no (valid) time, never an invented midnight; a local time gets
    `utc_offset`, a zone given ("Z", "+0800", "+08:00") is kept.

    >>> iso_datetime(("2022", "6", "24", "14", "37", None, None), "+08:00")
    '2022-06-24T14:37:00+08:00'
    >>> iso_datetime(("2020", "02", "19", "08", "30", "00", "+0800"), "+08:00")
    '2020-02-19T08:30:00+08:00'
    >>> iso_datetime(("2023", "4", "12", None, None, None, None), "+08:00")
    '2023-04-12'
    >>> iso_datetime(("2021", "13", "40", None, None, None, None), "+08:00") is None
    True
    """
    year, month, day, hour, minute, second, zone = parts
    if year is None or month is None or day is None:
        return None
    y, mo, d = int(year), int(month), int(day)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and 1900 <= y <= 2200):
        return None
    date = f"{y:04d}-{mo:02d}-{d:02d}"
    if hour is None or minute is None:
        return date
    h, mi, s = int(hour), int(minute), int(second or 0)
    if h > 23 or mi > 59 or s > 59:
        return date
    if zone is None:
        zone = utc_offset
    elif zone == "Z":
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return f"{date}T{h:02d}:{mi:02d}:{s:02d}{zone}"


_CST = timezone(timedelta(hours=8), "CST")


def instant(value: str | None) -> datetime | None:
    """An ISO 8601 string as a naive UTC moment to compare; a time without a zone is China
    Standard Time (the sites we archive print it so), a date alone its midnight there.

    >>> instant("2022-06-24T14:37:00+08:00"), instant("2022-06-24"), instant("soon")
    (datetime.datetime(2022, 6, 24, 6, 37), datetime.datetime(2022, 6, 23, 16, 0), None)
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_CST)
    return moment.astimezone(UTC).replace(tzinfo=None)
