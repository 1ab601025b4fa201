"""The FSM1 transformations: SQL models in include/sql run in dependency order, in one transaction.

Every run computes the as-of months from project start to M in one set-based pass (tranche
status needs what each earlier month's own snapshot said, P5) and writes only the months it
owns: M for a monthly run, all of them for a backfill. Month-by-month and backfill therefore
produce identical rows, and running months out of order changes nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from fsm import months
from fsm.config import rules
from fsm.warehouse import connect, sql_file

log = logging.getLogger(__name__)

# (model, file) in dependency order; intermediates become temp tables dropped at commit.
INTERMEDIATES = (
    "int_asof_months",
    "int_register_files",
    "int_markings_asof",
    "int_target_group",
    "int_group_periods",
    "int_citizen_status",
    "int_indsatsgruppe",
    "int_activity_pairs",
    "int_activity",
)
MARTS = ("mart_visitation_progress", "mart_activity_share", "mart_tranche_status")
MART_KEY_COLUMNS = {
    "mart_visitation_progress": (
        "as_of_month, programme, kommune_kode, kommune_navn, target_n, visited_n, group1_n, group2_n, group3_n,"
        " deferred_n, unvisited_n, left_unvisited_n, coverage_pct, coverage_met, pjf_n, snapshot_date"
    ),
    "mart_activity_share": "as_of_month, programme, kommune_kode, activity_month, cohort_n, active_n, share_pct, meets_threshold",
    "mart_tranche_status": (
        "as_of_month, programme, kommune_kode, tranche, kommune_navn, tranche_pct, grant_dkk, amount_dkk,"
        " earned, earned_month, basis, grant_source"
    ),
}


def run_fsm1(month: date, write_all_months: bool = False) -> dict[str, object]:
    """Compute FSM1 as of every month from project start to `month`; write `month` (or all)."""
    r = rules()
    first = r.project_start.replace(day=1)
    if month < first:
        raise ValueError(f"{months.label(month)} is before the FSM1 project start {months.label(first)}")
    write = list(months.month_range(first, month)) if write_all_months else [month]
    params = {**r.sql_params(), "first_month": first, "last_month": month, "write_months": write}
    timings: dict[str, float] = {}
    written: dict[str, int] = {}
    with connect() as conn:
        # Two runs of the same month must not interleave their delete+insert (issue 9).
        conn.execute("select pg_advisory_xact_lock(hashtext('fsm1-marts'))")
        for model in INTERMEDIATES:
            t0 = time.perf_counter()
            conn.execute(f"create temp table {model} on commit drop as {sql_file(f'intermediate/{model}.sql', params)}")
            conn.execute(f"analyze {model}")
            timings[model] = round(time.perf_counter() - t0, 3)
        for mart in MARTS:
            t0 = time.perf_counter()
            conn.execute(f"create temp table {mart}_all on commit drop as {sql_file(f'marts/{mart}.sql', params)}")
            conn.execute(f"analyze {mart}_all")
            cols = MART_KEY_COLUMNS[mart]
            conn.execute(f"delete from {mart} where programme = 'FSM1' and as_of_month = any(%s)", (write,))
            cur = conn.execute(
                f"insert into {mart} ({cols}) select {cols} from {mart}_all where as_of_month = any(%s) order by 1, 2, 3, 4",
                (write,),
            )
            written[mart] = cur.rowcount
            timings[mart] = round(time.perf_counter() - t0, 3)
        snap = conn.execute("select snapshot_date from int_asof_months where as_of_month = %s", (month,)).fetchone()
        for m in write:
            conn.execute(
                "insert into run_log (as_of_month, programme, step, snapshot_date, rows_written)"
                " values (%s, 'FSM1', 'transform', (select snapshot_date from int_asof_months where as_of_month = %s), %s)"
                " on conflict (as_of_month, programme, step) do update set snapshot_date = excluded.snapshot_date,"
                " rows_written = excluded.rows_written, finished_at = now()",
                (m, m, sum(written.values())),
            )
    log.info("FSM1 %s: wrote %s in %.1fs (%s)", months.label(month), written, sum(timings.values()), timings)
    return {
        "month": months.label(month),
        "months_written": len(write),
        "snapshot_date": snap[0].isoformat() if snap and snap[0] else None,
        "rows_written": written,
        "seconds": round(sum(timings.values()), 2),
    }
