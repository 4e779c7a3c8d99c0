"""dedup + archive: the one writer. Cleaned results in, one OCFL object per run out.

The object of a run holds:
  records/<id>.json           one per new document (schema-valid)
  raw/<sha256>                every input's bytes exactly as received (unless an earlier
                              object of the root already holds them: the disposition says where)
  metadata/run.json           counts, per-step stats, config and its sha256, library versions
  metadata/dispositions.jsonl the fate of every input: archived, duplicate_of,
                              already_archived, rejected (with step and reason)
  metadata/links.jsonl        near-duplicate, shared-passage and canonical links onto records
                              of earlier runs (`archive.linking`)
  metadata/common_passages.jsonl  passages held by more than `common_passage_docs` documents:
                              each once, with its text, its count and a sample of holders

The object id is derived from the inputs' digests and the config, so a rerun over the same
inputs finds its object already there and writes nothing (DESIGN.md: a rerun with the same
inputs writes nothing new).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from archive import linking, ocfl, record
from archive.batch import CleanResult
from archive.index import Features, Index
from cleaners import __version__, dedup, runner
from cleaners.config import PipelineConfig
from cleaners.script import opencc_config

log = logging.getLogger(__name__)

LIBRARIES = ("charset-normalizer", "chardet", "ftfy", "opencc", "beautifulsoup4", "lxml",
             "pypinyin", "rensa", "jsonschema")


@dataclass
class RunSummary:
    root: Path
    object_id: str | None
    written: bool                                  # False: nothing new (rerun, or no inputs)
    dispositions: Sequence[dict[str, Any]] = field(default_factory=list)   # JsonLines once written
    counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def object_path(self) -> Path | None:
        return self.root / self.object_id if self.object_id else None


def run_object_id(results: list[CleanResult], cfg: PipelineConfig) -> str:
    """Content-derived: the same inputs under the same config always name the same object."""
    h = hashlib.sha256(cfg.sha256().encode())
    for item in sorted(r.sha256 or f"missing:{r.path}" for r in results):
        h.update(item.encode())
    return "run-" + h.hexdigest()[:24]


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = None
    return out


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def commit_run(root: Path, results: list[CleanResult], stats: runner.Stats, cfg: PipelineConfig,
               raw_dir: Path, created: str | None = None, label: str = "docclean run") -> RunSummary:
    """Deduplicate `results` against each other and the archive; publish one object."""
    return commit_stream(root, [(results, stats)], cfg, raw_dir, created=created, label=label)


def commit_stream(root: Path, chunks: Iterable[tuple[list[CleanResult], runner.Stats]],
                  cfg: PipelineConfig, raw_dir: Path, created: str | None = None,
                  label: str = "docclean run", progress: Progress | None = None) -> RunSummary:
    """The one writer, streaming: cleaned results arrive in chunks (from worker processes or
    from batch files) and go straight into a run store on disk in the workspace; then exact
    duplicates are decided, links made and the object written, each a pass over that store.
    Memory holds one chunk, never the run (issue #16). `progress(phase, done, total)` is
    called as each phase advances: "clean" (inputs received; total unknown: None), "link"
    and "write" (new records)."""
    root = Path(root)
    ocfl.init_root(root)
    with ocfl.writer_lock(root):
        ocfl.recover(root)
        store = _RunStore(ocfl.workspace(root) / f"inputs-{os.getpid()}.sqlite")
        try:
            run_stats = store.ingest(chunks, progress)
            if not store.count:
                return RunSummary(root, None, False, stats=run_stats.to_json())
            object_id = store.object_id(cfg)
            if (root / object_id).exists():
                log.info("object %s already holds these inputs: nothing to write", object_id)
                return _existing(root, object_id)
            index = Index(root, cfg.dedup)
            try:
                return _write(root, object_id, index, store, run_stats, cfg, raw_dir,
                              created or utc_now(), label, progress)
            finally:
                index.close()
        finally:
            store.close()


Progress = Callable[[str, int, "int | None"], None]


def _signature(input_id: str, result: CleanResult) -> dedup.Signature:
    """What the exact-duplicate decision and the keep policy need of one cleaned input."""
    repairs = sum(dedup.is_repair(e["step"], c["action"]) for e in result.trail for c in e["changes"])
    key = result.key or dedup.dedup_key(result.text)
    return dedup.Signature(input_id, key, len(result.text), result.path,
                           (), *dedup.keep_hints(result.metadata), repairs)


class _RunStore:
    """A run's cleaned results on disk (SQLite in the workspace, removed with the run): every
    input in arrival order, its exact-duplicate key and what the keep policy reads."""

    SCHEMA = """
    PRAGMA journal_mode = OFF;
    PRAGMA synchronous = OFF;
    CREATE TABLE inputs (i INTEGER PRIMARY KEY, item TEXT NOT NULL, key TEXT, chars INTEGER,
                         published TEXT, official INTEGER, path TEXT, repairs INTEGER,
                         result TEXT NOT NULL);
    CREATE INDEX inputs_key ON inputs (key, i);
    CREATE TABLE decisions (i INTEGER PRIMARY KEY, record_id TEXT NOT NULL, kept INTEGER NOT NULL,
                            keeper INTEGER NOT NULL, known INTEGER NOT NULL);
    CREATE INDEX decisions_record ON decisions (record_id, kept DESC, i);
    CREATE TABLE stored_raw (sha256 TEXT PRIMARY KEY);
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path)
        self.db.executescript(self.SCHEMA)
        self.count = 0

    def close(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)

    def ingest(self, chunks: Iterable[tuple[list[CleanResult], runner.Stats]],
               progress: Progress | None) -> runner.Stats:
        stats = runner.Stats()
        for results, chunk_stats in chunks:
            for result in results:
                row: tuple[Any, ...] = (None,) * 6
                if result.status == "ok":
                    s = _signature(str(self.count), result)
                    row = (s.key, s.chars, s.published, int(s.official), s.path, s.repairs)
                self.db.execute("INSERT INTO inputs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                (self.count, result.sha256 or f"missing:{result.path}", *row,
                                 result.to_json()))
                self.count += 1
            stats.merge(chunk_stats)
            if progress:
                progress("clean", self.count, None)
        self.db.commit()
        return stats

    def object_id(self, cfg: PipelineConfig) -> str:
        """`run_object_id` over the stored inputs (SQLite's binary order is code point order)."""
        h = hashlib.sha256(cfg.sha256().encode())
        for (item,) in self.db.execute("SELECT item FROM inputs ORDER BY item"):
            h.update(item.encode())
        return "run-" + h.hexdigest()[:24]

    def result(self, i: int) -> CleanResult:
        return CleanResult.from_json(self.db.execute("SELECT result FROM inputs WHERE i = ?", (i,)).fetchone()[0])

    def decide(self, index: Index) -> None:
        """`dedup.decide`, one key at a time: the keep policy in two passes over a key's copies
        (`dedup.is_complete` against the longest, then the smallest `dedup.canonical_rank`)."""
        keys = self.db.cursor().execute("SELECT key, MAX(chars) FROM inputs WHERE key IS NOT NULL "
                                        "GROUP BY key")
        for key, longest in keys:
            keeper = min((dedup.Candidate(str(i), chars, published, bool(official), path, repairs)
                          for i, chars, published, official, path, repairs in self.db.execute(
                              "SELECT i, chars, published, official, path, repairs FROM inputs "
                              "WHERE key = ?", (key,)) if dedup.is_complete(chars, longest, index.cfg)),
                         key=dedup.canonical_rank)
            known = index.known_keys([key]).get(key)
            rid = known or dedup.record_id(key)
            self.db.execute("INSERT INTO decisions SELECT i, ?, i = ? AND ?, ?, ? FROM inputs WHERE key = ?",
                            (rid, int(keeper.id), known is None, int(keeper.id), known is not None, key))
        self.db.commit()

    def kept(self) -> Iterator[tuple[int, str]]:
        """(input, record id) of each new record, in input order."""
        yield from self.db.cursor().execute("SELECT i, record_id FROM decisions WHERE kept ORDER BY i")

    def members(self, record_id: str) -> list[CleanResult]:
        """Every input of a record, the kept one first (its text and provenance are the record's);
        the others without text and trail: a record only lists them as sources."""
        rows = self.db.execute(
            "SELECT d.i, json_remove(n.result, '$.text', '$.trail', '$.minhash', '$.fingerprints') "
            "FROM decisions d JOIN inputs n ON n.i = d.i WHERE d.record_id = ? ORDER BY d.kept DESC, d.i",
            (record_id,)).fetchall()
        return [self.result(rows[0][0])] + [CleanResult.from_json(light) for _, light in rows[1:]]

    def decision(self, i: int) -> tuple[str, bool, int, bool] | None:
        row = self.db.execute("SELECT record_id, kept, keeper, known FROM decisions WHERE i = ?", (i,)).fetchone()
        return (row[0], bool(row[1]), row[2], bool(row[3])) if row else None

    def path_of(self, i: int) -> str:
        return str(self.db.execute("SELECT json_extract(result, '$.path') FROM inputs WHERE i = ?",
                                   (i,)).fetchone()[0])

    def store_raw(self, sha256: str) -> bool:
        """True the first time a raw file is stored in this run's object."""
        return self.db.execute("INSERT OR IGNORE INTO stored_raw VALUES (?)", (sha256,)).rowcount == 1

    def stored_raws(self) -> Iterator[str]:
        yield from (r[0] for r in self.db.execute("SELECT sha256 FROM stored_raw ORDER BY sha256").fetchall())


