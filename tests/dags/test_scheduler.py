"""The nightly DAG as operators run it: a real scheduler, dag-processor and API server on
127.0.0.1 (SQLite, LocalExecutor, a temporary AIRFLOW_HOME), started and stopped the way
`make airflow-up` / `airflow-down` do (scripts/airflow_local.py).

Unpausing `docclean_nightly` makes the scheduler create its first *scheduled* run at once (no
earlier success: it takes the whole inbox); files added afterwards are taken by the next scheduled
run and only they; then the weekly audit DAG's first scheduled run audits the archive. The DAG
runs every minute here (DOCCLEAN_SCHEDULE), so the second scheduled run comes within a minute.
Every process started is stopped by its process group, even when an assertion fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("airflow", reason="apache-airflow is not installed (make test installs it)")

from archive.audit import audit  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.slow]
RUN_TIMEOUT = 150.0   # seconds for one DAG run to be created and finish (each takes ~10-20 s)


def _local():
    spec = importlib.util.spec_from_file_location("airflow_local", REPO / "scripts" / "airflow_local.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _runs(db: Path, dag_id: str) -> list[dict]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT run_id, run_type, state, start_date FROM dag_run WHERE dag_id = ? "
                            "ORDER BY id", (dag_id,)).fetchall()
    return [dict(r) for r in rows]


def _wait_for(what, timeout: float = RUN_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(1)
    return None


def _finished_run(db: Path, dag_id: str, after: datetime | None = None):
    """The first run of `dag_id` that started after `after` and has finished."""
    def find():
        for run in _runs(db, dag_id):
            started = run["start_date"] and datetime.fromisoformat(run["start_date"]).replace(tzinfo=UTC)
            if started and (after is None or started > after) and run["state"] in ("success", "failed"):
                return run
        return None
    return _wait_for(find)


def _dispositions(root: Path) -> dict[str, list[dict]]:
    return {path.relative_to(root).parts[0]: [json.loads(line) for line in path.read_text().splitlines()]
            for path in root.glob("run-*/v1/content/metadata/dispositions.jsonl")}


def test_first_scheduled_run_then_only_new_files_then_the_audit_dag(seed_paths, tmp_path):
    local = _local()
    home, inbox, root = tmp_path / "home", tmp_path / "inbox", tmp_path / "archive"
    inbox.mkdir()
    for p in seed_paths[:2]:
        shutil.copy(p, inbox / p.name)
    base = dict(os.environ, DOCCLEAN_SCHEDULE="* * * * *", DOCCLEAN_TIMEZONE="UTC",
                DOCCLEAN_INBOX=str(inbox), DOCCLEAN_ARCHIVE=str(root))
    port = _free_port()
    db = home / "airflow.db"
    pids = local.up(home, port, base)
    try:
        env = local.airflow_env(home, port, base)
        assert _wait_for(lambda: any(r for r in _dag_ids(db) if r == "docclean_nightly"), 60)
        assert _runs(db, "docclean_nightly") == []
        local.airflow(env, "dags", "unpause", "docclean_nightly")

        first = _finished_run(db, "docclean_nightly")
        assert first is not None, _logs(home)
        assert first["run_type"] == "scheduled" and first["state"] == "success", (first, _logs(home))
        assert audit(root) == []
        (first_object, first_fates), = _dispositions(root).items()
        assert sorted(Path(d["path"]).name for d in first_fates) == [p.name for p in seed_paths[:2]]
        assert {d["disposition"] for d in first_fates} == {"archived"}

        added = datetime.now(UTC)
        for p in seed_paths[2:4]:
            shutil.copy(p, inbox / p.name)
        later = _finished_run(db, "docclean_nightly", after=added)
        assert later is not None, _logs(home)
        assert later["run_type"] == "scheduled" and later["state"] == "success", (later, _logs(home))
        objects = _dispositions(root)
        assert len(objects) == 2, objects.keys()
        (_, new_fates), = ((k, v) for k, v in objects.items() if k != first_object)
        # only the files modified since the last success: no already-archived seed re-read
        assert sorted(Path(d["path"]).name for d in new_fates) == [p.name for p in seed_paths[2:4]]
        assert {d["disposition"] for d in new_fates} == {"archived"}

        local.airflow(env, "dags", "unpause", "docclean_audit")
        audited = _finished_run(db, "docclean_audit")
        assert audited is not None and audited["run_type"] == "scheduled", _logs(home)
        assert audited["state"] == "success", (audited, _logs(home))
    finally:
        stopped = local.down(home)
    assert sorted(stopped) == sorted(pids)
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)


def _dag_ids(db: Path) -> list[str]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return [r[0] for r in conn.execute("SELECT dag_id FROM dag")]
    except sqlite3.OperationalError:
        return []


def _logs(home: Path) -> str:
    """The tail of every component's log and of every task log, for a failure message."""
    out = []
    for log in sorted((home / "logs").rglob("*.log")):
        out.append(f"--- {log.relative_to(home)}\n{log.read_text(errors='replace')[-1500:]}")
    return "\n".join(out)[-12000:]
