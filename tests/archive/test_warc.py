"""WARC/ARC inputs (issue #18): crawl files written here with warcio's writer (and an ARC file by
hand), run through the real CLI into a real archive; every record's fate and provenance checked.
No file from ../shared is needed."""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from io import BytesIO
from pathlib import Path

import pytest
from _cli import run as _run

from archive import warc
from archive.cli import main

pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402  (after the skip)
from warcio.warcwriter import WARCWriter  # noqa: E402

ARTICLE = ("<html><head><title>{title}</title></head><body><div class=content>"
           "<p>国务院办公厅关于推进数字政府建设的指导意见，全文如下，各地区各部门要认真贯彻落实。</p>"
           "<p>加强数字政府建设是适应新一轮科技革命和产业变革趋势的必然要求，{title}。</p>"
           "<p>到二〇二五年，与政府治理能力现代化相适应的数字政府顶层设计更加完善。</p>"
           "</div></body></html>")


ARTICLE_HANT = ("<html><head><title>{title}</title></head><body><div class=content>"
                "<p>行政院公布數位政府建設方案，全文如下，各機關應確實辦理並定期檢討。</p>"
                "<p>推動數位政府是因應新一輪科技發展的必要措施，{title}。</p></div></body></html>")


def page(title: str, template: str = ARTICLE) -> str:
    return template.format(title=title)


def chunked(body: bytes, size: int = 37) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def response(w: WARCWriter, uri: str, body: bytes, headers: list[tuple[str, str]], status: str = "200 OK",
             **kwargs) -> object:
    hh = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    return w.create_warc_record(uri, "response", payload=BytesIO(body), http_headers=hh, **kwargs)


