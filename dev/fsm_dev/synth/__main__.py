"""CLI: python -m fsm_dev.synth --out DIR [--seed 42] [--scale tiny|small|calibrated|national|2x] [--start 2017-08] [--end 2019-12]
[--fmt csv|parquet] [--programmes FSM1,FSM2]."""

from __future__ import annotations

import argparse
import time

from fsm_dev.synth.generator import LAST_DEFAULT_MONTH, LAST_MONTH, SCALE_ALIASES, SCALES, generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fsm_dev.synth", description="Write a synthetic FSM landing zone (CONTRACT §1).")
    ap.add_argument("--out", required=True, help="landing-zone folder to write (created if missing)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--scale",
        choices=sorted([*SCALES, *SCALE_ALIASES]),
        default="small",
        help="calibrated: national's calibrated profile at a tenth; 2x: twice national",
    )
    ap.add_argument("--start", default="2017-08", help="first month, YYYY-MM (default 2017-08)")
    ap.add_argument(
        "--end", default=LAST_DEFAULT_MONTH, help=f"last month, YYYY-MM (default {LAST_DEFAULT_MONTH}, at most {LAST_MONTH})"
    )
    ap.add_argument("--fmt", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--programmes", default="FSM1", help="FSM1 or FSM1,FSM2 (FSM2: 2019-01..2021-12, with the uddannelse feed)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    m = generate(
        args.out, seed=args.seed, scale=args.scale, start=args.start, end=args.end, fmt=args.fmt, programmes=args.programmes
    )
    rows = sum(f["rows"] for f in m["files"].values())
    rejects = sum(len(f["rejects"]) for f in m["files"].values())
    print(
        f"{args.out}: {len(m['files'])} files, {rows} rows ({rejects} unreadable), {m['citizens']} FSM_BRUTTO citizens "
        f"in {len(m['participants'])} municipalities, {time.perf_counter() - t0:.1f}s"
    )
    for rule, d in m["dq_defects"].items():
        print(f"  {rule}: {d['count']} (from {d['first_visible_month']})")
    if "dq_defects_fsm2" in m:
        t = m["truth_fsm2"]
        print(
            f"FSM2: {m['fsm2_citizens']} citizens in {len(m['fsm2_participants'])} municipality codes; "
            f"{t['kommuner_reaching_15']} reach 15 %, {t['kommuner_reaching_20']} reach 20 % ({t['months'][0] if t['months'] else '-'}"
            f"..{t['months'][-1] if t['months'] else '-'})"
        )
        for rule, d in m["dq_defects_fsm2"].items():
            print(f"  {rule}: {d['count']} (from {d['first_visible_month']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
