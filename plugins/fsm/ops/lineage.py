"""Lineage of `fsm_monthly_monitoring`: what each task read and wrote, for OpenLineage and Airflow's Assets.

Datasets are named by URIs OpenLineage understands (the Postgres provider and common-io register them):

- warehouse tables: `postgres://<host>:<port>/<database>/public/<table>` for the warehouse the run
  really used (fsm.warehouse.url(), resolved inside the task; a Unix-socket warehouse, e.g. the
  embedded one, is `localhost:<port>`). OpenLineage: namespace `postgres://<host>:<port>`, name
  `<database>.public.<table>`.
- reports: `file://<reports folder>/<YYYY-MM>/<file>` (config.reports_dir); the landing zone a feed is read from:
  `file://<landing root>/<folder>` (config.landing_root) (OpenLineage: namespace `file`, name the absolute path). An
  `s3://…` landing zone is named too but needs the Amazon provider to reach OpenLineage.

The warehouse's host is known only inside a task, so the DAG file declares static, named Assets for
scheduling and the UI (no connection at parse time), each written by exactly one task and so updated once a
run: `fsm.staging.<feed>` (ingest_<feed>), `fsm.marts` (build_marts), `fsm.tranche_report` (write_report).
At the task boundary fsm.pipeline calls `emit(month, inputs, outputs)` with the real URIs:

- the task's Asset event gets `extra = {"month": "YYYY-MM", "backfill": …, "uris": [what it wrote]}`;
- inputs and outputs go to Airflow's hook lineage collector, from which the OpenLineage listener takes
  the task's inputs and outputs (`get_hook_lineage_collector()`; a no-op while OpenLineage is disabled):
  OpenLineage sees each table and file under its real name, once a run, in the event of its writer;
- the month reaches every OpenLineage task event as the run facet `fsm` (`month_run_facet`, configured
  with `AIRFLOW__OPENLINEAGE__CUSTOM_RUN_FACETS=fsm.ops.lineage.month_run_facet`).

`task_started` (the DAG's `on_execute_callback`) empties the process-wide collector first: `dag.test()`
runs every task of every month in one process, which would otherwise hand a task its predecessors'
datasets. A worker runs each task in a fresh process, where it changes nothing. (Under `dag.test()` a
task's START event, emitted before that callback, still shows the previous task's datasets; its COMPLETE
event is exact. On a worker START events carry none: runtime lineage is known at completion.)

With no transport configured ([openlineage] transport, OPENLINEAGE_URL, …) the provider disables itself:
no listener, a no-op collector, no event; the Asset events are Airflow's own and cost a few milliseconds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

SCHEMA = "public"  # the warehouse's DDL (include/sql/schema) creates every table in the default schema
_TABLE_REF = re.compile(r"\b((?:stg|mart|dq|ref)_[a-z0-9_]+)\b")


class _FsmLineage:
    """The hook-lineage 'context' our datasets are registered under (the collector keys on its identity)."""

    def __repr__(self) -> str:
        return "fsm.ops.lineage"


LINEAGE_CONTEXT = _FsmLineage()


# --- names ---------------------------------------------------------------------------------


def warehouse_netloc_and_db() -> tuple[str, str]:
    """`host:port` and the database of the warehouse this process uses (never its credentials)."""
    from psycopg.conninfo import conninfo_to_dict

    from fsm import warehouse

    info = conninfo_to_dict(warehouse.url())
    host = str(info.get("host") or "localhost").split(",")[0]
    if host.startswith("/") or host.startswith("@"):  # a Unix socket directory: the server on this host
        host = "localhost"
    port = str(info.get("port") or "5432").split(",")[0]
    return f"{host}:{port}", str(info.get("dbname") or info.get("user") or "postgres")


def table_uri(table: str) -> str:
    netloc, database = warehouse_netloc_and_db()
    return f"postgres://{netloc}/{database}/{SCHEMA}/{table}"


def file_uri(path: str | Path) -> str:
    text = str(path)
    if "://" in text:  # an fsspec URL (s3://bucket/…) is its own name
        return text.rstrip("/")
    return "file://" + quote(str(Path(text).resolve()))


def report_uris(month: date, files: Iterable[str]) -> list[str]:
    from fsm import months
    from fsm.config import settings

    folder = settings().reports_folder / months.label(month)
    return [file_uri(folder / name) for name in files]


def landing_uri(feed: str) -> str:
    from fsm.contract import FEEDS
    from fsm.ingest.landing import LandingZone

    return file_uri(f"{LandingZone().root}/{FEEDS[feed].folder}")


def tables_in_sql(*relative_paths: str) -> list[str]:
    """The stg_/mart_/dq_/ref_ tables a set of SQL files under include/sql/ mention (what they read)."""
    from fsm.config import SQL_DIR

    found: set[str] = set()
    for rel in relative_paths:
        for path in sorted(SQL_DIR.glob(rel)):
            found |= set(_TABLE_REF.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


def staging_read_by(programmes: Iterable[str]) -> list[str]:
    """The staging tables the models of these programmes read (from their SQL files)."""
    from fsm.transform import manifest

    files = []
    for name in programmes:
        prog = manifest.PROGRAMMES[name]
        files += [f"intermediate/{m}.sql" for m in prog.intermediates] + [f"marts/{m.name}.sql" for m in prog.marts]
    return [t for t in tables_in_sql(*files) if t.startswith("stg_")]


def marts_of(programmes: Iterable[str]) -> list[str]:
    from fsm.transform import manifest

    return [mart.name for name in programmes for mart in manifest.PROGRAMMES[name].marts]


# --- emission ------------------------------------------------------------------------------


def _current_context():
    try:
        from airflow.sdk import get_current_context

        return get_current_context()
    except RuntimeError:  # not inside a task (a test or a script calling fsm.pipeline directly)
        return None


def task_started(context=None) -> None:
    """on_execute_callback: start the task with an empty hook lineage collector (see the module doc)."""
    try:
        from airflow.sdk import lineage

        lineage.get_hook_lineage_collector.cache_clear()
    except Exception:  # lineage must never fail a task
        log.debug("hook lineage collector not reset", exc_info=True)


def emit(month: date, *, inputs: Iterable[str] = (), outputs: Iterable[str] = (), backfill: bool = False) -> None:
    """What the running task read and wrote (URIs from this module), told to Airflow and OpenLineage.

    Outside a task it does nothing; a failure here is logged, never raised (the data is already written)."""
    context = _current_context()
    if context is None:
        return
    try:
        _emit(context, month, list(dict.fromkeys(inputs)), list(dict.fromkeys(outputs)), backfill)
    except Exception:
        log.warning("lineage of %s not recorded", getattr(context.get("ti"), "task_id", "?"), exc_info=True)


def _emit(context, month: date, inputs: list[str], outputs: list[str], backfill: bool) -> None:
    from airflow.sdk import Asset
    from airflow.sdk.lineage import get_hook_lineage_collector

    from fsm import months

    extra = {"month": months.label(month), "backfill": backfill, "uris": outputs}
    collector = get_hook_lineage_collector()
    for uri in inputs:
        collector.add_input_asset(context=LINEAGE_CONTEXT, uri=uri)
    for uri in outputs:
        collector.add_output_asset(context=LINEAGE_CONTEXT, uri=uri)
    for asset in getattr(context.get("task"), "outlets", None) or []:
        if isinstance(asset, Asset):  # the task's own Asset: its one event of the run says what and when
            context["outlet_events"][asset].extra = extra
    log.info("lineage %s: read %s; wrote %s", extra["month"], inputs or "-", outputs or "-")


def month_run_facet(task_instance, ti_state) -> dict:
    """[openlineage] custom_run_facets: the run facet `fsm` = {month, backfill} on every task event."""
    from fsm import months

    get_context = getattr(task_instance, "get_template_context", None)
    if get_context is None:  # the scheduler's manual state changes: no task context to read
        return {}
    context = get_context()
    params = context.get("params") or {}
    month = months.as_of_month(params, context.get("data_interval_start"))
    return {"fsm": _month_facet()(month=months.label(month), backfill=bool(params.get("backfill")))}


_FACET_CLASS = None


def _month_facet():
    """The facet class, built on first use (openlineage-python loads only where OpenLineage is enabled)."""
    global _FACET_CLASS
    if _FACET_CLASS is None:
        import attr
        from openlineage.client.facet_v2 import RunFacet

        @attr.define
        class FsmRunFacet(RunFacet):
            """The as-of month a run of fsm_monthly_monitoring computes, and whether it is a backfill."""

            month: str
            backfill: bool = False

        _FACET_CLASS = FsmRunFacet
    return _FACET_CLASS


# --- what each task of the DAG reads and writes (called by fsm.pipeline at the task boundary) -------


def ingested(feed: str, month: date) -> None:
    """ingest_<feed>: the feed's landing folder → its staging table."""
    from fsm.contract import FEEDS

    emit(month, inputs=[landing_uri(feed)], outputs=[table_uri(FEEDS[feed].staging_table)])


