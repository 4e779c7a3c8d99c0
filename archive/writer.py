"""dedup + archive: the one writer. Cleaned results in, one OCFL object per run out.

The object of a run holds:
  records/<id>.json           one per new document (schema-valid)
  raw/<sha256>                every input's bytes exactly as received (unless an earlier
                              object of the root already holds them: the disposition says where)
  metadata/run.json           counts, per-step stats, config and its sha256, library versions
  metadata/dispositions.jsonl the fate of every input: archived, duplicate_of,
                              already_archived, rejected (with step and reason)

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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import metadata as importlib_metadata
from importlib import resources
from pathlib import Path
from typing import Any

from archive import linking, ocfl, record
from archive.batch import INTERNAL_ERROR, CleanResult
from archive.index import Features, Index
from cleaners import __version__, dedup, runner
from cleaners.config import PipelineConfig
from cleaners.script import opencc_config

log = logging.getLogger(__name__)

# progress(phase, done, total): the writer's phases are "link" (near duplicates and shared
# passages across the run and the archive) and "write" (one record at a time).
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
    dispositions: list[dict[str, Any]] = field(default_factory=list)
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
    h = hashlib.sha256(f"{code_version()} {cfg.sha256()}".encode())
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
               raw_dir: Path, created: str | None = None, label: str = "docclean run",
               wait: float = 0.0, progress: Progress | None = None) -> RunSummary:
    """Deduplicate `results` against each other and the archive; publish one object.

    `wait`: seconds to queue behind another writer before giving up (`ocfl.LockHeld`).
    """
    root = Path(root)
    ocfl.init_root(root)
    if not results:
        return RunSummary(root, None, False, stats=stats.to_json())
    object_id = run_object_id(results, cfg)
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
            summary = _write(root, object_id, index, results, stats, cfg, raw_dir,
                             created or utc_now(), label, progress or _no_progress)
        finally:
            index.close()
    return summary


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


def _signature(input_id: str, result: CleanResult) -> dedup.Signature:
    """What the exact-duplicate decision and the keep policy need of one cleaned input."""
    repairs = sum(dedup.is_repair(e["step"], c["action"]) for e in result.trail for c in e["changes"])
    key = dedup.dedup_key(result.text)
    if (result.metadata.get("extraction") or {}).get("low_confidence"):
        # A text extraction is unsure of (a shared footer, an empty shell) never merges two
        # different raw pages: only byte-identical inputs share its key (issue #14).
        key = dedup.dedup_key(f"{key}:{result.sha256}")
    return dedup.Signature(input_id, key, len(result.text), result.path,
                           (), *dedup.keep_hints(result.metadata), repairs)


def _retry_id(object_id: str) -> str:
    return "run-" + hashlib.sha256(f"retry {object_id}".encode()).hexdigest()[:24]


def _retryable(root: Path, object_id: str) -> bool:
    """Whether an existing object rejected an input for a reason a rerun should retry."""
    return any(d.get("disposition") == "rejected" and d.get("reason") in RETRYABLE
               for d in _existing(root, object_id).dispositions)


def _existing(root: Path, object_id: str) -> RunSummary:
    files = ocfl.head_files(root / object_id)
    lines = files["metadata/dispositions.jsonl"].read_text(encoding="utf-8").splitlines()
    dispositions = [json.loads(line) for line in lines if line]
    run = json.loads(files["metadata/run.json"].read_text(encoding="utf-8"))
    return RunSummary(root, object_id, False, dispositions, run["counts"], run["stats"])


def _write(root: Path, object_id: str, index: Index, results: list[CleanResult],
           stats: runner.Stats, cfg: PipelineConfig, raw_dir: Path, created: str,
           label: str, progress: Progress) -> RunSummary:
    ok = {str(i): r for i, r in enumerate(results) if r.status == "ok"}
    sigs = [_signature(i, r) for i, r in ok.items()]
    keys = {s.input_id: s.key for s in sigs}
    decisions = {d.input_id: d for d in dedup.decide(sigs, index.known_keys(keys.values()))}
    members: dict[str, list[CleanResult]] = {}
    # The kept input first: a record's sources[0] is the copy its text and provenance are from.
    for input_id, decision in sorted(decisions.items(), key=lambda kv: not kv[1].kept):
        members.setdefault(decision.record_id, []).append(ok[input_id])

    # One record per new document; near duplicates and shared passages linked, not merged.
    kept = {d.record_id: i for i, d in sorted(decisions.items(), key=lambda kv: int(kv[0])) if d.kept}
    features = {rid: Features.of(ok[i].text, cfg.dedup) for rid, i in kept.items()}
    by_input = {s.input_id: s for s in sigs}
    progress("link", 0, len(kept))
    links = linking.link(
        {rid: (ok[i].text, dedup.Candidate(rid, by_input[i].chars, by_input[i].published,
                                           by_input[i].official, by_input[i].path,
                                           by_input[i].repairs), features[rid])
         for rid, i in kept.items()},
        index, cfg.dedup)
    obj = ocfl.new_object(root, object_id)
    built, broken = _build_records(kept, keys, ok, members, links, cfg, object_id)
    new_records: list[dict[str, Any]] = []
    progress("link", len(kept), len(kept))
    for done, (rid, (rec, blob)) in enumerate(built.items(), 1):
        obj.write_bytes(f"records/{rid}.json", blob)
        new_records.append(rec)
        progress("write", done, len(built))

    dispositions: list[dict[str, Any]] = []
    stored_raw: list[str] = []
    for i, result in enumerate(results):
        entry: dict[str, Any] = {"path": result.path, "sha256": result.sha256, "bytes": result.bytes}
        if result.sha256 is not None:
            raw_home = index.raw_object(result.sha256)
            if raw_home is None and result.sha256 not in stored_raw:
                obj.adopt(f"raw/{result.sha256}", raw_dir / result.sha256)
                stored_raw.append(result.sha256)
            entry["raw"] = {"object": raw_home or object_id, "path": f"raw/{result.sha256}"}
        if result.path_bytes is not None:
            entry["path_bytes"] = result.path_bytes
        decision = decisions.get(str(i))
        if decision is not None and decision.record_id in broken:
            entry.update(disposition="rejected", step="archive.record", reason=INTERNAL_ERROR,
                         message=broken[decision.record_id])
        elif decision is None:
            entry.update(disposition="rejected", step=result.step, reason=result.reason,
                         message=result.message)
        else:
            entry["record"] = decision.record_id
            entry["title"] = result.title
            entry["chars"] = len(result.text)
            entry["encoding"] = result.decoding.get("encoding")
            if decision.known:
                entry.update(disposition="already_archived",
                             object=index.record_object(decision.record_id),
                             source=result.source_entry())
            elif decision.kept:
                entry.update(disposition="archived", object=object_id)
            else:
                entry.update(disposition="duplicate_of", object=object_id,
                             duplicate_of_path=ok[decision.duplicate_of or ""].path)
        dispositions.append(entry)

    counts = dict(Counter(d["disposition"] for d in dispositions))
    counts.update(inputs=len(results), records=len(new_records))
    rejected = Counter(d["reason"] for d in dispositions if d["disposition"] == "rejected")
    run = {
        "run": object_id,
        "label": label,
        "created": created,
        "docclean": __version__,
        "code_version": code_version(),
        "config": cfg.to_dict(),
        "config_sha256": cfg.sha256(),
        "libraries": library_versions(),
        "opencc_config": opencc_config(cfg.convert.target),
        "counts": counts,
        "rejected_by_reason": dict(sorted(rejected.items())),
        "stats": stats.to_json(),
        "records": sorted(r["id"] for r in new_records),
    }
    obj.write_bytes("metadata/run.json",
                    (json.dumps(run, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode())
    obj.write_bytes("metadata/links.jsonl",
                    "".join(json.dumps(link, ensure_ascii=False, sort_keys=True) + "\n"
                            for link in links.onto_archived
                            if link["record"] not in broken and link["id"] not in broken).encode())
    obj.write_bytes("metadata/dispositions.jsonl",
                    "".join(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n"
                            for d in dispositions).encode())
    obj.publish(created, f"{label}: {counts.get('records', 0)} new records from {len(results)} inputs")
    index.add_object(object_id, [(rec, features[rec["id"]]) for rec in new_records], stored_raw)
    return RunSummary(root, object_id, True, dispositions, counts, run["stats"])


def _build_records(kept: dict[str, str], keys: dict[str, str], ok: dict[str, CleanResult],
                   members: dict[str, list[CleanResult]], links: linking.Links, cfg: PipelineConfig,
                   object_id: str) -> tuple[dict[str, tuple[dict[str, Any], bytes]], dict[str, str]]:
    """The run's new records, schema-valid, with their bytes; and, by record id, why the others
    could not be built.

    A record that breaks the schema is a bug of ours, not bad input: its inputs are rejected
    (`internal_error`, retried by a later run) and the run goes on. Links to it are dropped.
    """
    built: dict[str, tuple[dict[str, Any], bytes]] = {}
    broken: dict[str, str] = {}
    for rid, input_id in kept.items():
        try:
            rec = record.build(rid, keys[input_id], ok[input_id], members[rid], cfg, object_id,
                               near=links.near.get(rid), shared=links.shared.get(rid),
                               canonical=links.canonical.get(rid, rid))
            errors = record.schema_errors(rec)
            blob = record.dumps(rec)               # a lone surrogate fails here, not at write
        except Exception as exc:  # a bug in building one record must not end the run
            log.exception("cannot build record %s", rid)
            errors = [f"{type(exc).__name__}: {exc}"]
        if errors:
            broken[rid] = f"record {rid} breaks the schema: {'; '.join(errors)}"
            log.error("%s", broken[rid])
        else:
            built[rid] = (rec, blob)
    if broken:
        for rid, (rec, _blob) in built.items():
            rec["near_duplicates"] = [n for n in rec["near_duplicates"] if n["id"] not in broken]
            rec["shared_passages"] = [p for p in rec["shared_passages"] if p.get("id") not in broken]
            if rec["canonical"] in broken:
                rec["canonical"] = rec["id"]
            built[rid] = (rec, record.dumps(rec))
    return built, broken
