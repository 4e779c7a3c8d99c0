"""The archive's index: "is this already archived?" and "what is it like?", across runs.

A SQLite file in the storage root's extensions folder. It is a cache, never the truth: it is
rebuilt from the records whenever it is missing, unreadable, lists other objects than the root
holds, or was built with another signature scheme (shingles, permutations, key folding), so
deleting it is always safe. One writer at a time (the writer lock).

What it holds per record: the exact-duplicate key; the MinHash signature and one LSH key per
band (near duplicates: candidates are found by an indexed lookup, not by loading every
signature); winnowing fingerprints (shared passages); and what the canonical choice needs
(length, publish time, official source, path, repair edits).

Bounded per key, so a lookup costs the same at any archive size and any amount of duplication
(issue #16): a band key lists at most `lsh_bucket_cap` records (later copies of a story find
its cluster through the first ones), and a fingerprint lists at most `common_passage_docs` + 1
holders next to its full count (a passage held by more documents is a common passage, never
paired again).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive import ocfl
from cleaners import dedup
from cleaners.dedup import DedupConfig

log = logging.getLogger(__name__)

INDEX_DIR = "docclean-index"
# The tables' layout: part of the stored scheme, so an index of another layout is rebuilt.
# 2: records.repairs (the keep policy prefers the copy repair touched least).
# 3: bounded band keys and fingerprint holders, fingerprint counts (issue #16).
LAYOUT = 3
TABLES = ("objects", "records", "signatures", "bands", "fingerprints", "fp_counts", "raws")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (object_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    object_id TEXT NOT NULL,
    chars INTEGER NOT NULL,
    published TEXT,
    official INTEGER NOT NULL,
    path TEXT NOT NULL,
    repairs INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS signatures (record_id TEXT PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS bands (band_key INTEGER NOT NULL, record_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS bands_key ON bands (band_key);
CREATE TABLE IF NOT EXISTS fingerprints (fp INTEGER NOT NULL, record_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS fingerprints_fp ON fingerprints (fp);
CREATE TABLE IF NOT EXISTS fp_counts (fp INTEGER PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS raws (sha256 TEXT PRIMARY KEY, object_id TEXT NOT NULL);
"""


def index_path(root: Path) -> Path:
    return root / ocfl.EXTENSIONS / INDEX_DIR / "index.sqlite"


@dataclass(frozen=True)
class Features:
    """What the index keeps of one record's text (computed once, by the writer or a rebuild)."""

    minhash: Sequence[int]
    fingerprints: set[int]

    @classmethod
    def of(cls, text: str, cfg: DedupConfig) -> Features:
        return cls(dedup.minhash(text, cfg), dedup.passage_fingerprints(text, cfg))


def candidate_of(record: Mapping[str, Any]) -> dedup.Candidate:
    """A record as the canonical-choice policy sees it."""
    repairs = sum(dedup.is_repair(p["step"], p["details"].get("action", "")) for p in record["provenance"])
    return dedup.Candidate(record["id"], len(record["text"]), *dedup.keep_hints(record.get("metadata")),
                           record["sources"][0]["path"], repairs)


