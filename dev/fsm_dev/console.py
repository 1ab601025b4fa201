"""What `make run` shows on the terminal: a progress bar (months, and the tasks of the run going on), one
line per month with its key figures, and at the end a summary of what came out and where to look.

Airflow's own log (every task's records, the scheduler loop of `dag.test`) goes to a file whose path is
printed first: the process's stdout and stderr (file descriptors 1 and 2, so child processes and
structlog's handlers too) are redirected to it, and the terminal keeps a duplicate of the original stdout.
The figures are read from the warehouse through the report's own `collect` and formatted by the
report's `Text` (Babel), so the terminal says what the reports say.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fsm import months
from fsm.report.model import national_coverage
from fsm.report.text import Text

DAG_TEST_LOGGER = "airflow.sdk.definitions.dag"  # dag.test's "[DAG TEST] starting task_id=%s …" records
t = Text("en")


@contextmanager
def airflow_log_to(path: Path):
    """From here to the process's end everything written to fds 1 and 2 goes to `path` (also what the embedded
    PostgreSQL's exit handlers log); yields a stream on the terminal's stdout. An error is shown on both."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush(), sys.stderr.flush()
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1), os.dup2(log, 2)
    os.close(log)
    try:
        yield terminal
    except BaseException as exc:
        if not isinstance(exc, SystemExit | KeyboardInterrupt):
            traceback.print_exc(file=terminal)
        raise
    finally:
        terminal.flush()


