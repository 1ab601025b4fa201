"""The transformations: each programme's SQL models (transform.manifest) in order, in one transaction.

Every run computes the as-of months from project start to M in one set-based pass (tranche
status needs what each earlier month's own snapshot said, P5) and writes only the months it
owns: M for a monthly run, all of them for a backfill. Month-by-month and backfill therefore
produce identical rows, and running months out of order changes nothing. A monthly run takes
an earlier month's rows from the warehouse instead when its inputs are provably unchanged
(fsm.transform.history).
"""

from __future__ import annotations

import logging
import time
from datetime import date

from fsm import months
from fsm.config import Rules, rules, settings
from fsm.report.basis import fill_english
from fsm.transform import history, manifest, run_log, what_if
from fsm.transform.run_log import RunInfo
from fsm.warehouse import connect, render_sql, sql_file

log = logging.getLogger(__name__)


def programme_periods() -> dict[str, tuple[date, date]]:
    """Each chosen programme's first and last month (F9; the programmes setting narrows them, e.g. to FSM1)."""
    r = rules()
    periods = {"FSM1": (r.project_start.replace(day=1), r.project_last_month), "FSM2": (r.fsm2_first_month, r.fsm2_last_month)}
    return {p: periods[p] for p in settings().programmes if p in periods}


def active_programmes(month: date) -> list[str]:
    """The programmes whose period covers `month`."""
    return [p for p, (first, last) in programme_periods().items() if first <= month <= last]


def run_month(
    month: date, write_all_months: bool = False, run: RunInfo | None = None, rules_: Rules | None = None
) -> dict[str, object]:
    """Every programme active in `month`, each in its own transaction; a backfill (`write_all_months`) writes
    every programme that had started by `month`, up to `month` or the programme's own last month. A what-if run
    (run.what_if) computes under `rules_` and writes beside the official rows (schema what_if), never into them."""
    run = run or RunInfo()
    if write_all_months:  # 2017-08 … M: FSM1's months too when M is after FSM1 ended
        upto = {p: min(month, last) for p, (first, last) in programme_periods().items() if first <= month}
    else:
        upto = dict.fromkeys(active_programmes(month), month)
    out: dict[str, object] = {"month": months.label(month), "programmes": list(upto)}
    if "FSM1" in upto:
        out["FSM1"] = run_fsm1(upto["FSM1"], write_all_months, run, rules_)
    if "FSM2" in upto:
        out["FSM2"] = run_fsm2(upto["FSM2"], write_all_months, run, rules_)
    return out


def run_fsm1(
    month: date, write_all_months: bool = False, run: RunInfo | None = None, rules_: Rules | None = None
) -> dict[str, object]:
    """Compute FSM1 as of every month from project start to `month`; write `month` (or all)."""
    r = rules_ or rules()
    first = r.project_start.replace(day=1)
    if month < first:
        raise ValueError(f"{months.label(month)} is before the FSM1 project start {months.label(first)}")
    return _run(manifest.FSM1, first, month, write_all_months, run or RunInfo(), r)


def run_fsm2(
    month: date, write_all_months: bool = False, run: RunInfo | None = None, rules_: Rules | None = None
) -> dict[str, object]:
    """FSM2 (F1–F9) as of every month from its start to `month`; write `month` (or all)."""
    r = rules_ or rules()
    first = r.fsm2_first_month
    if month < first:
        raise ValueError(f"{months.label(month)} is before the FSM2 start {months.label(first)}")
    return _run(manifest.FSM2, first, month, write_all_months, run or RunInfo(), r)


def _run(prog: manifest.Programme, first: date, month: date, write_all_months: bool, run: RunInfo, r: Rules) -> dict[str, object]:
    programme = prog.name
    where_programme = f"programme = '{programme}' and " if prog.shared_marts else ""
    every = list(months.month_range(first, month))
    write = every if write_all_months else [month]
    params = {**r.sql_params(), "first_month": first, "last_month": month, "write_months": write, "compute_months": every}
    timings: dict[str, float] = {}
    written: dict[str, int] = {}
    with connect() as conn:
        # Two runs of the same programme must not interleave their delete+insert (issue 9).
        lock = f"{programme.lower()}-marts" + (f"-what-if-{run.what_if}" if run.what_if else "")
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (lock,))
        t0 = time.perf_counter()
        official = run.what_if is None
        now = history.fingerprints(conn, prog, params, every) if official else {}
        reused = (
            history.reusable(conn, prog, where_programme, now, month)
            if official and not write_all_months and settings().reuse_history
            else []
        )
        params["compute_months"] = [m for m in every if m not in set(reused)]
        timings["history"] = round(time.perf_counter() - t0, 3)
        for model in prog.intermediates:
            t0 = time.perf_counter()
            conn.execute(f"create temp table {model} on commit drop as {sql_file(f'intermediate/{model}.sql', params)}")
            conn.execute(f"analyze {model}")
            timings[model] = round(time.perf_counter() - t0, 3)
        for mart in prog.marts:
            t0 = time.perf_counter()
            conn.execute(f"create temp table {mart.name}_all on commit drop as {sql_file(f'marts/{mart.name}.sql', params)}")
            if mart.history and reused:  # the earlier months whose inputs are unchanged, as written then
                conn.execute(
                    f"insert into {mart.name}_all ({mart.column_list}) select {mart.column_list} from {mart.name}"
                    f" where {where_programme}as_of_month = any(%s) and {render_sql(mart.history_rows, params)}",
                    (reused,),
                )
            conn.execute(f"analyze {mart.name}_all")
            fill_english(conn, mart.name, write)  # the English basis/grant_source from the mart's facts (fsm.report.basis)
            cols = mart.column_list
            if run.what_if is None:  # the official rows
                conn.execute(f"delete from {mart.name} where {where_programme}as_of_month = any(%s)", (write,))
                cur = conn.execute(
                    f"insert into {mart.name} ({cols}) select {cols} from {mart.name}_all where as_of_month = any(%s) order by 1, 2, 3, 4",
                    (write,),
                )
            else:  # beside them, keyed by the what-if name
                table = what_if.twin(conn, mart)
                conn.execute(
                    f"delete from {table} where what_if = %s and {where_programme}as_of_month = any(%s)", (run.what_if, write)
                )
                cur = conn.execute(
                    f"insert into {table} (what_if, {cols}) select %s, {cols} from {mart.name}_all where as_of_month = any(%s)"
                    " order by 1, 2, 3, 4, 5",
                    (run.what_if, write),
                )
            written[mart.name] = cur.rowcount
            timings[mart.name] = round(time.perf_counter() - t0, 3)
        snap = conn.execute("select snapshot_date from int_asof_months where as_of_month = %s", (month,)).fetchone()
        run_log.record(conn, programme, write, [mart.name for mart in prog.marts], r, run)
        if official:
            history.record(conn, prog, where_programme, now, write)
    log.info(
        "%s %s: wrote %s in %.1fs, %d earlier as-of months reused (%s)",
        programme, months.label(month), written, sum(timings.values()), len(reused), timings,
    )  # fmt: skip
    return {
        "month": months.label(month),
        "months_written": len(write),
        "months_reused": len(reused),
        "snapshot_date": snap[0].isoformat() if snap and snap[0] else None,
        "rows_written": written,
        "seconds": round(sum(timings.values()), 2),
    }
