"""The HTML report and the record views: what a person sees of a run (issue: see what a run did).

Seeds 003 and 004 carry the damages a reviewer must see in place: seed 004's flattened pinyin
(each annotation struck through with its rule), seed 003's GBK text decoded one byte off (the
repaired span as before → after) and its SEO spam block (struck through). Hostile documents must
not put anything executable into the report; a real Chromium renders it (screenshots kept)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _cli import run as _run
from lxml import html as lxml_html

from archive import report
from archive.cli import main

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("DOCCLEAN_SCREENSHOTS", REPO / "bench-out" / "screenshots"))



@pytest.fixture(scope="module")
def seeded_report(tmp_path_factory) -> tuple[Path, Path, dict[str, dict]]:
    root = tmp_path_factory.mktemp("report") / "archive"
    assert main(["run", str(REPO / "seeds"), "--archive", str(root), "-q"]) == 0
    built = report.build(root)
    records = {}
    for path in root.glob("run-*/v1/content/records/*.json"):
        rec = json.loads(path.read_text(encoding="utf-8"))
        records[Path(rec["sources"][0]["path"]).name[:3]] = rec
    return root, built.out, records


def _doc(out: Path, rec: dict) -> lxml_html.HtmlElement:
    return lxml_html.fromstring((out / "docs" / f"{rec['id']}.html").read_text(encoding="utf-8"))


def test_seed_004_shows_every_removed_pinyin_annotation_in_place_with_its_rule(seeded_report):
    _root, out, records = seeded_report
    rec = records["004"]
    ruby = [p["details"] for p in rec["provenance"] if p["details"].get("what") == "ruby:pinyin"]
    assert len(ruby) > 100
    page = _doc(out, rec)
    (step,) = page.xpath('//details[@data-step="mojibake.repair"]')
    struck = [(d.text_content(), d.getnext().text_content()) for d in step.xpath('.//del[@class="removed"]')]
    assert len(struck) == len(ruby)
    assert sorted(text for text, _ in struck) == sorted(c["before"] for c in ruby)
    assert {rule for _, rule in struck} == {"ruby:pinyin"}
    # and the text around them is the step's input, in place: 發 stands right before its (fā)
    assert "發(fā)" in step.text_content().replace("ruby:pinyin", "")


def test_seed_003_shows_the_repaired_span_and_the_removed_spam_block(seeded_report):
    _root, out, records = seeded_report
    rec = records["003"]
    page = _doc(out, rec)
    repairs = page.xpath('//details[@data-step="mojibake.repair"]//span[@class="repaired"]')
    pairs = {(r.xpath('./del')[0].text_content(), r.xpath('./ins')[0].text_content()) for r in repairs}
    # the span as the step received it: its private-use characters shown as code points
    assert ("?!皵底终[U+E47F][U+E194]ㄔO", "。“數字政府建設") in pairs
    assert {r.xpath('./span[@class="rule"]')[0].text_content() for r in repairs} == {"realign:gb18030"}
    spam = next(p["details"] for p in rec["provenance"] if p["details"].get("terms"))
    strip = page.xpath('//details[@data-step="boilerplate.strip"]')[0]
    struck = {d.text_content(): d.getnext().text_content() for d in strip.xpath('.//del[@class="removed"]')}
    assert struck.get(spam["text"]) == spam["what"], sorted(struck.values())
    assert "東京熱" not in page.xpath('//pre[@id="cleaned"]')[0].text_content()


def test_index_has_the_summary_the_charts_and_every_input(seeded_report):
    _root, out, records = seeded_report
    index = lxml_html.fromstring((out / "index.html").read_text(encoding="utf-8"))
    assert len(index.xpath("//svg")) == 4          # changed, removed, seconds, encodings
    rows = index.xpath('//table[@id="docs"]/tbody/tr')
    assert len(rows) == 5
    assert all("fate:archived" in r.get("data-tags") for r in rows)
    assert {a.get("href") for a in index.xpath('//table[@id="docs"]//a')} == \
        {f"docs/{rec['id']}.html" for rec in records.values()}
    options = index.xpath('//select[@id="filter"]/option/@value')
    assert "step:mojibake.repair" in options and "step:encoding.detect" not in options


def test_pages_are_bounded_sampled_and_paginated(seeded_report, tmp_path):
    root, _out, records = seeded_report
    built = report.build(root, out=tmp_path / "r", limit=2, page_rows=2)
    assert built.index_pages == 3 and len(built.document_pages) == 2
    assert sorted(p.name for p in (tmp_path / "r").glob("index*.html")) == ["index-2.html", "index-3.html",
                                                                          "index.html"]
    sampled = report.build(root, out=tmp_path / "s", sample=["step:mojibake.repair"])
    repaired = {rec["id"] for rec in records.values()
                if any(p["step"] == "mojibake.repair" and p["changed"] for p in rec["provenance"])}
    assert set(sampled.document_pages) == repaired and len(repaired) == 2


def test_report_command_and_unknown_run(seeded_report, capsys, tmp_path):
    root, _out, _records = seeded_report
    code, out, _ = _run(capsys, "report", str(root), "--out", str(tmp_path / "r"), "--limit", "1")
    assert code == 0 and str(tmp_path / "r" / "index.html") in out
    assert len(list((tmp_path / "r" / "docs").glob("*.html"))) == 1
    assert _run(capsys, "report", str(root), "--run", "run-nope")[0] == 2
    assert _run(capsys, "audit", str(root))[0] == 0      # a report in the extensions is not damage


def test_show_prints_a_record_and_explains_it(seeded_report, capsys):
    root, _out, records = seeded_report
    rec = records["004"]
    code, out, _ = _run(capsys, "show", rec["id"], "--archive", str(root))
    assert code == 0 and out.startswith(f"# {rec['title']}") and rec["text"] in out
    assert "mojibake.repair v" in out and "ruby:pinyin" not in out
    code, out, _ = _run(capsys, "show", rec["id"], "--archive", str(root), "--explain")
    assert out.count("remove ruby:pinyin") == sum(p["details"].get("what") == "ruby:pinyin"
                                                   for p in rec["provenance"])
    code, out, _ = _run(capsys, "show", rec["id"], "--archive", str(root), "--json")
    assert json.loads(out)["id"] == rec["id"]
    record_file = next(root.glob(f"run-*/v1/content/records/{rec['id']}.json"))
    assert _run(capsys, "show", str(record_file))[1].startswith(f"# {rec['title']}")
    assert _run(capsys, "show", "doc-nope", "--archive", str(root))[0] == 2


def test_clean_json_gives_text_title_metadata_and_trail(capsys):
    code, out, _ = _run(capsys, "clean", str(REPO / "seeds" / "003_b0ca51dcc5f98257.txt"), "--json")
    assert code == 0
    got = json.loads(out)
    assert got["title"].startswith("蓝图已绘就") and got["metadata"]["publisher"] == "新华社"
    assert [e["step"] for e in got["trail"]][:2] == ["encoding.detect", "mojibake.repair"]
    assert "東京熱" not in got["text"] and "。“数字政府建设" in got["text"]


HOSTILE = [
    '<script>alert(1)</script>正文内容，这是第一段。',
    '<img src=x onerror=alert(2)>点击这里',
    '</textarea><textarea>外面</textarea>',
    '" onmouseover="alert(3)" x="',
    "javascript:alert(4)",
    "\u202e\u2066反向文字\u2069\u202c",
    "</pre><iframe src=javascript:alert(5)></iframe>",
    "<svg/onload=alert(6)>",
]


def test_hostile_content_puts_nothing_executable_into_the_report(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    body = "\n".join(f"第{n}段：{h} 这是一份关于数字政府建设的文件，内容详实。" for n, h in enumerate(HOSTILE))
    (inbox / "plain.txt").write_text(f'标题 {HOSTILE[0]}\n{body}\n', encoding="utf-8")
    (inbox / "page.html").write_text(
        f'<html><head><title>{HOSTILE[3]}</title><link rel="canonical" href="javascript:alert(7)">'
        f'</head><body><h1>{HOSTILE[5]}标题</h1><article><p>{body.replace(chr(10), "</p><p>")}</p>'
        f'<p><a href="javascript:alert(8)">链接文字</a>这里是正文的最后一段，足够长的中文内容。</p>'
        '</article></body></html>',
        encoding="utf-8")
    (inbox / f"{HOSTILE[0][:8]}.txt").write_text("文件名里的脚本。" * 20, encoding="utf-8")
    root = tmp_path / "a"
    assert main(["run", str(inbox), "--archive", str(root), "-q"]) == 0
    built = report.build(root)
    assert len(built.document_pages) == 3
    for page in [*built.out.glob("index*.html"), *built.out.glob("docs/*.html")]:
        text = page.read_text(encoding="utf-8")
        tree = lxml_html.fromstring(text)
        scripts = tree.xpath("//script")
        assert [s.text for s in scripts] == ([report.SCRIPT] if page.name.startswith("index") else []), page
        for el in tree.iter():
            if not isinstance(el.tag, str):
                continue
            assert el.tag not in ("iframe", "img", "object", "embed", "textarea", "form", "base"), (page, el.tag)
            for name, value in el.attrib.items():
                assert not name.lower().startswith("on"), (page, el.tag, name)
                assert "javascript:" not in value.lower() or name == "title", (page, el.tag, name, value)
        assert tree.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')[0].startswith("default-src 'none'")
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", text), page
    assert "[U+202E]" in "".join(p.read_text(encoding="utf-8") for p in built.out.glob("docs/*.html"))


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-headless-shell")


@pytest.mark.skipif(_chromium() is None, reason="no chromium: `make test` installs Debian's chromium; "
                                                "install it to render the report in a real browser")
def test_a_real_browser_renders_the_index_and_a_document_page(seeded_report, tmp_path):
    _root, out, records = seeded_report
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1800"]
    pages = {"index": out / "index.html", "seed-004": out / "docs" / f"{records['004']['id']}.html"}
    for name, page in pages.items():
        shot = SCREENSHOTS / f"report-{name}.png"
        shot.unlink(missing_ok=True)
        proc = subprocess.run([_chromium(), *flags, f"--screenshot={shot}", page.as_uri()],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and shot.is_file() and shot.stat().st_size > 20_000, proc.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        dom = subprocess.run([_chromium(), *flags, "--dump-dom", page.as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
        rendered = lxml_html.fromstring(dom)
        if name == "index":
            assert len(rendered.xpath("//svg//rect")) >= 6
            assert len(rendered.xpath('//table[@id="docs"]/tbody/tr')) == 5
        else:
            struck = rendered.xpath('//del[@class="removed"]')
            assert struck and struck[0].getnext().text_content() == "ruby:pinyin"
            assert rendered.xpath('//details[@data-step="mojibake.repair"]/@open') == [""]
