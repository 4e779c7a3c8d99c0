"""Dedup after a failed extraction (#14, class 8): two different pages of one template whose
extraction keeps only the same shared footer are two records, each flagged low confidence;
byte-identical copies of one page are still one record."""

from __future__ import annotations

import json
from pathlib import Path

from archive.cli import main

FOOTER = ("The opinions expressed in posts are those of their authors and not of this forum. Please "
          "report posts that break the rules to the moderators, so that they can act quickly. Members "
          "agree to keep the discussion civil and on topic when they register an account here.")


def _thread(title: str, thread_id: int) -> bytes:
    # The posts are rendered by script: the markup holds the title and the footer only.
    return (f'<html><head><meta charset="utf-8"><title>{title} - 某論壇</title></head><body>'
            f'<div class="head"><h1>{title}</h1></div>'
            f'<div id="app" data-thread="{thread_id}"></div>'
            f'<script>window.__DATA__ = {{"thread": {thread_id}, "posts": ["頂", "路過"]}}</script>'
            f'<div><p>{FOOTER}</p><p>{FOOTER}</p></div></body></html>').encode()


def test_low_confidence_texts_of_different_pages_are_not_merged(tmp_path: Path, capsys) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "t1.html").write_bytes(_thread("數字政府怎麼建？", 1))
    (inbox / "t2.html").write_bytes(_thread("政務服務如何一網通辦？", 2))
    (inbox / "t2-copy.html").write_bytes(_thread("政務服務如何一網通辦？", 2))
    root = tmp_path / "archive"
    assert main(["run", str(inbox), "--archive", str(root)]) == 0
    capsys.readouterr()
    assert main(["export", str(root)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # The extraction failed the same way on both threads: the same footer text.
    assert len({r["text"] for r in records}) == 1 and "moderators" in records[0]["text"]
    assert len(records) == 2, [r["sources"] for r in records]
    for rec in records:
        extraction = rec["metadata"]["extraction"]
        assert extraction["low_confidence"] is True and extraction["confidence"] < 0.5
    by_sources = sorted(sorted(Path(s["path"]).name for s in r["sources"]) for r in records)
    assert by_sources == [["t1.html"], ["t2-copy.html", "t2.html"]]
