"""What each task of `fsm_monthly_monitoring` does, callable without a scheduler.

Every function takes the as-of month and returns a small JSON-able dict of counts
(it lands in XCom: never a CPR or a person_key).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from fsm import months
from fsm.config import env_name, settings
from fsm.contract import REGISTER_FEEDS
from fsm.errors import PermanentError
from fsm.ingest.landing import LandingZone
from fsm.ops import lineage

log = logging.getLogger(__name__)


def final_on_permanent_errors(fn: Callable) -> Callable:
    """At the task boundary: a PermanentError (bad file, bad setting, …) fails the task at once, without
    the DAG's retries (AirflowFailException); any other error is left to the retries with backoff."""

    @functools.wraps(fn)
    def task_function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PermanentError as exc:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"{exc} [{type(exc).__name__}: not retried, waiting cannot fix it]") from exc

    return task_function


def missing_files(month: date, root: str | None = None) -> list[str]:
    """What month M's run still waits for: a markings snapshot extracted in M, and M's register files."""
    zone = LandingZone(root)
    missing = []
    snapshots = [f for f in zone.files("markings") if months.next_month(month) > f.period >= month]
    if not snapshots:
        missing.append(f"markings/markings_{months.label(month)}-DD.csv (a snapshot extracted in {months.label(month)})")
    for feed in REGISTER_FEEDS:
        if not any(f.period == month for f in zone.files(feed)):
            missing.append(f"registers/{feed}/{feed}_{months.label(month)}.csv")
    return missing


class MissingFilesError(PermanentError, RuntimeError):
    """Month M's files did not arrive in time; the message names each missing file."""


def _no_programme_error(month: date) -> Exception:
    from airflow.sdk.exceptions import AirflowFailException

    from fsm.config import rules

    r = rules()
    return AirflowFailException(  # no retries: waiting cannot help
        f"no programme is monitored in {months.label(month)} (F9: FSM1 {r.project_start:%Y-%m} – "
        f"{r.project_last_month:%Y-%m}, FSM2 {r.fsm2_first_month:%Y-%m} – {r.fsm2_last_month:%Y-%m}; "
        f"{env_name('programmes')}={','.join(settings().programmes)}): trigger the run with a month in a period"
    )


@final_on_permanent_errors
def poke(month: date, waiting_since: datetime | None) -> list[str]:
    """The sensor's poke (wait_check at the task boundary): giving up after the wait limit is final."""
    return wait_check(month, waiting_since)


def wait_check(month: date, waiting_since: datetime | None, root: str | None = None) -> list[str]:
    """One poke of the sensor: what is still missing; past the wait limit, fail naming it all.

    A month outside every programme fails at once (a manual run left on 'last month' after FSM2 ended)."""
    from fsm.transform import active_programmes

    if not active_programmes(month):
        raise _no_programme_error(month)
    missing = missing_files(month, root)
    limit = timedelta(hours=settings().wait_hours)
    if missing and waiting_since is not None and datetime.now(UTC) - waiting_since > limit:
        raise MissingFilesError(
            f"gave up after waiting {limit} for month {months.label(month)}'s deliveries in {LandingZone(root).root}; "
            f"missing: {'; '.join(missing)}"
        )
    return missing


@final_on_permanent_errors
def prepare_warehouse() -> dict[str, object]:
    from fsm import warehouse

    applied = warehouse.migrate()
    return {"warehouse": warehouse.describe_url(), "migrations_applied": applied}


@final_on_permanent_errors
def ingest(feed: str, month: date) -> dict[str, object]:
    from fsm.ingest import ingest_feed

    out = ingest_feed(feed, month)
    lineage.ingested(feed, month)
    return out


@final_on_permanent_errors
def options(params: dict) -> dict[str, object]:
    """The trigger form's choices (fsm.ops.docs.trigger_form): backfill, or a what-if run (name and overrides)."""
    name, overrides = params.get("what_if_name"), params.get("what_if_rules") or {}
    if not name and overrides:
        from fsm.config import SettingsError

        raise SettingsError("what-if rule overrides were given without a what-if name: name the run, or clear the overrides")
    return {"backfill": bool(params.get("backfill")), "what_if": {"name": name, "rules": overrides} if name else None}


@final_on_permanent_errors
def transform(
    month: date,
    backfill: bool = False,
    run_id: str | None = None,
    started_at: datetime | None = None,
    what_if: dict | None = None,
) -> dict[str, object]:
    """The marts for M (or every month up to M); run_log records the Airflow run that made them. A what-if run
    (CONTRACT §2) computes M under its overrides into the what_if twins, never into the official marts."""
    from fsm.transform import run_month
    from fsm.transform import what_if as wi
    from fsm.transform.run_log import RunInfo

    if what_if:
        if backfill:
            from fsm.config import SettingsError

            raise SettingsError(f"what-if {what_if['name']!r}: a what-if run computes one month, not a backfill")
        name, rules_ = wi.validated(what_if["name"], what_if["rules"])
        run = RunInfo(run_id or RunInfo().run_id, started_at or datetime.now(UTC), what_if=name)
        return run_month(month, run=run, rules_=rules_)
    run = RunInfo(run_id, started_at or datetime.now(UTC)) if run_id else RunInfo()
    out = run_month(month, write_all_months=backfill, run=run)
    lineage.built(month, out["programmes"], backfill)
    return out


@final_on_permanent_errors
def quality_inputs(month: date) -> dict[str, object]:
    from fsm.quality import check_inputs
    from fsm.quality.checks import INPUT_SUITES

    out = check_inputs(month)
    lineage.checked(month, reads=INPUT_SUITES)
    return out


@final_on_permanent_errors
def quality_markings(month: date, backfill: bool = False) -> dict[str, object]:
    """Month M through GX; in a backfill the earlier months' violations too (same SQL), so a
    backfill leaves the same rows as month-by-month runs."""
    from fsm.config import rules
    from fsm.quality import check_markings, check_markings_with_gx

    if backfill:
        for m in months.month_range(rules().project_start, months.prev_month(month)):
            check_markings(m)
    out = check_markings_with_gx(month)
    lineage.checked(month, reads=lineage.marking_rule_tables(), writes=["dq_marking_violations"], backfill=backfill)
    return out


@final_on_permanent_errors
def quality_marts(month: date) -> dict[str, object]:
    from fsm.quality import check_marts
    from fsm.quality.checks import MART_SUITES

    out = check_marts(month)
    lineage.checked(month, reads=MART_SUITES)
    return out


@final_on_permanent_errors
def report(month: date, backfill: bool = False, what_if: dict | None = None) -> dict[str, object]:
    """The finance report for M and the municipalities' feedback files; a backfill writes every month's (oldest
    first). A what-if run writes its comparison report instead (what_if/<name>/ under the month's folder)."""
    from fsm.config import rules
    from fsm.report import write_reports
    from fsm.report.feedback import write_feedback

    if what_if:
        from fsm.report.what_if import write_comparison
        from fsm.transform import what_if as wi

        name, rules_ = wi.validated(what_if["name"], what_if["rules"])
        return write_comparison(month, name, rules_)
    written = {}
    if backfill:  # the earlier months' reports, a few processes at once (fsm.report.batch)
        from fsm.report.batch import write_months

        written = write_months(list(months.month_range(rules().project_start, months.prev_month(month))))
    out = write_reports(month)
    out["feedback"] = write_feedback(month)
    lineage.reported(month, {**written, month: out["files"]}, backfill)
    return out
