"""The trail is complete and replays (issue #17), on every document the tests can reach.

For each step of the pipeline, on each document: the step's recorded changes applied to its
input give its output (the text by `runner.replay`, the title, metadata and decoding facts by
`runner.replay_fields`), both from the typed trail and from the JSON a record holds; and the
step says `changed` exactly when something of the document changed. decode reads bytes, not
text: its text is the raw bytes read with the codec its decoding facts name.

Documents: the seeds, every original of the mojibake golden files (as UTF-8 inputs), the
HTML pages `tests/unit/test_html.py` builds, and, when ``DOCCLEAN_CORPUS`` names the
development corpus, each of its files (the suite never needs it: it skips without).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive.batch import trail_json
from archive.reader import looks_like_html
from cleaners import encoding, runner
from cleaners.config import PipelineConfig
from cleaners.model import Document, Rejected, Source
from cleaners.pipeline import STEPS

TESTS = Path(__file__).resolve().parents[1]
SEEDS = TESTS.parent / "seeds"
CFG = PipelineConfig()


def _html_pages() -> Iterator[tuple[str, bytes]]:
    spec = importlib.util.spec_from_file_location("_html_cases", TESTS / "unit" / "test_html.py")
    assert spec is not None and spec.loader is not None
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)
    body = "".join(f"<p>{p}</p>" for p in cases.BODY)
    yield "html:_page", cases._page(body).encode()
    yield "html:_short_page", cases._short_page("<div class='ad'>廣告</div>").encode()


def documents() -> Iterator[tuple[str, bytes]]:
    for path in sorted(SEEDS.glob("*.txt")):
        yield path.name, path.read_bytes()
    for golden in sorted((TESTS / "golden" / "mojibake").glob("*.json")):
        for i, case in enumerate(json.loads(golden.read_text(encoding="utf-8"))):
            yield f"{golden.stem}[{i}]", str(case["original"]).encode("utf-8")
    yield from _html_pages()
    corpus = os.environ.get("DOCCLEAN_CORPUS")
    if corpus and Path(corpus).is_dir():
        for path in sorted(p for p in Path(corpus).rglob("*") if p.is_file() and p.stat().st_size < 2_000_000):
            yield str(path.relative_to(corpus)), path.read_bytes()


def _plain(value: Any) -> Any:
    """As JSON holds it (tuples are lists), to compare typed and recorded values."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=list))


def check_document(name: str, raw: bytes) -> tuple[int, str | None]:
    """Walk one document through every step, checking each step's replay: the steps checked,
    and the step that rejected it (None when it went through)."""
    doc: Document = Document(Source.from_bytes(name, raw), raw=raw, is_html=looks_like_html(Path(name), raw))
    checked = 0
    for step in STEPS:
        if step.html_only and not doc.is_html:
            continue
        result = step.fn(doc, getattr(CFG, step.config))
        if isinstance(result, Rejected):
            return checked, step.name
        nxt = runner.apply(doc, result, step, CFG.limits.max_trail_changes)
        entry = nxt.trail[-1]
        as_json = trail_json([entry])[0]["changes"]
        if step.short == "decode":
            if not nxt.decoding.get("segments"):
                text = encoding.decode_recording(raw, nxt.decoding["encoding"]).text
                assert nxt.text in (text, text.removeprefix("\ufeff")), (name, step.name)
        else:
            assert runner.replay(doc.text, entry.changes) == nxt.text, (name, step.name)
            assert runner.replay(doc.text, as_json) == nxt.text, (name, step.name, "json")
        fields = (nxt.title, _plain(dict(nxt.metadata)), _plain(dict(nxt.decoding)))
        replayed = runner.replay_fields(doc.title, _plain(dict(doc.metadata)), _plain(dict(doc.decoding)),
                                        as_json)
        assert _plain(list(replayed)) == _plain(list(fields)), (name, step.name, "fields")
        anything = (nxt.text != doc.text or nxt.title != doc.title or fields[1:] != (
            _plain(dict(doc.metadata)), _plain(dict(doc.decoding))))
        assert entry.changed == anything, (name, step.name, "changed")
        doc = nxt
        checked += 1
    return checked, None


ALL = list(documents())


@pytest.mark.parametrize(("name", "raw"), ALL, ids=[n for n, _ in ALL])
def test_every_step_replays(name: str, raw: bytes) -> None:
    checked, rejected_by = check_document(name, raw)
    assert checked >= 1 or rejected_by == "encoding.detect"     # a binary input: nothing to replay


def test_the_property_reaches_html_and_every_seed() -> None:
    names = [n for n, _ in ALL]
    assert sum(n.startswith("html:") for n in names) == 2
    assert sum(n.endswith(".txt") for n in names) == 5


def test_a_title_converted_alone_is_in_the_trail() -> None:
    """The issue's example: convert used to say changed=False on a page whose only
    Traditional text was its title."""
    html = ('<html><head><meta charset="utf-8"><title>數字政府建設</title></head><body>'
            + "<p>" + "这是一段简体中文的正文，用来说明标题的转换也会被记录下来。" * 3 + "</p></body></html>")
    doc = Document(Source.from_bytes("t.html", html.encode()), raw=html.encode(), is_html=True)
    out = runner.run(doc, CFG)
    assert isinstance(out, Document) and out.title == "数字政府建设"
    (entry,) = [e for e in out.trail if e.step == "script.convert"]
    assert entry.changed
    (title,) = [c for c in entry.changes if c.action == "set"]
    assert (title.detail["before"], title.detail["after"]) == ("數字政府建設", "数字政府建设")