class Index:
    def __init__(self, root: Path, cfg: DedupConfig) -> None:
        self.root = root
        self.cfg = cfg
        self.scheme = f"{dedup.signature_scheme(cfg)}/layout{LAYOUT}"
        path = index_path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = self._open(path)
        on_disk = {p.name for p in ocfl.object_dirs(root)}
        listed = {row[0] for row in self.db.execute("SELECT object_id FROM objects")}
        row = self.db.execute("SELECT value FROM meta WHERE name = 'scheme'").fetchone()
        if on_disk != listed or row is None or row[0] != self.scheme:
            log.info("index out of date (%d objects listed, %d in the root; scheme %s): rebuilding",
                     len(listed), len(on_disk), row[0] if row else None)
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
        # Dropped and made again, not emptied: an index of an older layout lacks columns.
        self.db.executescript("".join(f"DROP TABLE IF EXISTS {t};" for t in TABLES) + SCHEMA)
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('scheme', ?)", (self.scheme,))
            for obj in ocfl.object_dirs(self.root):
                for logical, path in ocfl.head_files(obj).items():
                    if logical.startswith("records/") and logical.endswith(".json"):
                        rec = json.loads(path.read_text(encoding="utf-8"))
                        self._add_record(obj.name, rec, Features.of(rec["text"], self.cfg))
                    elif logical.startswith("raw/"):
                        self.db.execute("INSERT OR IGNORE INTO raws VALUES (?, ?)",
                                        (logical.removeprefix("raw/"), obj.name))
                self.db.execute("INSERT OR IGNORE INTO objects VALUES (?)", (obj.name,))

    def _add_record(self, object_id: str, record: Mapping[str, Any], features: Features) -> None:
        c = candidate_of(record)
        rid = record["id"]
        self.db.execute("INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (rid, record["dedup_key"], object_id, c.chars, c.published, int(c.official), c.path,
                         c.repairs))
        if features.minhash:
            self.db.execute("INSERT OR REPLACE INTO signatures VALUES (?, ?)",
                            (rid, dedup.pack_signature(features.minhash)))
            keys = dedup.band_keys(features.minhash, self.cfg)
            filed = dict(self._select_in("SELECT band_key, COUNT(*) FROM bands WHERE band_key IN ({}) "
                                         "GROUP BY band_key", keys))
            self.db.executemany("INSERT INTO bands VALUES (?, ?)",
                                [(k, rid) for k in keys if filed.get(k, 0) < self.cfg.lsh_bucket_cap])
        prints = sorted(features.fingerprints)
        self.db.executemany("INSERT INTO fp_counts VALUES (?, 1) ON CONFLICT (fp) DO UPDATE SET n = n + 1",
                            [(fp,) for fp in prints])
        holders = dedup.holders_kept(self.cfg)
        self.db.executemany("INSERT INTO fingerprints VALUES (?, ?)",
                            [(fp, rid) for fp, n in self._select_in(
                                "SELECT fp, n FROM fp_counts WHERE fp IN ({})", prints) if n <= holders])

    def add_object(self, object_id: str, records: Iterable[tuple[Mapping[str, Any], Features]],
                   raws: Iterable[str]) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('scheme', ?)", (self.scheme,))
            for rec, features in records:
                self._add_record(object_id, rec, features)
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

    def band_members(self, band_key: int) -> list[str]:
        """The archived records filed under one LSH band key (at most `lsh_bucket_cap`)."""
        return [r[0] for r in self.db.execute("SELECT record_id FROM bands WHERE band_key = ? LIMIT ?",
                                              (band_key, self.cfg.lsh_bucket_cap))]

    def signature(self, record_id: str) -> list[int]:
        row = self.db.execute("SELECT blob FROM signatures WHERE record_id = ?", (record_id,)).fetchone()
        return dedup.unpack_signature(row[0]) if row else []

    def fingerprint_counts(self, fingerprints: Iterable[int]) -> dict[int, int]:
        """How many archived records hold each of `fingerprints` (those held by none left out)."""
        return dict(self._select_in("SELECT fp, n FROM fp_counts WHERE fp IN ({})", sorted(set(fingerprints))))

    def passage_holders_of(self, fingerprints: list[int]) -> list[str]:
        """The archived records filed under any of `fingerprints` (at most `holders_kept` each)."""
        return sorted({rid for (rid,) in self._select_in(
            "SELECT DISTINCT record_id FROM fingerprints WHERE fp IN ({})", fingerprints)})

    def _select_in(self, template: str, values: list[int]) -> Iterator[Any]:
        for chunk in _chunks(values, 500):
            yield from self.db.execute(template.format(",".join("?" * len(chunk))), chunk)

    def passage_holders(self, fingerprint: int, limit: int) -> list[str]:
        """Up to `limit` archived records holding a fingerprint."""
        return [r[0] for r in self.db.execute("SELECT record_id FROM fingerprints WHERE fp = ? LIMIT ?",
                                              (fingerprint, limit))]

    def candidate(self, record_id: str) -> dedup.Candidate | None:
        row = self.db.execute("SELECT chars, published, official, path, repairs FROM records "
                              "WHERE record_id = ?", (record_id,)).fetchone()
        return dedup.Candidate(record_id, row[0], row[1], bool(row[2]), row[3], row[4]) if row else None

    def record_text(self, record_id: str) -> str:
        obj = self.record_object(record_id)
        if obj is None:
            raise KeyError(record_id)
        path = self.root / obj / "v1" / "content" / "records" / f"{record_id}.json"
        text: str = json.loads(path.read_text(encoding="utf-8"))["text"]
        return text


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
