"""The archive index is a cache of the records: rebuilt when missing, stale or of another layout."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from archive import ocfl
from archive.cli import main
from archive.index import Index, candidate_of, index_path
from archive.startup import load_config
from cleaners import dedup


def _records(root: Path) -> list[dict]:
    out = []
    for obj in ocfl.object_dirs(root):
        for logical, path in ocfl.head_files(obj).items():
            if logical.startswith("records/"):
                out.append(json.loads(path.read_text(encoding="utf-8")))
    return out


def test_an_index_of_the_older_layout_is_rebuilt_with_repair_counts(seed_paths, tmp_path):
    root = tmp_path / "archive"
    seed = next(p for p in seed_paths if p.name.startswith("003"))  # repair rebuilds two sentences
    assert main(["run", str(seed), "--archive", str(root), "--quiet"]) == 0
    (record,) = _records(root)
    repairs = candidate_of(record).repairs
    assert repairs > 0
    # The index as the previous release wrote it: no repairs column, a scheme without a layout.
    db = sqlite3.connect(index_path(root))
    with db:
        db.execute("DROP TABLE records")
        db.execute("CREATE TABLE records (record_id TEXT PRIMARY KEY, dedup_key TEXT NOT NULL UNIQUE, "
                   "object_id TEXT NOT NULL, chars INTEGER NOT NULL, published TEXT, "
                   "official INTEGER NOT NULL, path TEXT NOT NULL)")
        db.execute("UPDATE meta SET value = ? WHERE name = 'scheme'",
                   (dedup.signature_scheme(load_config().dedup),))
    db.close()
    index = Index(root, load_config().dedup)
    try:
        candidate = index.candidate(record["id"])
        assert candidate is not None and candidate.repairs == repairs
        assert index.known_keys([record["dedup_key"]]) == {record["dedup_key"]: record["id"]}
    finally:
        index.close()
    # And the archive goes on: a second run with another seed adds to the rebuilt index.
    other = next(p for p in seed_paths if p.name.startswith("002"))
    assert main(["run", str(other), "--archive", str(root), "--quiet"]) == 0
    assert len(_records(root)) == 2


def test_a_deleted_index_comes_back_from_the_records(seed_paths, tmp_path):
    root = tmp_path / "archive"
    assert main(["run", *map(str, seed_paths), "--archive", str(root), "--quiet"]) == 0
    index_path(root).unlink()
    index = Index(root, load_config().dedup)
    try:
        for record in _records(root):
            assert index.candidate(record["id"]) == candidate_of(record)
    finally:
        index.close()
