"""The CLI called in-process the way the archive tests call it (one helper for every test file)."""

from __future__ import annotations

from archive.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """`docclean ARGV...` in this process: the exit code, then what it printed to stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