def checked(month: date, reads: Iterable[str], writes: Iterable[str] = (), backfill: bool = False) -> None:
    """A quality task: the tables its suites or rules read (and dq_marking_violations when it writes it)."""
    emit(month, inputs=[table_uri(t) for t in reads], outputs=[table_uri(t) for t in writes], backfill=backfill)


def marking_rule_tables() -> list[str]:
    """What the marking rules (include/sql/dq/*.sql) read."""
    return [t for t in tables_in_sql("dq/*.sql") if t.startswith("stg_")]


def built(month: date, programmes: Iterable[str], backfill: bool = False) -> None:
    """build_marts: the staging tables the programmes' models read → the marts it wrote."""
    programmes = list(programmes)
    emit(
        month,
        inputs=[table_uri(t) for t in staging_read_by(programmes)],
        outputs=[table_uri(t) for t in marts_of(programmes)],
        backfill=backfill,
    )


def reported(month: date, files_by_month: dict[date, list[str]], backfill: bool = False) -> None:
    """write_report: every mart and the marking violations → the report files it wrote (each month's, in a backfill)."""
    from fsm.transform import manifest

    reads = [*marts_of(manifest.PROGRAMMES), "dq_marking_violations"]
    outputs = [uri for m, files in files_by_month.items() for uri in report_uris(m, files)]
    emit(month, inputs=[table_uri(t) for t in reads], outputs=outputs, backfill=backfill)
