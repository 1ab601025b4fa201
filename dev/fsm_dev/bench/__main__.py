"""CLI of `make bench`: python -m fsm_dev.bench [--scale national] … (the phases re-enter here as `_phase <name>`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import fsm_dev.bench
from fsm_dev.bench.orchestrator import Bench
from fsm_dev.bench.phases import run_phase
from fsm_dev.settings import dev_settings


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m fsm_dev.bench", description=fsm_dev.bench.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--scale",
        default=dev_settings().bench_scale,
        help="a generator scale (tiny, small, national, 2x; default FSM_BENCH_SCALE or national)",
    )
    ap.add_argument("--month", default="2019-12", help="the month to run (default 2019-12, FSM1's last)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--fmt", choices=("parquet", "csv"), default="parquet")
    ap.add_argument(
        "--programmes",
        default="FSM1,FSM2",
        help="the synthetic country: FSM1,FSM2 (default; adds the fsm2 phase) or FSM1 (the first, FSM1-only measurement)",
    )
    ap.add_argument("--fsm2-month", default="2021-12", help="the FSM2 month the fsm2 phase runs (default 2021-12, its last)")
    ap.add_argument("--no-backfill", action="store_true", help="skip the backfill phase")
    ap.add_argument("--no-steady", action="store_true", help="skip the steady-state phase")
    ap.add_argument("--profile", action="store_true", help="also run the month under py-spy and summarise where the time goes")
    ap.add_argument("--out", help="folder for <scale>.json (default: bench/)")
    ap.add_argument("--phase-timeout", type=float, default=3600.0, help="seconds one phase may take (default 3600)")
    ap.add_argument("--work-dir", help="bench-private state (default: data/bench/<scale>)")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["goals"]:  # python -m fsm_dev.bench goals [bench/national.json]: issue 17's table
        from fsm.config import PROJECT_ROOT
        from fsm_dev.bench.figures import goals_table

        path = Path(argv[1]) if len(argv) > 1 else PROJECT_ROOT / "bench" / "national.json"
        print(goals_table(json.loads(path.read_text())))
        return 0
    if argv[:1] == ["_phase"]:
        ap = _parser()
        ap.add_argument("phase")
        ap.add_argument("--result", required=True)
        a = ap.parse_args(argv[1:])
        out = run_phase(a)
        Path(a.result).write_text(json.dumps(out, default=str))
        return 0
    a = _parser().parse_args(argv)
    Bench(a).run()
    return 0


if __name__ == "__main__":
    import logging

    # a phase logs what it does (fsm.transform's per-model seconds are read back from its log); the orchestrator is quiet
    level = logging.INFO if sys.argv[1:2] == ["_phase"] else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main())
