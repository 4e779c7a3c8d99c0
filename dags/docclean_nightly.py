"""## docclean_nightly — clean the scraped Chinese documents that landed in the inbox, archive them

Every night at 02:00 Asia/Shanghai (`DOCCLEAN_SCHEDULE`, a cron expression in
`DOCCLEAN_TIMEZONE`, changes it): discover the files that arrived in `inbox` since the last
successful run → clean them in batches (mapped tasks; only paths travel through XCom, results go
to a staging folder under the archive) → deduplicate and archive them as one OCFL object (one
writer) → audit that object → log a summary per step and per disposition, and write the run's HTML
report (`docclean report`) to `<archive>/extensions/docclean-reports/<run>/index.html`, outside the
OCFL object: a derived view, rebuildable, that must not change the evidence.

**Which files a run takes** (`archive.flow.since_for`):
- a *scheduled* run takes the files modified after the start of the DAG's last successful run;
- the *first* scheduled run (no successful run yet), a *manual* trigger and a *backfill* take
  every file in `inbox`; files already in the archive are recognised by their digest and
  recorded as `already_archived`, never written twice.

`catchup=False`: unpausing the DAG creates one scheduled run at once, for the most recent
02:00, which archives the whole inbox (the first-run rule above); missed nights are not
replayed one by one, the next run takes everything modified since the last success instead.
Files should land in the inbox whole (written elsewhere, then moved in): a file still being
written when a run lists the inbox is archived as it was then.

**Crawl files** (`.warc`, `.warc.gz`, `.arc`, `.arc.gz`) are one input of a batch each: the task
that cleans the batch stages the file and expands it into its records (`archive.warc`), every
record then an input with its own disposition. A large WARC is therefore cleaned by one task.

**One-off run** over a whole folder (a manual trigger takes everything in `inbox`):

    airflow dags trigger docclean_nightly -c '{"inbox": "/data/inbox", "archive": "/data/archive"}'

Params: `inbox` (folder), `archive` (OCFL storage root), `script` (hans | hant | tw | hk),
`batch_size` (inputs per mapped task). Defaults come from `DOCCLEAN_INBOX` / `DOCCLEAN_ARCHIVE`
(else folders under `$AIRFLOW_HOME/docclean/`), so unpausing works out of the box.

Idempotent: the run's object id is derived from its inputs and config, so a rerun of the same
logical date, or a retried batch, writes nothing twice. All logic lives in the `archive` and
`cleaners` packages (`archive.flow`, the same functions `docclean run` calls); this file only
wires tasks.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, TriggerRule, dag, task

_HOME = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
DEFAULT_INBOX = os.environ.get("DOCCLEAN_INBOX", os.path.join(_HOME, "docclean", "inbox"))
DEFAULT_ARCHIVE = os.environ.get("DOCCLEAN_ARCHIVE", os.path.join(_HOME, "docclean", "archive"))
# Cleaning is CPU-bound: on a 2-core machine more than 2 mapped cleaners only queue on the CPU.
CLEAN_CONCURRENCY = int(os.environ.get("DOCCLEAN_CLEAN_CONCURRENCY", "2"))
# A pool for the cleaners when the deployment defines one (airflow pools set docclean 2 "...").
CLEAN_POOL = os.environ.get("DOCCLEAN_POOL", "default_pool")
# When the nightly run starts; the timezone the cron expression is read in.
SCHEDULE = os.environ.get("DOCCLEAN_SCHEDULE", "0 2 * * *")
TIMEZONE = os.environ.get("DOCCLEAN_TIMEZONE", "Asia/Shanghai")


@dag(
    dag_id="docclean_nightly",
    schedule=CronTriggerTimetable(SCHEDULE, timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
    },
    params={
        "inbox": Param(DEFAULT_INBOX, type="string", description="folder to take inputs from"),
        "archive": Param(DEFAULT_ARCHIVE, type="string", description="OCFL storage root"),
        "script": Param("hans", enum=["hans", "hant", "tw", "hk"], description="target script"),
        "batch_size": Param(200, type="integer", minimum=1, maximum=100000,
                            description="inputs per mapped cleaning task"),
    },
    tags=["docclean", "archive"],
    doc_md=__doc__,
)
def docclean_nightly() -> None:
    @task
    def discover(params=None, dag_run=None, prev_start_date_success=None) -> list[str]:
        from airflow.sdk.exceptions import AirflowFailException

        from archive.flow import discover_batches, run_name, since_for
        from archive.ocfl import OcflError

        # Airflow 3 hands the previous success's start as a lazy proxy, never None itself:
        # __wrapped__ resolves it (None when there is no successful run yet).
        prev_start = getattr(prev_start_date_success, "__wrapped__", prev_start_date_success)
        since = since_for(str(dag_run.run_type), prev_start)
        try:
            return discover_batches(params["inbox"], params["archive"], params["batch_size"],
                                    run_name(dag_run.run_id), since=since,
                                    create_inbox=params["inbox"] == DEFAULT_INBOX)
        except (FileNotFoundError, NotADirectoryError, OcflError, ValueError) as exc:
            raise AirflowFailException(str(exc)) from exc   # a wrong param: retrying cannot help

    @task
    def settings(params=None) -> dict:
        from archive.flow import config_dict

        return config_dict(params["script"])

    @task(max_active_tis_per_dag=CLEAN_CONCURRENCY, pool=CLEAN_POOL)
    def clean_batch(batch_file: str, config: dict) -> str:
        from archive.flow import clean_batch as clean

        return clean(batch_file, config)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def archive_run(result_files, config: dict, params=None, dag_run=None) -> dict:
        from archive.flow import commit_batches, created_for

        summary = commit_batches(result_files[:] if result_files else [], params["archive"], config,
                                 created=created_for(dag_run.logical_date or dag_run.run_after),
                                 label=f"docclean_nightly {dag_run.run_id}")
        return {"object": summary.object_id, "written": summary.written,
                "counts": summary.counts, "stats": summary.stats}

    @task
    def audit_run(summary: dict, params=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from archive.flow import audit_report

        audited = audit_report(params["archive"], [summary["object"]] if summary["object"] else [])
        if not audited["sound"]:
            raise AirflowFailException(audited["report"])   # no retry can mend a damaged object
        return audited

    @task
    def report(summary: dict, audited: dict, params=None) -> str:
        from archive.flow import format_report, html_report

        text = format_report(summary, audited)
        page = html_report(params["archive"], summary["object"]) if summary["written"] else None
        if page:
            text += f"\nHTML report: {page}"
        print(text)
        return text

    config = settings()
    batches = discover()
    results = clean_batch.partial(config=config).expand(batch_file=batches)
    summary = archive_run(results, config)
    report(summary, audit_run(summary))


docclean_nightly()
