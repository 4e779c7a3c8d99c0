"""Clean a batch of inputs: read → decode … dedup.within, per document, in parallel.

This is the function both entry points call (the CLI's `run` and the nightly DAG's mapped
`clean_batch` task). Each input's raw bytes are copied into a staging folder named by their
sha256 as soon as they are read, so nothing the user gave can be lost later in the run and the
results that travel on (in memory, or as a JSON Lines file between Airflow tasks) hold text,
not bytes.

A crawl file (WARC/ARC, `archive.warc`) is expanded here into its records, lazily: the file's
bytes are staged once, and each record is an input of its own, read by the worker that cleans
it (issue #18).

Every input is held to `LimitsConfig` (bounded memory on hostile input): its size before it is
read, its tag and character-reference counts before it is decoded or parsed, its text length
after decode/extract, and the changes listed per step in its trail.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from itertools import chain, islice
from pathlib import Path
from typing import Any

from archive import warc
from archive.reader import Missing, path_text, read
from archive.startup import start
from cleaners import dedup, runner
from cleaners.config import LimitsConfig, PipelineConfig
from cleaners.model import Document, Rejected, TrailEntry
from cleaners.pipeline import STEPS, Step

log = logging.getLogger(__name__)

LIMITS_STEP = "limits"
# The reason for an input a bug rejected: never final, a later run retries it (archive.writer).
INTERNAL_ERROR = "internal_error"
# Below this many inputs a process pool costs more (start-up, imports) than it saves.
MIN_INPUTS_FOR_POOL = 16
# Inputs handed to a worker at a time: large enough to amortise pickling, small enough to keep
# the progress bar moving.
POOL_CHUNK = 8
# Chunks per worker submitted ahead of the writer: keeps every worker busy while the writer
# stores a chunk, and bounds what waits in memory (2 × 8 documents per worker).
IN_FLIGHT = 2


@dataclass
class CleanResult:
    """One input after cleaning: what the archive writer needs, JSON-serialisable."""

    path: str
    sha256: str | None
    bytes: int | None
    mtime: str | None = None
    status: str = "ok"                      # "ok" | "rejected" | "skipped" (a WARC record that is no document)
    step: str | None = None                 # rejecting step
    reason: str | None = None
    message: str | None = None
    text: str = ""
    title: str | None = None
    is_html: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    decoding: dict[str, Any] = field(default_factory=dict)
    trail: list[dict[str, Any]] = field(default_factory=list)
    path_bytes: str | None = None           # hex of the name's bytes when they are not UTF-8
    # Cross-document dedup features, computed by the worker that cleaned the text (issue #16):
    # the single writer only looks them up. Empty for a rejected input.
    key: str | None = None
    minhash: list[int] = field(default_factory=list)
    fingerprints: list[int] = field(default_factory=list)
    folded: str | None = None               # the text as dedup folds it (near-duplicate checks)
    # A record of a WARC/ARC file (issue #18): its capture provenance (`archive.warc`), and the
    # sha256 of the file that holds its raw bytes (the WARC, kept whole) when not `sha256`.
    warc: dict[str, Any] | None = None
    raw_sha256: str | None = None

    def to_json(self) -> str:
        # Shallow: the fields are JSON already (asdict's deep copy cost more than the dump).
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, ensure_ascii=False,
                          sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> CleanResult:
        return cls(**json.loads(line))

    def source_entry(self) -> dict[str, Any]:
        """This input as it appears in a record's `sources` list."""
        entry = {"path": self.path, "sha256": self.sha256, "bytes": self.bytes, "mtime": self.mtime,
                 "encoding": None, "encoding_confidence": None, **self.decoding}
        if self.path_bytes is not None:
            entry["path_bytes"] = self.path_bytes
        if self.warc is not None:
            entry["warc"] = self.warc
        return entry

    def item(self) -> str:
        """What names this input in the run id: its raw sha256; a WARC record's file and
        offset (one payload may be captured many times); what could not be read, its path."""
        if self.warc is not None:
            return f"warc:{self.warc.get('file_sha256') or self.path}:{self.warc.get('offset')}"
        return self.sha256 or f"missing:{self.path}"

    @property
    def raw_home(self) -> str | None:
        """The sha256 under which this input's raw bytes are kept (raw/<it>), if they are."""
        return self.raw_sha256 or self.sha256


