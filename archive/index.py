"""The archive's index: "is this already archived?" for dedup across runs.

A SQLite file in the storage root's extensions folder. It is a cache, never the truth: it is
rebuilt from the objects whenever it is missing, unreadable, or does not list exactly the
objects on disk, so deleting it is always safe. One writer at a time (the writer lock).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from archive import ocfl

log = logging.getLogger(__name__)

INDEX_DIR = "docclean-index"
SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (object_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    object_id TEXT NOT NULL,
    chars INTEGER NOT NULL,
    minhash TEXT                       -- JSON list of ints, for near-duplicate search
);
CREATE TABLE IF NOT EXISTS raws (sha256 TEXT PRIMARY KEY, object_id TEXT NOT NULL);
"""


def index_path(root: Path) -> Path:
    return root / ocfl.EXTENSIONS / INDEX_DIR / "index.sqlite"


class Index:
    def __init__(self, root: Path) -> None:
        self.root = root
        path = index_path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = self._open(path)
        on_disk = {p.name for p in ocfl.object_dirs(root)}
        listed = {row[0] for row in self.db.execute("SELECT object_id FROM objects")}
        if on_disk != listed:
            log.info("index lists %d objects, root has %d: rebuilding", len(listed), len(on_disk))
            self.rebuild()

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(path)
            db.executescript(SCHEMA)
            return db
        except sqlite3.DatabaseError:
            log.warning("index %s is unreadable: recreating it", path)
            path.unlink(missing_ok=True)
            db = sqlite3.connect(path)
            db.executescript(SCHEMA)
            return db

    def close(self) -> None:
        self.db.close()

    def rebuild(self) -> None:
        with self.db:
            self.db.execute("DELETE FROM objects")
            self.db.execute("DELETE FROM records")
            self.db.execute("DELETE FROM raws")
            for obj in ocfl.object_dirs(self.root):
                files = ocfl.head_files(obj)
                for logical, path in files.items():
                    if logical.startswith("records/") and logical.endswith(".json"):
                        rec = json.loads(path.read_text(encoding="utf-8"))
                        self._add_record(obj.name, rec)
                    elif logical.startswith("raw/"):
                        self.db.execute("INSERT OR IGNORE INTO raws VALUES (?, ?)",
                                        (logical.removeprefix("raw/"), obj.name))
                self.db.execute("INSERT OR IGNORE INTO objects VALUES (?)", (obj.name,))

    def _add_record(self, object_id: str, record: dict[str, object]) -> None:
        minhash = record.get("minhash")
        self.db.execute(
            "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?)",
            (record["id"], record["dedup_key"], object_id, len(str(record["text"])),
             json.dumps(minhash) if minhash is not None else None))

    def add_object(self, object_id: str, records: Iterable[dict[str, object]],
                   raws: Iterable[str]) -> None:
        with self.db:
            for rec in records:
                self._add_record(object_id, rec)
            self.db.executemany("INSERT OR IGNORE INTO raws VALUES (?, ?)",
                                [(sha, object_id) for sha in raws])
            self.db.execute("INSERT OR IGNORE INTO objects VALUES (?)", (object_id,))

    def known_keys(self, keys: Iterable[str]) -> dict[str, str]:
        """dedup key → record id, for the keys already archived."""
        out = {}
        for key in set(keys):
            row = self.db.execute("SELECT record_id FROM records WHERE dedup_key = ?", (key,)).fetchone()
            if row:
                out[key] = row[0]
        return out

    def record_object(self, record_id: str) -> str | None:
        row = self.db.execute("SELECT object_id FROM records WHERE record_id = ?", (record_id,)).fetchone()
        return row[0] if row else None

    def raw_object(self, sha256: str) -> str | None:
        row = self.db.execute("SELECT object_id FROM raws WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    def signatures(self) -> list[tuple[str, list[int]]]:
        """(record id, minhash) of every archived record that has one."""
        rows = self.db.execute("SELECT record_id, minhash FROM records WHERE minhash IS NOT NULL")
        return [(rid, json.loads(mh)) for rid, mh in rows]
