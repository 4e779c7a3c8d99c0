"""The edge where a docclean process starts: what the pure steps must not do themselves.

DESIGN.md and STYLE.md say the cleaners are pure functions; three things they used to do on
their own were not (issue #17), and live here now:

- reading the config file: `load_config` reads the TOML file and hands its text to
  `cleaners.config.parse_config`, which checks every section, key and value;
- hashing OpenCC's installed files, which the convert step's fast path and regional table
  were made from (`opencc_file_digests`, given to the step by `cleaners.textutil.use_opencc_files`);
- registering the decoder's codec error handler in Python's process-wide registry
  (`cleaners.encoding.register_error_handler`).

`start()` does the last two, once per process: the CLI (`archive.cli.main`), the DAG's tasks
(through `archive.flow`), the worker processes of a run (`archive.batch`), the evaluation and
benchmark scripts and the tests (conftest.py) call it. A step run without it stops with a
`CleaningError` saying so, instead of reading files behind the caller's back.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from cleaners import encoding, textutil
from cleaners.config import PipelineConfig, parse_config
from cleaners.model import CleaningError


def opencc_share_dir() -> Path | None:
    """The folder the official OpenCC binding loads its configs and dictionaries from."""
    textutil.opencc_version()
    import opencc

    share = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
    return share if share.is_dir() else None


def opencc_file_digests(share: Path | None) -> dict[str, str]:
    """name -> sha256 of every file in OpenCC's share folder (none when there is no folder)."""
    if share is None:
        return {}
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(share.iterdir()) if path.is_file()}


@functools.cache
def start() -> None:
    """Prepare this process for cleaning (idempotent: the second call does nothing)."""
    encoding.register_error_handler()
    textutil.use_opencc_files(opencc_file_digests(opencc_share_dir()))


def load_config(path: str | Path | None = None, script: str | None = None) -> PipelineConfig:
    """Defaults, overridden by the TOML file's keys, then by `script` when given; checked here,
    before any input is read (a bad value is a `CleaningError` naming the key)."""
    if path is None:
        return parse_config(None, script)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CleaningError(f"cannot read config {path}: {exc}") from exc
    return parse_config(text, script, f"config {path}")
