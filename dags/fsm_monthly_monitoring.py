"""fsm_monthly_monitoring: the monthly monitoring of 'Flere skal med' (a declaration; work is in plugins/fsm)."""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, PokeReturnValue, dag, task, task_group

from fsm.contract import FEED_NAMES
from fsm.ops.docs import DAG_DOC, FIRST_MONTH, LAST_MONTH, TASK_DOCS, trigger_form
from fsm.ops.lineage import task_started
from fsm.ops.notify import FsmAlert, slow_run_alert

# Each Asset updated once a run by its writer; the event: the month, the postgres:// or file:// URIs (fsm.ops.lineage)
STAGING = {feed: Asset(name=f"fsm.staging.{feed}", group="fsm") for feed in FEED_NAMES}
MARTS, REPORT = Asset(name="fsm.marts", group="fsm"), Asset(name="fsm.tranche_report", group="fsm")
# Transient errors (a lost connection, a storage timeout) retry after 1, 2, 4 min; bad input or settings
# fail at once (fsm.errors.PermanentError). A task failing for good alerts via the connection fsm_alerts.
DEFAULT_ARGS = {"owner": "star-monitoring", "retries": 3, "retry_delay": pendulum.duration(minutes=1),
                "retry_exponential_backoff": 2.0, "max_retry_delay": pendulum.duration(minutes=15),
                "on_failure_callback": FsmAlert(), "on_execute_callback": task_started}  # fmt: skip


def _month(context) -> str:
    from fsm.months import as_of_month

    return as_of_month(context["params"], context.get("data_interval_start")).isoformat()


@dag(
    dag_id="fsm_monthly_monitoring",
    dag_display_name="FSM monthly monitoring (Flere skal med)",
    description="STAR's monitoring of 'Flere skal med': visitation, activity share and 30/40/30 tranches per month",
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="Europe/Copenhagen"),
    start_date=pendulum.datetime(FIRST_MONTH.year, FIRST_MONTH.month, 1, tz="Europe/Copenhagen"),
    end_date=pendulum.datetime(LAST_MONTH.year, LAST_MONTH.month, 1, tz="Europe/Copenhagen"),  # F9: no run after FSM2
    catchup=False,
    max_active_runs=1,
    doc_md=DAG_DOC,
    tags=["fsm", "star", "monthly", "finance"],
    default_args=DEFAULT_ARGS,
    deadline=slow_run_alert(),  # a run FSM_SLOW_RUN_ALERT_HOURS past the last runs' average duration alerts
    params=trigger_form(),  # month, backfill, what-if name and rule overrides
)
def fsm_monthly_monitoring():
    @task.sensor(
        task_id="wait_for_month_files",
        mode="reschedule",
        poke_interval=pendulum.duration(hours=1),
        timeout=pendulum.duration(days=10),
        doc_md=TASK_DOCS["wait_for_month_files"],
    )
    def wait_for_month_files(**context) -> PokeReturnValue:
        import logging
        from datetime import date

        from fsm.pipeline import poke

        month = _month(context)
        missing = poke(date.fromisoformat(month), context["dag_run"].start_date)
        if missing:
            logging.getLogger("fsm").warning("month %s still waits for: %s", month[:7], "; ".join(missing))
        return PokeReturnValue(is_done=not missing, xcom_value=month)

    @task(multiple_outputs=True, doc_md=TASK_DOCS["prepare_warehouse"])
    def prepare_warehouse() -> dict:
        from fsm.pipeline import prepare_warehouse

        return prepare_warehouse()

    @task_group(group_id="ingest")
    def ingest(month: str):
        for feed in FEED_NAMES:

            @task(multiple_outputs=True, task_id=f"ingest_{feed}", doc_md=TASK_DOCS["ingest"], outlets=[STAGING[feed]])
            def ingest_one(month: str, feed: str = feed) -> dict:
                from datetime import date

                from fsm.pipeline import ingest

                return ingest(feed, date.fromisoformat(month))

            ingest_one(month)

    @task_group(group_id="quality")
    def quality(month: str):
        @task(multiple_outputs=True, doc_md=TASK_DOCS["check_inputs"])
        def check_inputs(month: str) -> dict:
            from datetime import date

            from fsm.pipeline import quality_inputs

            return quality_inputs(date.fromisoformat(month))

        @task(multiple_outputs=True, doc_md=TASK_DOCS["check_markings"])
        def check_markings(month: str, **context) -> dict:
            from datetime import date

            from fsm.pipeline import quality_markings

            return quality_markings(date.fromisoformat(month), backfill=bool(context["params"]["backfill"]))

        check_inputs(month) >> check_markings(month)

    @task_group(group_id="transform")
    def transform(month: str):
        @task(multiple_outputs=True, doc_md=TASK_DOCS["build_marts"], outlets=[MARTS])
        def build_marts(month: str, **context) -> dict:
            from datetime import date

            from fsm.pipeline import options, transform

            run = context["dag_run"]  # run_log records it; a what-if run writes beside the official marts
            return transform(
                date.fromisoformat(month), **options(context["params"]), run_id=run.run_id, started_at=run.start_date
            )

        @task(multiple_outputs=True, doc_md=TASK_DOCS["check_marts"])
        def check_marts(month: str) -> dict:
            from datetime import date

            from fsm.pipeline import quality_marts

            return quality_marts(date.fromisoformat(month))

        build_marts(month) >> check_marts(month)

    @task(multiple_outputs=True, doc_md=TASK_DOCS["write_report"], outlets=[REPORT])
    def write_report(month: str, **context) -> dict:
        from datetime import date

        from fsm.pipeline import options, report

        return report(date.fromisoformat(month), **options(context["params"]))

    @task(multiple_outputs=True, doc_md=TASK_DOCS["publish"])
    def publish(month: str, report: dict) -> dict:
        return {"month": month[:7], "report_dir": report.get("dir")}

    month = wait_for_month_files()
    ready = prepare_warehouse()
    staged = ingest(month)
    checked = quality(month)
    built = transform(month)
    written = write_report(month)
    month >> ready >> staged >> checked >> built >> written
    publish(month, written)


monthly_dag = fsm_monthly_monitoring()
