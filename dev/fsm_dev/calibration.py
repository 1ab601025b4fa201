"""`make calibration`: the national synthetic world through the pipeline, its report's totals beside STAR's figures.

python -m fsm_dev.calibration            # generate (national, FSM1+FSM2), backfill 2017-08 … 2019-12, check
python -m fsm_dev.calibration --check    # only read the warehouse's marts and check them

The figures are read from the warehouse's marts (what the report shows), never from the generator:
the target group at start (T2: target_n + left_unvisited_n as of 2019-12), the groups in force at the
end of 2019 (V3) and the indsatsgruppe's share (C2), the municipalities that earned tranche 3 (P3: the
40 % requirement) and tranche 2 (P2) by year, and FSM2's target group in its first month (F7, 2019-01).
STAR's figures come from fsm_dev.synth.calibration.STAR (DOMAIN.md 'Known figures'). The exit code is
1 when a checked figure is off: 84 of 88 meeting 40 % exactly, each group share within one point, the
target group within 1 % and FSM2's within 5 %.

Where it runs: FSM_WAREHOUSE_URL if set, else a database `fsm_calibration` on the embedded server
(created if missing, so `make run`'s warehouse is left alone); the landing zone under
<data dir>/calibration/landing (regenerated only when the generator changes) unless FSM_LANDING is
set; the reports under <data dir>/calibration/reports unless FSM_REPORTS_DIR is set.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from fsm_dev.synth.calibration import STAR

LAST_MONTH = "2019-12"
FSM2_COUNT_MONTH = date(2019, 1, 1)  # F7 target group counted in FSM2's first month (F10's basis too)
TOLERANCE = {"share_points": 1.0, "target_pct": 1.0, "fsm2_target_pct": 5.0}


def measure(conn) -> dict:
    """The report's national totals from the marts (as of 2019-12; FSM2 as of its first month)."""
    end = date(2019, 12, 1)
    q = conn.execute
    v = q(
        "select count(*), sum(target_n + left_unvisited_n), sum(visited_n), sum(group1_n), sum(group2_n), sum(group3_n)"
        " from mart_visitation_progress where as_of_month = %s and programme = 'FSM1'",
        (end,),
    ).fetchone()
    cohort = q(
        "select coalesce(sum(cohort_n), 0) from mart_activity_share"
        " where as_of_month = %s and activity_month = %s and programme = 'FSM1'",
        (end, end),
    ).fetchone()[0]
    earned = q(
        "select tranche, extract(year from earned_month)::int, count(*) from mart_tranche_status"
        " where as_of_month = %s and programme = 'FSM1' and tranche in (2, 3) and earned group by 1, 2",
        (end,),
    ).fetchall()
    fsm2 = q(
        "select count(distinct kommune_kode), coalesce(sum(target_n), 0) from mart_fsm2_result"
        " where as_of_month = %s and activity_month = %s and herkomst = 'ALL'",
        (FSM2_COUNT_MONTH, FSM2_COUNT_MONTH),
    ).fetchone()
    fsm2_avg = q(
        "select coalesce(avg(n), 0) from (select activity_month, sum(target_n) as n from mart_fsm2_result"
        " where as_of_month = activity_month and herkomst = 'ALL' and activity_month <= %s group by 1) as m",
        (end,),
    ).fetchone()[0]
    n_k, target, visited, g1, g2, g3 = (int(x or 0) for x in v)
    by_year = {t: {} for t in (2, 3)}
    for tranche, year, n in earned:
        by_year[tranche][year] = n
    return {
        "participants": n_k,
        "target_group": target,
        "visited": visited,
        "groups": (g1, g2, g3),
        "indsatsgruppe": int(cohort),
        "tranche2_by_year": by_year[2],
        "tranche3_by_year": by_year[3],
        "fsm2_kommune_codes": int(fsm2[0]),
        "fsm2_target_group": int(fsm2[1]),
        "fsm2_target_group_2019_avg": round(float(fsm2_avg)),
    }