def build_crawl(path: Path, gz: bool = True) -> dict[str, bytes]:
    """A crawl of every kind of record; returns the loose-file bytes of its pages by name."""
    pages = {"utf8": page("统一标题一").encode("utf-8"),
             "gbk_header_only": page("仅由报头指明编码").encode("gbk"),   # no <meta>: the header is the evidence
             "chunked_gzip": page("分块压缩传输").encode("utf-8"),
             "deflate": page("壓縮頁面", ARTICLE_HANT).encode("big5hkscs")}
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "docclean tests"}))
        req = StatusAndHeaders("GET /a.html HTTP/1.1", [("Host", "example.cn")], is_http_request=True)
        w.write_record(w.create_warc_record("http://example.cn/a.html", "request", http_headers=req))
        first = response(w, "http://example.cn/a.html", pages["utf8"],
                         [("Content-Type", "text/html; charset=utf-8")])
        w.write_record(first)
        w.write_record(response(w, "http://example.cn/gbk.html", pages["gbk_header_only"],
                                [("Content-Type", "text/html; charset=GBK")]))
        w.write_record(response(w, "http://example.cn/cz.html", chunked(gzip.compress(pages["chunked_gzip"])),
                                [("Content-Type", "text/html; charset=utf-8"),
                                 ("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")]))
        w.write_record(response(w, "http://example.cn/big5.html", zlib.compress(pages["deflate"]),
                                [("Content-Type", "text/html; charset=big5"), ("Content-Encoding", "deflate")]))
        w.write_record(response(w, "http://example.cn/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(40),
                                [("Content-Type", "image/png")]))
        w.write_record(response(w, "http://example.cn/gone.html", b"<html>not found</html>",
                                [("Content-Type", "text/html")], status="404 Not Found"))
        w.write_record(w.create_revisit_record(
            "http://example.cn/a.html", first.rec_headers.get_header("WARC-Payload-Digest"),
            "http://example.cn/a.html", first.rec_headers.get_header("WARC-Date"),
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")))
        w.write_record(w.create_warc_record("metadata://example.cn/crawl.log", "metadata",
                                            payload=BytesIO(b"outlinks: 3\n"), warc_content_type="text/plain"))
        w.write_record(w.create_warc_record("file:///notes.txt", "resource",
                                            payload=BytesIO("资源记录：一段纯文本的说明文字，记录抓取的范围和时间。".encode()),
                                            warc_content_type="text/plain; charset=utf-8"))
        # A record whose payload digest does not match its payload (written, then altered).
        plain = BytesIO()
        w2 = WARCWriter(plain, gzip=False)
        bad = response(w2, "http://example.cn/bad.html", page("摘要不符").encode(), [("Content-Type", "text/html")])
        w2.write_record(bad)
        digest = bad.rec_headers.get_header("WARC-Payload-Digest").encode()
        altered = plain.getvalue().replace(digest, b"sha1:" + b"A" * (len(digest) - 5))
        fh.write(gzip.compress(altered) if gz else altered)
    return pages


def dispositions(root: Path) -> list[dict]:
    (obj,) = sorted(root.glob("run-*"))
    lines = (obj / "v1" / "content" / "metadata" / "dispositions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def records(root: Path) -> dict[str, dict]:
    return {r["id"]: r for r in (json.loads(p.read_text(encoding="utf-8"))
                                 for p in root.glob("run-*/v1/content/records/*.json"))}


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> tuple[Path, Path, dict[str, bytes]]:
    base = tmp_path_factory.mktemp("warc")
    path = base / "crawl.warc.gz"
    pages = build_crawl(path)
    root = base / "archive"
    assert main(["run", str(path), "--archive", str(root), "-q"]) == 0
    return path, root, pages


def test_every_record_has_a_fate_with_a_reason(crawl):
    _, root, _ = crawl
    fates = [(d["disposition"], d.get("reason"), d["warc"]["record_type"]) for d in dispositions(root)]
    assert fates == [
        ("skipped", "warc_warcinfo", "warcinfo"), ("skipped", "warc_request", "request"),
        ("archived", None, "response"), ("archived", None, "response"), ("archived", None, "response"),
        ("archived", None, "response"), ("skipped", "warc_not_text", "response"),
        ("skipped", "warc_http_status", "response"), ("skipped", "warc_revisit", "revisit"),
        ("skipped", "warc_metadata", "metadata"), ("archived", None, "resource"),
        ("rejected", "warc_digest_mismatch", "response")]
    run = json.loads(next(root.glob("run-*/v1/content/metadata/run.json")).read_text())
    assert run["skipped_by_reason"] == {"warc_http_status": 1, "warc_metadata": 1, "warc_not_text": 1,
                                        "warc_request": 1, "warc_revisit": 1, "warc_warcinfo": 1}
    assert run["rejected_by_reason"] == {"warc_digest_mismatch": 1}
    revisit = next(d for d in dispositions(root) if d.get("reason") == "warc_revisit")
    archived = next(d for d in dispositions(root) if d["disposition"] == "archived")
    assert revisit["warc"]["refers_to_uri"] == "http://example.cn/a.html"
    assert revisit["warc"]["refers_to_date"] == archived["warc"]["date"]


def test_each_page_has_the_loose_files_text_and_its_capture_provenance(crawl, tmp_path):
    path, root, pages = crawl
    by_url = {r["metadata"]["url"]: r for r in records(root).values()}
    urls = {"utf8": "http://example.cn/a.html", "gbk_header_only": "http://example.cn/gbk.html",
            "chunked_gzip": "http://example.cn/cz.html", "deflate": "http://example.cn/big5.html"}
    loose_root = tmp_path / "loose-archive"
    for name, raw in pages.items():
        (tmp_path / f"{name}.html").write_bytes(raw)
    assert main(["run", *(str(tmp_path / f"{n}.html") for n in pages), "--archive", str(loose_root), "-q"]) == 0
    loose = {r["sources"][0]["sha256"]: r for r in records(loose_root).values()}
    warc_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    for name, url in urls.items():
        rec = by_url[url]
        src = rec["sources"][0]
        assert src["sha256"] == hashlib.sha256(pages[name]).hexdigest()     # the payload, decoded of HTTP
        assert rec["text"] == loose[src["sha256"]]["text"], name
        w = src["warc"]
        assert (w["file"], w["file_sha256"], w["target_uri"], w["http_status"]) == (str(path), warc_sha, url, 200)
        assert w["record_id"].startswith("<urn:uuid:") and w["date"] == rec["metadata"]["captured_at"]
        assert w["digests_verified"] is True and isinstance(w["offset"], int)
        # The payload can be found from the record: the WARC is in the raw store, at that offset.
        ref = warc.WarcRecordRef.from_source(src, next(root.glob(f"run-*/v1/content/raw/{warc_sha}")))
        doc = warc.read_record(ref, warc.WarcConfig(), 1 << 20).outcome
        assert doc.raw == pages[name]
    gbk = by_url["http://example.cn/gbk.html"]["sources"][0]
    assert (gbk["encoding"], gbk["encoding_detector"], gbk["http_charset"]) == ("gb18030", "http-charset", "gbk")
    assert "仅由报头指明编码" in by_url["http://example.cn/gbk.html"]["text"]
    resource = by_url["file:///notes.txt"]
    assert resource["sources"][0]["warc"]["record_type"] == "resource" and "纯文本" in resource["text"]


def test_a_rerun_writes_nothing_and_the_audit_is_sound(crawl, capsys):
    path, root, _ = crawl
    before = sorted(p.name for p in root.glob("run-*"))
    code, out, _ = _run(capsys, "run", str(path), "--archive", str(root))
    assert code == 0 and "already archived, nothing written" in out
    assert f"{path}#" in out                                   # each record line names its offset
    assert sorted(p.name for p in root.glob("run-*")) == before
    code, out, _ = _run(capsys, "audit", str(root))
    assert code == 0, out
    rid = next(d["record"] for d in dispositions(root) if d["disposition"] == "archived")
    code, out, _ = _run(capsys, "show", rid, "--archive", str(root))
    assert code == 0 and "capture: response at offset " in out and "http://example.cn/a.html" in out


def test_the_same_capture_in_two_warcs_dedups_like_any_input(crawl, tmp_path):
    path, root, _ = crawl
    copy = tmp_path / "recrawl.warc"
    build_crawl(copy, gz=False)          # the same pages, written again (new ids and dates), not gzipped
    assert main(["run", str(copy), "--archive", str(root), "-q"]) == 0
    new = max(root.glob("run-*"), key=lambda p: p.stat().st_mtime)
    lines = (new / "v1" / "content" / "metadata" / "dispositions.jsonl").read_text().splitlines()
    fates = [json.loads(line)["disposition"] for line in lines]
    assert fates.count("already_archived") == 5 and "archived" not in fates


def test_an_arc_file_is_read(tmp_path):
    body = page("旧式归档格式").encode("utf-8")
    http = b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    head = b"1 0 docclean\nURL IP-address Archive-date Content-type Archive-length\n"
    arc = (b"filedesc://t.arc 127.0.0.1 20140216050221 text/plain %d\n%s\n" % (len(head), head)
           + b"http://example.cn/old.html 127.0.0.1 20140216050221 text/html %d\n%s\n" % (len(http), http))
    path = tmp_path / "old.arc.gz"
    path.write_bytes(gzip.compress(arc[:arc.index(b"http://example.cn")]) + gzip.compress(arc[arc.index(b"http://example.cn"):]))
    root = tmp_path / "archive"
    assert main(["run", str(path), "--archive", str(root), "-q"]) == 0
    (rec,) = records(root).values()
    assert "旧式归档格式" in rec["text"]
    w = rec["sources"][0]["warc"]
    assert (w["format"], w["target_uri"], rec["metadata"]["url"]) == ("arc", "http://example.cn/old.html",
                                                                      "http://example.cn/old.html")


def test_damaged_files_are_rejections_and_the_reader_goes_on(tmp_path, capsys):
    good = tmp_path / "good.warc.gz"
    build_crawl(good)
    data = good.read_bytes()
    members = [i for i in range(len(data)) if data.startswith(b"\x1f\x8b\x08", i)]
    # garbage in place of the 4th record's member: that record is lost, the ones after are read
    corrupt = tmp_path / "corrupt.warc.gz"
    corrupt.write_bytes(data[:members[3]] + b"\x1f\x8b\x08garbage" + bytes(50) + data[members[4]:])
    truncated = tmp_path / "truncated.warc"
    build_crawl(truncated, gz=False)
    truncated.write_bytes(truncated.read_bytes()[:-300])           # the last record cut short
    single = tmp_path / "single.warc.gz"                            # one gzip stream, not per record
    plain = tmp_path / "plain.warc"
    build_crawl(plain, gz=False)
    single.write_bytes(gzip.compress(plain.read_bytes()))
    cut = tmp_path / "cut.warc.gz"                                  # a crawl stopped mid-member
    cut.write_bytes(data[:members[5] - 60])
    root = tmp_path / "archive"
    code, out, err = _run(capsys, "run", str(corrupt), str(truncated), str(single), str(cut),
                          "--archive", str(root))
    assert code == 0 and "Traceback" not in err
    ds = dispositions(root)
    by_file: dict[str, list[dict]] = {}
    for d in ds:
        by_file.setdefault(Path(d["path"]).name, []).append(d)
    c = by_file["corrupt.warc.gz"]
    assert [d.get("reason") for d in c if d["disposition"] == "rejected"] == [
        "warc_corrupt_record", "warc_digest_mismatch"]
    assert sum(d["disposition"] == "archived" for d in c) == 4      # the 3 other pages and the resource
    t = by_file["truncated.warc"]
    assert t[-1]["disposition"] == "rejected" and t[-1]["reason"] in ("warc_truncated", "warc_digest_mismatch")
    assert sum(d["disposition"] in ("archived", "already_archived", "duplicate_of") for d in t) == 5
    s = by_file["single.warc.gz"]
    assert [d.get("reason") for d in s] == ["warc_warcinfo", "warc_gzip_not_per_record"]
    assert [(d["disposition"], d.get("reason"), d["warc"]["offset"]) for d in by_file["cut.warc.gz"]][-1] == (
        "rejected", "warc_truncated", members[4])                   # never dropped without a word


def test_per_input_limits_hold_for_each_record(tmp_path):
    path = tmp_path / "big.warc.gz"
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        w.write_record(response(w, "http://example.cn/big.html", page("大" * 3000).encode(),
                                [("Content-Type", "text/html")]))
        w.write_record(response(w, "http://example.cn/bomb.html", gzip.compress(page("炸" * 5000).encode()),
                                [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]))
        w.write_record(response(w, "http://example.cn/ok.html", page("小").encode(), [("Content-Type", "text/html")]))
    config = tmp_path / "limits.toml"
    config.write_text("[limits]\nmax_input_bytes = 4000\n")
    root = tmp_path / "archive"
    assert main(["run", str(path), "--archive", str(root), "--config", str(config), "-q"]) == 0
    assert [(d["disposition"], d.get("reason")) for d in dispositions(root)] == [
        ("rejected", "too_large"), ("rejected", "too_large"), ("archived", None)]


def test_a_warc_outside_the_input_roots_is_refused(tmp_path, monkeypatch, capsys):
    inside, outside = tmp_path / "inbox", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    build_crawl(outside / "c.warc.gz")
    (inside / "c.warc.gz").symlink_to(outside / "c.warc.gz")
    monkeypatch.setenv("DOCCLEAN_INPUT_ROOTS", str(inside))
    code, _, err = _run(capsys, "run", str(inside), "--archive", str(tmp_path / "a"))
    assert code == 1 and "no input to clean" in err             # the only file leaves the inbox


def test_media_type_and_charset_parsing():
    assert warc.media_type(None) == "" and warc.is_warc("X.WARC.GZ") and not warc.is_warc("x.warc.txt")


def test_the_nightly_flow_takes_a_warc_from_the_inbox(tmp_path, seed_paths):
    """The DAG's three functions (discover → clean batches → commit), without Airflow: a WARC in
    the inbox is expanded by the batch that holds it, its staged bytes kept in the object."""
    from archive import flow
    from archive.audit import audit

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    build_crawl(inbox / "crawl.warc.gz")
    (inbox / seed_paths[0].name).write_bytes(seed_paths[0].read_bytes())
    root = tmp_path / "archive"
    batches = flow.discover_batches(inbox, root, batch_size=1, run_name="warc")
    assert len(batches) == 2
    summary = flow.commit_batches([flow.clean_batch(b) for b in batches], root)
    assert summary.written and summary.counts["records"] == 6 and summary.counts["skipped"] == 6
    assert audit(root) == []
    sha = hashlib.sha256((inbox / "crawl.warc.gz").read_bytes()).hexdigest()
    assert (summary.object_path / "v1" / "content" / "raw" / sha).read_bytes() == (inbox / "crawl.warc.gz").read_bytes()


def test_the_report_replays_each_capture_from_the_kept_warc(crawl, tmp_path):
    """The report finds a WARC record's payload in the WARC kept in the object and replays it with
    the HTTP charset the worker had: today's code gives the archived text, no warning."""
    from archive import report

    _, root, _ = crawl
    gbk = next(r for r in records(root).values() if r["metadata"]["url"] == "http://example.cn/gbk.html")
    built = report.build(root, gbk["archived_in"], out=tmp_path / "report")
    pages = {rid: (tmp_path / "report" / "docs" / f"{rid}.html").read_text(encoding="utf-8")
             for rid in built.document_pages}
    assert len(pages) == 5 and gbk["id"] in pages
    for html in pages.values():
        assert "Changes in place" in html and "not in this archive" not in html
        assert "does not give the archived text" not in html


def test_a_crawlers_own_resources_are_not_documents(tmp_path):
    """wget --warc-file stores its arguments and log as text/plain resources under metadata://."""
    path = tmp_path / "wget.warc.gz"
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        w.write_record(w.create_warc_record("metadata://gnu.org/software/wget/warc/wget.log", "resource",
                                            payload=BytesIO(b"--2026-12-05-- http://127.0.0.1/\n" * 20),
                                            warc_content_type="text/plain"))
        w.write_record(response(w, "http://example.cn/a.html", page("正文").encode(), [("Content-Type", "text/html")]))
    root = tmp_path / "archive"
    assert main(["run", str(path), "--archive", str(root), "-q"]) == 0
    assert [(d["disposition"], d.get("reason")) for d in dispositions(root)] == [
        ("skipped", "warc_metadata"), ("archived", None)]


def test_records_are_cleaned_in_worker_processes_as_in_one(tmp_path):
    """Two crawls in one file (gzip members concatenate): enough records for the process pool;
    the workers read their records from the staged copy and give what one process gives."""
    a, b = tmp_path / "a.warc.gz", tmp_path / "b.warc.gz"
    build_crawl(a)
    build_crawl(b)
    both = tmp_path / "both.warc.gz"
    both.write_bytes(a.read_bytes() + b.read_bytes())
    fates = []
    for jobs in ("1", "2"):
        root = tmp_path / f"archive-{jobs}"
        assert main(["run", str(both), "--archive", str(root), "--jobs", jobs, "-q"]) == 0
        fates.append([(d["warc"]["offset"], d["disposition"], d.get("reason"), d.get("record"))
                      for d in dispositions(root)])
    assert fates[0] == fates[1] and len(fates[0]) == 24
    assert sum(f[1] == "archived" for f in fates[0]) == 5 and sum(f[1] == "duplicate_of" for f in fates[0]) == 5


def test_brotli_bodies_are_undone_within_the_input_limit(tmp_path):
    """`br`, as browser-driven crawls store it; a brotli bomb stops at [limits] max_input_bytes,
    an unknown content encoding and a corrupt body are rejections with their reasons."""
    brotli = pytest.importorskip("brotli")
    path = tmp_path / "br.warc.gz"
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        w.write_record(response(w, "http://example.cn/br.html", brotli.compress(page("布罗特利").encode()),
                                [("Content-Type", "text/html"), ("Content-Encoding", "br")]))
        w.write_record(response(w, "http://example.cn/bomb.html", brotli.compress(b" " * 50_000_000),
                                [("Content-Type", "text/html"), ("Content-Encoding", "br")]))
        w.write_record(response(w, "http://example.cn/zstd.html", b"(zstd frame)",
                                [("Content-Type", "text/html"), ("Content-Encoding", "zstd")]))
        w.write_record(response(w, "http://example.cn/broken.html", b"not gzip at all",
                                [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]))
    config = tmp_path / "limits.toml"
    config.write_text("[limits]\nmax_input_bytes = 100000\n")
    root = tmp_path / "archive"
    assert main(["run", str(path), "--archive", str(root), "--config", str(config), "-q"]) == 0
    assert [(d["disposition"], d.get("reason")) for d in dispositions(root)] == [
        ("archived", None), ("rejected", "too_large"), ("rejected", "unsupported_content_encoding"),
        ("rejected", "bad_content_encoding")]
    (rec,) = records(root).values()
    assert "布罗特利" in rec["text"] and rec["sources"][0]["warc"]["content_encoding"] == "br"
