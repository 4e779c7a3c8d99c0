"""The run as the DAG drives it, without Airflow: batches, retries, the `since` window."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from archive import flow
from archive.audit import audit


@pytest.fixture()
def inbox(seed_paths, tmp_path) -> Path:
    box = tmp_path / "inbox"
    box.mkdir()
    for p in seed_paths:
        shutil.copy(p, box / p.name)
    return box


def test_batches_retried_and_commit_retried_write_nothing_twice(inbox, tmp_path):
    root = tmp_path / "archive"
    batches = flow.discover_batches(inbox, root, batch_size=2, run_name="r1")
    assert len(batches) == 3
    assert sum(len(json.loads(Path(b).read_text())) for b in batches) == 5
    results = [flow.clean_batch(b) for b in batches]
    def documents(paths):  # the results without the stats line (its timings differ per attempt)
        return [Path(r).read_text(encoding="utf-8").splitlines()[1:] for r in paths]

    first = documents(results)
    results = [flow.clean_batch(b) for b in batches]            # a retried batch
    assert documents(results) == first                          # rewritten, not appended
    summary = flow.commit_batches(results, root)
    assert summary.written and summary.counts["records"] == 5
    assert audit(root) == []
    # the commit task retried after it had published: same object, nothing new
    batches = flow.discover_batches(inbox, root, batch_size=2, run_name="r1")
    again = flow.commit_batches([flow.clean_batch(b) for b in batches], root)
    assert again.object_id == summary.object_id and not again.written
    assert len(list(root.glob("run-*"))) == 1


def test_since_takes_only_new_arrivals(inbox, tmp_path):
    old = time.time() - 3600
    for p in inbox.iterdir():
        os.utime(p, (old, old))
    cutoff = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 60))
    assert flow.discover_batches(inbox, tmp_path / "a", 10, "r", since=cutoff) == []
    (inbox / "new.txt").write_text("新到的文件。\n", encoding="utf-8")
    (batch,) = flow.discover_batches(inbox, tmp_path / "a", 10, "r", since=cutoff)
    assert [Path(p).name for p in json.loads(Path(batch).read_text())] == ["new.txt"]


def test_bad_params_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        flow.discover_batches(tmp_path / "nope", tmp_path / "a", 10, "r")
    with pytest.raises(ValueError, match="batch_size"):
        flow.discover_batches(tmp_path, tmp_path / "a", 0, "r")


def test_report_names_steps_and_dispositions(inbox, tmp_path):
    results = [flow.clean_batch(b) for b in flow.discover_batches(inbox, tmp_path / "a", 5, "r")]
    summary = flow.commit_batches(results, tmp_path / "a")
    text = flow.format_report({"object": summary.object_id, "written": True, "counts": summary.counts,
                               "stats": summary.stats}, flow.audit_report(tmp_path / "a", [summary.object_id]))
    assert "archived=5" in text and "encoding.detect" in text and "sound" in text
