"""dedup + archive: the one writer. Cleaned results in, one OCFL object per run out.

The object of a run holds:
  records/<id>.json           one per new document (schema-valid)
  raw/<sha256>                every input's bytes exactly as received (unless an earlier
                              object of the root already holds them: the disposition says where)
  metadata/run.json           counts, per-step stats, config and its sha256, library versions
  metadata/dispositions.jsonl the fate of every input: archived, duplicate_of,
                              already_archived, rejected (with step and reason), skipped (a
                              WARC record that is no document, with its reason)
  metadata/links.jsonl        near-duplicate, shared-passage and canonical links onto records
                              of earlier runs (`archive.linking`)
  metadata/common_passages.jsonl  passages held by more than `common_passage_docs` documents:
                              each once, with its text, its count and a sample of holders

Streaming (issue #16): cleaned results arrive in chunks and go straight into a run store on
disk (`RunStore`, SQLite, next to the run's staged raw files); exact duplicates, links and
records are then passes over that store, and each file of the object is written as it is
made. Memory holds a chunk and bounded caches, never the run.

The object id is derived from the inputs' digests, the config and the code version, so a rerun
over the same inputs with the same code finds its object already there and writes nothing
(DESIGN.md: a rerun with the same inputs writes nothing new), while a fixed bug gets a new id.

One input never stops a run: a record that breaks the schema (or cannot be built) is that
input's rejection (`internal_error`). That reason is never final: when the object of a rerun
already exists but rejected inputs with it, the rerun writes a retry object (a derived id), at
most `RETRY_LIMIT` times for the same inputs, code and config.
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
from functools import cache
from importlib import metadata as importlib_metadata
from importlib import resources
from pathlib import Path
from typing import Any

from archive import linking, ocfl, record
from archive.batch import INTERNAL_ERROR, CleanResult, exact_key
from archive.index import Features, Index
from cleaners import __version__, dedup, runner
from cleaners.config import PipelineConfig
from cleaners.script import opencc_config

log = logging.getLogger(__name__)

# progress(phase, done, total): the writer's phases are "link" (near duplicates and shared
# passages across the run and the archive) and "write" (one record at a time); `RunStore.ingest`
# reports "clean" (inputs received) when it is handed a total.
Progress = Callable[[str, int, int], None]
# Reasons that say "our bug", not "bad input": such inputs are retried by a later run.
RETRYABLE = frozenset({INTERNAL_ERROR})
# Retry objects a rerun may add for the same inputs, code and config: a bug that is still there
# must not make every rerun write yet another object.
RETRY_LIMIT = 3
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


@cache
def code_version() -> str:
    """docclean's version and a digest of its code and data files (a fix changes it, even one
    that forgot to bump the version number)."""
    h = hashlib.sha256()
    for package in ("cleaners", "archive"):
        base = Path(str(resources.files(package)))
        for path in sorted(base.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


def run_object_id(results: list[CleanResult], cfg: PipelineConfig) -> str:
    """Content-derived: the same inputs under the same config and code name the same object."""
    return _object_id(cfg, sorted(r.item() for r in results))


def _object_id(cfg: PipelineConfig, items: Iterable[str]) -> str:
    h = hashlib.sha256(f"{code_version()} {cfg.sha256()}".encode())
    for item in items:
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
               raw_dir: Path, created: str | None = None, label: str = "docclean run",
               wait: float = 0.0, progress: Progress | None = None) -> RunSummary:
    """Deduplicate `results` against each other and the archive; publish one object.

    `wait`: seconds to queue behind another writer before giving up (`ocfl.LockHeld`).
    """
    return commit_stream(root, [(results, stats)], cfg, raw_dir, created, label, wait, progress)


def commit_stream(root: Path, chunks: Iterable[tuple[list[CleanResult], runner.Stats]],
                  cfg: PipelineConfig, raw_dir: Path, created: str | None = None,
                  label: str = "docclean run", wait: float = 0.0,
                  progress: Progress | None = None) -> RunSummary:
    """`commit_run` for results that arrive a chunk at a time (from worker processes or batch
    files): stored next to `raw_dir` as they come, then committed (`commit_store`)."""
    root = Path(root)
    ocfl.init_root(root)
    store = RunStore(raw_dir.parent / f"inputs-{os.getpid()}.sqlite", create=True)
    try:
        store.ingest(chunks)
        return commit_store(root, store, cfg, raw_dir, created, label, wait, progress)
    finally:
        store.close(remove=True)


def commit_store(root: Path, store: RunStore, cfg: PipelineConfig, raw_dir: Path,
                 created: str | None = None, label: str = "docclean run", wait: float = 0.0,
                 progress: Progress | None = None) -> RunSummary:
    """Deduplicate a run's stored results against each other and the archive; publish one
    object. Takes the writer lock (queueing `wait` seconds, else `ocfl.LockHeld`)."""
    root = Path(root)
    ocfl.init_root(root)
    stats = store.stats()
    if not store.count:
        return RunSummary(root, None, False, stats=stats.to_json())
    object_id = store.object_id(cfg)
    with ocfl.writer_lock(root, wait):
        ocfl.recover(root)
        for _attempt in range(RETRY_LIMIT):
            if not (root / object_id).exists() or not _retryable(root, object_id):
                break
            object_id = _retry_id(object_id)
        if (root / object_id).exists():
            log.info("object %s already holds these inputs: nothing to write", object_id)
            return _existing(root, object_id)
        index = Index(root, cfg.dedup)
        try:
            return _write(root, object_id, index, store, stats, cfg, raw_dir, created or utc_now(),
                          label, progress or _no_progress)
        finally:
            index.close()


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


def _signature(input_id: str, result: CleanResult) -> dedup.Signature:
    """What the exact-duplicate decision and the keep policy need of one cleaned input (its key
    as the worker computed it)."""
    repairs = sum(dedup.is_repair(e["step"], c["action"]) for e in result.trail for c in e["changes"])
    key = result.key or exact_key(result)
    return dedup.Signature(input_id, key, len(result.text), result.path,
                           (), *dedup.keep_hints(result.metadata), repairs)


def _retry_id(object_id: str) -> str:
    return "run-" + hashlib.sha256(f"retry {object_id}".encode()).hexdigest()[:24]


def _retryable(root: Path, object_id: str) -> bool:
    """Whether an existing object rejected an input for a reason a rerun should retry."""
    return any(d.get("disposition") == "rejected" and d.get("reason") in RETRYABLE
               for d in _existing(root, object_id).dispositions)


class RunStore:
    """A run's cleaned results on disk (SQLite, next to its staged raw files): every input in
    arrival order, its exact-duplicate key, what the keep policy reads, and the run's stats.
    Written without the writer lock (cleaning may run while another writer commits); a run that
    cannot take the lock leaves it parked, and the same command commits it later."""

    SCHEMA = """
    PRAGMA journal_mode = OFF;
    PRAGMA synchronous = OFF;
    CREATE TABLE IF NOT EXISTS inputs (i INTEGER PRIMARY KEY, item TEXT NOT NULL, key TEXT,
                         chars INTEGER, published TEXT, official INTEGER, path TEXT, repairs INTEGER,
                         result TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS inputs_key ON inputs (key, i);
    CREATE TABLE IF NOT EXISTS stats (chunk INTEGER PRIMARY KEY, json TEXT NOT NULL);
    """
    # A stored result without what only the kept input's record needs.
    LIGHT = "json_remove(result, '$.text', '$.trail', '$.minhash', '$.fingerprints', '$.folded')"
    COMMIT_SCHEMA = """
    DROP TABLE IF EXISTS decisions;
    DROP TABLE IF EXISTS stored_raw;
    CREATE TABLE decisions (i INTEGER PRIMARY KEY, record_id TEXT NOT NULL, kept INTEGER NOT NULL,
                            keeper INTEGER NOT NULL, known INTEGER NOT NULL);
    CREATE INDEX decisions_record ON decisions (record_id, kept DESC, i);
    CREATE TABLE stored_raw (sha256 TEXT PRIMARY KEY);
    """

    def __init__(self, path: Path, create: bool = False) -> None:
        self.path = path
        if create:
            path.unlink(missing_ok=True)
        elif not path.is_file():
            raise FileNotFoundError(f"no run store at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.executescript(self.SCHEMA)
        self.count = self.db.execute("SELECT COUNT(*) FROM inputs").fetchone()[0]

    def close(self, remove: bool = False) -> None:
        self.db.close()
        if remove:
            self.path.unlink(missing_ok=True)

    def ingest(self, chunks: Iterable[tuple[list[CleanResult], runner.Stats]],
               progress: Progress | None = None, total: int = 0) -> None:
        for results, chunk_stats in chunks:
            for result in results:
                row: tuple[Any, ...] = (None,) * 6
                if result.status == "ok":
                    s = _signature(str(self.count), result)
                    row = (s.key, s.chars, s.published, int(s.official), s.path, s.repairs)
                self.db.execute("INSERT INTO inputs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                (self.count, result.item(), *row,
                                 result.to_json()))
                self.count += 1
            self.db.execute("INSERT INTO stats (json) VALUES (?)", (json.dumps(chunk_stats.to_json()),))
            if progress:
                progress("clean", self.count, max(total, self.count))
        self.db.commit()

    def stats(self) -> runner.Stats:
        stats = runner.Stats()
        for (blob,) in self.db.execute("SELECT json FROM stats ORDER BY chunk"):
            stats.merge(runner.Stats.from_json(json.loads(blob)))
        return stats

    def object_id(self, cfg: PipelineConfig) -> str:
        """`run_object_id` over the stored inputs (SQLite's binary order is code point order)."""
        return _object_id(cfg, (item for (item,) in self.db.execute("SELECT item FROM inputs ORDER BY item")))

    def result(self, i: int) -> CleanResult:
        return CleanResult.from_json(self.db.execute("SELECT result FROM inputs WHERE i = ?", (i,)).fetchone()[0])

    def results_light(self) -> Iterator[tuple[int, CleanResult]]:
        """(input, result) of every input in order, without text, trail and dedup features
        (SQLite drops them in C: parsing them back in Python cost more than the rest of the
        dispositions pass). `chars` holds the text's length."""
        for i, light in self.db.cursor().execute(f"SELECT i, {self.LIGHT} FROM inputs ORDER BY i"):
            yield i, CleanResult.from_json(light)

    def features(self, i: int) -> tuple[list[int], list[int]]:
        """The MinHash and the passage fingerprints the worker computed for input `i`."""
        sig, prints = self.db.execute("SELECT json_extract(result, '$.minhash'), "
                                      "json_extract(result, '$.fingerprints') FROM inputs WHERE i = ?",
                                      (i,)).fetchone()
        return json.loads(sig) if sig else [], json.loads(prints) if prints else []

    def decide(self, index: Index) -> None:
        """`dedup.decide`, one key at a time: the keep policy in two passes over a key's copies
        (`dedup.is_complete` against the longest, then the smallest `dedup.canonical_rank`)."""
        self.db.executescript(self.COMMIT_SCHEMA)
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
            f"SELECT d.i, {self.LIGHT.replace('result', 'n.result')} "
            "FROM decisions d JOIN inputs n ON n.i = d.i WHERE d.record_id = ? ORDER BY d.kept DESC, d.i",
            (record_id,)).fetchall()
        return [self.result(rows[0][0])] + [CleanResult.from_json(light) for _, light in rows[1:]]

    def decision(self, i: int) -> tuple[str, bool, int, bool] | None:
        row = self.db.execute("SELECT record_id, kept, keeper, known FROM decisions WHERE i = ?", (i,)).fetchone()
        return (row[0], bool(row[1]), row[2], bool(row[3])) if row else None

    def chars(self, i: int) -> int:
        return int(self.db.execute("SELECT chars FROM inputs WHERE i = ?", (i,)).fetchone()[0])

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


def _write(root: Path, object_id: str, index: Index, store: RunStore, stats: runner.Stats,
           cfg: PipelineConfig, raw_dir: Path, created: str, label: str,
           progress: Progress) -> RunSummary:
    store.decide(index)
    # One record per new document; near duplicates and shared passages linked, not merged.
    linker = linking.Linker(index, cfg.dedup, ocfl.workspace(root) / f"links-{object_id}.sqlite")
    try:
        total = store.db.execute("SELECT COUNT(*) FROM decisions WHERE kept").fetchone()[0]
        progress("link", 0, total)
        for done, (i, rid) in enumerate(store.kept(), 1):
            r = store.result(i)
            s = _signature(str(i), r)
            linker.add(rid, r.text, dedup.Candidate(rid, s.chars, s.published, s.official, s.path, s.repairs),
                       Features(r.minhash, set(r.fingerprints)) if r.key else Features.of(r.text, cfg.dedup),
                       folded=r.folded)
            if done % 64 == 0:
                progress("link", done, total)
        linker.finish()
        progress("link", total, total)
        obj = ocfl.new_object(root, object_id)
        broken: dict[str, str] = {}
        for done, (_, rid) in enumerate(store.kept(), 1):
            data, problem = _build_record(rid, store, linker, cfg, object_id)
            if data is None:
                broken[rid] = problem
            else:
                obj.write_bytes(f"records/{rid}.json", data)
            progress("write", done, total)
        if broken:
            _unlink_broken(obj, store, broken)
        _jsonl_to(obj, "metadata/links.jsonl", (link for link in linker.onto_archived()
                                                if link["record"] not in broken and link["id"] not in broken))
        _jsonl_to(obj, "metadata/common_passages.jsonl",
                  ({**p, "holders": [h for h in p["holders"] if h not in broken]} for p in linker.common_passages()))
    finally:
        linker.close()

    counts: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    skipped: Counter[str] = Counter()          # WARC records that are no document (issue #18)
    with obj.path("metadata/dispositions.jsonl").open("w", encoding="utf-8") as out:
        for i, result in store.results_light():
            entry: dict[str, Any] = {"path": result.path, "sha256": result.sha256, "bytes": result.bytes}
            sha = result.raw_home          # a WARC record's raw bytes are its WARC file's
            if sha is not None:
                raw_home = index.raw_object(sha)
                if raw_home is None and store.store_raw(sha):
                    obj.adopt(f"raw/{sha}", raw_dir / sha)
                entry["raw"] = {"object": raw_home or object_id, "path": f"raw/{sha}"}
            if result.path_bytes is not None:
                entry["path_bytes"] = result.path_bytes
            if result.warc is not None:
                entry["warc"] = result.warc
            decision = store.decision(i)
            if decision is not None and decision[0] in broken:
                entry.update(disposition="rejected", step="archive.record", reason=INTERNAL_ERROR,
                             message=broken[decision[0]])
                rejected[INTERNAL_ERROR] += 1
            elif decision is None:
                fate = "skipped" if result.status == "skipped" else "rejected"
                entry.update(disposition=fate, step=result.step, reason=result.reason,
                             message=result.message)
                (skipped if fate == "skipped" else rejected)[str(result.reason)] += 1
            else:
                rid, is_kept, keeper, known = decision
                entry["record"] = rid
                entry["title"] = result.title
                entry["chars"] = store.chars(i)
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

    records = [r for (r,) in store.db.execute("SELECT record_id FROM decisions WHERE kept ORDER BY record_id")
               if r not in broken]
    counts.update(inputs=store.count, records=len(records))
    run: dict[str, Any] = {
        "run": object_id,
        "label": label,
        "created": created,
        "docclean": __version__,
        "code_version": code_version(),
        "config": cfg.to_dict(),
        "config_sha256": cfg.sha256(),
        "libraries": library_versions(),
        "opencc_config": opencc_config(cfg.convert.target),
        "counts": dict(counts),
        "rejected_by_reason": dict(sorted(rejected.items())),
        "skipped_by_reason": dict(sorted(skipped.items())),
        "stats": stats.to_json(),
        "records": records,
    }
    obj.write_bytes("metadata/run.json",
                    (json.dumps(run, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode())
    final = obj.publish(created, f"{label}: {counts.get('records', 0)} new records from {store.count} inputs")
    index.add_object(object_id, _records_with_features(final, store, records, cfg), store.stored_raws())
    return RunSummary(root, object_id, True, JsonLines(ocfl.head_files(final)["metadata/dispositions.jsonl"]),
                      dict(counts), run["stats"])


def _records_with_features(obj: Path, store: RunStore, records: list[str], cfg: PipelineConfig
                           ) -> Iterator[tuple[dict[str, Any], Features]]:
    """The published records, each with the features its worker computed, for the index."""
    content = obj / "v1" / "content" / "records"
    for rid in records:
        rec = json.loads((content / f"{rid}.json").read_text(encoding="utf-8"))
        (i,) = store.db.execute("SELECT i FROM decisions WHERE record_id = ? AND kept", (rid,)).fetchone()
        sig, prints = store.features(i)
        yield rec, (Features(sig, set(prints)) if sig or prints else Features.of(rec["text"], cfg.dedup))


def _build_record(rid: str, store: RunStore, linker: linking.Linker, cfg: PipelineConfig,
                  object_id: str) -> tuple[bytes | None, str]:
    """One new record, schema-valid, as its canonical bytes; or None and why it could not be
    built.

    A record that breaks the schema is a bug of ours, not bad input: its inputs are rejected
    (`internal_error`, retried by a later run) and the run goes on.
    """
    try:
        members = store.members(rid)
        kept = members[0]
        canonical, size = linker.canonical_of(rid)
        rec = record.build(rid, kept.key or exact_key(kept), kept, members, cfg, object_id,
                           near=linker.near_of(rid), shared=linker.shared_of(rid),
                           canonical=canonical, cluster_size=size, common=linker.common_of(rid))
        errors = record.schema_errors(rec)
        data = record.dumps(rec)               # a lone surrogate fails here, not at write
    except Exception as exc:  # a bug in building one record must not end the run
        log.exception("cannot build record %s", rid)
        errors = [f"{type(exc).__name__}: {exc}"]
    if errors:
        problem = f"record {rid} breaks the schema: {'; '.join(errors)}"
        log.error("%s", problem)
        return None, problem
    return data, ""


def _unlink_broken(obj: ocfl.NewObject, store: RunStore, broken: dict[str, str]) -> None:
    """Links to records that could not be built are dropped from the records already written
    (a second pass, only when a record broke: a bug, never the common case)."""
    for _, rid in store.kept():
        path = obj.path(f"records/{rid}.json")
        if rid in broken or not path.is_file():
            continue
        rec = json.loads(path.read_text(encoding="utf-8"))
        before = record.dumps(rec)
        rec["near_duplicates"] = [n for n in rec["near_duplicates"] if n["id"] not in broken]
        rec["shared_passages"] = [p for p in rec["shared_passages"] if p.get("id") not in broken]
        if rec["canonical"] in broken:
            rec["canonical"] = rec["id"]
        if record.dumps(rec) != before:
            path.write_bytes(record.dumps(rec))
