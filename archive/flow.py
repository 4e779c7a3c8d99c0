"""The run, as the CLI and the nightly DAG both drive it: discover → clean batches → commit.

The CLI runs everything in one process (`run_paths`); the DAG runs the same three functions as
separate tasks (`discover_batches`, `clean_batch`, `commit_batches`), passing only paths between
them. Staging lives under the storage root's extensions folder, on the same filesystem as the
archive, and is removed once its run is committed. A `docclean run` marks its staging with its
owner (pid, host, start time), so the next run removes what a killed one left; results cleaned
before a writer-lock conflict are parked there for the same command to resume.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from archive import batch, ocfl, reader
from archive.reader import Missing, discover
from archive.startup import load_config, start
from archive.writer import Progress, RunStore, RunSummary, code_version, commit_store, commit_stream
from cleaners import runner
from cleaners.config import PipelineConfig

log = logging.getLogger(__name__)

CLI_PREFIX = ocfl.CLI_STAGING_PREFIX
OWNER = ocfl.STAGING_OWNER
STORE = "inputs.sqlite"        # the run store (`writer.RunStore`): what parked staging keeps


def staging_dir(root: Path, name: str) -> Path:
    path = Path(root) / ocfl.EXTENSIONS / ocfl.STAGING / name
    path.mkdir(parents=True, exist_ok=True)
    return path


class NoInputError(ValueError):
    """Not one of the paths given names a file: nothing to clean, and nothing is written."""


def run_paths(paths: Sequence[str | os.PathLike[str]], root: Path, cfg: PipelineConfig,
              jobs: int = 1, progress: Progress | None = None, created: str | None = None,
              wait: float = 0.0) -> RunSummary:
    """`docclean run`: clean every input under `paths` and archive the run in `root`.

    `progress(phase, done, total)` follows every phase: "clean" (per input), then the writer's
    "link" and "write". Raises NoInputError, before anything is written, when no path names a file.

    `wait`: seconds to queue behind another writer. If the lock is still held then, the cleaned
    results are parked in staging (`parked-<key>`, the key naming the inputs, config and code)
    and the same command run again archives them without cleaning again.
    """
    root = Path(root)
    inputs = list(discover(paths))
    if not any(isinstance(item, Path) for item in inputs):
        reasons = "; ".join(item.message for item in inputs if isinstance(item, Missing))
        raise NoInputError(f"no input to clean: {reasons or 'the folders given hold no files'}")
    ocfl.init_root(root)
    sweep_staging(root)
    stage = staging_dir(root, f"{CLI_PREFIX}{os.getpid()}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
    (stage / OWNER).write_text(json.dumps(ocfl.holder_record()))
    parked = stage.parent / f"parked-{_inputs_key(inputs, cfg)}"
    try:
        store = _resume(parked, stage)
        if store is None:
            # Streaming (issue #16): results go from the workers into the run store on disk as
            # they come, a chunk at a time; nothing holds the run in memory.
            store = RunStore(stage / STORE, create=True)
            store.ingest(batch.iter_clean(inputs, cfg, stage / "raw", jobs=jobs), progress, len(inputs))
        try:
            return commit_store(root, store, cfg, stage / "raw", created=created, wait=wait,
                                progress=progress)
        except ocfl.LockHeld as exc:
            store.close()
            try:
                os.rename(stage, parked)
            except OSError:
                pass                                 # parked already (a twin run): ours goes
            raise ocfl.LockHeld(f"{exc}. The cleaned results are kept in {parked}: run the same "
                                "command again to archive them without cleaning again") from None
        finally:
            store.close()
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _inputs_key(inputs: list[Path | Missing], cfg: PipelineConfig) -> str:
    """What parked results are valid for: these inputs (name, size, mtime), config and code."""
    h = hashlib.sha256(f"{code_version()} {cfg.sha256()}".encode())
    for item in inputs:
        if isinstance(item, Missing):
            h.update(f"missing {os.fsencode(item.path).hex()} {item.reason}\n".encode())
            continue
        try:
            st = item.stat()
            h.update(f"{os.fsencode(item).hex()} {st.st_size} {st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{os.fsencode(item).hex()} unreadable\n".encode())
    return h.hexdigest()[:24]


def _resume(parked: Path, stage: Path) -> RunStore | None:
    """Results an earlier run of the same command cleaned and parked, claimed by a rename."""
    owner = json.dumps(ocfl.holder_record())
    try:
        (parked / OWNER).write_text(owner)
        shutil.rmtree(stage)
        os.rename(parked, stage)
    except OSError:
        stage.mkdir(parents=True, exist_ok=True)
        (stage / OWNER).write_text(owner)
        return None
    (stage / OWNER).write_text(owner)         # a twin claimant may have written its own
    try:
        return RunStore(stage / STORE)
    except (OSError, ValueError, sqlite3.DatabaseError) as exc:
        log.warning("parked results in %s are unreadable (%s): cleaning again", parked, exc)
        shutil.rmtree(stage / "raw", ignore_errors=True)
        (stage / STORE).unlink(missing_ok=True)
        return None


def sweep_staging(root: Path) -> list[str]:
    """Remove the staging folders of `docclean run`s that were killed; return their names.

    Only folders whose owner (pid, host, start time in `owner.json`) is provably dead go;
    parked results stay until a run claims them.
    """
    removed = []
    for path in ocfl.stale_staging(root):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    if removed:
        log.warning("removed staging left by killed runs: %s", ", ".join(removed))
    return removed


# --- the same run, as Airflow tasks ---------------------------------------------------------

def discover_batches(inbox: str | os.PathLike[str], root: Path, batch_size: int,
                     run_name: str, since: str | None = None, create_inbox: bool = False,
                     input_roots: Sequence[str] | None = None) -> list[str]:
    """Write the run's input lists as batch files; return their paths (what goes into XCom).

    `since` (ISO 8601) keeps only files modified after it: the nightly run picks up what
    arrived since the last successful run; a one-off run passes None and takes everything.
    `input_roots` (default: the DOCCLEAN_INPUT_ROOTS environment variable) are the folders an
    inbox may be in; an inbox outside them is refused. What cannot be an input (a FIFO, a
    symlink out of the inbox...) goes into the batches too, to be recorded as rejected. A WARC/ARC
    file is one entry: `clean_batch` expands it into its records (`batch.iter_clean`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    roots = reader.input_roots(input_roots)
    if roots is not None and not reader.inside(inbox, roots):
        raise ValueError(f"inbox {inbox} is outside the allowed input roots "
                         f"({', '.join(map(str, roots))}; set by {reader.INPUT_ROOTS_ENV})")
    inbox = Path(inbox)
    if create_inbox:          # the DAG's default inbox: unpausing must work on a new machine
        inbox.mkdir(parents=True, exist_ok=True)
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox {inbox} is not a folder")
    ocfl.init_root(Path(root))
    cutoff = datetime.fromisoformat(since).timestamp() if since else None
    files: list[Any] = []
    for item in discover([inbox], roots):
        if isinstance(item, Missing):
            files.append(_encode_input(item))
            continue
        try:
            if cutoff is not None and item.stat().st_mtime <= cutoff:
                continue
        except OSError:
            pass  # unreadable: let the reader record why
        files.append(_encode_input(item))
    if not files:
        log.info("no new inputs in %s", inbox)
        return []
    stage = staging_dir(root, run_name)
    out = []
    for n, chunk in enumerate(batch.iter_batches(files, batch_size)):
        path = stage / f"batch-{n:05d}.inputs.json"
        path.write_text(json.dumps(chunk, ensure_ascii=False))
        out.append(str(path))
    log.info("discovered %d inputs in %s: %d batches", len(files), inbox, len(out))
    return out


def _encode_input(item: Path | Missing) -> Any:
    """An input as JSON for a batch file: a path string; a name that is not UTF-8 by its bytes;
    what cannot be an input with its reason."""
    if isinstance(item, Missing):
        return {"missing": {"path": reader.path_text(item.path)[0], "reason": item.reason, "message": item.message}}
    text, name_bytes = reader.path_text(item)
    return text if name_bytes is None else {"path_bytes": name_bytes}


def _decode_input(entry: Any) -> Path | Missing:
    if isinstance(entry, str):
        return Path(entry)
    if "missing" in entry:
        return Missing(**entry["missing"])
    return Path(os.fsdecode(bytes.fromhex(entry["path_bytes"])))


def clean_batch(batch_file: str, config: dict[str, object] | None = None) -> str:
    """Clean one batch; write its results next to it; return the results' path.

    Idempotent: a retried batch rewrites the same results file (atomically), it never appends.
    """
    cfg = _config(config)
    path = Path(batch_file)
    inputs = [_decode_input(p) for p in json.loads(path.read_text())]
    results, stats = batch.clean_inputs(inputs, cfg, path.parent / "raw")
    out = path.with_name(path.name.replace(".inputs.json", ".results.jsonl"))
    return str(batch.write_results(out, results, stats))


def commit_batches(result_files: Sequence[str], root: Path, config: dict[str, object] | None = None,
                   created: str | None = None, label: str = "docclean nightly") -> RunSummary:
    """The one writer: read every batch's results, dedup, publish one object, drop staging."""
    cfg = _config(config)
    stage_dirs = {Path(f).parent for f in result_files}
    if len(stage_dirs) > 1:
        raise ValueError(f"results come from several staging folders: {sorted(map(str, stage_dirs))}")
    if not stage_dirs:               # an empty inbox: nothing to archive, nothing written
        return RunSummary(Path(root), None, False, stats=runner.Stats().to_json())
    # Batch files are read a chunk at a time, straight into the writer's run store (issue #16).
    chunks = (chunk for file in sorted(result_files) for chunk in batch.iter_results(Path(file)))
    summary = commit_stream(Path(root), chunks, cfg, next(iter(stage_dirs)) / "raw",
                            created=created, label=label)
    for stage in stage_dirs:
        shutil.rmtree(stage, ignore_errors=True)
    return summary


def since_for(run_type: str, prev_success_start: datetime | None) -> str | None:
    """The `since` of a nightly run: which inbox files it takes, by the kind of run.

    A scheduled run takes what was modified after the last successful run started; the first
    scheduled run (no success yet), a manual trigger and a backfill take everything (what is
    already archived is recognised by digest and written nothing).

    >>> since_for("scheduled", datetime(2026, 12, 1, 18, tzinfo=UTC))
    '2026-12-01T18:00:00+00:00'
    >>> since_for("scheduled", None) is None, since_for("manual", datetime(2026, 12, 1, tzinfo=UTC)) is None
    (True, True)
    >>> since_for("DagRunType.SCHEDULED", datetime(2026, 12, 1, tzinfo=UTC))
    '2026-12-01T00:00:00+00:00'
    >>> since_for("backfill", datetime(2026, 12, 1, tzinfo=UTC)) is None
    True
    """
    kind = run_type.rsplit(".", 1)[-1].lower()
    if kind != "scheduled" or prev_success_start is None:
        return None
    return prev_success_start.isoformat()


def created_for(moment: datetime | None) -> str | None:
    """OCFL `created` for a run: its logical date (UTC), so a rerun does not look like a change."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit_report(root: str | os.PathLike[str], objects: list[str] | None,
                 missing_ok: bool = False) -> dict[str, object]:
    """The audit as plain data for a task: sound or not, each problem, and a printable report."""
    from archive.audit import audit

    root = Path(root)
    if missing_ok and not root.exists():
        return {"sound": True, "problems": [], "report": f"audit: {root} does not exist yet: nothing to audit"}
    if objects == []:
        return {"sound": True, "problems": [], "report": "audit: this run wrote no object"}
    problems = [str(p) for p in audit(root, objects)]
    scope = ", ".join(objects) if objects else "the whole archive"
    head = f"audit of {scope} in {root}: " + (f"{len(problems)} problem(s)" if problems else "sound")
    return {"sound": not problems, "problems": problems,
            "report": "\n".join([head, *(f"  BAD {p}" for p in problems)])}


def html_report(root: str | os.PathLike[str], object_id: str | None) -> str | None:
    """The run's HTML report, next to the run (archive/report.py); its index page's path."""
    from archive.report import build

    if not object_id:
        return None
    built = build(Path(root), object_id)
    log.info("HTML report of %s: %s (%d document pages, %.1f s)", object_id, built.out / "index.html",
             len(built.document_pages), built.seconds)
    return str(built.out / "index.html")


def format_report(summary: dict[str, object], audited: dict[str, object]) -> str:
    """The run summary for the task log: dispositions, then per-step counts."""
    lines = [f"docclean run: object {summary.get('object') or '(none)'}, "
             f"{'written' if summary.get('written') else 'nothing new written'}"]
    counts = cast(dict[str, int], summary.get("counts") or {})
    lines.append("dispositions: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "no inputs"))
    stats = cast(dict[str, dict[str, Any]], summary.get("stats") or {})
    for step, s in stats.items():
        lines.append(f"  {step:<18} total={s['total']} changed={s['changed']} dropped={s['dropped']} "
                     f"chars_removed={s['chars_removed']} seconds={s['seconds']}")
    lines.append(str(audited.get("report", "")))
    return "\n".join(lines)


def config_dict(script: str = "hans", config_file: str | None = None) -> dict[str, object]:
    """The resolved config as plain data (what a DAG passes to its tasks)."""
    return load_config(config_file, script).to_dict()


def _config(config: dict[str, object] | None) -> PipelineConfig:
    start()             # a DAG task's process: archive.startup
    if not config:
        return load_config()
    return PipelineConfig.from_dict(config)


def run_name(label: str) -> str:
    """A filesystem-safe staging folder name for an Airflow run id."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
    return f"{safe[:60]}-{hashlib.sha256(label.encode()).hexdigest()[:8]}"
