"""The report's facts read from the warehouse in one transaction: counts, amounts and basis facts, never a person."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from fsm import months
from fsm.config import kommuner, rules, settings
from fsm.report.model import Report

log = logging.getLogger(__name__)

# basis_args is read as its jsonb text so its numbers stay exact (fsm.report.basis.parse_args)
TRANCHE_SQL = (
    "select kommune_kode, kommune_navn, tranche, tranche_pct, grant_dkk, amount_dkk, earned, earned_month, basis,"
    " grant_source, basis_code, basis_args::text as basis_args, grant_source_code"
    " from mart_tranche_status where as_of_month = %s and programme = 'FSM1' order by kommune_kode, tranche"
)
REQUIREMENT_SQL = (
    "select kommune_kode, threshold_pct, met, met_month, basis, basis_code, basis_args::text as basis_args"
    " from mart_fsm2_requirement where as_of_month = %s order by kommune_kode, threshold_pct"
)

PAYMENT_SQL = (  # F10
    "select kommune_kode, kommune_navn, part, part_pct, grant_dkk, amount_dkk, earned, earned_month, basis,"
    " grant_source, basis_code, basis_args::text as basis_args, grant_source_code"
    " from mart_fsm2_payment_status where as_of_month = %s order by kommune_kode, part"
)


def tranche_rows(conn, month: date) -> list[dict[str, object]]:
    return _dicts(conn.execute(TRANCHE_SQL, (month,)))


def _dicts(cur) -> list[dict[str, object]]:
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def collect(conn, month: date, lang: str | None = None) -> Report:
    """Everything the report shows, read in one transaction. Counts and amounts only."""
    prev = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
    p = {"m": month, "prev": prev, "last_day": months.last_day(month)}
    visitation = _dicts(
        conn.execute(
            "select kommune_kode, kommune_navn, target_n, visited_n, group1_n, group2_n, group3_n, deferred_n,"
            " unvisited_n, left_unvisited_n, coverage_pct, coverage_met, pjf_n, snapshot_date"
            " from mart_visitation_progress where as_of_month = %(m)s and programme = 'FSM1' order by kommune_kode",
            p,
        )
    )
    activity = _dicts(
        conn.execute(
            "select kommune_kode, activity_month, cohort_n, active_n, share_pct, meets_threshold"
            " from mart_activity_share where as_of_month = %(m)s and programme = 'FSM1'"
            " order by kommune_kode, activity_month",
            p,
        )
    )
    dq_counts = conn.execute(
        "select kommune_kode, rule_id, count(*)::int from dq_marking_violations"
        " where as_of_month = %(m)s group by 1, 2 order by 1, 2",
        p,
    ).fetchall()
    same = (  # DQ findings of both programmes: FSM2 rules have their own rule ids
        "q.as_of_month = %(other)s and q.programme = d.programme and q.rule_id = d.rule_id and q.marking_id = d.marking_id"
        " and q.other_marking_id = d.other_marking_id and q.person_key = d.person_key"
    )
    dq_prev_totals = dict(
        conn.execute(
            "select kommune_kode, count(*)::int from dq_marking_violations where as_of_month = %(prev)s group by 1", p
        ).fetchall()
    )
    dq_new = conn.execute(
        "select d.kommune_kode, d.rule_id, count(*)::int from dq_marking_violations as d"
        " where d.as_of_month = %(m)s"
        f" and not exists (select 1 from dq_marking_violations as q where {same})"
        " group by 1, 2 order by 1, 2",
        {**p, "other": prev},
    ).fetchall()
    dq_resolved = dict(
        conn.execute(
            "select d.rule_id, count(*)::int from dq_marking_violations as d"
            " where d.as_of_month = %(prev)s"
            f" and not exists (select 1 from dq_marking_violations as q where {same})"
            " group by 1",
            {**p, "other": month},
        ).fetchall()
    )
    dq_history = conn.execute(
        "select as_of_month, rule_id, count(*)::int from dq_marking_violations"
        " where as_of_month <= %(m)s group by 1, 2 order by 1, 2",
        p,
    ).fetchall()
    deliveries = _dicts(
        conn.execute(
            "select feed, file_name, period, rows_read, rows_loaded, rows_rejected, loaded_at from ingest_file"
            " where period <= %(last_day)s order by feed, period, file_name, file_id",
            p,
        )
    )
    run_log = _dicts(
        conn.execute(
            "select distinct on (programme, step) programme, step, run_id, code_version, snapshot_file, snapshot_date,"
            " register_files, rows_written, finished_at from run_log"  # the newest run of the month made the figures
            " where as_of_month = %(m)s and programme in ('FSM1', 'FSM2') and what_if is null"
            " order by programme, step, finished_at desc",
            p,
        )
    )
    # FSM2: counts per municipality, activity month and origin as of M (≤ 31 × 36 × 4 rows), and the requirements
    fsm2_rows = _dicts(
        conn.execute(
            "select kommune_kode, activity_month, herkomst, target_n, group2_n, exempt_n, indsatsgruppe_n, active_n,"
            " share_pct from mart_fsm2_result where as_of_month = %(m)s order by kommune_kode, activity_month, herkomst",
            p,
        )
    )
    fsm2_req = _dicts(conn.execute(REQUIREMENT_SQL, (month,)))
    fsm2_prev_req = _dicts(conn.execute(REQUIREMENT_SQL, (prev,))) if fsm2_rows else []
    fsm2_pay = _dicts(conn.execute(PAYMENT_SQL, (month,))) if fsm2_rows else []
    for lg in run_log:  # timestamps as finance reads them
        if lg["finished_at"] is not None:
            lg["finished_at"] = lg["finished_at"].astimezone(months.COPENHAGEN)
    names = dict(conn.execute("select kommune_kode, kommune_navn from ref_kommuner").fetchall()) or dict(kommuner())
    tranches = tranche_rows(conn, month)
    legacy = sum(1 for r in (*tranches, *fsm2_req) if not r["basis_code"])
    if legacy:
        log.warning(
            "%s: %d mart rows have no basis_code (written before V005): their stored English basis is shown;"
            " rerun the month to have them from facts",
            months.label(month),
            legacy,
        )
    s = settings()
    return Report(
        month=month,
        prev_month=prev,
        lang=lang or s.report_lang,
        rules=rules(),
        generated_at=datetime.now(months.COPENHAGEN).replace(microsecond=0),
        tranches=tranches,
        prev_tranches=tranche_rows(conn, prev),
        visitation=visitation,
        activity=activity,
        dq_counts=[tuple(r) for r in dq_counts],
        dq_new=[tuple(r) for r in dq_new],
        dq_prev_totals=dq_prev_totals,
        dq_resolved=dq_resolved,
        dq_history=[tuple(r) for r in dq_history],
        deliveries=deliveries,
        run_log=run_log,
        names=names,
        fsm2_rows=fsm2_rows,
        fsm2_req=fsm2_req,
        fsm2_prev_req=fsm2_prev_req,
        fsm2_pay=fsm2_pay,
        small_limit=s.report_small_count,
    )
