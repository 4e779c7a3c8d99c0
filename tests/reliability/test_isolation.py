"""One input never stops a run (issue #23): each failure is that input's rejection with a
reason, the run exits 0, and a rejection for a bug of ours (`internal_error`) is retried."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from archive import writer
from archive.batch import CleanResult
from archive.cli import main
from archive.flow import run_paths
from cleaners import runner
from cleaners.config import PipelineConfig


def _dispositions(root: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(root.glob("run-*/v1/content/metadata/dispositions.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            out[Path(d["path"]).name] = d
    return out


def test_a_page_that_cleans_to_nothing_is_rejected_and_the_run_goes_on(seed_paths, tmp_path, capsys):
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "script.html").write_text("<html><body><script>x</script></body></html>")
    (inbox / "nested.html").write_text("<html><body>" + "<div>" * 20000 + "</div>" * 20000
                                       + "</body></html>")
    (inbox / "good.txt").write_bytes(seed_paths[0].read_bytes())
    root = tmp_path / "a"
    assert main(["run", str(inbox), "--archive", str(root), "--quiet"]) == 0
    fate = _dispositions(root)
    assert fate["good.txt"]["disposition"] == "archived"
    for name in ("script.html", "nested.html"):
        assert fate[name]["disposition"] == "rejected", fate[name]
        assert fate[name]["reason"] == "empty_text" and fate[name]["step"], fate[name]
    capsys.readouterr()
    assert main(["audit", str(root)]) == 0


def test_a_name_that_is_not_utf8_is_kept_losslessly(seed_paths, tmp_path, capsys):
    inbox = tmp_path / "in"
    inbox.mkdir()
    name = os.fsdecode(b"bad\xff\xfename.txt")
    (inbox / name).write_bytes(seed_paths[1].read_bytes())
    root = tmp_path / "a"
    assert main(["run", str(inbox), "--archive", str(root), "--quiet"]) == 0
    (d,) = _dispositions(root).values()
    assert d["disposition"] == "archived"
    assert d["path"].endswith("bad\\xff\\xfename.txt")
    assert bytes.fromhex(d["path_bytes"]) == os.fsencode(inbox / name)
    capsys.readouterr()
    assert main(["export", str(root)]) == 0
    (rec,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert bytes.fromhex(rec["sources"][0]["path_bytes"]).endswith(b"bad\xff\xfename.txt")
    assert main(["audit", str(root)]) == 0


def _bad_config() -> PipelineConfig:
    """A config the loader refuses, built in code: the steps fail on it (a bug stand-in)."""
    cfg = PipelineConfig()
    return dataclasses.replace(cfg, repair=dataclasses.replace(cfg.repair, legacy_codecs=5))


def test_a_bug_in_a_step_is_an_internal_error_and_is_retried(seed_paths, tmp_path):
    root = tmp_path / "a"
    first = run_paths([str(seed_paths[3])], root, _bad_config())
    assert first.written and first.counts.get("rejected") == 1
    (d,) = first.dispositions
    assert d["reason"] == "internal_error"
    # The same inputs, code and config: not "already archived", a retry object is written ...
    second = run_paths([str(seed_paths[3])], root, _bad_config())
    assert second.written and second.object_id != first.object_id
    # ... but not for ever while the bug is still there.
    ids = {run_paths([str(seed_paths[3])], root, _bad_config()).object_id for _ in range(4)}
    assert len(list(root.glob("run-*"))) == 1 + writer.RETRY_LIMIT
    assert len(ids) <= writer.RETRY_LIMIT


def _result(path: str, text: str, **metadata: object) -> CleanResult:
    import hashlib

    return CleanResult(path=path, sha256=hashlib.sha256(path.encode()).hexdigest(), bytes=len(text),
                       text=text, metadata=dict(metadata),
                       trail=[{"step": "encoding.detect", "version": "1", "changed": True, "changes": []}])


def test_a_record_that_breaks_the_schema_rejects_its_input_only(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = _result("good.txt", "数字政府建设的实施意见。")
    bad = _result("bad.txt", "另一份文件的正文。", url=5)          # the schema wants a string
    for r in (good, bad):
        (raw / str(r.sha256)).write_bytes(r.path.encode())
    root = tmp_path / "a"
    summary = writer.commit_run(root, [good, bad], runner.Stats(), PipelineConfig(), raw)
    fate = {d["path"]: d for d in summary.dispositions}
    assert fate["good.txt"]["disposition"] == "archived"
    assert fate["bad.txt"]["disposition"] == "rejected"
    assert fate["bad.txt"]["reason"] == "internal_error"
    assert "breaks the schema" in fate["bad.txt"]["message"]
    # fixed: the rerun retries the input instead of calling it done
    fixed = _result("bad.txt", "另一份文件的正文。", url="https://example.gov.cn/a")
    again = writer.commit_run(root, [good, fixed], runner.Stats(), PipelineConfig(), raw)
    assert again.written
    fate = {d["path"]: d["disposition"] for d in again.dispositions}
    assert fate == {"good.txt": "already_archived", "bad.txt": "archived"}
    from archive.audit import audit
    assert audit(root) == []


def test_the_run_id_depends_on_the_code_version(seed_paths, tmp_path, monkeypatch):
    results = [_result("a.txt", "正文。")]
    before = writer.run_object_id(results, PipelineConfig())
    monkeypatch.setattr(writer, "code_version", lambda: "0.1.0+fixed")
    assert writer.run_object_id(results, PipelineConfig()) != before
