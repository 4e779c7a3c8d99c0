"""`docclean clean`: one document's text to stdout, after the pipeline or a chosen step."""

from __future__ import annotations

import io
import sys

import pytest

from archive.cli import main


def test_clean_prints_text_and_keeps_lines_after_decode(seed_paths, seed_texts, capsys):
    path = seed_paths[1]
    assert main(["clean", str(path), "--until", "decode"]) == 0
    out = capsys.readouterr().out
    assert out == seed_texts[path.name]
    assert out.count("\n") == seed_texts[path.name].count("\n")


def test_clean_reads_stdin_and_decodes_gb18030(seed_texts, capsys, monkeypatch):
    text = seed_texts["003_b0ca51dcc5f98257.txt"]
    # seed 003 carries characters GB18030 maps but GBK does not: the superset must be used
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("gb18030"))))
    assert main(["clean", "-", "--only", "decode"]) == 0
    assert capsys.readouterr().out == text


def test_clean_explain_writes_the_trail_to_stderr(seed_paths, capsys):
    assert main(["clean", str(seed_paths[0]), "--explain"]) == 0
    err = capsys.readouterr().err
    assert "# encoding.detect" in err and "# script.convert" in err


def test_clean_rejects_bad_input_with_a_message(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert main(["clean", str(empty)]) == 1
    assert "empty_input" in capsys.readouterr().err
    assert main(["clean", str(tmp_path / "nope.txt")]) == 1


def test_until_and_only_are_exclusive(seed_paths):
    with pytest.raises(SystemExit) as exc:
        main(["clean", str(seed_paths[0]), "--until", "repair", "--only", "strip"])
    assert exc.value.code == 2
