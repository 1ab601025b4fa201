"""A backfill's reports: every month's finance report and feedback files, written by a few processes at once.

A month's report is independent of every other month's (it reads one as-of month's marts and writes its
own folder), and rendering it is CPU-bound Python (matplotlib, ReportLab, xlsxwriter): with one process
per core (the report_workers setting) a 50-month backfill writes its reports in about 1/cores of the time.

The workers are `python -m fsm.report.batch MONTH …` child processes rather than a multiprocessing pool:
a spawned pool re-imports the parent's __main__ (an Airflow CLI, a Celery worker, a test runner, stdin),
and a forked one inherits the task process's threads (the Task SDK's supervisor link) in an unknown
state. A child gets the warehouse URL the task resolved (an Airflow connection lookup needs the task's
context) and logs to the task's own stdout/stderr, which the task log captures.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date

from fsm.config import env_name, settings

log = logging.getLogger(__name__)


def write_months(ms: list[date], workers: int | None = None) -> dict[date, list[str]]:
    """write_reports and write_feedback for each month of `ms`; the files written per month."""
    n = min(workers or settings().report_workers, len(ms))
    if n <= 1:
        return {m: write_one(m) for m in ms}
    from fsm import warehouse

    env = {**os.environ, env_name("warehouse_url"): warehouse.url(), "PYTHONPATH": os.pathsep.join(sys.path)}
    chunks = [ms[i::n] for i in range(n)]  # interleaved: later months (more history to draw) spread evenly
    log.info("writing %d months' reports in %d processes", len(ms), n)
    procs = [
        subprocess.Popen([sys.executable, "-m", "fsm.report.batch", *(m.isoformat() for m in chunk)], env=env) for chunk in chunks
    ]
    failed = [(chunk, code) for chunk, p in zip(chunks, procs, strict=True) if (code := p.wait()) != 0]
    if failed:
        which = "; ".join(f"{', '.join(m.isoformat()[:7] for m in c)} (exit {code})" for c, code in failed)
        raise RuntimeError(f"report worker(s) failed for {which}: see their lines above in this log")
    return {m: _files(m) for m in ms}


def write_one(m: date) -> list[str]:
    from fsm.report.feedback import write_feedback
    from fsm.report.write import write_reports

    files = write_reports(m)["files"]
    write_feedback(m)
    return files


def _files(m: date) -> list[str]:
    """What a worker wrote for `m` (the report files; the same names write_reports returns)."""
    from fsm import months
    from fsm.report.write import FSM2_CSV

    folder = settings().reports_folder / months.label(m)
    names = ["tranche_report.xlsx", "tranche_report.html", "tranche_report.pdf", "tranche_report.csv", FSM2_CSV]
    return [name for name in names if (folder / name).exists()]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for arg in sys.argv[1:]:
        write_one(date.fromisoformat(arg))
