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
from fsm.warehouse import connect, sql_path

log = logging.getLogger(__name__)

MARKING_RULES = (
    "backdated_marking",
    "overlapping_group_marking",
    "duplicate_marking",
    "invalid_period",
    "marking_outside_target_group",
    "future_marking",
    "revalidering_without_group2",
)


class DataQualityError(RuntimeError):
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
        conn.execute("delete from dq_marking_violations where as_of_month = %s and programme = 'FSM1'", (month,))
        if params is None:
            log.warning("no markings snapshot extracted by the end of %s: nothing to check", months.label(month))
            return {"month": months.label(month), "violations": {}}
        for q in rule_queries(params):
            sql = q.sql.replace("{batch}", q.batch_table)
            cur = conn.execute(
                "insert into dq_marking_violations"
                " (as_of_month, programme, rule_id, marking_id, other_marking_id, kommune_kode, person_key, severity, detail)"
                f" select %s, 'FSM1', %s, v.marking_id, v.other_marking_id, v.kommune_kode, v.person_key, %s, v.detail"
                f" from ({sql}) as v on conflict do nothing",
                (month, q.rule_id, severity.get(q.rule_id, "warning")),
            )
            counts[q.rule_id] = cur.rowcount
    log.info("marking rules for %s: %s", months.label(month), counts)
    return {"month": months.label(month), "violations": counts}


# Input checks: (name, SQL counting offending rows among the files month M may see).
INPUT_CHECKS = {
    "ydelse: one row per citizen and ISO week in a delivery": """
        select coalesce(sum(n - 1), 0) from (
            select count(*) as n from stg_ydelse y join ingest_file f using (file_id)
            where f.period <= %(month)s group by y.file_id, y.person_key, y.iso_week having count(*) > 1) d""",
    "timer: hours >= 0": """
        select count(*) from stg_timer t join ingest_file f using (file_id) where f.period <= %(month)s and t.hours < 0""",
    "markings: marking_id unique within a snapshot": """
        select coalesce(sum(n - 1), 0) from (
            select count(*) as n from stg_markings m join ingest_file f using (file_id)
            where f.period <= %(last_day)s group by m.file_id, m.marking_id having count(*) > 1) d""",
}


def check_inputs(month: date) -> dict[str, object]:
    failed = {}
    with connect() as conn:
        for name, sql in INPUT_CHECKS.items():
            n = conn.execute(sql, {"month": month, "last_day": months.last_day(month)}).fetchone()[0]
            if n:
                failed[name] = int(n)
    if failed:
        raise DataQualityError(
            "input suite failed for " + months.label(month) + ": " + "; ".join(f"{k}: {v} row(s)" for k, v in failed.items())
        )
    return {"month": months.label(month), "checks": len(INPUT_CHECKS), "failed": 0}