def compare(
    m: dict, factor: float = 1.0, share_points: float = TOLERANCE["share_points"]
) -> tuple[list[tuple[str, str, str, str]], bool]:
    """Rows (figure, STAR, report, check) and whether every checked figure holds; STAR's counts times
    `factor` for a scale other than national (shares and '84 of 88' do not scale; a smaller scale may widen
    `share_points`, the group shares' tolerance, for its sampling noise). Without FSM2 marts
    (an FSM1-only run) the FSM2 rows say so and are not checked."""
    rows: list[tuple[str, str, str, str]] = []
    ok_all = True

    def row(name: str, star: str, got: str, ok: bool | None) -> None:
        nonlocal ok_all
        rows.append((name, star, got, "-" if ok is None else "ok" if ok else "OFF"))
        ok_all &= ok is not False

    def pct(a: int, b: int) -> float:
        return 100 * a / b if b else 0.0

    row(
        "FSM1 participants",
        str(STAR["fsm1_participants"]),
        str(m["participants"]),
        m["participants"] == STAR["fsm1_participants"],
    )
    t, want = m["target_group"], round(STAR["fsm1_target_group"] * factor)
    row("FSM1 target group at start (T2)", f"{want:,}", f"{t:,}", abs(t - want) <= want * TOLERANCE["target_pct"] / 100)
    total = sum(m["groups"])
    for i, (n, star) in enumerate(zip(m["groups"], STAR["fsm1_group_shares_pct"], strict=True), start=1):
        share = pct(n, total)
        row(
            f"group {i} share, in force 2019-12 (V3)",
            f"{star} %",
            f"{share:.1f} % ({n:,})",
            abs(share - star) <= share_points,
        )
    share = pct(m["indsatsgruppe"], m["visited"])
    star = STAR["fsm1_group_shares_pct"][0]
    row(
        "indsatsgruppe (first group 1, C2) / visited",
        f"{star} %",
        f"{share:.1f} % ({m['indsatsgruppe']:,})",
        abs(share - star) <= share_points,
    )
    met = sum(m["tranche3_by_year"].values())
    row(
        "meeting 40 % by 2019-12 (tranche 3, P3)",
        f"{STAR['fsm1_meeting_40']} of {STAR['fsm1_participants']}",
        f"{met} of {m['participants']}",
        met == STAR["fsm1_meeting_40"] and m["participants"] == STAR["fsm1_participants"],
    )
    for tranche, label in ((3, "tranche 3 earned in"), (2, "tranche 2 earned in (P2)")):
        for year in (2017, 2018, 2019):
            row(f"{label} {year}", "-", str(m[f"tranche{tranche}_by_year"].get(year, 0)), None)
    row(
        "FSM2 municipality codes (Esbjerg and Fanø apart)",
        f"{STAR['fsm2_participants']} (+1)",
        str(m["fsm2_kommune_codes"]),
        None,
    )
    f2, want = m["fsm2_target_group"], round(STAR["fsm2_target_group"] * factor)
    ran = m["fsm2_kommune_codes"] > 0
    ok2 = abs(f2 - want) <= want * TOLERANCE["fsm2_target_pct"] / 100 if ran else None
    row("FSM2 target group 2019-01 (F7)", f"> {want:,}", f"{f2:,}" if ran else "not run", ok2)
    row("FSM2 target group, 2019 monthly average", "-", f"{m['fsm2_target_group_2019_avg']:,}", None)
    return rows, ok_all


def table(rows: list[tuple[str, str, str, str]]) -> str:
    head = ("figure", "STAR", "report", "check")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in (head, *rows)]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def scale_factor(scale: str) -> float:
    """The scale's size relative to national (STAR's counts are national)."""
    from fsm_dev.synth import SCALES
    from fsm_dev.synth.generator import SCALE_ALIASES

    return SCALES[SCALE_ALIASES.get(scale, scale)].citizens / SCALES["national"].citizens


def check(url: str, scale: str = "national") -> int:
    """The marts of the warehouse at `url` beside STAR's figures (the URL is explicit: the run's own database,
    never the process's cached default)."""
    import psycopg

    from fsm.warehouse import describe_url

    with psycopg.connect(url) as conn:
        m = measure(conn)
    rows, ok = compare(m, scale_factor(scale))
    print(f"warehouse: {describe_url(url)}")
    print(table(rows))
    print("calibration holds" if ok else "calibration is OFF (see the rows marked OFF)")
    return 0 if ok else 1


def _environment(scale: str) -> dict[str, str]:
    """The run's FSM_* settings: the caller's, else a landing zone, reports and database of its own."""
    from fsm.config import settings

    env = dict(os.environ)
    base = settings().data_folder / "calibration"
    if not env.get("FSM_LANDING"):
        from fsm_dev.synth import generate

        landing = base / scale / "landing"
        t0 = time.perf_counter()
        generate(landing, seed=42, scale=scale, end=LAST_MONTH, programmes=("FSM1", "FSM2"))
        print(f"synthetic landing zone ({scale}) at {landing} in {time.perf_counter() - t0:.1f}s", flush=True)
        env["FSM_LANDING"] = str(landing)
    env.setdefault("FSM_REPORTS_DIR", str(base / scale / "reports"))
    if not env.get("FSM_WAREHOUSE_URL"):
        env["FSM_WAREHOUSE_URL"] = _embedded_database("fsm_calibration")
    return env


def _embedded_database(name: str) -> str:
    import psycopg

    from fsm import warehouse

    url = warehouse.url()
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')
    head, _, tail = url.partition("?")
    return head.rsplit("/", 1)[0] + "/" + name + (f"?{tail}" if tail else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check the warehouse's marts (no generation, no run)")
    ap.add_argument("--scale", default="national", help="generator scale of the run (default national)")
    args = ap.parse_args(argv)
    if args.check:  # the same warehouse the run used: FSM_WAREHOUSE_URL, else the fsm_calibration database
        return check(os.environ.get("FSM_WAREHOUSE_URL") or _embedded_database("fsm_calibration"), args.scale)
    t0 = time.perf_counter()
    env = _environment(args.scale)
    log = Path(env["FSM_REPORTS_DIR"]).parent / "airflow.log"
    cmd = [sys.executable, "-m", "fsm_dev.run", "2017-08", LAST_MONTH, "--backfill", "--log", str(log)]
    from fsm.warehouse import describe_url

    print(f"{' '.join(cmd[1:])} on {describe_url(env['FSM_WAREHOUSE_URL'])}", flush=True)
    subprocess.run(cmd, env=env, check=True)
    code = check(env["FSM_WAREHOUSE_URL"], args.scale)
    print(f"make calibration: {time.perf_counter() - t0:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
