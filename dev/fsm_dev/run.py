"""The local runner: `fsm_monthly_monitoring` through Airflow (`dag.test()`), many months in one process.

python -m fsm_dev.run 2018-03                 # one month
python -m fsm_dev.run 2017-08 2019-12         # every month in the range, in order
python -m fsm_dev.run 2019-12 --backfill      # 2017-08 … 2019-12 in one set-based pass
python -m fsm_dev.run --synthetic 2017-08 2019-12   # generate the synthetic landing zone first (FSM_LANDING unset)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
import time
from datetime import datetime

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
    t0 = time.perf_counter()
    conf = {"month": months.label(m), "backfill": backfill}
    if what_if:  # the trigger form's what-if fields (CONTRACT §2): a name and rule overrides
        conf.update(what_if_name=what_if["name"], what_if_rules=what_if["rules"])
    dr = dag.test(logical_date=logical, run_conf=conf)
    seconds = time.perf_counter() - t0
    if dr is None or dr.state != DagRunState.SUCCESS:
        failed = [ti.task_id for ti in (dr.get_task_instances() if dr else []) if ti.state not in ("success", "skipped")]
        raise RunFailed(
            f"fsm_monthly_monitoring for {months.label(m)} did not succeed (state {getattr(dr, 'state', None)}; tasks {failed})"
        )
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", help="YYYY-MM")
    ap.add_argument("last", nargs="?", help="YYYY-MM (default: first)")
    ap.add_argument("--backfill", action="store_true", help="one set-based pass for 2017-08 … last")
    ap.add_argument("--synthetic", action="store_true", help="generate the synthetic landing zone when FSM_LANDING is unset")
    ap.add_argument("--scale", default=dev_settings().synth_scale, help="generator scale (default FSM_SYNTH_SCALE or small)")
    ap.add_argument("--what-if", metavar="NAME", help="a what-if run of the month under --rules, beside the official figures")
    ap.add_argument("--rules", metavar="JSON", help="rule overrides for --what-if, e.g. '{\"activity_threshold_pct\": 45}'")
    args = ap.parse_args(argv)
    what_if = None
    if args.what_if or args.rules:
        if not (args.what_if and args.rules) or args.backfill or args.last:
            ap.error("a what-if run is one month with both --what-if NAME and --rules JSON")
        what_if = {"name": args.what_if, "rules": json.loads(args.rules)}

    airflow_env.configure()
    first = months.parse_month(args.first)
    last = months.parse_month(args.last) if args.last else first
    if args.synthetic and settings().landing is None:
        from fsm_dev.synth import generate

        landing = settings().landing_root
        t0 = time.perf_counter()
        generate(landing, seed=42, scale=args.scale, end=months.label(last), programmes=("FSM1", "FSM2"))
        print(f"synthetic landing zone ({args.scale}) at {landing} in {time.perf_counter() - t0:.1f}s")
    airflow_env.migrate_metadata()
    dag = load_dag()
    todo = [last] if args.backfill else list(months.month_range(first, last))
    total = time.perf_counter()
    for m in todo:
        s = run_month(dag, months.label(m), backfill=args.backfill, what_if=what_if)
        kind = " (backfill)" if args.backfill else f" (what-if {what_if['name']})" if what_if else ""
        print(f"fsm_monthly_monitoring {months.label(m)}{kind}: success in {s:.1f}s")
    if what_if:
        print(f"comparison: {settings().reports_folder}/{months.label(last)}/what_if/{what_if['name']}/comparison.{{html,csv}}")
    from fsm import warehouse

    print(f"{len(todo)} run(s) in {time.perf_counter() - total:.1f}s")
    print(f"warehouse: {warehouse.describe_url()}")
    print(f"reports:   {settings().reports_folder}/<YYYY-MM>/tranche_report.{{xlsx,html,csv}} and data_docs/index.html")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main())
