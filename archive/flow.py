"""The run, as the CLI and the nightly DAG both drive it: discover → clean batches → commit.

The CLI runs everything in one process (`run_paths`); the DAG runs the same three functions as
separate tasks (`discover_batches`, `clean_batch`, `commit_batches`), passing only paths between
them. Staging lives under the storage root's extensions folder, on the same filesystem as the
archive, and is removed once its run is committed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from archive import batch, ocfl
from archive.reader import Missing, discover
from archive.writer import Progress, RunSummary, commit_stream
from cleaners import runner
from cleaners.config import PipelineConfig, load_config

log = logging.getLogger(__name__)



def staging_dir(root: Path, name: str) -> Path:
    path = Path(root) / ocfl.EXTENSIONS / ocfl.STAGING / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_paths(paths: Sequence[str | os.PathLike[str]], root: Path, cfg: PipelineConfig,
              jobs: int = 1, progress: bool = False, created: str | None = None,
              on_progress: Progress | None = None) -> RunSummary:
    """`docclean run`: clean every input under `paths` and archive the run in `root`.

    Streaming (issue #16): inputs are discovered, cleaned in `jobs` processes and handed to
    the writer a chunk at a time; nothing holds the whole run in memory. `on_progress(phase,
    done, total)` follows the phases ("clean": inputs cleaned, total None as discovery is lazy;
    "link", "write": new records); `progress=True` shows a bar per phase on stderr instead.
    """
    root = Path(root)
    ocfl.init_root(root)
    stage = staging_dir(root, f"cli-{os.getpid()}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
    bars = _Bars() if progress and on_progress is None else None
    try:
        chunks = batch.iter_clean(discover(paths), cfg, stage / "raw", jobs=jobs)
        return commit_stream(root, chunks, cfg, stage / "raw", created=created,
                             progress=on_progress or (bars.update if bars else None))
    finally:
        if bars:
            bars.close()
        shutil.rmtree(stage, ignore_errors=True)


class _Bars:
    """One tqdm bar per phase, the previous one closed when the next phase starts."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.bar: Any = None

    def update(self, phase: str, done: int, total: int | None) -> None:
        from tqdm import tqdm

        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = tqdm(total=total, unit="doc", desc=_PHASE_NAMES.get(phase, phase), leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


_PHASE_NAMES = {"clean": "cleaning", "link": "linking", "write": "writing"}


# --- the same run, as Airflow tasks ---------------------------------------------------------

def discover_batches(inbox: str | os.PathLike[str], root: Path, batch_size: int,
                     run_name: str, since: str | None = None, create_inbox: bool = False) -> list[str]:
    """Write the run's input lists as batch files; return their paths (what goes into XCom).

    `since` (ISO 8601) keeps only files modified after it: the nightly run picks up what
    arrived since the last successful run; a one-off run passes None and takes everything.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    inbox = Path(inbox)
    if create_inbox:          # the DAG's default inbox: unpausing must work on a new machine
        inbox.mkdir(parents=True, exist_ok=True)
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox {inbox} is not a folder")
    ocfl.init_root(Path(root))
    cutoff = datetime.fromisoformat(since).timestamp() if since else None
    files = []
    for item in discover([inbox]):
        if isinstance(item, Missing):
            continue
        try:
            if cutoff is not None and item.stat().st_mtime <= cutoff:
                continue
        except OSError:
            pass  # unreadable: let the reader record why
        files.append(str(item))
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


def clean_batch(batch_file: str, config: dict[str, object] | None = None) -> str:
    """Clean one batch; write its results next to it; return the results' path.

    Idempotent: a retried batch rewrites the same results file (atomically), it never appends.
    """
    cfg = _config(config)
    path = Path(batch_file)
    inputs = [Path(p) for p in json.loads(path.read_text())]
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
    # Batch files are read a chunk at a time, straight into the writer (issue #16).
    chunks = (chunk for file in sorted(result_files) for chunk in batch.iter_results(Path(file)))
    summary = commit_stream(Path(root), chunks, cfg, next(iter(stage_dirs)) / "raw",
                            created=created, label=label)
    for stage in stage_dirs:
        shutil.rmtree(stage, ignore_errors=True)
    return summary


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
    if not config:
        return load_config()
    return PipelineConfig.from_dict(config)


def run_name(label: str) -> str:
    """A filesystem-safe staging folder name for an Airflow run id."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
    return f"{safe[:60]}-{hashlib.sha256(label.encode()).hexdigest()[:8]}"