def _existing(root: Path, object_id: str) -> RunSummary:
    files = ocfl.head_files(root / object_id)
    run = json.loads(files["metadata/run.json"].read_text(encoding="utf-8"))
    return RunSummary(root, object_id, False, JsonLines(files["metadata/dispositions.jsonl"]),
                      run["counts"], run["stats"])


class JsonLines(Sequence[dict[str, Any]]):
    """A JSON Lines file as a read-only sequence, read when used: a run's dispositions are
    not held in memory (a million inputs would be a gigabyte of dicts)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def __len__(self) -> int:
        with self.path.open(encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip())

    def __getitem__(self, n: Any) -> Any:
        return list(self)[n]

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Iterable) else NotImplemented


def _jsonl_to(obj: ocfl.NewObject, logical: str, entries: Iterable[dict[str, Any]]) -> None:
    with obj.path(logical).open("w", encoding="utf-8") as fh:
        for entry in entries:
            fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")


def _write(root: Path, object_id: str, index: Index, store: _RunStore, stats: runner.Stats,
           cfg: PipelineConfig, raw_dir: Path, created: str, label: str,
           progress: Progress | None) -> RunSummary:
    store.decide(index)
    # One record per new document; near duplicates and shared passages linked, not merged.
    linker = linking.Linker(index, cfg.dedup, ocfl.workspace(root) / f"links-{object_id}.sqlite")
    try:
        total = store.db.execute("SELECT COUNT(*) FROM decisions WHERE kept").fetchone()[0]
        for done, (i, rid) in enumerate(store.kept(), 1):
            r = store.result(i)
            s = _signature(str(i), r)
            linker.add(rid, r.text, dedup.Candidate(rid, s.chars, s.published, s.official, s.path, s.repairs),
                       Features(r.minhash, set(r.fingerprints)) if r.key else Features.of(r.text, cfg.dedup))
            if progress:
                progress("link", done, total)
        linker.finish()
        obj = ocfl.new_object(root, object_id)
        for done, (_, rid) in enumerate(store.kept(), 1):
            members = store.members(rid)
            kept = members[0]
            canonical, size = linker.canonical_of(rid)
            rec = record.build(rid, kept.key or dedup.dedup_key(kept.text), kept, members, cfg, object_id,
                               near=linker.near_of(rid), shared=linker.shared_of(rid),
                               canonical=canonical, cluster_size=size, common=linker.common_of(rid))
            errors = record.schema_errors(rec)
            if errors:  # a bug, not bad input: the writer must never publish an invalid record
                raise ValueError(f"record {rid} breaks the schema: {errors}")
            obj.write_bytes(f"records/{rid}.json", record.dumps(rec))
            if progress:
                progress("write", done, total)
        _jsonl_to(obj, "metadata/links.jsonl", linker.onto_archived())
        _jsonl_to(obj, "metadata/common_passages.jsonl", linker.common_passages())
    finally:
        linker.close()

    counts: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    with obj.path("metadata/dispositions.jsonl").open("w", encoding="utf-8") as out:
        for i in range(store.count):
            result = store.result(i)
            entry: dict[str, Any] = {"path": result.path, "sha256": result.sha256, "bytes": result.bytes}
            if result.sha256 is not None:
                raw_home = index.raw_object(result.sha256)
                if raw_home is None and store.store_raw(result.sha256):
                    obj.adopt(f"raw/{result.sha256}", raw_dir / result.sha256)
                entry["raw"] = {"object": raw_home or object_id, "path": f"raw/{result.sha256}"}
            decision = store.decision(i)
            if decision is None:
                entry.update(disposition="rejected", step=result.step, reason=result.reason,
                             message=result.message)
                rejected[str(result.reason)] += 1
            else:
                rid, is_kept, keeper, known = decision
                entry["record"] = rid
                entry["title"] = result.title
                entry["chars"] = len(result.text)
                entry["encoding"] = result.decoding.get("encoding")
                if known:
                    entry.update(disposition="already_archived", object=index.record_object(rid),
                                 source=result.source_entry())
                elif is_kept:
                    entry.update(disposition="archived", object=object_id)
                else:
                    entry.update(disposition="duplicate_of", object=object_id,
                                 duplicate_of_path=store.path_of(keeper))
            counts[entry["disposition"]] += 1
            out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")

    records = [r for (r,) in store.db.execute("SELECT record_id FROM decisions WHERE kept ORDER BY record_id")]
    counts.update(inputs=store.count, records=len(records))
    run = {
        "run": object_id,
        "label": label,
        "created": created,
        "docclean": __version__,
        "config": cfg.to_dict(),
        "config_sha256": cfg.sha256(),
        "libraries": library_versions(),
        "opencc_config": opencc_config(cfg.convert.target),
        "counts": dict(counts),
        "rejected_by_reason": dict(sorted(rejected.items())),
        "stats": stats.to_json(),
        "records": records,
    }
    obj.write_bytes("metadata/run.json",
                    (json.dumps(run, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode())
    final = obj.publish(created, f"{label}: {counts.get('records', 0)} new records from {store.count} inputs")
    index.add_object(object_id, _records_with_features(final, store, records, cfg), store.stored_raws())
    return RunSummary(root, object_id, True, JsonLines(ocfl.head_files(final)["metadata/dispositions.jsonl"]),
                      dict(counts), run["stats"])


def _records_with_features(obj: Path, store: _RunStore, records: list[str], cfg: PipelineConfig
                           ) -> Iterator[tuple[dict[str, Any], Features]]:
    """The published records, each with the features its worker computed, for the index."""
    content = obj / "v1" / "content" / "records"
    for rid in records:
        rec = json.loads((content / f"{rid}.json").read_text(encoding="utf-8"))
        (i,) = store.db.execute("SELECT i FROM decisions WHERE record_id = ? AND kept", (rid,)).fetchone()
        r = store.result(i)
        yield rec, (Features(r.minhash, set(r.fingerprints)) if r.key else Features.of(r.text, cfg.dedup))
