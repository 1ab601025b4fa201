"""write_reports(month): read the month's facts once, then write the csv, xlsx and html files atomically."""

from __future__ import annotations

import logging
import os
import time
from datetime import date
from pathlib import Path

from fsm import months
from fsm.config import settings
from fsm.report.collect import collect
from fsm.report.csv_out import FSM2_CSV_COLUMNS, csv_rows, fsm2_csv_rows, write_csv
from fsm.report.model import Report, plain
from fsm.warehouse import connect

log = logging.getLogger(__name__)

FSM2_CSV = "fsm2_result.csv"


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` at once: a reader never sees half a report."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_reports(month: date) -> dict[str, object]:
    """Write tranche_report.{csv,xlsx,html,pdf} (and fsm2_result.csv) for `month` under the reports folder/<YYYY-MM>/."""
    from fsm.report.charts import render_charts  # matplotlib, xlsxwriter and Jinja2 load only when a report is written
    from fsm.report.html import render_html
    from fsm.report.pdf import write_pdf  # ReportLab loads only here too
    from fsm.report.xlsx import write_xlsx

    t0 = time.perf_counter()
    month = month.replace(day=1)
    out = settings().reports_folder / months.label(month)
    out.mkdir(parents=True, exist_ok=True)
    with connect() as conn:
        # One consistent, read-only snapshot: a month's run rewriting the marts meanwhile cannot mix two states.
        import psycopg

        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        rep = collect(conn, month)
    if not rep.tranches and not rep.has_fsm2:
        log.warning("no FSM1 tranche status and no FSM2 result in the warehouse for %s: the report says so", rep.label)
    elif not rep.tranches:
        log.info("%s: FSM2 only (no FSM1 tranche status)", rep.label)
    if not rep.reconciled:
        log.error("report %s does not reconcile: %s", rep.label, rep.totals())
    timings = {"read": time.perf_counter() - t0}

    t1 = time.perf_counter()
    atomic_write(out / "tranche_report.csv", write_csv(csv_rows(rep)))
    files = ["tranche_report.xlsx", "tranche_report.html", "tranche_report.pdf", "tranche_report.csv"]
    if rep.has_fsm2:
        atomic_write(out / FSM2_CSV, write_csv(fsm2_csv_rows(rep), FSM2_CSV_COLUMNS))
        files.append(FSM2_CSV)
    else:
        (out / FSM2_CSV).unlink(missing_ok=True)  # a rerun reproduces the month: no stale FSM2 file
    timings["csv"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    tmp = out / "tranche_report.xlsx.tmp"
    sheets = write_xlsx(rep, tmp)
    os.replace(tmp, out / "tranche_report.xlsx")
    timings["xlsx"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    charts = render_charts(rep)
    timings["charts"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    atomic_write(out / "tranche_report.html", render_html(rep, charts).encode("utf-8"))
    timings["html"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    write_pdf(rep, out / "tranche_report.pdf", charts)  # atomically, like the others
    timings["pdf"] = time.perf_counter() - t1

    tot = rep.totals()
    seconds = time.perf_counter() - t0
    log.info(
        "report for %s: %d municipalities, %d rows, due %s DKK, earned to date %s DKK%s%s, in %s (%.2fs: %s)",
        rep.label,
        len(rep.kommuner),
        len(rep.tranches),
        tot["due"],
        tot["earned"],
        " [INTERNAL]" if rep.internal else "",
        f"; FSM2 {len(rep.fsm2_codes)} municipalities" if rep.has_fsm2 else "",
        out,
        seconds,
        {k: round(v, 2) for k, v in timings.items()},
    )
    return {
        "month": rep.label,
        "dir": str(out),
        "rows": len(rep.tranches),
        "earned_dkk": str(tot["earned"]),
        "due_dkk": str(tot["due"]),
        "granted_dkk": str(tot["granted"]),
        "outstanding_dkk": str(tot["outstanding"]),
        "municipalities": len([k for k in rep.kommuner if k.tranches]),
        "reconciled": rep.reconciled,
        "internal": rep.internal,
        "sheets": sheets,
        "files": files,
        "fsm2": _fsm2_summary(rep),
        "seconds": round(seconds, 2),
    }


def _fsm2_summary(rep: Report) -> dict[str, object] | None:
    """FSM2 in the task's return value (XCom): counts and shares only."""
    if not rep.has_fsm2:
        return None
    nat = rep.fsm2_sum()
    return {
        "municipalities": len(rep.fsm2_codes),
        "indsatsgruppe": nat["indsatsgruppe_n"],
        "active": nat["active_n"],
        "share_pct": None if nat["share_pct"] is None else str(nat["share_pct"]),
        "met": {plain(t): rep.fsm2_n_met(t) for t in rep.fsm2_thresholds},
        "newly_met": len(rep.fsm2_newly_met()),
    }
