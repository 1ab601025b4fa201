"""The local runner: `fsm_monthly_monitoring` through Airflow (`dag.test()`), many months in one process.

python -m fsm_dev.run 2018-03                 # one month
python -m fsm_dev.run 2017-08 2019-12         # every month in the range, in order
python -m fsm_dev.run 2019-12 --backfill      # 2017-08 … 2019-12 in one set-based pass
python -m fsm_dev.run --synthetic 2017-08 2019-12   # generate the synthetic landing zone first (FSM_LANDING unset)
python -m fsm_dev.run 2017-08 2021-12 --history --log .airflow/make-run.log
    # `make run`: 2017-08 alone (its report within a minute), 2017-08 … 2021-09 in one backfill pass, then
    # 2021-10, 2021-11 and 2021-12 each as the scheduler runs a month (--scheduled 3); Airflow's log to the
    # file; a progress bar, one line per month and a summary on the terminal (fsm_dev.console)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from fsm import months
from fsm.config import settings
from fsm.ops import airflow_env
from fsm_dev.settings import dev_settings

log = logging.getLogger("fsm_dev.run")


class RunFailed(RuntimeError):
    pass


def load_dag():
    airflow_env.configure()
    path = settings().project_root / "dags" / "fsm_monthly_monitoring.py"
    spec = importlib.util.spec_from_file_location("fsm_monthly_monitoring_dagfile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.monthly_dag


def run_month(dag, month_label: str, backfill: bool = False, what_if: dict | None = None) -> float:
    from airflow.utils.state import DagRunState

    m = months.parse_month(month_label)
    logical = datetime(m.year, m.month, 1, tzinfo=months.COPENHAGEN)
    t0, started = time.perf_counter(), datetime.now(UTC)
    conf = {"month": months.label(m), "backfill": backfill}
    if what_if:  # the trigger form's what-if fields (CONTRACT §2): a name and rule overrides
        conf.update(what_if_name=what_if["name"], what_if_rules=what_if["rules"])
    dr = dag.test(logical_date=logical, run_conf=conf)
    seconds = time.perf_counter() - t0
    if dr is not None:
        _record_real_start(dr, started)
    if dr is None or dr.state != DagRunState.SUCCESS:
        failed = [ti.task_id for ti in (dr.get_task_instances() if dr else []) if ti.state not in ("success", "skipped")]
        raise RunFailed(
            f"fsm_monthly_monitoring for {months.label(m)} did not succeed (state {getattr(dr, 'state', None)}; tasks {failed})"
        )
    return seconds


def _record_real_start(dr, started: datetime) -> None:
    """dag.test() stamps a run's start with its logical date (airflow/sdk/definitions/dag.py), so the UI showed
    2017-10-31 and a duration of 1d08:24 for a 20-second run, and run_log.started_at a date in 2017. The
    scheduler stamps the real start; this puts it on the runs of the local runner too."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import update

    from fsm import warehouse

    with create_session() as session:
        session.execute(update(DagRun).where(DagRun.id == dr.id).values(start_date=started))
    with warehouse.connect() as conn:  # a run that stopped before the warehouse was migrated has no run_log
        if conn.execute("select to_regclass('run_log')").fetchone()[0] is not None:
            conn.execute("update run_log set started_at = %s where run_id = %s", (started, dr.run_id))