def terminal_console(stream) -> Console:
    """Rich on the terminal; piped (CI, `| tee`) it keeps a wide line rather than rich's 80 columns."""
    console = Console(file=stream, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(file=stream, highlight=False, soft_wrap=True, width=150)
    return console


class _TaskWatcher(logging.Handler):
    """Advances the task bar on dag.test's own 'starting task' / 'end task' records."""

    def __init__(self, progress: Progress, task_bar):
        super().__init__(logging.INFO)
        self.progress, self.bar = progress, task_bar

    def emit(self, record: logging.LogRecord) -> None:
        msg = str(record.msg)
        if msg.startswith("[DAG TEST] starting task_id="):
            self.progress.update(self.bar, description=f"  {record.args[0]}")
        elif msg.startswith("[DAG TEST] end task task_id="):
            self.progress.advance(self.bar)


class RunConsole:
    """The progress bar and the lines above it. Without a terminal (CI, a pipe) only the lines are printed."""

    def __init__(self, stream, n_months: int, n_tasks: int):
        self.console = terminal_console(stream)
        self.progress = Progress(
            TextColumn("{task.description:<40}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            redirect_stdout=False,  # rich would otherwise print what Airflow writes to sys.stdout above the bar
            redirect_stderr=False,
            transient=True,
            disable=not self.console.is_terminal,
        )
        self.months_bar = self.progress.add_task("months", total=n_months)
        self.task_bar = self.progress.add_task("  tasks", total=n_tasks)
        self.n_tasks = n_tasks
        self.watcher = _TaskWatcher(self.progress, self.task_bar)

    def __enter__(self) -> RunConsole:
        self.progress.start()
        logging.getLogger(DAG_TEST_LOGGER).addHandler(self.watcher)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger(DAG_TEST_LOGGER).removeHandler(self.watcher)
        self.progress.stop()

    def print(self, *args, **kw) -> None:
        self.console.print(*args, **kw)

    def run_started(self, what: str) -> None:
        self.progress.update(self.months_bar, description=what)
        self.progress.reset(self.task_bar, total=self.n_tasks)

    def months_done(self, n: int) -> None:
        self.progress.advance(self.months_bar, n)


# --------------------------------------------------------------------------- the figures
@dataclass
class MonthFigures:
    month: date
    coverage: Decimal | None  # FSM1 national coverage (V3)
    activity: Decimal | None  # FSM1 national activity share of the month (A2)
    tranches: tuple[int, int, int] | None  # FSM1 municipalities with tranche 1, 2, 3 earned to date
    earned: Decimal | None  # FSM1 earned to date, DKK
    fsm2_share: Decimal | None  # FSM2 national result share (F8)
    fsm2_met: tuple[tuple[Decimal, int], ...] | None  # FSM2 municipalities that met each threshold to date
    dq_flags: int  # DQ flags as of the month (both programmes)
    dq_new: int  # of which new this month
    rejects: int  # rows rejected from the month's deliveries


def month_figures(conn, month: date) -> MonthFigures:
    from fsm.report.collect import collect

    rep = collect(conn, month, lang="en")
    nat = [s for m, _n, _d, s in rep.national_share() if m == month]
    tranches = None
    if rep.tranches:
        tranches = tuple(sum(1 for k in rep.kommuner if k.tranches.get(n, {}).get("earned")) for n in (1, 2, 3))
    rejects = sum(d["rows_rejected"] or 0 for d in rep.deliveries if d["period"] and d["period"].replace(day=1) == month)
    return MonthFigures(
        month=month,
        coverage=national_coverage(rep) if rep.visitation else None,
        activity=nat[0] if nat else None,
        tranches=tranches,
        earned=rep.totals()["earned"] if rep.tranches else None,
        fsm2_share=rep.fsm2_sum()["share_pct"] if rep.has_fsm2 else None,
        fsm2_met=tuple((thr, rep.fsm2_n_met(thr)) for thr in rep.fsm2_thresholds) if rep.has_fsm2 else None,
        dq_flags=sum(n for *_, n in rep.dq_counts),
        dq_new=sum(n for *_, n in rep.dq_new),
        rejects=rejects,
    )


def month_line(f: MonthFigures, seconds: float | None) -> str:
    """'2018-03  FSM1 coverage 87.12 % · activity 38.20 % · tranches 88/61/12 · earned 150,123,456.00 DKK …'"""
    parts = []
    if f.tranches is not None:
        parts.append(
            f"FSM1 coverage {t.pct(f.coverage):>8} · activity {t.pct(f.activity) or '–':>8}"
            f" · tranches {'/'.join(str(n) for n in f.tranches):<8} · earned {t.money(f.earned):>14} DKK"
        )
    if f.fsm2_share is not None:
        met = " ".join(f"{t.number(thr)} %: {n}" for thr, n in f.fsm2_met)
        parts.append(f"FSM2 share {t.pct(f.fsm2_share):>8} · met {met}")
    parts.append(f"DQ {t.count(f.dq_flags):>5} (+{t.count(f.dq_new)}) · rejects {t.count(f.rejects)}")
    took = "backfill" if seconds is None else f"{seconds:5.1f} s"
    return f"{months.label(f.month)}  " + "  │  ".join(parts) + f"  [{took}]"


def summary(conn, fsm1_month: date | None, fsm2_month: date | None) -> Table:
    """Tranches earned and amounts per programme as of its last month run, DQ flags and rejects."""
    from fsm.report.collect import collect

    table = Table(title="What came out", title_justify="left", show_lines=False)
    for col, justify in (("programme", "left"), ("payment", "left"), ("earned by", "right"), ("earned DKK", "right"),
                         ("outstanding DKK", "right")):  # fmt: skip
        table.add_column(col, justify=justify)
    programmes = (  # (label, as-of month, has rows?, parts, totals, the part's name)
        ("FSM1", fsm1_month, lambda r: r.tranches, lambda r: r.per_tranche(), lambda r: r.totals(), "tranche"),
        ("FSM2", fsm2_month, lambda r: r.fsm2_pay, lambda r: r.fsm2_per_part(), lambda r: r.fsm2_pay_totals(), "part"),
    )
    for name, month, has_rows, parts, totals, kind in programmes:
        rep = collect(conn, month, lang="en") if month is not None else None
        if rep is None or not has_rows(rep):
            continue
        for part in parts(rep):
            table.add_row(f"{name} as of {months.label(month)}", *_part_cells(part, rep.t, kind))
        tot = totals(rep)
        table.add_row("", "[b]total[/b]", "", f"[b]{t.money(tot['earned'])}[/b]", f"[b]{t.money(tot['outstanding'])}[/b]")
    return table


def _part_cells(part: dict, _t: Text, kind: str) -> tuple[str, str, str, str]:
    n, pct = part[kind], part["pct"]
    return (
        f"{kind} {n} ({t.number(pct)} %)",
        f"{t.count(part['n_earned'])} of {t.count(part['n'])}",
        t.money(part["earned"]),
        t.money(part["outstanding"]),
    )


def dq_and_rejects(conn, last: date) -> Table:
    """DQ flags by rule as of the last month, and rows rejected by feed over every delivery read."""
    table = Table(title=f"Flagged and rejected (as of {months.label(last)})", title_justify="left")
    table.add_column("what")
    table.add_column("rule / feed")
    table.add_column("rows", justify="right")
    for rule, n in conn.execute(
        "select rule_id, count(*)::int from dq_marking_violations where as_of_month = %s group by 1 order by 2 desc, 1",
        (last,),
    ).fetchall():
        table.add_row("DQ flag", f"{rule} ({t.rule(rule)})", t.count(n))
    for feed, n in conn.execute(
        "select feed, sum(rows_rejected)::int from ingest_file group by 1 having sum(rows_rejected) > 0 order by 1"
    ).fetchall():
        table.add_row("rejected", feed, t.count(n))
    return table