def trail_json(trail: Iterable[TrailEntry], max_changes: int | None = None) -> list[dict[str, Any]]:
    """The trail as JSON; past `max_changes` per step, one entry counts the explanations not
    listed. The edits and field sets the runner recorded are always kept, so the trail replays
    (the runner bounds the edits: `runner.text_edits`' `max_edits`)."""
    out = []
    for e in trail:
        said = [c for c in e.changes if c.action not in ("edit", "set")]
        sets = [c.to_json() for c in e.changes if c.action == "set"]
        edits = [c for c in e.changes if c.action == "edit"]
        listed = [c.to_json() for c in (said if max_changes is None else said[:max_changes])]
        if max_changes is not None and len(said) > max_changes:
            omitted = len(said) - max_changes
            listed.append({"action": "truncate", "what": "limits:max_trail_changes", "where": "",
                           "why": f"{omitted} more changes of this step are not listed "
                                  f"(limit {max_changes} per step)", "omitted": omitted})
        out.append({"step": e.step, "version": e.version, "changed": e.changed,
                    "changes": [*listed, *sets, *(c.to_json() for c in edits)]})
    return out


def _result(doc: Document | Rejected, source_doc: Document,
            max_changes: int | None = None) -> CleanResult:
    src = source_doc.source
    base = CleanResult(path=src.path, sha256=src.sha256, bytes=src.size, mtime=src.mtime,
                       is_html=source_doc.is_html)
    if isinstance(doc, Rejected):
        base.status, base.step, base.reason, base.message = "rejected", doc.step, doc.reason, doc.message
        base.trail = [{"step": doc.step, "version": "", "changed": False,
                       "changes": [{"action": "reject", "what": doc.reason, "where": "",
                                    "why": doc.message, **dict(doc.detail)}]}]
        return base
    base.text, base.title = doc.text, doc.title
    base.metadata, base.decoding = dict(doc.metadata), dict(doc.decoding)
    base.trail = trail_json(doc.trail, max_changes)
    return base


Input = Path | Missing | warc.WarcRecordRef


def clean_one(path: Input, cfg: PipelineConfig, raw_dir: Path | None,
              stats: runner.Stats) -> CleanResult:
    """Read, stage the raw bytes, run the pipeline: never raises for one input's sake.

    Whatever goes wrong with this input (a bug in a step, in reading, in staging) becomes its
    rejection with reason `internal_error`, which is never final: a later run retries it.
    """
    start()             # once per process (a pool's workers too): archive.startup
    name, name_bytes = path_text(path.path if isinstance(path, Missing | warc.WarcRecordRef) else path)
    try:
        result = _clean_one(path, cfg, raw_dir, stats)
    except Exception as exc:  # a bug must not end the run: record it, go on
        log.exception("cleaning failed on %s", name)
        result = CleanResult(path=name, sha256=None, bytes=None, status="rejected", step="pipeline",
                             reason=INTERNAL_ERROR, message=f"{type(exc).__name__}: {exc}")
        if isinstance(path, warc.WarcRecordRef):
            result.warc, result.raw_sha256 = path.facts(), path.file_sha256 or None
    result.path, result.path_bytes = name, name_bytes
    return result


