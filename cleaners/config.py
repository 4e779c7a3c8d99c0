"""The whole pipeline's configuration in one typed, hashable object.

Each stage owns a frozen dataclass of its thresholds, defined next to the code that reads them
and each default commented with its reason; `PipelineConfig` composes them. An optional TOML
file overrides only the keys it sets (``[strip] min_block_chars = 12``): `parse_config` takes
its text (the file is read at the edge, ``archive.startup.load_config``). The resolved config
and its sha256 go into every run's metadata and every record's `pipeline` field.

Every value is checked when the config is loaded (from TOML or from a DAG's plain dict), before
any document is read: unknown sections and keys (also in a DAG's dict), each value's type
against the dataclass annotation (a TOML list becomes the tuple the field holds, an integer a
float where a float is wanted), sizes and counts not negative, ratios within 0..1, and the
fields with a fixed set of values against that set. A wrong value is a `CleaningError`
naming the section, the key, the value and what is allowed, never a per-document failure
later.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cleaners.boilerplate import StripConfig
from cleaners.dedup import DedupConfig
from cleaners.encoding import DecodeConfig
from cleaners.html import ExtractConfig
from cleaners.model import CleaningError
from cleaners.mojibake import WRONG_CODECS, RepairConfig
from cleaners.script import SCRIPTS, ConvertConfig

# Fields whose values come from a fixed set: (section, key) → the allowed values.
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("convert", "target"): SCRIPTS,
    # cp1252 is always tried (fix_latin1); these are the legacy codecs mojibake.repair knows
    ("repair", "legacy_codecs"): tuple(c for c in WRONG_CODECS if c != "cp1252"),
}
# Fields that must match a pattern: (section, key) → (regex, what a person should write).
UTC_OFFSET = (r"[+-](?:[01]\d|2[0-3]):[0-5]\d", "like +08:00")
PATTERNS: dict[tuple[str, str], tuple[str, str]] = {
    ("extract", "local_utc_offset"): UTC_OFFSET,
    ("strip", "local_utc_offset"): UTC_OFFSET,
}


@dataclass(frozen=True)
class LimitsConfig:
    """Bounds on one input, so a hostile file costs bounded memory and time (issue #23).

    Checked by the archive's batch cleaner: sizes and counts on the raw bytes before anything
    is decoded or parsed, the text length after decode/extract. An input over a limit is
    rejected with the limit's reason (its raw bytes kept, unless it is too large to read).
    Margins are over the development corpus (264 files: largest 1.87 MB, 9,206 tags, 4,418
    character references); each limit keeps peak memory under 500 MB (`make stress`).
    """

    # bytes: read no input larger than this (os.stat before reading; nothing stored). 8x the
    # corpus's largest file; every kind of content this size peaks well under 500 MB.
    max_input_bytes: int = 16 * 1024 * 1024
    # characters of text after decode/extract: 3x the longest corpus text (629,204, a whole
    # classical chronicle); the cleaners' working copies of a text this long stay bounded.
    max_text_chars: int = 2_000_000
    # tags ("<" and a letter, "!" or "/") in an HTML input, counted before parsing: 10x the
    # corpus's most (9,206); the parsed tree costs ~1 KB a node.
    max_html_elements: int = 100_000
    # character references (&amp; &#20013; ...) in the raw bytes: 10x the corpus's most
    # (4,418); each one left in text becomes a repair change with its own trail entry.
    max_char_references: int = 50_000
    # changes listed per step in a record's provenance; past it one entry counts the rest. 11x
    # the corpus's most (888, a whole JSON Lines dump); 300,000 repeated lines would otherwise
    # make a record of 300,000 entries.
    max_trail_changes: int = 10_000


@dataclass(frozen=True)
class WarcConfig:
    """Which records of a WARC/ARC file are documents (issue #18, `archive.warc`)."""

    # Media types (prefixes) of a payload that is text: HTML, XHTML and plain text are what the
    # pipeline cleans; images, scripts, JSON and PDFs in a crawl are skipped with a reason. A
    # record that names no type is read and left to decode (binary is rejected there).
    text_media_types: tuple[str, ...] = ("text/html", "text/plain", "application/xhtml+xml")
    # HTTP statuses of a captured page: a redirect's or an error page's body is the server's
    # stub, not the document (skipped as warc_http_status). 203 is a proxy's copy of a 200.
    http_statuses: tuple[int, ...] = (200, 203)


@dataclass(frozen=True)
class PipelineConfig:
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    repair: RepairConfig = field(default_factory=RepairConfig)
    strip: StripConfig = field(default_factory=StripConfig)
    convert: ConvertConfig = field(default_factory=ConvertConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    warc: WarcConfig = field(default_factory=WarcConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def sha256(self) -> str:
        # Kept on the instance once computed (frozen: the value cannot go stale); every record
        # of a run names it, and asdict + dumps cost ~2 ms a time.
        digest: str | None = self.__dict__.get("_sha256")
        if digest is None:
            blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=True, default=str)
            digest = hashlib.sha256(blob.encode()).hexdigest()
            object.__setattr__(self, "_sha256", digest)
        return digest

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "config",
                  strict: bool = True) -> PipelineConfig:
        """The inverse of `to_dict` (what a DAG passes between tasks as plain JSON), every
        value checked. `strict=False` ignores sections and keys this code does not know (a
        report reads an older run's config, whose keys may since have been renamed)."""
        default = cls()
        parts = {}
        sections = {f.name for f in dataclasses.fields(cls)}
        for name, values in data.items():
            if name not in sections or not isinstance(values, Mapping):
                if strict:
                    raise CleaningError(f"{where}: unknown section [{name}]; sections are "
                                        f"{', '.join(sorted(sections))}")
                continue
            section = getattr(default, name)
            known = {sf.name for sf in dataclasses.fields(section)}
            unknown = set(values) - known
            if unknown and strict:
                raise CleaningError(f"{where}: unknown keys in [{name}]: {sorted(unknown)}; "
                                    f"known: {sorted(known)}")
            parts[name] = _section(name, section, {k: v for k, v in values.items() if k in known},
                                   where)
        return dataclasses.replace(default, **parts)

    def with_script(self, script: str) -> PipelineConfig:
        if script not in SCRIPTS:
            raise CleaningError(f"unknown script {script!r}: choose one of {', '.join(SCRIPTS)}")
        return dataclasses.replace(self, convert=dataclasses.replace(self.convert, target=script))


def parse_config(toml: str | None = None, script: str | None = None,
                 where: str = "config") -> PipelineConfig:
    r"""Defaults, overridden by the keys of a TOML document (its text: reading the file is the
    edge's, ``archive.startup.load_config``), then by `script` when given.

    >>> parse_config('[convert]\ntarget = "tw"').convert.target
    'tw'
    """
    cfg = PipelineConfig()
    if toml is not None:
        try:
            data = tomllib.loads(toml)
        except tomllib.TOMLDecodeError as exc:
            raise CleaningError(f"cannot read {where}: {exc}") from exc
        cfg = PipelineConfig.from_dict(data, where)
    if script is not None:
        cfg = cfg.with_script(script)
    return cfg


def _section(name: str, default: Any, values: Mapping[str, Any], where: str) -> Any:
    """`default` with `values` applied, each checked (and a TOML list made the field's tuple)."""
    hints = typing.get_type_hints(type(default))
    checked = {key: _value(name, key, hints[key], value, where) for key, value in values.items()}
    try:
        return dataclasses.replace(default, **checked)
    except CleaningError as exc:              # a section's own cross-field check (dedup)
        raise CleaningError(f"{where}: {exc}") from exc


def _value(section: str, key: str, hint: Any, value: Any, where: str) -> Any:
    """`value` as the field `[section] key` of type `hint` holds it, or a CleaningError."""
    given = repr(value)

    def bad(why: str) -> CleaningError:
        return CleaningError(f"{where}: [{section}] {key} = {given}: {why}")

    if typing.get_origin(hint) is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list | tuple) or not all(isinstance(v, item) for v in value):
            raise bad(f"should be a list of {item.__name__}")
        value = tuple(value)
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("should be a number")
        value = float(value)
        if key.endswith("ratio") and not 0 <= value <= 1:
            raise bad("a ratio is between 0 and 1")
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("should be a whole number")
        if value < 0:
            raise bad("a size, count or limit cannot be negative")
    elif hint in (bool, str):
        if not isinstance(value, hint):
            raise bad(f"should be {'true or false' if hint is bool else 'a string'}")
    choices = CHOICES.get((section, key))
    if choices is not None:
        for v in value if isinstance(value, tuple) else (value,):
            if v not in choices:
                raise bad(f"{v!r} is not one of {', '.join(choices)}")
    pattern = PATTERNS.get((section, key))
    if pattern is not None and not re.fullmatch(pattern[0], value):
        raise bad(f"write it {pattern[1]}")
    return value
