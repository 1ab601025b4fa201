"""The no-op twin of `fsm_monthly_monitoring` for `make bench` (`overhead_s`: Airflow's fixed cost).

The twin is the real DAG object, loaded from dags/fsm_monthly_monitoring.py, with every function
its tasks call in `fsm.pipeline` replaced by one that returns at once. Every task of the DAG
imports its work from `fsm.pipeline` when it runs (the DAG file is a declaration), so the twin
has, by construction, the same dag_id, task ids, task groups, dependencies, operator kinds
(the reschedule sensor, `multiple_outputs` tasks), XCom passing, callbacks, deadline and
params as the real one, and `dag.test()` parses the same dags folder for it. What is left when
it runs is what Airflow costs per run: serialising the DAG, syncing the bundle, the scheduling
loop, the task runner, XCom and state writes to the metadata DB.

`tests/dev/test_bench.py` checks that every `fsm.pipeline` function the DAG file names is replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from fsm import months


def _poke(month: date, waiting_since=None) -> list[str]:
    return []


def _options(params: dict) -> dict[str, object]:
    return {"backfill": bool(params.get("backfill")), "what_if": None}


def _prepare_warehouse() -> dict[str, object]:
    return {"warehouse": "noop", "migrations_applied": []}


def _ingest(feed: str, month: date) -> dict[str, object]:
    return {"feed": feed, "files_loaded": 0, "files_skipped": 0, "rows_read": 0, "rows_loaded": 0, "rows_rejected": 0}


def _transform(
    month: date, backfill: bool = False, run_id: str | None = None, started_at=None, what_if: dict | None = None
) -> dict[str, object]:
    return {"month": months.label(month), "programmes": []}


def _quality_inputs(month: date) -> dict[str, object]:
    return {"month": months.label(month), "suites": 0, "failed": 0, "data_docs": ""}


def _quality_markings(month: date, backfill: bool = False) -> dict[str, object]:
    return {"month": months.label(month), "violations": {}, "data_docs": ""}


def _quality_marts(month: date) -> dict[str, object]:
    return {"month": months.label(month), "suites": 0, "failed": 0, "data_docs": ""}


def _report(month: date, backfill: bool = False, what_if: dict | None = None) -> dict[str, object]:
    return {"month": months.label(month), "dir": None}


NOOPS = {
    "poke": _poke,
    "options": _options,
    "prepare_warehouse": _prepare_warehouse,
    "ingest": _ingest,
    "transform": _transform,
    "quality_inputs": _quality_inputs,
    "quality_markings": _quality_markings,
    "quality_marts": _quality_marts,
    "report": _report,
}


@contextmanager
def noop_pipeline() -> Iterator[None]:
    """Within the block, every task of `fsm_monthly_monitoring` does no data work."""
    from fsm import pipeline

    saved = {name: getattr(pipeline, name) for name in NOOPS}
    try:
        for name, fn in NOOPS.items():
            setattr(pipeline, name, fn)
        yield
    finally:
        for name, fn in saved.items():
            setattr(pipeline, name, fn)
