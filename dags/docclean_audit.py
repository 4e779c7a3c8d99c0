"""## docclean_audit — weekly full audit of the docclean archive

Recomputes every digest, checks OCFL structure, every record against the shipped JSON Schema,
and completeness against every run's dispositions (`docclean audit`, the same function). The
task fails — no retry can fix a damaged archive — with the full report in its log, naming each
bad file. Param `archive` defaults to `DOCCLEAN_ARCHIVE` (else `$AIRFLOW_HOME/docclean/archive`).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

_HOME = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
DEFAULT_ARCHIVE = os.environ.get("DOCCLEAN_ARCHIVE", os.path.join(_HOME, "docclean", "archive"))


@dag(
    dag_id="docclean_audit",
    schedule=CronTriggerTimetable("0 4 * * 0", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={"archive": Param(DEFAULT_ARCHIVE, type="string", description="OCFL storage root")},
    tags=["docclean", "audit"],
    doc_md=__doc__,
)
def docclean_audit() -> None:
    @task
    def audit_archive(params=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from archive.flow import audit_report

        audited = audit_report(params["archive"], None, missing_ok=params["archive"] == DEFAULT_ARCHIVE)
        print(audited["report"])
        if not audited["sound"]:
            raise AirflowFailException(audited["report"])   # no retry can mend a damaged archive
        return audited

    audit_archive()


docclean_audit()
