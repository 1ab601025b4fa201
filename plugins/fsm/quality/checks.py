"""Data quality: the marking rules of DOMAIN's DQ table, and the input suites.

Marking rules never stop a run: their rows go to `dq_marking_violations` for the as-of month.
An input suite that fails raises `DataQualityError` saying which check failed on how many rows.
The SQL of each marking rule lives in include/sql/dq/<rule_id>.sql, written against GX's
`{batch}` placeholder so the same query can drive an UnexpectedRowsExpectation.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from fsm import months
from fsm.config import rules
from fsm.contract import MARKING_RULES
from fsm.errors import PermanentError
from fsm.warehouse import connect, sql_path

log = logging.getLogger(__name__)


class DataQualityError(PermanentError, RuntimeError):
    pass


@dataclass(frozen=True)
class RuleQuery:
    rule_id: str
    batch_table: str  # the table GX's {batch} stands for
    sql: str  # rendered, still containing {batch}


def _snapshot_context(conn, month: date) -> dict[str, object] | None:
    row = conn.execute(
        "select file_id, period from ingest_file where feed = 'markings' and period <= %s"
        " order by period desc, file_id desc limit 1",
        (months.last_day(month),),
    ).fetchone()
    if row is None:
        return None
    ydelse = conn.execute(
        "select file_id from ingest_file where feed = 'ydelse' and period = %s order by loaded_at desc, file_id desc limit 1",
        (month,),
    ).fetchone()
    return {
        **rules().sql_params(),
        "snapshot_file_id": row[0],
        "extract_date": row[1],
        "as_of_month": month,
        "last_day": months.last_day(month),
        "ydelse_file_id": ydelse[0] if ydelse else -1,
        "project_start": rules().project_start,
        "backdating_grace_days": rules().backdating_grace_days,
    }


def rule_queries(params: dict[str, object]) -> list[RuleQuery]:
    from fsm.warehouse import render_sql

    out = []
    for rule_id in MARKING_RULES:
        text = sql_path(f"dq/{rule_id}.sql").read_text(encoding="utf-8")
        batch = re.search(r"^-- batch: (\w+)", text, re.M)
        out.append(RuleQuery(rule_id, batch.group(1) if batch else "stg_markings", render_sql(text, params)))
    return out


def check_markings(month: date) -> dict[str, object]:
    """Evaluate every marking rule on month M's snapshot; replace M's rows in dq_marking_violations."""
    severity = rules().dq_severity
    counts: dict[str, int] = {}
    with connect() as conn:
        params = _snapshot_context(conn, month)
        conn.execute("delete from dq_marking_violations where as_of_month = %s", (month,))
        if params is None:
            log.warning("no markings snapshot extracted by the end of %s: nothing to check", months.label(month))
            return {"month": months.label(month), "violations": {}}
        for q in rule_queries(params):
            sql = q.sql.replace("{batch}", q.batch_table)
            cur = conn.execute(
                "insert into dq_marking_violations"
                " (as_of_month, programme, rule_id, marking_id, other_marking_id, kommune_kode, person_key, severity, detail)"
                f" select %s, v.programme, %s, v.marking_id, v.other_marking_id, v.kommune_kode, p.person_key, %s, v.detail"
                f" from ({sql}) as v inner join dim_person as p on p.person_id = v.person_id"  # the rules join on person_id
                " on conflict do nothing",
                (month, q.rule_id, severity.get(q.rule_id, "warning")),
            )
            counts[q.rule_id] = cur.rowcount
    log.info("marking rules for %s: %s", months.label(month), counts)
    return {"month": months.label(month), "violations": counts}


INPUT_SUITES = ["stg_markings", "stg_ydelse", "stg_tilbud", "stg_timer", "stg_uddannelse"]
RULE_SUITES = ["dq_marking_rules", "dq_register_crosscheck"]
MART_SUITES = ["mart_visitation_progress", "mart_activity_share", "mart_tranche_status", "mart_fsm2_payment_status"]


def _params(month: date) -> dict[str, object]:
    with connect() as conn:
        params = _snapshot_context(conn, month)
    if params is None:
        raise DataQualityError(f"no markings snapshot extracted by the end of {months.label(month)}: nothing to check")
    return params


def _run_failing_suites(
    kind: str, suites: list[str], month: date, fresh_docs: bool = False, extra: dict[str, object] | None = None
) -> dict[str, object]:
    """Run suites that must pass; a failure raises, naming each expectation and its row count."""
    from fsm.quality.gx_runner import data_docs_dir, describe_failures, run_suites

    params = {**_params(month), **(extra or {})}
    # pass/fail first (no example rows: one scan fewer per expectation); a failing suite again with SUMMARY,
    # for the message's row counts and the Data Docs' examples
    outcomes = run_suites(suites, month, params, fresh_docs=fresh_docs, result_format="BOOLEAN_ONLY")
    failed = [o for o in outcomes if not o.success]
    if failed:
        failed = [o for o in run_suites([o.suite for o in failed], month, params) if not o.success] or failed
        raise DataQualityError(f"{kind} suite failed for {months.label(month)}: {describe_failures(failed)}")
    return {
        "month": months.label(month),
        "suites": len(outcomes),
        "failed": 0,
        "data_docs": str(data_docs_dir(month) / "index.html"),
    }


# The deliveries the input suites of month M check (issue 17): every delivery visible to M that arrived after
# the newest earlier month whose official figures were built (run_log; its run passed the input suites first),
# and that M still reads (the newest file of its feed and period visible to M: a corrected redelivery replaces
# the file it corrects). A delivery's month is its visible_from (P5: a register month from its period, a
# redelivery from the run that loaded it; a snapshot from its extract date).
#   steady state (M−1 built)       M's own deliveries (and any redelivery M's run loaded)
#   a cold run, a first backfill   everything visible to M: all the run loaded
#   after months never built       everything since the last built month (a month that failed its input
#                                  suites is not built: its deliveries fail the next month again, until a
#                                  corrected redelivery replaces the file)
#   a rerun of M                   the same files as M's first run (the months before M are unchanged)
NEW_DELIVERIES_SQL = """
with built as (
    select max(as_of_month) as month from run_log
    where step = 'transform' and what_if is null and as_of_month < %(m)s
), visible as (
    select file_id, feed, period, date_trunc('month', coalesce(visible_from, period))::date as month
    from ingest_file
    where feed = any(%(feeds)s) and date_trunc('month', coalesce(visible_from, period))::date <= %(m)s
)
select v.feed, v.file_id
from visible as v
where v.month > coalesce((select month from built), date '-infinity')
  and not exists (select 1 from visible as w where w.feed = v.feed and w.period = v.period and w.file_id > v.file_id)
