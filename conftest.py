"""Prepare the test process as every entry point prepares its own (``archive.startup.start``:
the decoder's codec error handler, the installed OpenCC files' digests; issue #17), once for
the whole session, doctests in ``cleaners/`` and ``archive/`` included."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    from archive.startup import start

    start()