def plan(first: date, last: date, backfill: bool, history_until: date | None) -> list[tuple[date, bool, list[date]]]:
    """The runs to make: (month, backfill?, the months whose figures it makes), oldest first.

    With `history_until` H: `first` alone, then `first` … H in one backfill pass (a backfill leaves the same
    marts as month-by-month runs: tests/pipeline), then each month after H alone."""
    if backfill:
        return [(last, True, list(months.month_range(first, last)))]
    if history_until is None or history_until <= first:
        return [(m, False, [m]) for m in months.month_range(first, last)]
    hist = min(history_until, last)
    steps = [(first, False, [first]), (hist, True, list(months.month_range(months.next_month(first), hist)))]
    if hist < last:
        steps += [(m, False, [m]) for m in months.month_range(months.next_month(hist), last)]
    return steps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", help="YYYY-MM")
    ap.add_argument("last", nargs="?", help="YYYY-MM (default: first)")
    ap.add_argument("--backfill", action="store_true", help="one set-based pass for 2017-08 … last")
    ap.add_argument("--synthetic", action="store_true", help="generate the synthetic landing zone when FSM_LANDING is unset")
    ap.add_argument("--scale", default=dev_settings().synth_scale, help="generator scale (default FSM_SYNTH_SCALE or small)")
    ap.add_argument("--what-if", metavar="NAME", help="a what-if run of the month under --rules, beside the official figures")
    ap.add_argument("--rules", metavar="JSON", help="rule overrides for --what-if, e.g. '{\"activity_threshold_pct\": 45}'")
    ap.add_argument("--history", action="store_true", help="first alone, the history in one backfill pass, the last months alone")
    ap.add_argument("--scheduled", type=int, default=3, metavar="N", help="with --history: the last N months alone (3)")
    ap.add_argument("--log", type=Path, help="Airflow's log to this file; the terminal shows progress, figures, a summary")
    args = ap.parse_args(argv)
    what_if = None
    if args.what_if or args.rules:
        if not (args.what_if and args.rules) or args.backfill or args.last:
            ap.error("a what-if run is one month with both --what-if NAME and --rules JSON")
        what_if = {"name": args.what_if, "rules": json.loads(args.rules)}

    airflow_env.configure()
    first = months.parse_month(args.first)
    last = months.parse_month(args.last) if args.last else first
    until = None
    if args.history:
        until = last
        for _ in range(max(args.scheduled, 0)):
            until = months.prev_month(until)
    steps = plan(first, last, args.backfill, until)
    if args.log is not None:
        return _run_on_console(args, steps, first, last)
    _synthetic(args, last, print)
    airflow_env.migrate_metadata()
    dag = load_dag()
    total = time.perf_counter()
    for m, backfill, _made in steps:
        s = run_month(dag, months.label(m), backfill=backfill, what_if=what_if)
        kind = " (backfill)" if backfill else f" (what-if {what_if['name']})" if what_if else ""
        print(f"fsm_monthly_monitoring {months.label(m)}{kind}: success in {s:.1f}s")
    if what_if:
        print(f"comparison: {settings().reports_folder}/{months.label(last)}/what_if/{what_if['name']}/comparison.{{html,csv}}")
    from fsm import warehouse

    print(f"{len(steps)} run(s) in {time.perf_counter() - total:.1f}s")
    print(f"warehouse: {warehouse.describe_url()}")
    print(f"reports:   {settings().reports_folder}/<YYYY-MM>/tranche_report.{{xlsx,html,csv}} and data_docs/index.html")
    return 0


def _synthetic(args, last: date, say) -> None:
    if args.synthetic and settings().landing is None:
        from fsm_dev.synth import generate

        landing = settings().landing_root
        t0 = time.perf_counter()
        manifest = generate(landing, seed=42, scale=args.scale, end=months.label(last), programmes=("FSM1", "FSM2"))
        rows = sum(f["rows"] for f in manifest["files"].values())
        who = f"{manifest['citizens']:,} FSM1 and {manifest.get('fsm2_citizens', 0):,} FSM2 citizens, {rows:,} rows"
        say(f"synthetic landing zone ({args.scale}: {who}) at {landing} in {time.perf_counter() - t0:.1f}s")


def _run_on_console(args, steps, first: date, last: date) -> int:
    """make run: Airflow's log to args.log; progress, one line per month and the summary on the terminal."""
    from fsm import warehouse
    from fsm.config import rules
    from fsm_dev import console

    log_path = args.log.resolve()
    with console.airflow_log_to(log_path) as terminal:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
        out = console.terminal_console(terminal)
        out.print(f"Airflow's own log: {log_path}")
        t_all = time.perf_counter()
        _synthetic(args, last, out.print)
        airflow_env.migrate_metadata()
        dag = load_dag()
        n_months = sum(len(made) for *_, made in steps)
        with console.RunConsole(terminal, n_months, len(dag.tasks)) as ui:
            for m, backfill, made in steps:
                what = f"backfill … {months.label(m)}" if backfill else months.label(m)
                ui.run_started(what)
                try:
                    seconds = run_month(dag, months.label(m), backfill=backfill)
                except RunFailed as exc:
                    ui.print(f"[red]{exc}[/red]\nsee {log_path} (search for 'ERROR')")
                    return 1
                with warehouse.connect() as conn:
                    for month in made:
                        line = console.month_line(console.month_figures(conn, month), None if backfill else seconds)
                        ui.print(line, markup=False)
                if backfill:
                    n = len(made)
                    ui.print(f"{'':9}[dim]↑ {n} month{'s' if n != 1 else ''} in one backfill pass: {seconds:.1f} s[/dim]")
                ui.months_done(len(made))
        r = rules()
        fsm1 = min(last, r.project_last_month) if first <= r.project_last_month else None
        fsm2 = last if last >= r.fsm2_first_month else None
        with warehouse.connect() as conn:
            out.print()
            out.print(console.summary(conn, fsm1, fsm2))
            out.print(console.dq_and_rejects(conn, last))
        reports = settings().reports_folder
        out.print(f"\n{sum(1 for _ in steps)} runs, {n_months} months in {time.perf_counter() - t_all:.0f} s. Where to look:")
        for label, where in (
            ("the finance report", f"{reports}/{months.label(last)}/tranche_report.{{html,pdf,xlsx,csv}}"),
            ("every month's", f"{reports}/<YYYY-MM>/ (feedback/ per municipality, data_docs/index.html)"),
            ("the warehouse", warehouse.describe_url()),
            ("Airflow's log", str(log_path)),
            ("the runs in Airflow", "make ui"),
        ):
            out.print(f"  {label:<20} {where}")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main())
