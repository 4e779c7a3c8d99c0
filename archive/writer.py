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
from collections import Counter
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
    dispositions: list[dict[str, Any]] = field(default_factory=list)
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
    root = Path(root)
    ocfl.init_root(root)
    if not results:
        return RunSummary(root, None, False, stats=stats.to_json())
    object_id = run_object_id(results, cfg)
    with ocfl.writer_lock(root):
        ocfl.recover(root)
        if (root / object_id).exists():
            log.info("object %s already holds these inputs: nothing to write", object_id)
            return _existing(root, object_id)
        index = Index(root, cfg.dedup)
        try:
            summary = _write(root, object_id, index, results, stats, cfg, raw_dir,
                             created or utc_now(), label)
        finally:
            index.close()
    return summary


def _signature(input_id: str, result: CleanResult) -> dedup.Signature:
    """What the exact-duplicate decision and the keep policy need of one cleaned input."""
    repairs = sum(dedup.is_repair(e["step"], c["action"]) for e in result.trail for c in e["changes"])
    return dedup.Signature(input_id, dedup.dedup_key(result.text), len(result.text), result.path,
                           (), *dedup.keep_hints(result.metadata), repairs)


def _existing(root: Path, object_id: str) -> RunSummary:
    files = ocfl.head_files(root / object_id)
    lines = files["metadata/dispositions.jsonl"].read_text(encoding="utf-8").splitlines()
    dispositions = [json.loads(line) for line in lines if line]
    run = json.loads(files["metadata/run.json"].read_text(encoding="utf-8"))
    return RunSummary(root, object_id, False, dispositions, run["counts"], run["stats"])


def _write(root: Path, object_id: str, index: Index, results: list[CleanResult],
           stats: runner.Stats, cfg: PipelineConfig, raw_dir: Path, created: str,
           label: str) -> RunSummary:
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
    linker = linking.Linker(index, cfg.dedup, ocfl.workspace(root) / f"links-{object_id}.sqlite")
    try:
        for rid, i in kept.items():
            s = by_input[i]
            linker.add(rid, ok[i].text, dedup.Candidate(rid, s.chars, s.published, s.official, s.path,
                                                        s.repairs), features[rid])
        linker.finish()
        obj = ocfl.new_object(root, object_id)
        new_records: list[dict[str, Any]] = []
        for rid, input_id in kept.items():
            canonical, size = linker.canonical_of(rid)
            rec = record.build(rid, keys[input_id], ok[input_id], members[rid], cfg, object_id,
                               near=linker.near_of(rid), shared=linker.shared_of(rid),
                               canonical=canonical, cluster_size=size, common=linker.common_of(rid))
            errors = record.schema_errors(rec)
            if errors:  # a bug, not bad input: the writer must never publish an invalid record
                raise ValueError(f"record {rid} breaks the schema: {errors}")
            obj.write_bytes(f"records/{rid}.json", record.dumps(rec))
            new_records.append(rec)
        onto_archived = list(linker.onto_archived())
        common_passages = list(linker.common_passages())
    finally:
        linker.close()

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
        decision = decisions.get(str(i))
        if decision is None:
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
                            for link in onto_archived).encode())
    obj.write_bytes("metadata/common_passages.jsonl",
                    "".join(json.dumps(p, ensure_ascii=False, sort_keys=True) + "\n"
                            for p in common_passages).encode())
    obj.write_bytes("metadata/dispositions.jsonl",
                    "".join(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n"
                            for d in dispositions).encode())
    obj.publish(created, f"{label}: {counts.get('records', 0)} new records from {len(results)} inputs")
    index.add_object(object_id, [(rec, features[rec["id"]]) for rec in new_records], stored_raw)
    return RunSummary(root, object_id, True, dispositions, counts, run["stats"])