order by v.feed, v.file_id
"""


def new_deliveries(month: date, feeds: list[str]) -> tuple[dict[str, list[int]], date | None]:
    """{feed: file ids} the input suites of `month` check, and the newest earlier month already built (or None)."""
    with connect() as conn:
        rows = conn.execute(NEW_DELIVERIES_SQL, {"m": month, "feeds": feeds}).fetchall()
        since = conn.execute(
            "select max(as_of_month) from run_log where step = 'transform' and what_if is null and as_of_month < %s",
            (month,),
        ).fetchone()[0]
    out: dict[str, list[int]] = {f: [] for f in feeds}
    for feed, file_id in rows:
        out[feed].append(int(file_id))
    return out, since


def check_inputs(month: date) -> dict[str, object]:
    """The input suites on the deliveries new to month M's run (new_deliveries); the first quality task starts
    the month's Data Docs afresh."""
    from fsm.contract import FEEDS

    feeds = {FEEDS[f].staging_table: f for f in FEEDS if FEEDS[f].staging_table in INPUT_SUITES}
    files, since = new_deliveries(month, sorted(feeds.values()))
    log.info(
        "input suites for %s: deliveries since %s: %s",
        months.label(month),
        months.label(since) if since else "the start",
        {f: len(ids) for f, ids in files.items()},
    )
    extra = {f"new_files_{feed}": files[feed] for feed in feeds.values()}
    out = _run_failing_suites("input", INPUT_SUITES, month, fresh_docs=True, extra=extra)
    out["checked_since"] = months.label(since) if since else None
    out["files_checked"] = {f: len(ids) for f, ids in files.items()}
    return out


def check_marts(month: date) -> dict[str, object]:
    """The mart suites on month M's rows (keys, percentages, tranches adding up to the grant)."""
    return _run_failing_suites("mart", MART_SUITES, month)


def check_markings_with_gx(month: date) -> dict[str, object]:
    """Write the violations, then let GX evaluate the same rule queries; both counts must agree."""
    from fsm.quality.gx_runner import data_docs_dir, run_suites

    written = check_markings(month)["violations"]
    outcomes = run_suites(RULE_SUITES, month, _params(month))
    gx_counts = {o.rule_id: o.unexpected_count for s in outcomes for o in s.outcomes if o.rule_id}
    errors = {o.rule_id: o.error for s in outcomes for o in s.outcomes if o.error}
    if errors:
        raise DataQualityError(f"marking rule query failed in GX: {errors}")
    disagree = {r: (written.get(r), gx_counts.get(r)) for r in MARKING_RULES if written.get(r) != gx_counts.get(r)}
    if disagree:
        raise DataQualityError(f"GX and dq_marking_violations disagree (table, GX): {disagree}")
    return {"month": months.label(month), "violations": written, "data_docs": str(data_docs_dir(month) / "index.html")}
