"""The DAGs in a real Airflow: DagBag integrity, dag.test() end to end on seeds/, an empty
inbox, a rerun, a tampered archive, and one `airflow dags test` as a command.

AIRFLOW_HOME (a temporary folder with a SQLite DB) and the DAGs folder are set in conftest.py
before anything imports airflow. dag.test() returns a failed DagRun instead of raising, so
every test asserts the run's state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

airflow = pytest.importorskip("airflow", reason="apache-airflow is not installed (make test installs it)")

from archive.audit import audit  # noqa: E402
from archive.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


@pytest.fixture(scope="module")
def airflow_db():
    from airflow.utils import db

    db.resetdb()
    return True


def _records(root: Path) -> dict[str, dict]:
    out = {}
    for path in root.glob("run-*/v1/content/records/*.json"):
        rec = json.loads(path.read_text(encoding="utf-8"))
        out[rec["id"]] = rec
    return out


def test_dagbag_imports_cleanly_with_tags_retries_and_docs(dagbag):
    assert dagbag.import_errors == {}
    assert {"docclean_nightly", "docclean_audit"} <= set(dagbag.dag_ids)
    for dag_id in ("docclean_nightly", "docclean_audit"):
        dag = dagbag.dags[dag_id]
        assert dag.tags, dag_id
        assert dag.doc_md and "docclean" in dag.doc_md
        assert dag.catchup is False and dag.max_active_runs == 1
        for t in dag.tasks:
            assert t.retries >= 2, f"{dag_id}.{t.task_id}"
    nightly = dagbag.dags["docclean_nightly"]
    assert set(nightly.params.keys()) >= {"inbox", "archive", "script", "batch_size"}
    assert nightly.get_task("clean_batch").max_active_tis_per_dag >= 1


def _run(dagbag, dag_id: str, conf: dict):
    dag = dagbag.dags[dag_id]
    return dag.test(run_conf=conf)


def test_nightly_end_to_end_matches_the_cli(dagbag, airflow_db, seed_paths, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for p in seed_paths:
        shutil.copy(p, inbox / p.name)
    root = tmp_path / "archive"
    dr = _run(dagbag, "docclean_nightly", {"inbox": str(inbox), "archive": str(root), "batch_size": 2})
    assert dr.state == "success"
    assert audit(root) == []
    records = _records(root)
    assert len(records) == 5
    (obj,) = root.glob("run-*")
    report = root / "extensions" / "docclean-reports" / obj.name
    assert (report / "index.html").is_file() and len(list((report / "docs").glob("*.html"))) == 5
    assert not (root / "extensions" / "docclean-staging").exists() or \
        not any((root / "extensions" / "docclean-staging").iterdir())
    # the CLI on the same inputs writes the same records
    cli_root = tmp_path / "cli-archive"
    assert main(["run", str(inbox), "--archive", str(cli_root), "--quiet"]) == 0
    cli_records = _records(cli_root)
    assert set(cli_records) == set(records)
    for rid, rec in records.items():
        assert rec["text"] == cli_records[rid]["text"]
        assert rec["sources"][0]["sha256"] == cli_records[rid]["sources"][0]["sha256"]
    # a second run over the same inbox adds no record and writes no object
    objects = sorted(p.name for p in root.iterdir())
    dr = _run(dagbag, "docclean_nightly", {"inbox": str(inbox), "archive": str(root), "batch_size": 2})
    assert dr.state == "success"
    assert sorted(p.name for p in root.iterdir()) == objects
    assert len(_records(root)) == 5


def test_empty_inbox_ends_green_with_nothing_written(dagbag, airflow_db, tmp_path):
    inbox = tmp_path / "empty"
    inbox.mkdir()
    root = tmp_path / "archive"
    dr = _run(dagbag, "docclean_nightly", {"inbox": str(inbox), "archive": str(root)})
    assert dr.state == "success"
    assert list(root.glob("run-*")) == []


def test_missing_inbox_fails_the_run(dagbag, airflow_db, tmp_path):
    dr = _run(dagbag, "docclean_nightly", {"inbox": str(tmp_path / "nope"), "archive": str(tmp_path / "a")})
    assert dr.state == "failed"


def test_audit_dag_passes_then_fails_on_a_tampered_archive(dagbag, airflow_db, seed_paths, tmp_path):
    root = tmp_path / "archive"
    assert main(["run", *map(str, seed_paths), "--archive", str(root), "--quiet"]) == 0
    assert _run(dagbag, "docclean_audit", {"archive": str(root)}).state == "success"
    record = next(root.glob("run-*/v1/content/records/*.json"))
    record.write_bytes(record.read_bytes().replace(b'"hans"', b'"hant"'))
    assert _run(dagbag, "docclean_audit", {"archive": str(root)}).state == "failed"


@pytest.mark.slow
def test_airflow_dags_test_command(seed_paths, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(seed_paths[0], inbox / "a.txt")
    env = dict(os.environ)
    home = tmp_path / "home"
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db")
    airflow_bin = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow_bin, "db", "migrate"], env=env, check=True, capture_output=True)
    conf = json.dumps({"inbox": str(inbox), "archive": str(tmp_path / "archive")})
    proc = subprocess.run([airflow_bin, "dags", "test", "docclean_nightly", "-c", conf],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(list((tmp_path / "archive").glob("run-*/v1/content/records/*.json"))) == 1
