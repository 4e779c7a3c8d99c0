"""The whole pipeline's configuration in one typed, hashable object.

Each stage owns a frozen dataclass of its thresholds, defined next to the code that reads them
and each default commented with its reason; `PipelineConfig` composes them. An optional TOML
file overrides only the keys it sets (``[strip] min_block_chars = 12``). The resolved config
and its sha256 go into every run's metadata and every record's `pipeline` field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cleaners.boilerplate import StripConfig
from cleaners.dedup import DedupConfig
from cleaners.encoding import DecodeConfig
from cleaners.html import ExtractConfig
from cleaners.model import CleaningError
from cleaners.mojibake import RepairConfig
from cleaners.script import SCRIPTS, ConvertConfig


@dataclass(frozen=True)
class PipelineConfig:
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    repair: RepairConfig = field(default_factory=RepairConfig)
    strip: StripConfig = field(default_factory=StripConfig)
    convert: ConvertConfig = field(default_factory=ConvertConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def sha256(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        """The inverse of `to_dict` (what a DAG passes between tasks as plain JSON)."""
        default = cls()
        parts = {}
        for f in dataclasses.fields(cls):
            section = getattr(default, f.name)
            values = data.get(f.name) or {}
            known = {sf.name for sf in dataclasses.fields(section)}
            parts[f.name] = dataclasses.replace(section, **{k: v for k, v in values.items() if k in known})
        return cls(**parts)

    def with_script(self, script: str) -> PipelineConfig:
        if script not in SCRIPTS:
            raise CleaningError(f"unknown script {script!r}: choose one of {', '.join(SCRIPTS)}")
        return dataclasses.replace(self, convert=dataclasses.replace(self.convert, target=script))


def load_config(path: str | Path | None = None, script: str | None = None) -> PipelineConfig:
    """Defaults, overridden by the TOML file's keys, then by `script` when given."""
    cfg = PipelineConfig()
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CleaningError(f"cannot read config {path}: {exc}") from exc
        parts = {}
        for name, value in data.items():
            section = getattr(cfg, name, None)
            if section is None or not isinstance(value, dict):
                valid = ", ".join(f.name for f in dataclasses.fields(cfg))
                raise CleaningError(f"config {path}: unknown section [{name}]; sections are {valid}")
            known = {f.name for f in dataclasses.fields(section)}
            unknown = set(value) - known
            if unknown:
                raise CleaningError(f"config {path}: unknown keys in [{name}]: {sorted(unknown)}; "
                                    f"known: {sorted(known)}")
            parts[name] = dataclasses.replace(section, **value)
        cfg = dataclasses.replace(cfg, **parts)
    if script is not None:
        cfg = cfg.with_script(script)
    return cfg