def _clean_one(path: Input, cfg: PipelineConfig, raw_dir: Path | None,
               stats: runner.Stats) -> CleanResult:
    if isinstance(path, Missing):
        return CleanResult(path=path.path, sha256=None, bytes=None, status="rejected", step="read",
                           reason=path.reason, message=path.message)
    max_bytes = min(cfg.decode.max_bytes, cfg.limits.max_input_bytes)
    if isinstance(path, warc.WarcRecordRef):
        read_ = warc.read_record(path, cfg.warc, max_bytes)
        doc, facts = read_.outcome, read_.facts
    else:
        doc, facts = read(path, max_bytes), None
    if isinstance(doc, warc.Skipped):            # a WARC record that is no document
        return _with_warc(CleanResult(path=str(path), sha256=None, bytes=None, status="skipped",
                                      step=warc.STEP, reason=doc.reason, message=doc.message), path, facts)
    if isinstance(doc, Rejected):
        return _with_warc(CleanResult(path=str(path), sha256=None, bytes=doc.detail.get("bytes"),
                                      status="rejected", step=doc.step, reason=doc.reason,
                                      message=doc.message), path, facts)
    if raw_dir is not None and facts is None:     # a WARC record's bytes are its staged WARC's
        stage_raw(raw_dir, doc.source.sha256, doc.raw)
    try:
        out = run_within_limits(doc, cfg, stats)
    except Exception as exc:  # a bug in a step must not end the run: record it, go on
        log.exception("pipeline failed on %s", doc.source.path)
        out = Rejected("pipeline", INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
    if isinstance(out, Document) and not out.text.strip():
        # A record needs text (the schema says so): a page of script only, or one every line of
        # which was boilerplate, is rejected by the step that emptied it.
        emptied = next((e.step for e in reversed(out.trail) if e.changed), "pipeline")
        out = Rejected(emptied, "empty_text", "no text is left after cleaning")
    result = _with_warc(_result(out, doc, cfg.limits.max_trail_changes), path, facts)
    if result.status == "ok":   # the dedup features, computed here in the worker, not in the writer
        features = dedup.text_features(result.text, cfg.dedup)
        result.key, result.minhash, result.fingerprints = features.key, features.minhash, features.fingerprints
        result.folded = features.folded
        result.key = exact_key(result, features.key)
    return result


def _with_warc(result: CleanResult, path: Input, facts: dict[str, Any] | None) -> CleanResult:
    if isinstance(path, warc.WarcRecordRef):
        result.path, result.warc, result.raw_sha256 = path.path, facts, path.file_sha256 or None
    return result


def exact_key(result: CleanResult, key: str | None = None) -> str:
    """The exact-duplicate key of a cleaned input: its text's, except that a text extraction is
    unsure of (a shared footer, an empty shell) never merges two different raw pages: only
    byte-identical inputs share its key (issue #14)."""
    key = key or dedup.dedup_key(result.text)
    if (result.metadata.get("extraction") or {}).get("low_confidence"):
        key = dedup.dedup_key(f"{key}:{result.sha256}")
    return key


# The text-length limit is checked once the text exists: after decode and extract.
FIRST_STEPS = tuple(s for s in STEPS if s.short in ("decode", "extract"))
LATER_STEPS = tuple(s for s in STEPS if s not in FIRST_STEPS)
TAG = re.compile(rb"<[A-Za-z!/]")
CHAR_REFERENCE = re.compile(rb"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _count_to(pattern: re.Pattern[bytes], raw: bytes, limit: int) -> int:
    """Matches of `pattern` in `raw`, counted up to `limit` + 1 (no list of matches is built)."""
    n = 0
    for _ in pattern.finditer(raw):
        n += 1
        if n > limit:
            break
    return n


def run_within_limits(doc: Document, cfg: PipelineConfig, stats: runner.Stats | None = None,
                      steps: Sequence[Step] = STEPS) -> Document | Rejected:
    """`runner.run` of `steps` inside `cfg.limits`: the raw limits before any step, the text
    limit once the text exists (after decode and extract). `docclean run` and `docclean clean`
    both go through here, so one hostile file is bounded the same way in each."""
    first = tuple(s for s in steps if s in FIRST_STEPS)
    later = tuple(s for s in steps if s not in FIRST_STEPS)
    out = over_limits_raw(doc, cfg.limits) or runner.run(doc, cfg, stats, steps=first)
    if isinstance(out, Document) and later:
        out = over_limits_text(out, cfg.limits) or runner.run(out, cfg, stats, steps=later)
    return out


def over_limits_raw(doc: Document, limits: LimitsConfig) -> Rejected | None:
    """Why the raw bytes are too costly to decode or parse, or None (LimitsConfig)."""
    if doc.is_html and _count_to(TAG, doc.raw, limits.max_html_elements) > limits.max_html_elements:
        return Rejected(LIMITS_STEP, "too_many_elements",
                        f"more than {limits.max_html_elements} tags (limits.max_html_elements)")
    if _count_to(CHAR_REFERENCE, doc.raw, limits.max_char_references) > limits.max_char_references:
        return Rejected(LIMITS_STEP, "too_many_char_references",
                        f"more than {limits.max_char_references} character references such as "
                        "&amp;lt; (limits.max_char_references)")
    return None


def over_limits_text(doc: Document, limits: LimitsConfig) -> Rejected | None:
    if len(doc.text) > limits.max_text_chars:
        return Rejected(LIMITS_STEP, "text_too_long",
                        f"{len(doc.text)} characters of text, over {limits.max_text_chars} "
                        "(limits.max_text_chars)")
    return None


def stage_raw(raw_dir: Path, sha256: str, raw: bytes) -> Path:
    target = raw_dir / sha256
    if not target.exists():
        raw_dir.mkdir(parents=True, exist_ok=True)
        tmp = raw_dir / f".{sha256}.{os.getpid()}.part"
        tmp.write_bytes(raw)
        os.replace(tmp, target)
    return target


def _clean_chunk(args: tuple[list[Input], PipelineConfig, Path | None]
                 ) -> tuple[list[CleanResult], dict[str, Any]]:
    paths, cfg, raw_dir = args
    stats = runner.Stats()
    return [clean_one(p, cfg, raw_dir, stats) for p in paths], stats.to_json()


def iter_clean(paths: Iterable[Input], cfg: PipelineConfig, raw_dir: Path | None,
               jobs: int = 1) -> Iterator[tuple[list[CleanResult], runner.Stats]]:
    """Clean inputs as they come; yield (results, stats) a chunk at a time, in input order.
    With a pool, at most `IN_FLIGHT` chunks per worker are waiting: memory holds a few chunks,
    whatever the number of inputs (issue #16). A crawl file becomes its records here."""
    paths = warc.expand(paths, raw_dir)
    head = list(islice(paths, MIN_INPUTS_FOR_POOL))
    chunks = iter_batches(chain(head, paths), POOL_CHUNK)
    if jobs <= 1 or len(head) < MIN_INPUTS_FOR_POOL:
        for chunk in chunks:
            stats = runner.Stats()
            yield [clean_one(p, cfg, raw_dir, stats) for p in chunk], stats
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: deque[Future[tuple[list[CleanResult], dict[str, Any]]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_clean_chunk, (chunk, cfg, raw_dir)))
            if len(pending) >= IN_FLIGHT * jobs:
                results, stats_json = pending.popleft().result()
                yield results, runner.Stats.from_json(stats_json)
        while pending:
            results, stats_json = pending.popleft().result()
            yield results, runner.Stats.from_json(stats_json)


def clean_inputs(paths: Iterable[Input], cfg: PipelineConfig, raw_dir: Path | None,
                 jobs: int = 1, progress: Callable[[int], None] | None = None
                 ) -> tuple[list[CleanResult], runner.Stats]:
    """Clean every input; results in input order; `progress(n)` after each n inputs (a
    batch of the nightly DAG: `iter_clean` is the streaming form)."""
    stats = runner.Stats()
    results: list[CleanResult] = []
    for chunk_results, chunk_stats in iter_clean(paths, cfg, raw_dir, jobs):
        results.extend(chunk_results)
        stats.merge(chunk_stats)
        if progress:
            progress(len(chunk_results))
    return results, stats


def write_results(path: Path, results: Iterable[CleanResult], stats: runner.Stats) -> Path:
    """A batch's results as JSON Lines (stats on the first line), written atomically."""
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"stats": stats.to_json()}) + "\n")
        for result in results:
            fh.write(result.to_json() + "\n")
    os.replace(tmp, path)
    return path


def read_results(path: Path) -> tuple[list[CleanResult], runner.Stats]:
    with path.open(encoding="utf-8") as fh:
        stats = runner.Stats.from_json(json.loads(fh.readline())["stats"])
        return [CleanResult.from_json(line) for line in fh if line.strip()], stats


def iter_batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of `size` items (the last may be shorter), taken lazily from any iterable."""
    items = iter(items)
    while chunk := list(islice(items, size)):
        yield chunk


def iter_results(path: Path) -> Iterator[tuple[list[CleanResult], runner.Stats]]:
    """A batch's results file as `iter_clean` yields: bounded chunks, the stats once."""
    with path.open(encoding="utf-8") as fh:
        stats = runner.Stats.from_json(json.loads(fh.readline())["stats"])
        lines = (line for line in fh if line.strip())
        sent = False
        for chunk in iter_batches(lines, POOL_CHUNK):
            yield [CleanResult.from_json(line) for line in chunk], runner.Stats() if sent else stats
            sent = True                      # the batch's stats count once
        if not sent:
            yield [], stats
