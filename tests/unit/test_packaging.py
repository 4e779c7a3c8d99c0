"""What the core install (`make run`: `pip install -e .`, no extras) must hold (issue #17)."""

from __future__ import annotations

import importlib.metadata
import re


def _core_requirements() -> set[str]:
    requires = importlib.metadata.requires("docclean") or []
    return {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower() for r in requires if "extra ==" not in r}


def test_export_bagit_needs_no_extra() -> None:
    # `docclean export --bagit` is a documented command; it ended in a traceback on the core
    # install while bagit sat in the dev extra.
    assert "bagit" in _core_requirements()


def test_every_core_requirement_is_pinned_in_constraints() -> None:
    from pathlib import Path

    pins = Path(__file__).resolve().parents[2].joinpath("constraints.txt").read_text(encoding="utf-8")
    pinned = {line.split("==")[0].lower() for line in pins.splitlines() if "==" in line and not line.startswith(" ")}
    assert _core_requirements() <= pinned
